"""Outbound delivery: operator replies leave through their channel's adapter, at least once.

The database is the queue: a reply is stored with ``delivery_status = pending`` in the same
commit as the message, so a crash or restart loses nothing. Workers (one per process) claim due
messages with a conditional update, which works alike on SQLite and PostgreSQL and lets several
processes share the work; a claim is a lease, so a worker that dies mid-send is retried by
another. Replies of one conversation go out in order. Only ``outgoing`` messages are ever
claimed: an internal note cannot reach an adapter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.channels.base import (
    ChannelAdapter,
    DeliveryError,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
)
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, NotFound
from hub.events import MessageUpdated, Recipients
from hub.inbox.access import get_visible_conversation
from hub.inbox.attachments import attachments_of
from hub.inbox.auth import Principal
from hub.inbox.models import (
    Attachment,
    Channel,
    ContactIdentity,
    Conversation,
    DeliveryStatus,
    Message,
    MessageKind,
    Operator,
)
from hub.inbox.serialize import attachment_dict, iso, message_dict
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)

CLAIM_BATCH = 50


@dataclass(frozen=True, slots=True)
class Claimed:
    out: OutboundMessage
    channel_type: str
    channel_config: dict[str, Any]
    secret: str
    attempts: int


def backoff_seconds(attempt: int, cap: float) -> float:
    """Exponential backoff with jitter: about 1, 2, 4 … seconds, at most ``cap``."""
    base: float = min(cap, float(2 ** min(attempt, 20)))
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


async def anything_due(session: AsyncSession) -> bool:
    """Whether some reply waits for delivery and its time has come (or it has none yet)."""
    due = await session.scalar(
        select(Message.id)
        .where(
            Message.delivery_status == DeliveryStatus.PENDING.value,
            Message.kind == MessageKind.OUTGOING.value,
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= utcnow()),
        )
        .limit(1)
    )
    return due is not None


class DeliveryWorker(PeriodicWorker):
    """Sends what is due; woken by every new reply (``ctx.delivery_wakeup``), and looks every
    ``HUB_DELIVERY_POLL_INTERVAL_S`` for retries whose time has come."""

    name = "delivery-worker"

    def __init__(self, ctx: HubContext, adapters: Mapping[str, ChannelAdapter]) -> None:
        super().__init__(
            interval_s=ctx.settings.delivery_poll_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
            wakeup=ctx.delivery_wakeup,
        )
        self._ctx = ctx
        self._adapters = adapters

    def busy(self, done: int) -> bool:
        return done > 0  # claims come in batches: look again until one finds nothing

    async def close(self) -> None:
        await self.stop()
        for adapter in self._adapters.values():
            await adapter.close()

    async def run_once(self) -> int:
        """Claim and send what is due; returns how many were attempted."""
        # A read first: most polls find nothing due, and a claim is a write unit that would
        # ride in the write lane with the customers' messages for nothing.
        if not await self._ctx.read(anything_due):
            return 0
        claimed = await self._ctx.write(self._claim)
        if not claimed:
            return 0
        by_conversation: dict[int, list[Claimed]] = {}
        for item in claimed:
            by_conversation.setdefault(item.out.conversation_id, []).append(item)
        await asyncio.gather(*(self._send_in_order(items) for items in by_conversation.values()))
        return len(claimed)

    async def _send_in_order(self, items: list[Claimed]) -> None:
        for index, item in enumerate(items):
            adapter = self._adapters.get(item.channel_type)
            error: DeliveryError | None = None
            result: SendResult | None = None
            if adapter is None:
                error = DeliveryError(f"no adapter for {item.channel_type}", retryable=False)
            else:
                try:
                    result = await adapter.send(item.channel_config, item.secret, item.out)
                except DeliveryError as exc:
                    error = exc
                except Exception as exc:
                    log.exception("adapter %s crashed", item.channel_type)
                    error = DeliveryError(f"internal error: {type(exc).__name__}")
            await self._record(item, error, result)
            if error is not None:
                # Later replies wait, so the customer gets them in order; their leases are
                # given back, so they follow as soon as this one is through, not when the
                # lease (3 x the delivery timeout) runs out.
                await self._release([later.out.message_id for later in items[index + 1 :]])
                return

    async def _release(self, message_ids: list[int]) -> None:
        if not message_ids:
            return

        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(Message)
                .where(
                    Message.id.in_(message_ids),
                    Message.delivery_status == DeliveryStatus.PENDING.value,
                )
                .values(next_attempt_at=utcnow())
            )

        await self._ctx.write(unit)

    async def _claim(self, session: AsyncSession) -> list[Claimed]:
        """Claim the due replies, oldest first, at most one waiting reply ahead per
        conversation: one select, one conditional UPDATE … RETURNING, one joined load."""
        now = utcnow()
        rows = (
            await session.execute(
                select(Message.id, Message.conversation_id, Message.next_attempt_at)
                .where(
                    Message.delivery_status == DeliveryStatus.PENDING.value,
                    Message.kind == MessageKind.OUTGOING.value,
                )
                .order_by(Message.id)
                .limit(CLAIM_BATCH * 4)
            )
        ).all()
        blocked: set[int] = set()
        wanted: list[tuple[int, int]] = []
        for msg_id, conv_id, next_at in rows:
            if conv_id in blocked or len(wanted) >= CLAIM_BATCH:
                continue
            if next_at is not None and next_at > now:
                blocked.add(conv_id)  # an earlier reply waits for its retry
                continue
            wanted.append((msg_id, conv_id))
        if not wanted:
            return []
        lease = now + timedelta(seconds=self._ctx.settings.delivery_timeout_s * 3)
        result = await session.execute(
            update(Message)
            .where(
                Message.id.in_([msg_id for msg_id, _ in wanted]),
                Message.delivery_status == DeliveryStatus.PENDING.value,
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .values(next_attempt_at=lease)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        got = set(result.scalars().all())
        # Another worker took one: its conversation's later replies wait for it, in order.
        lost = {conv_id for msg_id, conv_id in wanted if msg_id not in got}
        keep = [msg_id for msg_id, conv_id in wanted if msg_id in got and conv_id not in lost]
        given_back = [msg_id for msg_id, conv_id in wanted if msg_id in got and conv_id in lost]
        if given_back:
            await session.execute(
                update(Message)
                .where(Message.id.in_(given_back))
                .values(next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
        return await self._load(session, keep) if keep else []

    async def _load(self, session: AsyncSession, ids: list[int]) -> list[Claimed]:
        target = aliased(Message)
        rows = await session.execute(
            select(
                Message.id,
                Message.conversation_id,
                Message.channel_id,
                Message.body,
                Message.created_at,
                Message.delivery_attempts,
                Message.meta,
                target.provider_message_id,
                Conversation.contact_id,
                Channel.type,
                Channel.config,
                Channel.secret,
                Operator.name,
                ContactIdentity.external_id,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Channel, Channel.id == Message.channel_id)
            .outerjoin(target, target.id == Message.reply_to_id)
            .outerjoin(Operator, Operator.id == Message.sender_operator_id)
            # The identity that wrote the conversation, never another of its contact's: a
            # merge on an unverified email or phone must not send one customer's answers to
            # another.
            .outerjoin(ContactIdentity, ContactIdentity.id == Conversation.identity_id)
            .where(Message.id.in_(ids), Message.kind == MessageKind.OUTGOING.value)
            .order_by(Message.id)
        )
        files = await self._files(session, ids)
        claimed: dict[int, Claimed] = {}
        for (
            msg_id,
            conv_id,
            channel_id,
            body,
            created_at,
            attempts,
            meta,
            reply_to_provider_id,
            contact_id,
            channel_type,
            config,
            secret,
            operator_name,
            external_id,
        ) in rows.all():
            out = OutboundMessage(
                message_id=msg_id,
                conversation_id=conv_id,
                channel_id=channel_id,
                body=body,
                contact_external_id=external_id,
                operator_name=operator_name or "",
                created_at=iso(created_at),
                contact_id=contact_id,
                attachments=tuple(files.get(msg_id, ())),
                reply_to_provider_id=reply_to_provider_id,
                state=dict((meta or {}).get("provider") or {}),
                tracking=(meta or {}).get("tracking") is not False,
            )
            claimed[msg_id] = Claimed(out, channel_type, dict(config), secret, attempts)
        return list(claimed.values())

    async def _files(
        self, session: AsyncSession, ids: list[int]
    ) -> dict[int, list[OutboundAttachment]]:
        rows = await session.scalars(
            select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.id)
        )
        out: dict[int, list[OutboundAttachment]] = {}
        for att in rows:
            assert att.message_id is not None
            out.setdefault(att.message_id, []).append(
                OutboundAttachment(
                    att.id,
                    att.filename,
                    att.content_type,
                    att.size,
                    att.kind,
                    self._ctx.media.path(att.storage_key),
                )
            )
        return out

    async def _record(
        self, item: Claimed, error: DeliveryError | None, result: SendResult | None = None
    ) -> None:
        settings = self._ctx.settings
        recipients: list[Recipients] = []
        payload: list[dict[str, Any]] = []

        async def unit(session: AsyncSession) -> None:
            msg = await session.get(Message, item.out.message_id)
            if msg is None:
                return
            msg.delivery_attempts += 1
            state = result.state if result is not None else error.state if error else None
            if state:
                msg.meta = {**(msg.meta or {}), "provider": state}
            if result is not None and result.provider_message_id:
                msg.provider_message_id = result.provider_message_id
            if error is None:
                msg.delivery_status = DeliveryStatus.SENT.value
                msg.delivery_error = None
                msg.next_attempt_at = None
            elif not error.retryable or msg.delivery_attempts >= settings.delivery_max_attempts:
                msg.delivery_status = DeliveryStatus.FAILED.value
                msg.delivery_error = error.reason
                msg.next_attempt_at = None
            else:
                msg.delivery_error = error.reason
                wait = error.retry_after
                if wait is None:
                    wait = backoff_seconds(
                        msg.delivery_attempts - 1, settings.delivery_max_backoff_s
                    )
                msg.next_attempt_at = utcnow() + timedelta(seconds=wait)
            await session.flush()
            conv = await session.get(Conversation, msg.conversation_id)
            assert conv is not None
            recipients.append(Recipients.for_conversation(conv.team_id, conv.assignee_id))
            names = (
                {msg.sender_operator_id: item.out.operator_name} if msg.sender_operator_id else {}
            )
            files = [attachment_dict(a) for a in item.out.attachments]
            payload.append(message_dict(msg, names, attachments=files))

        await self._ctx.write(unit)
        if error is not None:
            log.warning(
                "delivery of message %s failed (attempt %s): %s",
                item.out.message_id,
                item.attempts + 1,
                error.reason,
            )
        if payload:
            # A worker answers nobody: it does not wait for the bus (a reply's push would
            # wait behind the one before it).
            self._ctx.announce(MessageUpdated(recipients[0], item.out.conversation_id, payload[0]))


async def retry_delivery(ctx: HubContext, actor: Principal, message_id: int) -> dict[str, Any]:
    """Put a failed reply back in the queue: the operator's "retry" after fixing the cause."""
    events: list[MessageUpdated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        msg = await session.get(Message, message_id)
        if msg is not None:
            try:
                await get_visible_conversation(session, actor, msg.conversation_id)
            except NotFound:
                msg = None  # another's message answers as a missing one, so ids cannot be probed
        if msg is None:
            raise NotFound(f"message {message_id} not found", code="message_not_found")
        if msg.delivery_status != DeliveryStatus.FAILED.value:
            raise Conflict("only a failed reply can be retried", code="not_failed")
        msg.delivery_status = DeliveryStatus.PENDING.value
        msg.next_attempt_at = utcnow()
        msg.delivery_attempts = 0
        await session.flush()
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        files = await attachments_of(session, [msg.id])
        data = message_dict(msg, attachments=files.get(msg.id))
        recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
        events.append(MessageUpdated(recipients, conv.id, data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    ctx.delivery_wakeup.set()
    return data
