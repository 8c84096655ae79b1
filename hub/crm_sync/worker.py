"""Sync out: the outbox worker that fans records out to subscribers and delivers them.

Everything is in the database, so a restart or a second process loses and doubles nothing:

1. **Fan-out.** New ``sync_records`` become one ``sync_deliveries`` row per active subscription
   that wants the event. The read position is the ``sync_fanout`` row of ``crm_cursors``, moved
   in the same transaction as the inserted deliveries and only if nobody moved it meanwhile
   (``UPDATE … WHERE last_id = <what we read>``): two processes racing on it cannot both win.
   Record ids are given out before their transactions commit, so on PostgreSQL a later id can
   commit first; the fan-out stops at a hole in the ids and waits for it to fill, and passes it
   only once the record after it is ``GAP_GRACE_S`` old (a rolled-back change leaves a hole for
   good).
2. **Claim.** A delivery is due when it is pending, its time has come, and no earlier delivery of
   the same subscription and entity (``ordering_key``) is still pending: one conditional
   ``UPDATE … WHERE status = 'pending' AND next_attempt_at <= now RETURNING id`` leases it
   (``next_attempt_at`` moves past the attempt's timeout), so two processes never send it at
   once and a later change of a deal never overtakes an earlier one that is still on its way.
3. **Attempt.** POST the body, signed by the Standard Webhooks scheme; 2xx is delivered;
   anything else is retried with exponential backoff and jitter until ``HUB_SYNC_MAX_ATTEMPTS``,
   then ``failed`` (an admin can retry it). Every attempt is a row of ``sync_attempts``, written
   with the delivery's new state.

Delivery is at least once: a process that dies after the subscriber answered but before the
commit sends again, with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.context import HubContext
from hub.crm_sync.clients.webhook import (
    Poster,
    PostResult,
    envelope,
    headers,
    idempotency_key,
)
from hub.crm_sync.models import (
    CrmCursor,
    SyncAttempt,
    SyncDelivery,
    SyncRecord,
    WebhookSubscription,
)
from hub.crm_sync.subscriptions import wants
from hub.db import utcnow
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)

CURSOR = "sync_fanout"
FANOUT_BATCH = 1000
CLAIM_BATCH = 50
#: How long a hole in the record ids may stay unfilled before the fan-out passes it.
GAP_GRACE_S = 10.0


class CursorMoved(Exception):
    """Another process fanned the same records out first; this transaction is rolled back."""


def backoff_seconds(attempts: int, cap: float) -> float:
    """About 1, 2, 4 … seconds after the 1st, 2nd, 3rd failed attempt, at most ``cap``."""
    base: float = min(cap, float(2 ** min(max(attempts - 1, 0), 30)))
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    attempts: int
    url: str
    secret: str
    key: str
    event: str
    body: bytes


async def fan_out(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Turn the next records into deliveries; returns how many records it passed."""
    now = now or utcnow()
    cursor = await session.get(CrmCursor, CURSOR)
    if cursor is None:
        cursor = CrmCursor(name=CURSOR, last_id=0)
        session.add(cursor)
        await session.flush()
    start = cursor.last_id
    rows = (
        await session.execute(
            select(SyncRecord.id, SyncRecord.event, SyncRecord.ordering_key, SyncRecord.created_at)
            .where(SyncRecord.id > start)
            .order_by(SyncRecord.id)
            .limit(FANOUT_BATCH)
        )
    ).all()
    taken = []
    expected = start + 1
    for row in rows:
        if row.id != expected and row.created_at > now - timedelta(seconds=GAP_GRACE_S):
            break  # an earlier record may still commit: wait for it
        taken.append(row)
        expected = row.id + 1
    if not taken:
        return 0
    subs = (
        await session.execute(
            select(WebhookSubscription.id, WebhookSubscription.events).where(
                WebhookSubscription.is_active.is_(True)
            )
        )
    ).all()
    values = [
        {
            "subscription_id": sub_id,
            "record_id": row.id,
            "ordering_key": row.ordering_key,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for row in taken
        for sub_id, events in subs
        if wants(list(events or []), row.event)
    ]
    if values:
        await session.execute(insert(SyncDelivery), values)
    moved = await session.execute(
        update(CrmCursor)
        .where(CrmCursor.name == CURSOR, CrmCursor.last_id == start)
        .values(last_id=taken[-1].id)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise CursorMoved
    return len(taken)


async def pending_work(session: AsyncSession) -> tuple[bool, bool]:
    """Whether records wait to be fanned out, and whether deliveries are due: one read."""
    cursor = select(CrmCursor.last_id).where(CrmCursor.name == CURSOR).scalar_subquery()
    row = (
        await session.execute(
            select(
                exists().where(SyncRecord.id > func.coalesce(cursor, 0)),
                exists().where(
                    SyncDelivery.status == "pending", SyncDelivery.next_attempt_at <= utcnow()
                ),
            )
        )
    ).one()
    return bool(row[0]), bool(row[1])


async def claim(
    session: AsyncSession, lease_s: float, *, limit: int = CLAIM_BATCH
) -> list[Claimed]:
    """Lease the due deliveries, at most one per subscription and entity, oldest first."""
    now = utcnow()
    earlier = aliased(SyncDelivery)
    heads = (
        select(SyncDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == SyncDelivery.subscription_id)
        .where(
            SyncDelivery.status == "pending",
            SyncDelivery.next_attempt_at <= now,
            WebhookSubscription.is_active.is_(True),
            ~exists().where(
                and_(
                    earlier.subscription_id == SyncDelivery.subscription_id,
                    earlier.ordering_key == SyncDelivery.ordering_key,
                    earlier.record_id < SyncDelivery.record_id,
                    earlier.status == "pending",
                )
            ),
        )
        .order_by(SyncDelivery.id)
        .limit(limit)
    )
    ids = list((await session.scalars(heads)).all())
    if not ids:
        return []
    got = (
        await session.scalars(
            update(SyncDelivery)
            .where(
                SyncDelivery.id.in_(ids),
                SyncDelivery.status == "pending",
                SyncDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + timedelta(seconds=lease_s))
            .returning(SyncDelivery.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not got:
        return []
    rows = await session.execute(
        select(SyncDelivery, SyncRecord, WebhookSubscription.url, WebhookSubscription.secret)
        .join(SyncRecord, SyncRecord.id == SyncDelivery.record_id)
        .join(WebhookSubscription, WebhookSubscription.id == SyncDelivery.subscription_id)
        .where(SyncDelivery.id.in_(list(got)))
        .order_by(SyncDelivery.id)
    )
    claimed = []
    for delivery, record, url, secret in rows.all():
        key = idempotency_key(record.id, delivery.subscription_id)
        body = envelope(
            key=key,
            event=record.event,
            entity=record.entity,
            entity_id=record.entity_id,
            created_at=record.created_at,
            payload=dict(record.payload),
        )
        claimed.append(
            Claimed(delivery.id, delivery.attempts, url, secret, key, record.event, body)
        )
    return claimed


class SyncWorker(PeriodicWorker):
    """One per process, started and stopped with the app; looks for work every
    ``HUB_SYNC_POLL_INTERVAL_S``."""

    name = "sync-worker"

    def __init__(self, ctx: HubContext, poster: Poster) -> None:
        super().__init__(
            interval_s=ctx.settings.sync_poll_interval_s, backoff_s=ctx.settings.worker_backoff_s
        )
        self._ctx = ctx
        self._poster = poster

    def busy(self, done: int) -> bool:
        return done > 0  # more records or due deliveries may wait behind a batch

    async def close(self) -> None:
        await self.stop()
        await self._poster.close()

    async def run_once(self) -> int:
        """One round: fan out what is new, then attempt what is due; returns the work done."""
        # A read first: most rounds find nothing, and each step is a write unit that would ride
        # in the write lane with the customers' messages for nothing.
        new_records, due = await self._ctx.read(pending_work)
        passed = 0
        if new_records:
            try:
                passed = await self._ctx.write(fan_out, background=True)
            except (CursorMoved, IntegrityError):
                passed = 1  # another process got there first: look again at once
        if not due:
            return passed
        lease = self._ctx.settings.sync_timeout_s * 3
        claimed = await self._ctx.write(lambda session: claim(session, lease), background=True)
        if claimed:
            await asyncio.gather(*(self._attempt(item) for item in claimed))
        return passed + len(claimed)

    async def _attempt(self, item: Claimed) -> None:
        started = time.perf_counter()
        try:
            result = await self._poster.post(
                item.url, item.body, headers(item.secret, item.key, item.event, item.body)
            )
        except Exception as exc:  # a poster must not raise; if it does, it is one failed attempt
            log.exception("posting delivery %s crashed", item.delivery_id)
            result = PostResult(None, f"internal error: {type(exc).__name__}")
        duration_ms = int((time.perf_counter() - started) * 1000)
        await self._ctx.write(
            lambda session: self._record(session, item, result, duration_ms), background=True
        )
        if not result.ok:
            log.info(
                "sync delivery %s attempt %s failed: %s",
                item.delivery_id,
                item.attempts + 1,
                result.error,
            )

    async def _record(
        self, session: AsyncSession, item: Claimed, result: PostResult, duration_ms: int
    ) -> None:
        settings = self._ctx.settings
        now = utcnow()
        attempts = item.attempts + 1
        if await session.get(SyncDelivery, item.delivery_id) is None:
            return  # its subscription was deleted meanwhile, with its log
        session.add(
            SyncAttempt(
                delivery_id=item.delivery_id,
                attempted_at=now,
                status_code=result.status_code,
                error=result.error,
                duration_ms=duration_ms,
            )
        )
        values: dict[str, Any] = {"attempts": attempts}
        if result.ok:
            values.update(status="delivered", delivered_at=now, last_error=None)
        elif attempts >= settings.sync_max_attempts:
            values.update(status="failed", last_error=result.error)
        else:
            wait = backoff_seconds(attempts, settings.sync_max_backoff_s)
            values.update(last_error=result.error, next_attempt_at=now + timedelta(seconds=wait))
        await session.execute(
            update(SyncDelivery)
            .where(SyncDelivery.id == item.delivery_id, SyncDelivery.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
