"""A bounce that came back to the mailbox: the reply it was about fails, the address is
suppressed.

The receiving side parses a delivery status notification (RFC 3464: ``Final-Recipient``,
``Status``, ``Diagnostic-Code`` and the original's Message-ID in its attached headers) and calls
``record_bounce``. The hub message is found by the Message-ID stored when it was sent
(``message_emails``), else by the signed id the hub gave it (``tokens``: a DSN that quotes a
forged id finds nothing, and a bounce of no hub message changes nothing, so a stranger cannot
fill the suppression list with fake DSNs). A permanent status (5.x.x) marks the reply failed
with the reason an operator reads and suppresses the address, if it is one the email was sent
to (a forwarding target's bounce fails the reply only); a transient one (4.x.x, "delayed")
changes nothing, since the remote server is still trying.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import suppression, tokens
from hub.context import HubContext
from hub.events import MessageUpdated, Recipients
from hub.inbox.attachments import attachments_of
from hub.inbox.item_models import EmailItem
from hub.inbox.items import items_of
from hub.inbox.models import Conversation, DeliveryStatus, Message, MessageKind
from hub.inbox.queries import operator_names
from hub.inbox.serialize import message_dict

_SIGNED = re.compile(r"^m\.(\d+)\.(\d+)\.[0-9a-f]{16}@(.+)$")


@dataclass(frozen=True, slots=True)
class Bounce:
    #: The hub message the bounce was about, if it was found.
    message_id: int | None
    #: Whether the recipient was put on the suppression list.
    suppressed: bool


def _permanent(status: str) -> bool:
    return status.strip().startswith("5")


async def _find(session: AsyncSession, key: str, header_id: str) -> Message | None:
    by_header = await session.scalar(
        select(Message)
        .join(EmailItem, EmailItem.message_id == Message.id)
        .where(
            EmailItem.message_id_header == header_id,
            Message.kind == MessageKind.OUTGOING.value,
        )
        .limit(1)
    )
    if by_header is not None:
        return by_header
    found = _SIGNED.match(header_id)
    if found is None:
        return None
    message_id, conversation_id, domain = int(found[1]), int(found[2]), found[3]
    expected = tokens.message_id(key, message_id, conversation_id, domain)
    if not hmac.compare_digest(expected, header_id):
        return None
    msg = await session.get(Message, message_id)
    if msg is None or msg.conversation_id != conversation_id:
        return None
    return msg if msg.kind == MessageKind.OUTGOING.value else None


async def record_bounce(
    ctx: HubContext,
    original_message_id_header: str,
    recipient: str,
    status: str,
    diagnostic: str,
) -> Bounce:
    """Apply a bounce of the email with that Message-ID to ``recipient``: ``status`` is the
    DSN's enhanced status ("5.1.1"), ``diagnostic`` its Diagnostic-Code text."""
    if not _permanent(status):
        return Bounce(None, False)
    header_id = original_message_id_header.strip().strip("<>").lower()
    detail = " ".join(f"{status.strip()} {diagnostic}".split())[: suppression.MAX_REASON]
    key = ctx.settings.resolved_secret_key()
    events: list[MessageUpdated] = []

    async def unit(session: AsyncSession) -> Bounce:
        events.clear()
        msg = await _find(session, key, header_id) if header_id else None
        if msg is None:
            return Bounce(None, False)
        sent_to = await session.scalar(
            select(EmailItem.recipients).where(EmailItem.message_id == msg.id)
        )
        addresses = [a.lower() for a in (sent_to or {}).get("to", [])]
        ours = suppression.normalize(recipient) in addresses
        if ours:
            await suppression.add(session, recipient, detail, "dsn")
        msg.delivery_status = DeliveryStatus.FAILED.value
        msg.delivery_error = f"bounced: {recipient} could not be delivered to ({detail})"
        msg.next_attempt_at = None
        await session.flush()
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        files = await attachments_of(session, [msg.id])
        items = await items_of(session, [msg.id])
        names = await operator_names(session, [msg])
        data: dict[str, Any] = message_dict(
            msg, names, attachments=files.get(msg.id), item=items.get(msg.id)
        )
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        events.append(MessageUpdated(recipients, conv.id, data))
        return Bounce(msg.id, ours)

    result = await ctx.write(unit)
    await ctx.publish(*events)
    return result
