"""The lead intake: every new conversation is looked at once, in the background.

It reads conversations after a cursor (``crm_cursors`` row ``lead_intake``), so a restart or a
lost bus event never skips one, and it never slows the inbound write path: customer messages are
stored and acknowledged without a single CRM query. It wakes when a conversation is created
(the bus's small ``new-conversations`` topic, not the whole event stream) and also polls every
few seconds. With several hub processes one holds a lease on the cursor and runs the
intake; the others only check the lease, and take over when it runs out.

What a conversation becomes (a lead with its source, a link to the contact's open deal, a
merge into a known contact, a "call back" task) is ``intake_one.take_conversation``'s rule. A
pass decides all the new conversations it read at once: what it can read outside the write
lane it reads there (``intake_facts``), and one write unit decides the batch with a few
set-based statements (``intake_batch``), handing the conversations that may merge contacts to
``take_conversation`` in their place. If that unit fails, the batch is decided again one
conversation at a time, each in a savepoint of its own, so one that fails is logged and read
again on the next pass and the others stand. Deciding twice changes nothing: a conversation
with a lead or in a deal is skipped, so the cursor may re-read its last few rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.bus import follow, stop
from hub.context import HubContext
from hub.crm_sync.intake_batch import Counts, decide_batch
from hub.crm_sync.intake_facts import read_facts
from hub.crm_sync.intake_one import take_conversation
from hub.crm_sync.models import CrmCursor
from hub.db import utcnow
from hub.errors import DatabaseUnavailable
from hub.events import NEW_CONVERSATIONS_TOPIC, Event
from hub.inbox.models import Conversation
from hub.worker import PeriodicWorker

log = logging.getLogger(__name__)

CURSOR = "lead_intake"
LEASE_S = 30.0
#: Rows younger than this are processed but the cursor is not moved past them yet: on
#: PostgreSQL a conversation with a smaller id may still be committing.
SETTLE_S = 5.0
#: Conversations read in one pass, and decided in one write unit.
BATCH = 200
#: Conversations decided in one write unit on a writer shared with customers' writes (SQLite).
#: A unit costs about 4 ms of CPU besides its conversations (its reads and statements), and
#: holds the writer a few milliseconds longer for each 50 more: units of 100 take a fifth
#: less of the intake's CPU than units of 50, and in ``bench.calls`` the tail stayed as it
#: was (units of 200 lengthened it; README, "Calls").
DECIDE_AT_ONCE = 100
#: Conversations decided in one write unit when a batch failed and they go one by one.
TAKE_AT_ONCE = 20


def _after(conv_id: int, limit: int) -> Select[int, datetime]:
    return (
        select(Conversation.id, Conversation.created_at)
        .where(Conversation.id > conv_id)
        .order_by(Conversation.id)
        .limit(limit)
    )


def _ids_between(first: int, last: int) -> Select[int]:
    """The conversations after ``first`` up to ``last``, in order."""
    return (
        select(Conversation.id)
        .where(Conversation.id > first, Conversation.id <= last)
        .order_by(Conversation.id)
    )


async def start_cursor_at_now(session: AsyncSession) -> None:
    """Make the cursor at the newest conversation: conversations older than the CRM are
    history, not new leads."""
    if await session.get(CrmCursor, CURSOR) is None:
        newest = await session.scalar(select(func.max(Conversation.id)))
        session.add(CrmCursor(name=CURSOR, last_id=newest or 0))
        await session.flush()


class LeadIntake(PeriodicWorker):
    """The background loop; ``run_once`` is one pass (tests call it directly). Woken by every
    new conversation, and looks every ``HUB_LEAD_INTAKE_POLL_INTERVAL_S`` besides."""

    name = "lead-intake"
    #: A burst of new conversations (calls from an advert, a mailing's replies) is decided in
    #: passes of up to ``BATCH``, not one pass per conversation; a lead waits this long at most.
    min_pass_gap_s = 0.25

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(
            interval_s=ctx.settings.lead_intake_poll_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._follower: asyncio.Task[None] | None = None
        self.processed = 0
        #: Conversations decided in a batch, and by the per-conversation path inside one.
        self.batched = 0
        self.alone = 0
        #: Conversations after the cursor this process has taken already, with when each was
        #: created: the cursor passes them once they settle, without reading them again.
        self._taken: dict[int, datetime] = {}
        #: The newest conversation a pass has read: the next pass reads only after it.
        self._high = 0
        #: Conversations read whose decision failed: each pass tries them again.
        self._failed: dict[int, datetime] = {}
        #: The lease this process last wrote (until when, and the cursor then): while it holds
        #: for a while yet, a pass reads nothing to check it (nobody else may take it).
        self._lease: tuple[datetime, int] | None = None

    def busy(self, done: int) -> bool:
        return done >= BATCH  # a shorter pass read everything there was

    async def start(self) -> None:
        if self._follower is None:
            after = await self._ctx.bus.last_id(NEW_CONVERSATIONS_TOPIC)
            self._follower = asyncio.create_task(
                follow(self._ctx.bus, NEW_CONVERSATIONS_TOPIC, after, self._on_created),
                name="lead-intake-wake",
            )
        await super().start()

    async def close(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            await stop(follower)
        await self.stop()
        if follower is not None:  # it was started: let another process take over at once
            with contextlib.suppress(Exception):
                await self.release()

    async def _on_created(self, _event_id: str, _payload: dict[str, Any]) -> None:
        self.wake()

    async def acquire(self) -> int | None:
        """Take or renew the lease; the cursor's position if this process holds it."""
        now = utcnow()
        renew_at = now + timedelta(seconds=LEASE_S / 2)
        if self._lease is not None and self._lease[0] > renew_at:
            return self._lease[1]
        held = await self._ctx.read(lambda s: s.get(CrmCursor, CURSOR))
        if (
            held is not None
            and held.lease_owner not in (None, self.owner)
            and held.lease_until is not None
            and held.lease_until > now
        ):
            self._forget()  # another process decides from here on
            return None
        if (
            held is not None
            and held.lease_owner == self.owner
            and held.lease_until is not None
            and held.lease_until > renew_at
        ):
            self._lease = (held.lease_until, held.last_id)
            return held.last_id  # held for a while yet: no write to renew it on every pass
        until = now + timedelta(seconds=LEASE_S)

        async def unit(session: AsyncSession) -> int | None:
            await start_cursor_at_now(session)
            result = await session.execute(
                update(CrmCursor)
                .where(
                    CrmCursor.name == CURSOR,
                    or_(
                        CrmCursor.lease_owner.is_(None),
                        CrmCursor.lease_owner == self.owner,
                        CrmCursor.lease_until < now,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=until)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return await session.scalar(select(CrmCursor.last_id).where(CrmCursor.name == CURSOR))

        last_id = await self._ctx.write(unit, background=True)
        if last_id is None:
            self._forget()
        else:
            self._lease = (until, last_id)
        return last_id

    def _forget(self) -> None:
        """What this process knew while it held the lease: the next holder may have moved on."""
        self._taken.clear()
        self._failed.clear()
        self._high = 0
        self._lease = None

    async def release(self) -> None:
        self._forget()

        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(CrmCursor)
                .where(CrmCursor.name == CURSOR, CrmCursor.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

        await self._ctx.write(unit, background=True)

    async def run_once(self) -> int:
        """One pass: decide the conversations after the newest one read so far, then move the
        cursor past those that settled. How many new ones it read (a full batch: more wait)."""
        last_id = await self.acquire()
        if last_id is None:
            return 0
        after = max(last_id, self._high)
        rows = (await self._ctx.read(lambda s: s.execute(_after(after, BATCH)))).all()
        if rows:
            self._high = rows[-1][0]
        # Those whose batch failed before are tried again with the new ones.
        created = {**self._failed, **{conv_id: at for conv_id, at in rows}}
        await self._decide([conv_id for conv_id in created if conv_id not in self._taken])
        self._failed = {}
        for conv_id, at in created.items():
            if conv_id in self._taken:
                self._taken[conv_id] = at
            else:
                self._failed[conv_id] = at
        await self._advance(last_id)
        return len(rows)

    async def _advance(self, last_id: int) -> None:
        """Move the cursor past the taken conversations that settled, in order. First the
        rows up to there are read once more: on PostgreSQL one with a smaller id may have been
        committed after a pass read past it; it is decided now, and a conversation still not
        decided (its batch failed) holds the cursor before it, to be tried again."""
        settled = utcnow() - timedelta(seconds=SETTLE_S)
        upto = last_id
        for conv_id in sorted(self._taken):
            if self._taken[conv_id] > settled:
                break
            upto = conv_id
        if upto == last_id:
            return
        between = (await self._ctx.read(lambda s: s.scalars(_ids_between(last_id, upto)))).all()
        late = [c for c in between if c not in self._taken and c not in self._failed]
        if late:
            await self._decide(late)
        new_last = last_id
        for conv_id in between:
            if conv_id not in self._taken:
                break
            new_last = conv_id
        else:
            new_last = upto
        if new_last != last_id:
            await self._save(new_last)
            self._taken = {k: v for k, v in self._taken.items() if k > new_last}

    async def take(self, conv_ids: list[int]) -> None:
        """Decide these conversations now, whoever holds the lease (a conversation decided
        already is left as it is; a lead is one per conversation)."""
        for start in range(0, len(conv_ids), BATCH):
            await self._decide(conv_ids[start : start + BATCH])

    async def _decide(self, conv_ids: list[int]) -> None:
        """Decide up to ``DECIDE_AT_ONCE`` conversations per write unit where background
        work shares the writer with the writes that answer customers (SQLite), so those wait
        for no long unit between theirs; a pass at once on a lane of its own (PostgreSQL),
        fewer statements. A unit that fails is decided again one conversation at a time."""
        at_once = BATCH if self._ctx.writer.background_apart else DECIDE_AT_ONCE
        for start in range(0, len(conv_ids), at_once):
            await self._decide_unit(conv_ids[start : start + at_once])

    async def _decide_unit(self, conv_ids: list[int]) -> None:
        if not conv_ids:
            return
        events: list[Event] = []

        async def unit(session: AsyncSession) -> Counts:
            events.clear()
            return await decide_batch(session, conv_ids, facts, events, self._ctx.contact_rows)

        try:
            facts = await self._ctx.read(lambda session: read_facts(session, conv_ids))
            done = await self._ctx.write(unit, background=True)
        except DatabaseUnavailable:
            raise  # the pass fails and the worker backs off; ``DatabaseHealth`` logs it
        except Exception:
            log.warning(
                "the lead intake failed on a batch of %d conversations; deciding them one by one",
                len(conv_ids),
                exc_info=True,
            )
            for start in range(0, len(conv_ids), TAKE_AT_ONCE):
                await self.take_one_by_one(conv_ids[start : start + TAKE_AT_ONCE])
            return
        self.batched += done.batched
        self.alone += done.alone
        self.processed += len(conv_ids)
        self._taken.update(dict.fromkeys(conv_ids, utcnow()))
        self._ctx.announce(*events)  # a worker answers nobody: no need to wait for the bus

    async def take_one_by_one(self, conv_ids: list[int]) -> None:
        """Decide several conversations in one write unit, each in a savepoint of its own (one
        that fails is logged and read again on the next pass; the others stand)."""
        events: list[Event] = []
        done: list[int] = []

        async def unit(session: AsyncSession) -> None:
            events.clear()
            done.clear()
            for conv_id in conv_ids:
                mine: list[Event] = []
                try:
                    async with session.begin_nested():
                        await take_conversation(session, conv_id, mine, self._ctx.contact_rows)
                except Exception:
                    log.exception("the lead intake failed on conversation %s", conv_id)
                    continue
                events.extend(mine)
                done.append(conv_id)

        try:
            await self._ctx.write(unit, background=True)
        except Exception:
            log.exception("the lead intake failed on conversations %s", conv_ids)
            return
        self.processed += len(done)
        self._taken.update(dict.fromkeys(done, utcnow()))
        self._ctx.announce(*events)

    async def _save(self, last_id: int) -> None:
        async def unit(session: AsyncSession) -> int:
            result = await session.execute(
                update(CrmCursor)
                .where(CrmCursor.name == CURSOR, CrmCursor.lease_owner == self.owner)
                .values(last_id=last_id)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        if await self._ctx.write(unit, background=True) != 1:
            self._forget()  # the lease was lost: the next pass asks for it again
        elif self._lease is not None:
            self._lease = (self._lease[0], last_id)
