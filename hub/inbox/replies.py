"""An operator's reply (sent to the customer) or internal note (never sent): the named write.

Replies come as fast as customers write, so they take the group commit's batch path like
customer messages do: ``reply_batch`` writes the plain replies and notes of a batch with a few
statements on the write lane's driver connection. What it does not take (files to claim, a
request that will fail a check, anything after such a one in the same conversation) is written
here, one at a time, by ``reply_one``, the ORM unit both paths must agree with. After the commit
a live channel's reply is handed to its sockets (``live_replies``); any other reply that leaves
the hub waits for the delivery worker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import OutboundMessage
from hub.context import HubContext
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.errors import InvalidInput
from hub.events import Event, MessageCreated
from hub.inbox.access import get_visible_conversation
from hub.inbox.actions import check_body, operator_names, recipients_of
from hub.inbox.attachments import claim_uploads
from hub.inbox.auth import Principal
from hub.inbox.inbound_plan import files_preview, preview
from hub.inbox.live_replies import hand_over
from hub.inbox.models import (
    Channel,
    ContactIdentity,
    DeliveryStatus,
    Message,
    MessageKind,
)
from hub.inbox.reply_batch import LiveReply, Posted, ReplyItem, write_replies
from hub.inbox.serialize import attachment_dict, conversation_dict, iso, message_dict
from hub.writes import RunAlone


async def post_message(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    body: str,
    *,
    private: bool,
    attachment_ids: list[int] | None = None,
    reply_to_id: int | None = None,
    tracking: bool = True,
) -> dict[str, Any]:
    """An operator's reply (sent to the customer) or internal note (never sent), with his
    uploaded files; ``reply_to_id`` names the message of the conversation it answers;
    ``tracking`` false sends it without open and click tracking."""
    body = check_body(ctx, body, may_be_empty=bool(attachment_ids))
    files = tuple(attachment_ids or ())
    item = ReplyItem(actor, conversation_id, body, private, files, reply_to_id, tracking)
    data, events, live = await ctx.writer.run_item(_reply_writes(ctx), item, conversation_id)
    await ctx.publish(*events)
    for channel_type, config, out in live:
        await hand_over(ctx, channel_type, config, out)
    if data["delivery"] is not None and not live:
        ctx.delivery_wakeup.set()
    return data


async def send_reply(
    ctx: HubContext, actor: Principal, conversation_id: int, body: str
) -> dict[str, Any]:
    return await post_message(ctx, actor, conversation_id, body, private=False)


async def add_note(
    ctx: HubContext, actor: Principal, conversation_id: int, body: str
) -> dict[str, Any]:
    return await post_message(ctx, actor, conversation_id, body, private=True)


async def reply_one(ctx: HubContext, session: AsyncSession, item: ReplyItem) -> Posted:
    """The per-message ORM path: every check, files claimed; what the batch must match."""
    actor, private, body = item.actor, item.private, item.body
    conv = await get_visible_conversation(session, actor, item.conversation_id)
    channel = await session.get(Channel, conv.channel_id)
    assert channel is not None
    caps = ctx.capabilities_of(channel.type)
    if not private and not caps.replies:
        raise InvalidInput(
            f"a {channel.type} conversation cannot be answered; write a note",
            code="replies_not_supported",
        )
    files = await claim_uploads(session, actor, conv.id, list(item.attachment_ids))
    if files and not private and not caps.files:
        # Its adapter would drop them without a word.
        raise InvalidInput(
            f"a {channel.type} channel cannot send files; attach them to a note",
            code="attachments_not_supported",
        )
    if item.reply_to_id is not None:
        target = await session.get(Message, item.reply_to_id)
        if target is None or target.conversation_id != conv.id:
            raise InvalidInput(
                f"message {item.reply_to_id} is not in this conversation", code="invalid_reply_to"
            )
    now = utcnow()
    msg = Message(
        conversation_id=conv.id,
        channel_id=conv.channel_id,
        kind=(MessageKind.NOTE if private else MessageKind.OUTGOING).value,
        body=body,
        sender_operator_id=actor.operator_id,
        meta={} if private or item.tracking else {"tracking": False},
        created_at=now,
        reply_to_id=item.reply_to_id,
    )
    # A live channel's reply without files is handed over at commit; any other that leaves
    # the hub goes through the outbox.
    instant = not private and caps.live and not files and conv.identity_id is not None
    if instant:
        msg.delivery_status = DeliveryStatus.SENT.value
        msg.delivery_attempts = 1
    elif not private and caps.delivers(channel.config):
        msg.delivery_status = DeliveryStatus.PENDING.value
        msg.next_attempt_at = now
    session.add(msg)
    conv.last_activity_at = now
    if not private:
        conv.last_message_preview = preview(body) or files_preview(len(files))
        conv.unread_count = 0
        if conv.first_incoming_at is not None and conv.first_reply_at is None:
            # The first response: the first operator reply after the customer wrote.
            conv.first_reply_at = now
            conv.first_replier_id = actor.operator_id
    await session.flush()
    if files:
        for att in files:
            att.message_id = msg.id
        await session.flush()
    live: list[LiveReply] = []
    if instant:
        identity = await session.get(ContactIdentity, conv.identity_id)
        assert identity is not None
        out = OutboundMessage(
            message_id=msg.id,
            conversation_id=conv.id,
            channel_id=channel.id,
            body=body,
            contact_external_id=identity.external_id,
            operator_name=actor.name,
            created_at=iso(now),
            contact_id=conv.contact_id,
            live=True,
        )
        live.append((channel.type, dict(channel.config), out))
    data = message_dict(msg, operator_names(actor), attachments=[attachment_dict(a) for a in files])
    events: list[Event] = [
        MessageCreated(recipients_of(conv), conv.id, data, conversation_dict(conv))
    ]
    return data, events, live


class ReplyWrites:
    """Replies and notes: set-based for a batch, the ORM path for what it leaves.

    As for customer messages, the batch's events go to the bus here, in one call as soon as
    it committed; each caller then waits for the bus in ``ctx.publish``."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx

    async def run_many(
        self, conn: DriverConnection, items: list[ReplyItem]
    ) -> list[Posted | RunAlone]:
        posted = await write_replies(conn, items, self._ctx.capabilities_of)
        events = [e for answer in posted if not isinstance(answer, RunAlone) for e in answer[1]]
        self._ctx.announce(*events)
        return [a if isinstance(a, RunAlone) else (a[0], [], a[2]) for a in posted]

    async def run_one(self, session: AsyncSession, item: ReplyItem) -> Posted:
        return await reply_one(self._ctx, session, item)


def _reply_writes(ctx: HubContext) -> ReplyWrites:
    """The context's one handler, so its replies share batches."""
    handler = ctx.batch_handlers.get("replies")
    if not isinstance(handler, ReplyWrites):
        handler = ctx.batch_handlers["replies"] = ReplyWrites(ctx)
    return handler
