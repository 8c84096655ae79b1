"""An operator starts a new email to a contact: a new conversation on an email channel.

One write unit: the contact's address on the channel becomes (or already is) his identity
there, a conversation of its own thread is opened, assigned to the operator who writes, and the
email is its first message, pending in the outbox with its subject stored (``EmailItem``), so
the adapter sends it as written (no "Re:") and the customer's answer threads back to it by its
Message-ID, which is also the thread's key. Files are the operator's own unsent uploads (of any
conversation he can see); they move to the new conversation with the email. A scheduled new
email (``scheduled_sender``) is written by the same ``open_new_email`` when its time comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import suppression, tokens
from hub.channels.email.config import TYPE
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import ConversationCreated, Event, MessageCreated, Recipients
from hub.inbox.access import can_see, visible_conversations
from hub.inbox.attachments import MAX_PER_MESSAGE
from hub.inbox.auth import Principal
from hub.inbox.item_models import EmailItem
from hub.inbox.items import email_dict
from hub.inbox.models import (
    Attachment,
    Channel,
    Contact,
    ContactEmail,
    ContactIdentity,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    MessageKind,
)
from hub.inbox.serialize import attachment_dict, conversation_dict, message_dict

MAX_SUBJECT = 300


@dataclass(frozen=True, slots=True)
class NewEmail:
    channel_id: int
    subject: str
    body: str
    #: One of the contact's addresses; his first one when not given.
    to: str | None = None
    attachment_ids: list[int] = field(default_factory=list)
    #: Open and click tracking, when the channel tracks (its ``tracking`` setting).
    tracking: bool = True


def check_email(ctx: HubContext, email: NewEmail) -> tuple[str, str]:
    subject = " ".join(email.subject.split())
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(
            f"the subject must be 1 to {MAX_SUBJECT} characters", code="invalid_subject"
        )
    if not email.body.strip() and not email.attachment_ids:
        raise InvalidInput("the email is empty", code="empty_body")
    if len(email.body) > ctx.settings.max_message_chars:
        raise InvalidInput(
            f"the email is longer than {ctx.settings.max_message_chars} characters",
            code="body_too_long",
        )
    return subject, email.body


async def visible_contact(session: AsyncSession, actor: Principal, contact_id: int) -> Contact:
    """The contact, if the actor may see him (staff always; an operator through one of his
    conversations), answered as missing otherwise so ids cannot be probed."""
    contact = await session.get(Contact, contact_id)
    if contact is not None and not actor.is_staff:
        seen = await session.scalar(
            select(Conversation.id)
            .where(Conversation.contact_id == contact.id, visible_conversations(actor))
            .limit(1)
        )
        contact = contact if seen is not None else None
    if contact is None:
        raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
    return contact


async def email_channel(session: AsyncSession, actor: Principal, channel_id: int) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is None or channel.type != TYPE or not channel.is_active:
        raise InvalidInput(f"channel {channel_id} is no email channel", code="not_email_channel")
    if not actor.is_staff and channel.team_id is not None and channel.team_id not in actor.team_ids:
        raise InvalidInput(
            f"channel {channel_id} belongs to another team", code="not_email_channel"
        )
    return channel


async def contact_address(session: AsyncSession, contact: Contact, wanted: str | None) -> str:
    emails = list(
        await session.scalars(
            select(ContactEmail.email)
            .where(ContactEmail.contact_id == contact.id)
            .order_by(ContactEmail.id)
        )
    )
    if wanted is not None:
        wanted = wanted.strip().lower()
        if wanted not in [e.lower() for e in emails]:
            raise InvalidInput(f"{wanted} is not an email of this contact", code="invalid_to")
        return wanted
    if not emails:
        raise InvalidInput("the contact has no email address", code="contact_has_no_email")
    return emails[0].lower()


async def _identity(
    session: AsyncSession, contact: Contact, channel_id: int, address: str
) -> ContactIdentity:
    identity = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.channel_id == channel_id, ContactIdentity.external_id == address
        )
    )
    if identity is None:
        identity = ContactIdentity(
            contact_id=contact.id, channel_id=channel_id, external_id=address
        )
        session.add(identity)
        await session.flush()
    elif identity.contact_id != contact.id:
        # Mail from this address comes in as another contact: a reply would land there.
        raise Conflict(
            f"{address} writes to this mailbox as contact {identity.contact_id}; "
            "merge the two contacts or write from that contact",
            code="email_of_another_contact",
        )
    return identity


async def _files(session: AsyncSession, actor: Principal, ids: list[int]) -> list[Attachment]:
    if not ids:
        return []
    if len(ids) > MAX_PER_MESSAGE or len(set(ids)) != len(ids):
        raise InvalidInput(
            f"attachment_ids must be at most {MAX_PER_MESSAGE} distinct ids",
            code="invalid_attachments",
        )
    rows = list(await session.scalars(select(Attachment).where(Attachment.id.in_(ids))))
    usable = []
    for att in rows:
        conv = await session.get(Conversation, att.conversation_id)
        if (
            att.uploaded_by_operator_id == actor.operator_id
            and att.message_id is None
            and conv is not None
            and can_see(actor, conv)
        ):
            usable.append(att)
    if len(usable) != len(ids):
        raise InvalidInput(
            "attachment_ids must be your own unsent uploads", code="invalid_attachments"
        )
    by_id = {a.id: a for a in usable}
    return [by_id[i] for i in ids]


async def identity_conflict(
    session: AsyncSession, contact: Contact, channel_id: int, address: str
) -> None:
    """Raise ``email_of_another_contact`` when mail from ``address`` comes in as another
    contact (a scheduled email checks this when it is written, without making the identity)."""
    owner = await session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.channel_id == channel_id, ContactIdentity.external_id == address
        )
    )
    if owner is not None and owner != contact.id:
        raise Conflict(
            f"{address} writes to this mailbox as contact {owner}; "
            "merge the two contacts or write from that contact",
            code="email_of_another_contact",
        )


async def open_new_email(
    ctx: HubContext,
    session: AsyncSession,
    actor: Principal,
    contact_id: int,
    email: NewEmail,
) -> tuple[dict[str, Any], list[Event]]:
    """The write of a new email inside the caller's unit (the route's own, or the scheduled
    email's that marks it sent in the same transaction): ``({conversation, message}, events)``."""
    subject, body = check_email(ctx, email)
    key = ctx.settings.resolved_secret_key()
    contact = await visible_contact(session, actor, contact_id)
    channel = await email_channel(session, actor, email.channel_id)
    address = await contact_address(session, contact, email.to)
    entry = await suppression.suppressed(session, address)
    if entry is not None:
        raise InvalidInput(suppression.refusal(entry), code="address_suppressed")
    identity = await _identity(session, contact, channel.id, address)
    files = await _files(session, actor, email.attachment_ids)
    now = utcnow()
    conv = Conversation(
        channel_id=channel.id,
        contact_id=contact.id,
        identity_id=identity.id,
        team_id=channel.team_id,
        assignee_id=actor.operator_id,
        status=ConversationStatus.OPEN.value,
        created_at=now,
        last_activity_at=now,
        last_message_preview=f"✉ {subject}"[:200],
        attributes={},
    )
    session.add(conv)
    await session.flush()
    msg = Message(
        conversation_id=conv.id,
        channel_id=channel.id,
        kind=MessageKind.OUTGOING.value,
        body=body,
        sender_operator_id=actor.operator_id,
        meta={} if email.tracking else {"tracking": False},
        created_at=now,
        delivery_status=DeliveryStatus.PENDING.value,
        next_attempt_at=now,
    )
    session.add(msg)
    await session.flush()
    header = tokens.message_id(key, msg.id, conv.id, tokens.domain_of(channel.config["address"]))
    conv.thread_key = header
    item = EmailItem(
        message_id=msg.id,
        subject=subject,
        html="",
        from_address=channel.config["address"],
        recipients={"to": [address], "cc": []},
        message_id_header=header,
    )
    session.add(item)
    for att in files:
        att.conversation_id, att.message_id = conv.id, msg.id
    await session.flush()
    recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
    names = {actor.operator_id: actor.name}
    message = message_dict(
        msg,
        names,
        attachments=[attachment_dict(a) for a in files],
        item={"email": email_dict(item)},
    )
    conversation = conversation_dict(conv, contact, channel)
    events: list[Event] = [
        ConversationCreated(recipients, conversation),
        MessageCreated(recipients, conv.id, message, conversation),
    ]
    return {"conversation": conversation, "message": message}, events


async def send_new_email(
    ctx: HubContext, actor: Principal, contact_id: int, email: NewEmail
) -> dict[str, Any]:
    """Open the conversation and queue its first email; ``{conversation, message}``."""
    check_email(ctx, email)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        data, made = await open_new_email(ctx, session, actor, contact_id, email)
        events[:] = made
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    ctx.delivery_wakeup.set()
    return data
