"""What a reply needs to know of its thread, and the record of what was sent.

Read in one unit before a send: the mailbox's secrets, the suppression entry of the recipient,
the subject (of the conversation's first email, or of this message's own when an operator
started a new email), the customer's last Message-ID (In-Reply-To) and the thread's earlier
ids (References). After composing, the email is stored as the message's ``EmailItem``
(``message_emails``) before it goes out, so a customer's answer to it, or its bounce, finds the
message by its Message-ID whatever happens to the send.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import suppression
from hub.channels.email.compose import reply_subject
from hub.channels.email.config import Secrets
from hub.channels.email.credentials import load_secrets
from hub.inbox.item_models import EmailItem
from hub.inbox.models import Message, MessageKind


@dataclass(frozen=True, slots=True)
class ReplyContext:
    secrets: Secrets | None
    #: Why the recipient must not be sent to (the suppression list), or None.
    refusal: str | None
    subject: str
    in_reply_to: str | None
    earlier_ids: list[str]


async def reply_context(
    session: AsyncSession,
    channel_id: int,
    conversation_id: int,
    message_id: int,
    to: str,
    fallback_subject: str | None = None,
) -> ReplyContext:
    """``fallback_subject`` is the subject when the conversation has no email yet (a website
    chat's reply to a visitor who left)."""
    secrets = await load_secrets(session, channel_id)
    entry = await suppression.suppressed(session, to)
    rows = (
        await session.execute(
            select(
                EmailItem.message_id, EmailItem.subject, EmailItem.message_id_header, Message.kind
            )
            .join(Message, Message.id == EmailItem.message_id)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id)
        )
    ).all()
    own = next((r for r in rows if r.message_id == message_id), None)
    before = [r for r in rows if r.message_id < message_id]
    if own is not None and own.subject and not before:
        subject = own.subject  # a new email an operator started: its subject as he wrote it
    elif rows:
        subject = reply_subject(rows[0].subject)
    else:
        subject = fallback_subject or reply_subject("")
    parent = next(
        (
            r.message_id_header
            for r in reversed(before)
            if r.kind == MessageKind.INCOMING.value and r.message_id_header
        ),
        None,
    )
    return ReplyContext(
        secrets=secrets,
        refusal=None if entry is None else suppression.refusal(entry),
        subject=subject,
        in_reply_to=parent,
        earlier_ids=[r.message_id_header for r in before if r.message_id_header],
    )


async def record_sent(
    session: AsyncSession,
    message_id: int,
    *,
    subject: str,
    html: str,
    from_address: str,
    to: str,
    message_id_header: str,
) -> None:
    """The outgoing message's email row: what threading and bounces look up."""
    row = await session.get(EmailItem, message_id)
    if row is None:
        row = EmailItem(message_id=message_id)
        session.add(row)
    row.subject = subject
    row.html = html
    row.from_address = from_address
    row.recipients = {"to": [to], "cc": []}
    row.message_id_header = message_id_header
    await session.flush()
