"""The worker that sends scheduled emails when their time comes, once, whatever the processes.

Every process runs one (``start``/``stop``/``run_once()``, every
``HUB_SCHEDULED_EMAIL_POLL_INTERVAL_S``). A pass claims the due rows with a conditional update
that sets a lease (its owner: a token of this claim), so another process does not take them
meanwhile and an operator's edit is refused ("being sent"). Then each row goes in one write
unit that first flips it from ``scheduled`` to ``sent`` only if the lease is still this claim's
(the row's lock on PostgreSQL, the one writer on SQLite), then writes the email exactly as the
operator's immediate send does (``reply_one``, ``open_new_email``: same checks, same outbox,
so suppression, bounces and threading apply), and stores the message's id on the row. Either
all of that commits or none of it: a crash before the commit leaves the row scheduled, and
another pass takes it once the lease ran out; after the commit a second claim finds it sent.
The delivery worker sends the message from there, with its own retries.

A refusal by those checks (the address got suppressed, the conversation is no longer the
author's to answer, he was deactivated) fails the row with the reason. Any other failure (the
database away) gives the lease back with a backoff and the row is tried again, failed after
``HUB_DELIVERY_MAX_ATTEMPTS`` claims.

The worker's clock is injectable (``clock``): tests move it ahead instead of waiting.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.new_email import NewEmail, open_new_email
from hub.channels.email.scheduled_models import ScheduledEmail, ScheduleKind, ScheduleStatus
from hub.channels.email.scheduled_queries import recipients, scheduled_dict
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import DomainError, InvalidInput
from hub.events import Event, ScheduledEmailUpdated
from hub.inbox.access import can_see
from hub.inbox.auth import Principal, load_principal
from hub.inbox.delivery import backoff_seconds
from hub.inbox.models import Conversation, Operator
from hub.inbox.replies import reply_one
from hub.inbox.reply_batch import ReplyItem
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)

CLAIM_BATCH = 50
#: How long a claim holds a row: far longer than one write unit may take (``HUB_DB_TIMEOUT_S``).
LEASE = timedelta(seconds=60)

Clock = Callable[[], datetime]


def _due(now: datetime) -> Any:
    return (
        ScheduledEmail.status == ScheduleStatus.SCHEDULED.value,
        ScheduledEmail.send_at <= now,
        or_(ScheduledEmail.lease_until.is_(None), ScheduledEmail.lease_until <= now),
    )


async def _author(session: AsyncSession, operator_id: int) -> Principal:
    op = await session.get(Operator, operator_id)
    if op is None or not op.is_active:
        raise InvalidInput("its author is no longer an active operator", code="author_inactive")
    return await load_principal(session, op)


class ScheduledSender(PeriodicWorker):
    """Turns due scheduled emails into outgoing messages, each once."""

    name = "scheduled-emails"

    def __init__(self, ctx: HubContext, *, clock: Clock = utcnow) -> None:
        super().__init__(
            interval_s=ctx.settings.scheduled_email_poll_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx
        self.clock = clock

    def busy(self, done: int) -> bool:
        return done > 0  # claims come in batches: look again until one finds nothing

    async def run_once(self) -> int:
        """Claim what is due and send it; how many were claimed."""
        now = self.clock()

        async def anything_due(session: AsyncSession) -> bool:
            found = await session.scalar(select(ScheduledEmail.id).where(*_due(now)).limit(1))
            return found is not None

        # A read first: most passes find nothing, and a claim is a write.
        if not await self._ctx.read(anything_due):
            return 0
        owner, claimed = await self.claim(now)
        for scheduled_id in claimed:
            await self.send_claimed(scheduled_id, owner)
        return len(claimed)

    async def claim(self, now: datetime) -> tuple[str, list[int]]:
        """Take a lease on what is due at ``now``: (this claim's owner token, the ids)."""
        owner = uuid.uuid4().hex
        return owner, await self._ctx.write(lambda s: self._claim(s, now, owner))

    async def _claim(self, session: AsyncSession, now: datetime, owner: str) -> list[int]:
        ids = list(
            await session.scalars(
                select(ScheduledEmail.id)
                .where(*_due(now))
                .order_by(ScheduledEmail.send_at, ScheduledEmail.id)
                .limit(CLAIM_BATCH)
            )
        )
        if not ids:
            return []
        got = await session.execute(
            update(ScheduledEmail)
            .where(ScheduledEmail.id.in_(ids), *_due(now))
            .values(
                lease_owner=owner,
                lease_until=now + LEASE,
                attempts=ScheduledEmail.attempts + 1,
            )
            .returning(ScheduledEmail.id)
            .execution_options(synchronize_session=False)
        )
        taken = set(got.scalars().all())
        return [i for i in ids if i in taken]  # in their order: one conversation's in turn

    async def send_claimed(self, scheduled_id: int, owner: str) -> None:
        """Turn one claimed row into its message, if the claim is still ``owner``'s."""
        ctx = self._ctx
        events: list[Event] = []

        async def unit(session: AsyncSession) -> None:
            events.clear()
            sent_at = utcnow()
            flipped = await session.execute(
                update(ScheduledEmail)
                .where(
                    ScheduledEmail.id == scheduled_id,
                    ScheduledEmail.status == ScheduleStatus.SCHEDULED.value,
                    ScheduledEmail.lease_owner == owner,
                )
                .values(
                    status=ScheduleStatus.SENT.value,
                    sent_at=sent_at,
                    updated_at=sent_at,
                    lease_owner=None,
                    lease_until=None,
                    error=None,
                )
                .returning(ScheduledEmail.id)
                .execution_options(synchronize_session=False)
            )
            if flipped.scalar() is None:
                return  # cancelled meanwhile, or another claim's after this lease ran out
            row = await session.get(ScheduledEmail, scheduled_id, populate_existing=True)
            assert row is not None
            actor = await _author(session, row.operator_id)
            if row.kind == ScheduleKind.REPLY.value:
                conv = await session.get(Conversation, row.conversation_id)
                if conv is None or not can_see(actor, conv):
                    raise InvalidInput(
                        "its author may no longer answer the conversation (it was handed to "
                        "another team)",
                        code="conversation_not_visible",
                    )
                assert row.conversation_id is not None
                item = ReplyItem(
                    actor,
                    row.conversation_id,
                    row.body,
                    private=False,
                    reply_to_id=row.reply_to_id,
                    tracking=row.tracking,
                )
                message, made, _ = await reply_one(ctx, session, item)
            else:
                email = NewEmail(
                    row.channel_id,
                    row.subject or "",
                    row.body,
                    row.to_address,
                    tracking=row.tracking,
                )
                data, made = await open_new_email(ctx, session, actor, row.contact_id, email)
                message = data["message"]
            row.message_id = int(message["id"])
            row.conversation_id = int(message["conversation_id"])
            await session.flush()
            events.extend(made)
            events.append(ScheduledEmailUpdated(recipients(row), scheduled_dict(row, actor.name)))

        try:
            await ctx.write(unit)
        except DomainError as refused:
            if refused.status >= 500:  # the database away: try again later
                await self._give_back(scheduled_id, owner, refused.message)
            else:
                await self._fail(scheduled_id, owner, refused.message)
            return
        except Exception as exc:
            log.exception("scheduled email %d could not be sent", scheduled_id)
            await self._give_back(scheduled_id, owner, f"internal error: {type(exc).__name__}")
            return
        if events:
            # A worker answers nobody: it does not wait for the bus.
            ctx.announce(*events)
            ctx.delivery_wakeup.set()

    async def _fail(self, scheduled_id: int, owner: str, reason: str) -> None:
        await self._settle(scheduled_id, owner, reason, retry_in=None)

    async def _give_back(self, scheduled_id: int, owner: str, reason: str) -> None:
        """Release the claim with a backoff (or fail it after the last attempt)."""
        await self._settle(scheduled_id, owner, reason, retry_in=0.0)

    async def _settle(
        self, scheduled_id: int, owner: str, reason: str, *, retry_in: float | None
    ) -> None:
        settings = self._ctx.settings
        events: list[Event] = []

        async def unit(session: AsyncSession) -> None:
            events.clear()
            row = await session.get(ScheduledEmail, scheduled_id, populate_existing=True)
            if (
                row is None
                or row.status != ScheduleStatus.SCHEDULED.value
                or row.lease_owner != owner
            ):
                return
            row.error = reason
            row.updated_at = utcnow()
            if retry_in is None or row.attempts >= settings.delivery_max_attempts:
                row.status = ScheduleStatus.FAILED.value
                row.lease_owner = row.lease_until = None
            else:
                wait = backoff_seconds(row.attempts - 1, settings.delivery_max_backoff_s)
                # Still this claim's until then, so no pass takes it before the backoff.
                row.lease_until = self.clock() + timedelta(seconds=wait)
            await session.flush()
            name = await session.scalar(select(Operator.name).where(Operator.id == row.operator_id))
            events.append(ScheduledEmailUpdated(recipients(row), scheduled_dict(row, name or "")))

        try:
            await self._ctx.write(unit)
        except Exception:  # the lease runs out by itself: the row is tried again then
            log.exception("scheduled email %d: recording the failure failed", scheduled_id)
            return
        log.warning("scheduled email %d did not go: %s", scheduled_id, reason)
        self._ctx.announce(*events)
