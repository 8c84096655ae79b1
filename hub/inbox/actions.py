"""Named writes of the inbox: each validates, writes, commits, then publishes its events.

Nothing here is called from ORM hooks; a route or a channel adapter calls one of these, and
what it returns is what was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import Principal
from hub.channels.base import InboundMessage
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import (
    ConversationAssigned,
    ConversationCreated,
    ConversationUpdated,
    Event,
    MessageCreated,
    Recipients,
)
from hub.inbox.access import get_visible_conversation
from hub.inbox.models import (
    Channel,
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    MessageKind,
    Operator,
    Team,
)
from hub.inbox.serialize import conversation_dict, message_dict

PREVIEW_CHARS = 200
_INTEGRITY_RETRIES = 3


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    message: dict[str, Any]
    conversation: dict[str, Any]
    duplicate: bool
    created_conversation: bool


def _preview(body: str) -> str:
    return " ".join(body.split())[:PREVIEW_CHARS]


def _check_body(ctx: HubContext, body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("the message body is empty", code="empty_body")
    if len(body) > ctx.settings.max_message_chars:
        raise InvalidInput(
            f"the message is longer than {ctx.settings.max_message_chars} characters",
            code="body_too_long",
        )
    return body


def _recipients(conv: Conversation, *extra: int | None) -> Recipients:
    return Recipients.for_conversation(conv.team_id, conv.assignee_id, *extra)


async def _find_or_create_contact(session: AsyncSession, inbound: InboundMessage) -> Contact:
    who = inbound.contact
    contact_id = await session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.channel_id == inbound.channel_id,
            ContactIdentity.external_id == who.external_id,
        )
    )
    contact = await session.get(Contact, contact_id) if contact_id is not None else None
    changed = False
    if contact is None:
        changed = True
        contact = Contact(name=who.name or "", attributes={})
        session.add(contact)
        await session.flush()
        session.add(
            ContactIdentity(
                contact_id=contact.id, channel_id=inbound.channel_id, external_id=who.external_id
            )
        )
    elif who.name and not contact.name:
        contact.name = who.name
        changed = True
    if who.phone:
        known = await session.scalar(
            select(ContactPhone.id).where(
                ContactPhone.contact_id == contact.id, ContactPhone.e164 == who.phone
            )
        )
        if known is None:
            session.add(ContactPhone(contact_id=contact.id, e164=who.phone))
            changed = True
    if who.email:
        known = await session.scalar(
            select(ContactEmail.id).where(
                ContactEmail.contact_id == contact.id, ContactEmail.email == who.email
            )
        )
        if known is None:
            session.add(ContactEmail(contact_id=contact.id, email=who.email))
            changed = True
    if changed:
        await session.flush()
        await refresh_contact_search(session, contact)
    return contact


async def refresh_contact_search(session: AsyncSession, contact: Contact) -> None:
    """Keep ``search_text`` in step with the contact's name, phones and emails."""
    phones = (
        await session.scalars(
            select(ContactPhone.e164).where(ContactPhone.contact_id == contact.id)
        )
    ).all()
    emails = (
        await session.scalars(
            select(ContactEmail.email).where(ContactEmail.contact_id == contact.id)
        )
    ).all()
    text = " ".join([contact.name, *phones, *[p.lstrip("+") for p in phones], *emails]).lower()
    if contact.search_text != text:
        contact.search_text = text


async def receive_message(ctx: HubContext, inbound: InboundMessage) -> ReceiveResult:
    """Store a customer's message (once per provider id) and announce it to operators.

    A new contact or conversation is made as needed; a resolved or snoozed conversation opens
    again, as the customer is waiting for an answer.
    """
    body = _check_body(ctx, inbound.body)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> ReceiveResult:
        events.clear()
        channel = await session.get(Channel, inbound.channel_id)
        if channel is None or not channel.is_active:
            raise NotFound(f"channel {inbound.channel_id} not found", code="channel_not_found")
        if inbound.provider_message_id is not None:
            existing = await session.scalar(
                select(Message).where(
                    Message.channel_id == channel.id,
                    Message.provider_message_id == inbound.provider_message_id,
                )
            )
            if existing is not None:
                conv = await session.get(Conversation, existing.conversation_id)
                assert conv is not None
                return ReceiveResult(message_dict(existing), conversation_dict(conv), True, False)
        contact = await _find_or_create_contact(session, inbound)
        conv = await session.scalar(
            select(Conversation)
            .where(Conversation.contact_id == contact.id, Conversation.channel_id == channel.id)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        now = utcnow()
        created = conv is None
        if conv is None:
            conv = Conversation(
                channel_id=channel.id,
                contact_id=contact.id,
                team_id=channel.team_id,
                status=ConversationStatus.OPEN.value,
                created_at=now,
                unread_count=0,
            )
            session.add(conv)
        elif conv.status in (ConversationStatus.RESOLVED.value, ConversationStatus.SNOOZED.value):
            conv.status = ConversationStatus.OPEN.value
            conv.snoozed_until = None
        conv.last_activity_at = now
        conv.last_message_preview = _preview(body)
        conv.unread_count = (conv.unread_count or 0) + 1
        await session.flush()
        msg = Message(
            conversation_id=conv.id,
            channel_id=channel.id,
            kind=MessageKind.INCOMING.value,
            body=body,
            sender_contact_id=contact.id,
            provider_message_id=inbound.provider_message_id,
            meta=dict(inbound.meta),
            created_at=now,
        )
        session.add(msg)
        await session.flush()
        conv_data = conversation_dict(conv, contact, channel)
        msg_data = message_dict(msg, contact_names={contact.id: contact.name})
        recipients = _recipients(conv)
        if created:
            events.append(ConversationCreated(recipients, conv_data))
        else:
            events.append(ConversationUpdated(recipients, conv_data))
        events.append(MessageCreated(recipients, conv.id, msg_data))
        return ReceiveResult(msg_data, conv_data, False, created)

    for attempt in range(_INTEGRITY_RETRIES):
        try:
            result = await ctx.write(unit, key=(inbound.channel_id, inbound.contact.external_id))
            break
        except IntegrityError:
            # Another process stored the same provider id or identity at the same moment;
            # running again finds what it stored.
            if attempt == _INTEGRITY_RETRIES - 1:
                raise
    await ctx.publish(*events)
    return result


async def _activity(
    session: AsyncSession,
    conv: Conversation,
    actor: Principal | None,
    body: str,
    meta: dict[str, Any],
) -> Message:
    msg = Message(
        conversation_id=conv.id,
        channel_id=conv.channel_id,
        kind=MessageKind.ACTIVITY.value,
        body=body,
        sender_operator_id=actor.operator_id if actor else None,
        meta=meta,
        created_at=utcnow(),
    )
    session.add(msg)
    conv.last_activity_at = msg.created_at
    await session.flush()
    return msg


def _operator_names(actor: Principal | None) -> dict[int, str]:
    return {actor.operator_id: actor.name} if actor else {}


async def post_message(
    ctx: HubContext, actor: Principal, conversation_id: int, body: str, *, private: bool
) -> dict[str, Any]:
    """An operator's reply (sent to the customer) or internal note (never sent)."""
    body = _check_body(ctx, body)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        conv = await get_visible_conversation(session, actor, conversation_id)
        channel = await session.get(Channel, conv.channel_id)
        assert channel is not None
        now = utcnow()
        msg = Message(
            conversation_id=conv.id,
            channel_id=conv.channel_id,
            kind=(MessageKind.NOTE if private else MessageKind.OUTGOING).value,
            body=body,
            sender_operator_id=actor.operator_id,
            meta={},
            created_at=now,
        )
        if not private and channel_delivers(channel):
            msg.delivery_status = DeliveryStatus.PENDING.value
            msg.next_attempt_at = now
        session.add(msg)
        conv.last_activity_at = now
        if not private:
            conv.last_message_preview = _preview(body)
            conv.unread_count = 0
        await session.flush()
        data = message_dict(msg, _operator_names(actor))
        recipients = _recipients(conv)
        events.append(MessageCreated(recipients, conv.id, data))
        events.append(ConversationUpdated(recipients, conversation_dict(conv)))
        return data

    data = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*events)
    if data["delivery"] is not None:
        ctx.delivery_wakeup.set()
    return data


def channel_delivers(channel: Channel) -> bool:
    """Whether replies on ``channel`` go out through an adapter (an API channel needs a URL)."""
    if channel.type == "api":
        return bool(channel.config.get("callback_url"))
    return True


async def send_reply(
    ctx: HubContext, actor: Principal, conversation_id: int, body: str
) -> dict[str, Any]:
    return await post_message(ctx, actor, conversation_id, body, private=False)


async def add_note(
    ctx: HubContext, actor: Principal, conversation_id: int, body: str
) -> dict[str, Any]:
    return await post_message(ctx, actor, conversation_id, body, private=True)


def _assignment_text(
    actor: Principal,
    previous: Operator | None,
    target: Operator | None,
    team: Team | None,
    note: str,
) -> tuple[str, str]:
    """The activity line operators read, e.g. "Anna transferred to Oleg: wants a discount"."""
    if target is None and team is None and previous is not None:
        action, text = "unassigned", f"{actor.name} unassigned {previous.name}"
    elif target is not None and target.id == actor.operator_id and previous is None:
        action, text = "assigned", f"{actor.name} took the conversation"
    else:
        if target is not None:
            who = f"{target.name} ({team.name})" if team is not None else target.name
        else:
            who = f"team {team.name}" if team is not None else "nobody"
        action = "transferred" if previous is not None else "assigned"
        text = f"{actor.name} {action} to {who}"
    if note:
        text = f"{text}: {note}"
    return action, text


async def assign(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    *,
    operator_id: int | None,
    team_id: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Assign or transfer a conversation to an operator and/or a team, with a handoff note.

    ``operator_id=None`` leaves the conversation with no operator (its team still sees it);
    ``team_id=None`` keeps the team it has.
    """
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput("the handoff note is longer than 2000 characters", code="note_too_long")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        conv = await get_visible_conversation(session, actor, conversation_id)
        target = None
        if operator_id is not None:
            target = await session.get(Operator, operator_id)
            if target is None or not target.is_active:
                raise InvalidInput(f"operator {operator_id} not found", code="operator_not_found")
        team = None
        if team_id is not None:
            team = await session.get(Team, team_id)
            if team is None:
                raise InvalidInput(f"team {team_id} not found", code="team_not_found")
        previous = await session.get(Operator, conv.assignee_id) if conv.assignee_id else None
        previous_team_id = conv.team_id
        new_team_id = team.id if team is not None else conv.team_id
        new_assignee_id = target.id if target is not None else None
        if new_assignee_id == conv.assignee_id and new_team_id == conv.team_id:
            raise Conflict("the conversation is already assigned so", code="nothing_to_change")
        changed_team = team if new_team_id != previous_team_id else None
        action, text = _assignment_text(actor, previous, target, changed_team, note)
        conv.assignee_id = new_assignee_id
        conv.team_id = new_team_id
        meta = {
            "action": action,
            "from_operator_id": previous.id if previous else None,
            "to_operator_id": conv.assignee_id,
            "from_team_id": previous_team_id,
            "to_team_id": conv.team_id,
            "note": note,
        }
        activity = await _activity(session, conv, actor, text, meta)
        conv_data = conversation_dict(conv)
        recipients = _recipients(conv)
        departing = Recipients.for_conversation(previous_team_id, previous.id if previous else None)
        events.append(
            ConversationAssigned(
                Recipients(
                    True,
                    recipients.team_ids | departing.team_ids,
                    recipients.operator_ids | departing.operator_ids,
                ),
                conv_data,
                previous.id if previous else None,
                previous_team_id,
                note,
            )
        )
        events.append(
            MessageCreated(recipients, conv.id, message_dict(activity, _operator_names(actor)))
        )
        return conv_data

    data = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*events)
    return data


_STATUS_TEXT = {
    ConversationStatus.OPEN.value: "reopened the conversation",
    ConversationStatus.PENDING.value: "marked the conversation as pending",
    ConversationStatus.RESOLVED.value: "resolved the conversation",
}


async def set_status(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    status: str,
    snoozed_until: datetime | None = None,
) -> dict[str, Any]:
    """Open, pend, snooze (until a time) or resolve a conversation."""
    valid = {s.value for s in ConversationStatus}
    if status not in valid:
        raise InvalidInput(f"status must be one of {sorted(valid)}", code="invalid_status")
    if status == ConversationStatus.SNOOZED.value:
        if snoozed_until is None:
            raise InvalidInput("snoozing needs snoozed_until", code="snooze_time_required")
        if snoozed_until <= utcnow():
            raise InvalidInput("snoozed_until must be in the future", code="snooze_time_past")
    elif snoozed_until is not None:
        raise InvalidInput("snoozed_until is only for status snoozed", code="invalid_status")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        conv = await get_visible_conversation(session, actor, conversation_id)
        if conv.status == status and conv.snoozed_until == snoozed_until:
            return conversation_dict(conv)
        conv.status = status
        conv.snoozed_until = snoozed_until
        if snoozed_until is not None:
            text = f"{actor.name} snoozed the conversation until {snoozed_until.isoformat()}"
        else:
            text = f"{actor.name} {_STATUS_TEXT[status]}"
        meta = {
            "action": "status",
            "status": status,
            "snoozed_until": snoozed_until.isoformat() if snoozed_until else None,
        }
        activity = await _activity(session, conv, actor, text, meta)
        data = conversation_dict(conv)
        recipients = _recipients(conv)
        events.append(ConversationUpdated(recipients, data))
        events.append(
            MessageCreated(recipients, conv.id, message_dict(activity, _operator_names(actor)))
        )
        return data

    data = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*events)
    return data


async def wake_snoozed(ctx: HubContext) -> int:
    """Reopen conversations whose snooze time has passed; returns how many."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> int:
        events.clear()
        now = utcnow()
        due = (
            await session.scalars(
                select(Conversation)
                .where(
                    Conversation.status == ConversationStatus.SNOOZED.value,
                    Conversation.snoozed_until <= now,
                )
                .limit(500)
            )
        ).all()
        for conv in due:
            changed = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conv.id,
                    Conversation.status == ConversationStatus.SNOOZED.value,
                )
                .values(status=ConversationStatus.OPEN.value, snoozed_until=None)
                .execution_options(synchronize_session="fetch")
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                continue
            activity = await _activity(
                session,
                conv,
                None,
                "The snooze ended; the conversation is open again",
                {"action": "status", "status": "open", "reason": "snooze_ended"},
            )
            recipients = _recipients(conv)
            events.append(ConversationUpdated(recipients, conversation_dict(conv)))
            events.append(MessageCreated(recipients, conv.id, message_dict(activity)))
        return len(due)

    count = await ctx.write(unit)
    await ctx.publish(*events)
    return count
