"""Automatic assignment: a background pass gives each routed team's waiting conversations to
its operators who are online, not away and below their capacity.

Why a pass and not the write path: new conversations are stored by the inbound batch, a few
set-based statements for a whole group of messages (``hub.inbox.inbound_batch``); deciding who
gets each one there would add an ORM unit per conversation to the hottest path. So the batch
only wakes the router (``HubContext.announce``), which assigns right after the commit. It also
wakes when an operator opens the inbox (``RealtimeHub.on_sockets_changed``), comes back from
away, resolves or hands off a conversation (capacity freed), and looks every
``HUB_ROUTING_INTERVAL_S`` besides, which is when offers not opened in time pass on and a
queue that waited outside working hours is served.

Several processes may run it at once; the database keeps them apart. Each team is routed in
one write unit that first locks the team's ``team_routing`` row, then the rows of its operators
who may take work (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has a single writer), and
only then counts their open conversations. What another process holds is skipped, not waited
for: a team another process is routing right now is left to it, and an operator it is giving a
conversation to is not offered one here in the same moment; so a routing unit never waits on
another process's lock inside a group commit (where it could deadlock with the other units of
its batch), and no operator is given more than his capacity, as every count is made under his
lock. Each conversation is taken by a conditional UPDATE (still nobody's, still not a person's
decision), so a conversation a manager assigned a moment earlier is left alone and none is
assigned twice. What was skipped is looked at again on the next pass, and what a pass could not
place stays in the queue (the conversation is simply still unassigned), so nothing is lost to a
crash either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.events import ConversationAssigned, Event, MessageCreated, Recipients
from hub.inbox.actions import add_activity, recipients_of
from hub.inbox.models import Conversation, ConversationStatus, Operator, TeamMember
from hub.inbox.routing_models import RoutingState, TeamRouting
from hub.inbox.routing_rules import (
    Reason,
    Seat,
    decision_meta,
    decision_text,
    next_in_turn,
    returning_seat,
)
from hub.inbox.serialize import conversation_dict, message_dict
from hub.worker import PeriodicWorker

#: Conversations one team's write unit places at most (the next pass, at once, takes the rest).
ROUTE_BATCH = 100
#: Who is online: operator ids with the inbox open on any process (``hub.presence``).
OnlineOperators = Callable[[], Awaitable[frozenset[int]]]
OPEN = ConversationStatus.OPEN.value


def in_queue(team_id: int) -> ColumnElement[bool]:
    """A team's queue: its open conversations nobody has, that no person took out of routing.

    Found through the assignee's index (nobody's), not an index of its own, which every
    customer message to an unassigned conversation would pay for (migration 0013)."""
    return and_(
        Conversation.team_id == team_id,
        Conversation.assignee_id.is_(None),
        Conversation.status == OPEN,
        or_(Conversation.routing.is_(None), Conversation.routing != RoutingState.MANUAL.value),
    )


def offer_expired(team_id: int, before: datetime) -> ColumnElement[bool]:
    """A team's offers not opened since ``before``."""
    return and_(
        Conversation.routing == RoutingState.OFFERED.value,
        Conversation.offered_at <= before,
        Conversation.team_id == team_id,
        Conversation.status == OPEN,
    )


@dataclass(slots=True)
class _Pass:
    """One team's unit: what it assigned, the events to publish after the commit."""

    team_id: int
    now: datetime
    assigned: int = 0
    full: bool = False
    events: list[Event] = field(default_factory=list)


async def _seats(session: AsyncSession, rule: TeamRouting, online: frozenset[int]) -> list[Seat]:
    """The team's operators who may take work now, their rows locked in id order, with their
    open conversations counted after the locks (so another router's commit is counted)."""
    rows = (
        await session.execute(
            select(Operator.id, Operator.name, TeamMember.capacity)
            .join(TeamMember, TeamMember.operator_id == Operator.id)
            .where(
                TeamMember.team_id == rule.team_id,
                Operator.is_active.is_(True),
                Operator.away.is_(False),
                Operator.id.in_(online),
            )
            .order_by(Operator.id)
            .with_for_update(of=Operator, skip_locked=True)
        )
    ).all()
    if not rows:
        return []
    counts = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count(Conversation.id))
                .where(
                    Conversation.assignee_id.in_([r[0] for r in rows]),
                    Conversation.status == OPEN,
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    return [
        Seat(op_id, name, own if own is not None else rule.capacity, int(counts.get(op_id, 0)))
        for op_id, name, own in rows
    ]


async def _previous_operator(session: AsyncSession, conv: Conversation) -> int | None:
    """Who had the customer's latest other conversation."""
    return await session.scalar(
        select(Conversation.assignee_id)
        .where(
            Conversation.contact_id == conv.contact_id,
            Conversation.id != conv.id,
            Conversation.assignee_id.is_not(None),
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def _give(
    session: AsyncSession,
    run: _Pass,
    conv: Conversation,
    seat: Seat,
    reason: Reason,
    *,
    taken_from: Seat | None = None,
    previous_id: int | None = None,
    previous_name: str = "",
    timeout_s: int = 0,
) -> bool:
    """Offer ``conv`` to ``seat`` if it is still where this pass found it; the activity and
    the events follow."""
    if previous_id is None:
        still = in_queue(run.team_id)
    else:
        still = and_(
            Conversation.assignee_id == previous_id,
            Conversation.routing == RoutingState.OFFERED.value,
            Conversation.status == OPEN,
        )
    taken = await session.execute(
        update(Conversation)
        .where(Conversation.id == conv.id, still)
        .values(
            assignee_id=seat.operator_id,
            routing=RoutingState.OFFERED.value,
            offered_at=run.now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return False  # a person or another process got there first
    seat.open += 1
    if taken_from is not None:
        taken_from.open -= 1
    passed = previous_name if previous_id is not None else None
    text = decision_text(seat, reason, passed_from=passed, timeout_s=timeout_s)
    meta = decision_meta(
        seat,
        reason,
        run.team_id,
        from_operator_id=previous_id,
        from_operator_name=passed,
        timeout_s=timeout_s if previous_id is not None else None,
    )
    activity = await add_activity(session, conv, None, text, meta)
    data = conversation_dict(conv)
    recipients = recipients_of(conv)
    run.events.append(
        ConversationAssigned(
            Recipients.for_conversation(run.team_id, seat.operator_id, previous_id),
            data,
            previous_id,
            run.team_id,
            "",
        )
    )
    run.events.append(MessageCreated(recipients, conv.id, message_dict(activity)))
    run.assigned += 1
    return True


async def _pass_on_expired(
    session: AsyncSession, run: _Pass, rule: TeamRouting, seats: list[Seat]
) -> None:
    """Offers not opened within the accept timeout go to the next operator in turn; with
    nobody else to take one, it stays with its operator until someone is."""
    if rule.accept_timeout_s <= 0:
        return
    before = run.now - timedelta(seconds=rule.accept_timeout_s)
    expired = (
        await session.scalars(
            select(Conversation)
            .where(offer_expired(rule.team_id, before))
            .order_by(Conversation.offered_at, Conversation.id)
            .limit(ROUTE_BATCH)
        )
    ).all()
    run.full = run.full or len(expired) >= ROUTE_BATCH
    for conv in expired:
        old = conv.assignee_id
        seat = next_in_turn(seats, rule.last_operator_id, skip=old)
        if seat is None or old is None:
            continue
        holder = next((s for s in seats if s.operator_id == old), None)
        name = holder.name if holder is not None else await _operator_name(session, old)
        if await _give(
            session,
            run,
            conv,
            seat,
            Reason.ROUND_ROBIN,
            taken_from=holder,
            previous_id=old,
            previous_name=name,
            timeout_s=rule.accept_timeout_s,
        ):
            rule.last_operator_id = seat.operator_id


async def _operator_name(session: AsyncSession, operator_id: int) -> str:
    return await session.scalar(select(Operator.name).where(Operator.id == operator_id)) or ""


async def _serve_queue(
    session: AsyncSession, run: _Pass, rule: TeamRouting, seats: list[Seat]
) -> None:
    """The team's waiting conversations, oldest first, while anyone has room."""
    waiting = (
        await session.scalars(
            select(Conversation)
            .where(in_queue(rule.team_id))
            .order_by(Conversation.id)
            .limit(ROUTE_BATCH)
        )
    ).all()
    for conv in waiting:
        if not any(seat.has_room for seat in seats):
            return
        seat = returning_seat(seats, await _previous_operator(session, conv))
        reason = Reason.RETURNING_CUSTOMER
        if seat is None:
            seat, reason = next_in_turn(seats, rule.last_operator_id), Reason.ROUND_ROBIN
        if seat is None:
            return
        if await _give(session, run, conv, seat, reason) and reason is Reason.ROUND_ROBIN:
            rule.last_operator_id = seat.operator_id
    run.full = run.full or len(waiting) >= ROUTE_BATCH


async def route_team(ctx: HubContext, team_id: int, online: frozenset[int], now: datetime) -> _Pass:
    """One team's pass, in one write unit (see the module's docstring for its locks)."""
    run = _Pass(team_id, now)

    async def unit(session: AsyncSession) -> None:
        run.events.clear()
        run.assigned, run.full = 0, False
        rule = await session.scalar(
            select(TeamRouting)
            .where(TeamRouting.team_id == team_id)
            .with_for_update(skip_locked=True)
        )
        if rule is None or not rule.enabled:
            return
        seats = await _seats(session, rule, online)
        if not seats:
            return
        await _pass_on_expired(session, run, rule, seats)
        await _serve_queue(session, run, rule, seats)

    await ctx.write(unit, key=("routing", team_id))
    ctx.announce(*run.events)  # a worker answers nobody: no need to wait for the bus
    return run


async def teams_with_work(ctx: HubContext, online: frozenset[int], now: datetime) -> list[int]:
    """Routed teams that have someone online and something to place: a read, so an idle hub
    spends no write on routing."""

    async def query(session: AsyncSession) -> list[int]:
        rules = (
            await session.execute(
                select(TeamRouting.team_id, TeamRouting.accept_timeout_s).where(
                    TeamRouting.enabled.is_(True)
                )
            )
        ).all()
        found = []
        for team_id, timeout_s in rules:
            staffed = exists().where(
                TeamMember.team_id == team_id,
                TeamMember.operator_id.in_(online),
            )
            if not await session.scalar(select(staffed)):
                continue
            work = in_queue(team_id)
            if timeout_s > 0:
                work = or_(work, offer_expired(team_id, now - timedelta(seconds=timeout_s)))
            if await session.scalar(select(exists().where(work))):
                found.append(team_id)
        return found

    if not online:
        return []
    return await ctx.read(query)


class Router(PeriodicWorker):
    """The background loop of automatic assignment; ``run_once`` is one pass over every routed
    team (tests call it, or ``route`` with a chosen time)."""

    name = "router"

    def __init__(self, ctx: HubContext, online: OnlineOperators) -> None:
        super().__init__(
            interval_s=ctx.settings.routing_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
            wakeup=ctx.routing_wakeup,
        )
        self._ctx = ctx
        self._online = online
        self._more = False
        #: Conversations this process's router assigned (``/metrics``).
        self.assigned = 0

    def busy(self, done: int) -> bool:
        return self._more  # a team's unit stopped at its batch: there may be more

    async def run_once(self) -> int:
        return await self.route(utcnow())

    async def route(self, now: datetime) -> int:
        """One pass as at ``now``: outside working hours the queues wait; how many it placed."""
        self._more = False
        hours = self._ctx.company.hours
        if hours is not None and not hours.is_open(now):
            return 0
        online = await self._online()
        done = 0
        for team_id in await teams_with_work(self._ctx, online, now):
            run = await route_team(self._ctx, team_id, online, now)
            done += run.assigned
            self._more = self._more or (run.full and run.assigned > 0)
        self.assigned += done
        return done
