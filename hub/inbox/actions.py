"""Named writes of the inbox messages: each validates, writes, commits, then publishes.

Nothing here is called from ORM hooks; a route or a channel adapter calls one of these, and
what it returns is what was committed. Assignment and status live in ``handoff``, contact
details in ``contacts``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundMessage
from hub.context import HubContext
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.errors import InvalidInput, NotFound
from hub.events import (
    ConversationCreated,
    ConversationUpdated,
    Event,
    MessageCreated,
    Recipients,
)
from hub.inbox.attachments import add_inbound, attachments_of
from hub.inbox.auth import Principal
from hub.inbox.contacts import find_or_create_identity
from hub.inbox.inbound_batch import ReceiveResult, Stored, store_batch
from hub.inbox.inbound_plan import files_preview, preview
from hub.inbox.items import add_item, check_item, items_of, preview_of
from hub.inbox.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
)
from hub.inbox.serialize import attachment_dict, conversation_dict, message_dict
from hub.writes import BatchHandler, RunAlone

T = TypeVar("T")

_INTEGRITY_RETRIES = 3


def check_body(ctx: HubContext, body: str, *, may_be_empty: bool = False) -> str:
    if not isinstance(body, str) or not (body.strip() or may_be_empty):
        raise InvalidInput("the message body is empty", code="empty_body")
    if len(body) > ctx.settings.max_message_chars:
        raise InvalidInput(
            f"the message is longer than {ctx.settings.max_message_chars} characters",
            code="body_too_long",
        )
    return body


def recipients_of(conv: Conversation, *extra: int | None) -> Recipients:
    return Recipients.for_conversation(conv.team_id, conv.assignee_id, *extra)


async def receive_message(
    ctx: HubContext, inbound: InboundMessage, *, answers_someone: bool = True
) -> ReceiveResult:
    """Store a customer's message (once per provider id) and announce it to operators.

    A new contact or conversation is made as needed; a resolved or snoozed conversation opens
    again, as the customer is waiting for an answer. Messages that arrive together are stored
    together (``inbound_batch``); the answer comes once they are committed, and, when it
    ``answers_someone`` (a request), once the bus holds its events. A worker that answers
    nobody (a mailbox reader) does not wait for the bus: the events go out in order anyway.
    """
    return await store_inbound(
        ctx, _inbound_writes(ctx), inbound, inbound, answers_someone=answers_someone
    )


async def store_inbound(
    ctx: HubContext,
    handler: BatchHandler[T, Stored],
    item: T,
    inbound: InboundMessage,
    *,
    answers_someone: bool = True,
) -> ReceiveResult:
    """``receive_message`` through another handler of the write lane: one that stores
    ``item``, which carries ``inbound``, with what its channel keeps beside the message, in
    the same transaction (the widget's link of a visitor to his contact)."""
    check_body(
        ctx, inbound.body, may_be_empty=bool(inbound.attachments) or inbound.call is not None
    )
    check_item(inbound)
    key = (inbound.channel_id, inbound.contact.external_id)
    for attempt in range(_INTEGRITY_RETRIES):
        try:
            result, events = await ctx.writer.run_item(handler, item, key)
            break
        except IntegrityError:
            # Another process stored the same provider id or identity at the same moment;
            # running again finds what it stored.
            if attempt == _INTEGRITY_RETRIES - 1:
                raise
    if answers_someone:
        await ctx.publish(*events)
    else:
        ctx.announce(*events)
    return result


async def receive_one(session: AsyncSession, inbound: InboundMessage) -> Stored:
    """The per-message ORM path: what the batch leaves (a redelivery, answered from what was
    stored; a channel that is missing or off, refused), and a whole batch that failed.
    ``tests/test_inbound_paths.py`` holds the batch to the same results."""
    events: list[Event] = []
    body = inbound.body
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
            # A redelivery: answer as the first delivery was answered, store nothing.
            conv = await session.get(Conversation, existing.conversation_id)
            assert conv is not None
            sender = await session.get(Contact, existing.sender_contact_id or 0)
            names = {sender.id: sender.name} if sender else {}
            contact = await session.get(Contact, conv.contact_id)
            earlier = await attachments_of(session, [existing.id])
            item = (await items_of(session, [existing.id])).get(existing.id)
            msg_data = message_dict(
                existing, contact_names=names, attachments=earlier[existing.id], item=item
            )
            conv_data = conversation_dict(conv, contact, channel)
            return ReceiveResult(msg_data, conv_data, True, False), []
    contact, identity = await find_or_create_identity(session, inbound)
    # The conversation the channel proved he answers (a signed reply token), else his own
    # newest of this thread (or outside any): never another identity's that a merge put on
    # his contact.
    joined = (
        await session.get(Conversation, inbound.conversation_id)
        if inbound.conversation_id is not None
        else None
    )
    conv = joined or await session.scalar(
        select(Conversation)
        .where(
            Conversation.identity_id == identity.id,
            Conversation.thread_key.is_(None)
            if inbound.thread_key is None
            else Conversation.thread_key == inbound.thread_key,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    now = utcnow()
    created = conv is None
    reopened_from: str | None = None
    if conv is None:
        conv = Conversation(
            channel_id=channel.id,
            contact_id=contact.id,
            identity_id=identity.id,
            thread_key=inbound.thread_key,
            team_id=channel.team_id,
            status=ConversationStatus.OPEN.value,
            created_at=now,
            unread_count=0,
        )
        session.add(conv)
    elif conv.status in (ConversationStatus.RESOLVED.value, ConversationStatus.SNOOZED.value):
        reopened_from = conv.status
        conv.status = ConversationStatus.OPEN.value
        conv.snoozed_until = None
    conv.last_activity_at = now
    if conv.first_incoming_at is None:
        conv.first_incoming_at = now
    conv.last_message_preview = (
        preview_of(inbound) or preview(body) or files_preview(len(inbound.attachments))
    )
    conv.unread_count = (conv.unread_count or 0) + 1
    attributes = inbound.conversation_attributes_over(conv.attributes)
    if attributes is not None:
        conv.attributes = attributes
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
        reply_to_id=await _message_id(session, channel.id, inbound.reply_to_provider_id),
    )
    session.add(msg)
    await session.flush()
    files = add_inbound(session, conv.id, msg.id, inbound.attachments)
    item = add_item(session, msg.id, inbound)
    if files or item:
        await session.flush()
    reopen = None
    if reopened_from is not None:
        # A status change like any other, so operators see why it is open again.
        reopen = await add_activity(
            session,
            conv,
            None,
            "The customer wrote again; the conversation is open again",
            {
                "action": "status",
                "status": "open",
                "reason": "customer_message",
                "from_status": reopened_from,
            },
        )
    owner, home = contact, channel
    if joined is not None:  # shown as the conversation it joined: its customer, its channel
        owner = await session.get(Contact, conv.contact_id) or contact
        home = await session.get(Channel, conv.channel_id) or channel
    conv_data = conversation_dict(conv, owner, home)
    msg_data = message_dict(
        msg,
        contact_names={contact.id: contact.name},
        attachments=[attachment_dict(f) for f in files],
        item=item,
    )
    recipients = recipients_of(conv)
    if created:
        events.append(ConversationCreated(recipients, conv_data))
    elif reopen is not None:
        events.append(ConversationUpdated(recipients, conv_data))
    events.append(MessageCreated(recipients, conv.id, msg_data, conv_data))
    if reopen is not None:
        events.append(MessageCreated(recipients, conv.id, message_dict(reopen)))
    return ReceiveResult(msg_data, conv_data, False, created), events


async def _message_id(
    session: AsyncSession, channel_id: int, provider_id: str | None
) -> int | None:
    """The hub's id of the message a channel knows by ``provider_id`` (None if never stored)."""
    if provider_id is None:
        return None
    return await session.scalar(
        select(Message.id).where(
            Message.channel_id == channel_id, Message.provider_message_id == provider_id
        )
    )


class _InboundWrites:
    """Customer messages: set-based for a batch, the ORM path for what it leaves.

    The batch's events are published here, as soon as it committed and before its callers
    are woken: the whole batch goes to the bus in one call, without holding up the lane;
    each caller then waits for the bus in ``ctx.publish`` before it answers."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx

    async def run_many(
        self, conn: DriverConnection, items: list[InboundMessage]
    ) -> list[Stored | RunAlone]:
        stored = await store_batch(conn, items)
        events = [e for answer in stored if not isinstance(answer, RunAlone) for e in answer[1]]
        self._ctx.announce(*events)
        return [answer if isinstance(answer, RunAlone) else (answer[0], []) for answer in stored]

    async def run_one(self, session: AsyncSession, item: InboundMessage) -> Stored:
        return await receive_one(session, item)


def _inbound_writes(ctx: HubContext) -> _InboundWrites:
    """The context's one handler, so its messages share batches."""
    handler = ctx.batch_handlers.get("inbound")
    if not isinstance(handler, _InboundWrites):
        handler = ctx.batch_handlers["inbound"] = _InboundWrites(ctx)
    return handler


async def add_activity(
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


def operator_names(actor: Principal | None) -> dict[int, str]:
    return {actor.operator_id: actor.name} if actor else {}
