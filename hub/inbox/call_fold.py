"""Call events folded into one call per provider call id, a batch at a time.

A provider reports a call in several events, in any order and sometimes twice, from several
processes at once. Each call is one timeline item (a message with its ``message_calls`` row,
``provider_message_id`` ``call:<id>``), and an event only ever joins what it says to what the
call holds (``join``): the earliest start and answer, the latest end, the longest duration,
the strongest stage (ringing < missed < busy < answered), the first numbers. Such a join gives
the same call whatever the order and however often an event comes, so a repeated event
changes nothing, and the join is written in SQL (``MERGE``), so two processes folding into
the same row at once each add what they know (the row's lock orders them).

A call's first event that says who called opens it through the inbound batch
(``inbound_batch.write_batch``: the caller's contact, his conversation, the message), in the
same transaction; one that cannot (a recording ready before the call's start) waits in
``call_pending_events`` and is folded in when the call opens. Two processes opening the same
call at once collide on the message's unique provider id: the loser's batch rolls back and
runs again, and then finds the call (``FoldWrites.run_many``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from hub.channels.base import InboundCall, InboundContact, InboundMessage
from hub.channels.call_event import CallEvent
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.events import CallUpdated, Event, Recipients
from hub.inbox.call_preview import refresh_previews
from hub.inbox.call_state import (
    MERGE,
    MERGE_AT_ONCE,
    STATE_COLUMNS,
    CallState,
    joined,
    merge_columns,
    merge_params,
    row_state,
    same_call,
)
from hub.inbox.inbound_batch import run_batch_sql, stored_answer, write_batch
from hub.inbox.inbound_postgres import PostgresBatchSql
from hub.inbox.inbound_sql import BatchSql
from hub.inbox.inbound_sqlite import SqliteBatchSql
from hub.jsoncodec import dumps
from hub.writes import RunAlone

#: A batch that lost a race to open a call (another process opened it) runs again this often.
RACE_RETRIES = 4


@dataclass(frozen=True, slots=True)
class CallIn:
    """One event on its way to be folded, with what its call starts with if it opens it:
    the conversation's and contact's attributes (the call's source) and the attribution."""

    event: CallEvent
    conversation_attributes: Mapping[str, Any] = field(default_factory=dict)
    attribution: Mapping[str, Any] = field(default_factory=dict)
    #: Merged into the caller's contact (the visit the call came from, as ``last_touch``).
    contact_attributes: Mapping[str, Any] = field(default_factory=dict)
    #: The contact a new caller joins (the website visitor who held the tracking number).
    join_contact_id: int | None = None


@dataclass(frozen=True, slots=True)
class Folded:
    """What folding one event did: ``opened`` the call, ``changed`` it, left it
    ``unchanged``, or kept the event ``pending`` until the call opens."""

    outcome: str
    message_id: int | None = None
    conversation_id: int | None = None
    contact_id: int | None = None
    assignee_id: int | None = None
    #: The call before this batch (None when opened by it) and after.
    before: str | None = None
    call: dict[str, Any] | None = None
    #: The call got its recording URL in this batch (to be fetched once).
    recording_added: bool = False
    #: The provider's id of the call's recording, when it gives no URL.
    recording_ref: str | None = None


_Key = tuple[int, str]


@dataclass(slots=True)
class _Known:
    state: CallState
    conversation_id: int
    contact_id: int | None
    team_id: int | None
    assignee_id: int | None


_COLUMNS = ", ".join(f"c.{name}" for name in STATE_COLUMNS)
_CALLS = (
    "SELECT 0, c.provider_call_id, m.conversation_id, m.sender_contact_id, v.team_id,"
    f" v.assignee_id, NULL, {_COLUMNS} FROM message_calls c"
    " JOIN messages m ON m.id = c.message_id"
    " JOIN conversations v ON v.id = m.conversation_id"
    " WHERE c.channel_id = ? AND c.provider_call_id {test}"
)
#: Pending events in the same statement, after the calls, in the order they came (one round
#: trip fewer on every batch: PostgreSQL's cost here is round trips, each a turn of the loop).
_PENDING = (
    " UNION ALL SELECT 1, provider_call_id, id, NULL, NULL, NULL, event,"
    f" {', '.join('NULL' for _ in STATE_COLUMNS)} FROM call_pending_events"
    " WHERE channel_id = ? AND provider_call_id {test} ORDER BY 1, 3"
)


def _lookup(
    sql: BatchSql, keys: set[_Key], *, pending: bool = False
) -> tuple[dict[_Key, _Known], dict[_Key, list[CallEvent]]]:
    """The calls of ``keys`` that are open, and (``pending``) the events waiting for them."""
    known: dict[_Key, _Known] = {}
    waiting: dict[_Key, list[CallEvent]] = {}
    by_channel: dict[int, list[str]] = {}
    for channel_id, call_id in keys:
        by_channel.setdefault(channel_id, []).append(call_id)
    for channel_id, call_ids in by_channel.items():
        test, params = sql.any_of(sorted(call_ids))
        text = _CALLS.format(test=test)
        args = [channel_id, *params]
        if pending:
            text += _PENDING.format(test=test)
            args += args
        for row in sql.fetch(text, args):
            key = (channel_id, row[1])
            if row[0]:  # a pending event
                waiting.setdefault(key, []).append(CallEvent.from_json(sql.read_json(row[6])))
            else:
                known[key] = _known(sql, row)
    return known, waiting


def _known(sql: BatchSql, row: Sequence[Any]) -> _Known:
    """A call as ``_CALLS`` (or ``MERGE_AT_ONCE``) answers it."""
    return _Known(row_state(sql, row[7:]), row[2], row[3], row[4], row[5])


def _opening(key: _Key, state: CallState, first: CallIn, contact_id: str) -> InboundMessage:
    ev = first.event
    return InboundMessage(
        channel_id=key[0],
        contact=InboundContact(external_id=contact_id, phone=state.from_number or None),
        body="",
        provider_message_id=f"call:{key[1]}",
        meta={"call_id": key[1]},
        conversation_attributes=dict(first.conversation_attributes),
        contact_attributes=dict(first.contact_attributes),
        join_contact_id=first.join_contact_id,
        call=InboundCall(
            direction=state.direction or ev.direction or "inbound",
            from_number=state.from_number,
            to_number=state.to_number,
            status=state.status or "ringing",
            duration_s=state.duration_s or 0,
            tracking_number=state.tracking_number,
            recording_url=state.recording_url,
            provider_call_id=key[1],
            operator=state.operator,
            started_at=state.started_at,
            answered_at=state.answered_at,
            ended_at=state.ended_at,
            recording_ref=state.recording_ref,
            attribution=state.attribution,
        ),
    )


def fold_batch(
    sql: BatchSql, items: Sequence[CallIn], now: datetime
) -> tuple[list[Folded | None], list[Event]]:
    """Fold every item (``None``: its channel is missing or off), with the events to
    announce once it committed; runs on the driver's side."""
    groups: dict[_Key, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault((item.event.channel_id, item.event.call_id), []).append(index)
    # Pending events of known calls too: one parked by another process while this call was
    # being opened (neither saw the other's rows) is folded in by the call's next event.
    known, waiting = _lookup(sql, set(groups), pending=True)
    out: list[Folded | None] = [None] * len(items)
    sql.open_transaction()
    opening: list[tuple[_Key, CallState, CallIn]] = []
    parked: list[tuple[_Key, CallEvent]] = []
    for key, indexes in groups.items():
        if key in known:
            continue
        events = [*waiting.get(key, []), *(items[i].event for i in indexes)]
        first = next((items[i] for i in indexes if items[i].event.names_parties), None)
        if first is None:
            parked.extend((key, items[i].event) for i in indexes)
            for i in indexes:
                out[i] = Folded("pending")
            continue
        state = CallState()
        for ev in events:
            state.join(ev)
        state.attribution = state.attribution or dict(first.attribution)
        opening.append((key, state, first))
    if parked:
        sql.execute_many(
            "INSERT INTO call_pending_events (channel_id, provider_call_id, kind, event,"
            " received_at) VALUES (?, ?, ?, ?j, ?)"
            " ON CONFLICT (channel_id, provider_call_id, kind) DO NOTHING",
            [(k[0], k[1], ev.kind, dumps(ev.to_json()), sql.time(now)) for k, ev in parked],
        )
    announced: list[Event] = []
    _open(sql, opening, groups, out, announced, waiting, now)
    _merge(sql, known, groups, items, out, announced, waiting)
    return out, announced


def _open(
    sql: BatchSql,
    opening: list[tuple[_Key, CallState, CallIn]],
    groups: dict[_Key, list[int]],
    out: list[Folded | None],
    announced: list[Event],
    waiting: dict[_Key, list[CallEvent]],
    now: datetime,
) -> None:
    if not opening:
        return
    messages = [
        _opening(key, state, first, state.from_number or f"hidden:{key[1]}")
        for key, state, first in opening
    ]
    written = write_batch(sql, messages, now)
    gone = []
    for (key, state, _first), done in zip(opening, written, strict=True):
        if done is None:  # the channel is missing or off
            continue
        state.message_id = done.message_id
        if key in waiting:  # folded in above: no longer waiting
            gone.append(key)
        data = state.data()
        done.item = {"call": data}
        _result, events = stored_answer(done, now)
        announced.extend(events)
        conv = done.entry.conversation
        for i in groups[key]:
            out[i] = Folded(
                "opened",
                done.message_id,
                conv.id,
                done.entry.sender.contact.id,
                conv.assignee_id,
                None,
                data,
                state.recording_url is not None,
                state.recording_ref,
            )
    if gone:
        sql.execute_many(
            "DELETE FROM call_pending_events WHERE channel_id = ? AND provider_call_id = ?",
            gone,
        )


def _merge(
    sql: BatchSql,
    known: dict[_Key, _Known],
    groups: dict[_Key, list[int]],
    items: Sequence[CallIn],
    out: list[Folded | None],
    announced: list[Event],
    waiting: dict[_Key, list[CallEvent]],
) -> None:
    deltas: dict[_Key, CallState] = {}
    for key, found in known.items():
        delta = CallState(message_id=found.state.message_id)
        for ev in [*waiting.get(key, []), *(items[i].event for i in groups[key])]:
            delta.join(ev)
        # A delta that adds nothing to what was read adds nothing to a newer state either
        # (a join only grows): a repeated event costs no statement.
        if not same_call(joined(found.state, delta), found.state):
            deltas[key] = delta
    orphans = [key for key in known if key in waiting]
    if orphans:
        sql.execute_many(
            "DELETE FROM call_pending_events WHERE channel_id = ? AND provider_call_id = ?",
            orphans,
        )
    after_all: dict[_Key, _Known] = {}
    if deltas and isinstance(sql, PostgresBatchSql):
        rows = sql.fetch(MERGE_AT_ONCE, merge_columns(sql, list(deltas.values())))
        after_all = {(row[0], row[1]): _known(sql, row) for row in rows}
    elif deltas:
        sql.execute_many(MERGE, [merge_params(sql, d) for d in deltas.values()])
        after_all = _lookup(sql, set(deltas))[0]
    for key, found in known.items():
        after = after_all[key].state if key in after_all else found.state
        changed = not same_call(after, found.state)
        data = after.data()
        if changed:
            recipients = Recipients.for_conversation(found.team_id, found.assignee_id)
            announced.append(CallUpdated(recipients, found.conversation_id, after.message_id, data))
        for i in groups[key]:
            out[i] = Folded(
                "changed" if changed else "unchanged",
                after.message_id,
                found.conversation_id,
                found.contact_id,
                found.assignee_id,
                found.state.status or "ringing",
                data,
                bool(after.recording_url) and not found.state.recording_url,
                after.recording_ref,
            )


def _is_race(exc: BaseException) -> bool:
    """A unique violation: another process opened the same call (or made the same caller)."""
    return type(exc).__name__ in ("IntegrityError", "UniqueViolationError") or (
        getattr(exc, "sqlstate", None) == "23505"
    )


#: Work that follows a batch's fold in its own transaction (closing the "call back" tasks of
#: calls that became answered: ``hub.crm_sync.call_tracking``): its events are announced with
#: the fold's.
FollowUp = Callable[[BatchSql, list[Folded | None], datetime], list[Event]]


class FoldWrites:
    """The write lane's handler of call events: a batch folds with a few statements on the
    lane's connection; ``announce`` publishes its events as soon as it committed."""

    def __init__(self, announce: Any, follow: FollowUp | None = None) -> None:
        self._announce = announce
        self._follow = follow

    def _work(
        self, sql: BatchSql, items: Sequence[CallIn], now: datetime
    ) -> tuple[list[Folded | None], list[Event]]:
        folded, events = fold_batch(sql, items, now)
        events += refresh_previews(sql, folded)
        if self._follow is not None:
            events += self._follow(sql, folded, now)
        return folded, events

    async def run_many(
        self, conn: DriverConnection, items: list[CallIn]
    ) -> list[Folded | RunAlone | None]:
        now = utcnow()
        for attempt in range(RACE_RETRIES):
            try:
                result, events = await run_batch_sql(conn, lambda sql: self._work(sql, items, now))
                break
            except Exception as exc:
                if attempt == RACE_RETRIES - 1 or not _is_race(exc):
                    raise
        self._announce(*events)
        return list(result)

    async def run_one(self, session: AsyncSession, item: CallIn) -> Folded | None:
        """One event in the session's transaction (the lane's fallback): the same statements
        on the session's own driver connection, inside its savepoint."""
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        now = utcnow()
        if connection.dialect.name == "sqlite":
            result, events = await driver._execute(
                lambda c: self._work(SqliteBatchSql(c), [item], now), driver._conn
            )
        else:
            pg = PostgresBatchSql(driver)

            def work() -> tuple[list[Folded | None], list[Event]]:
                folded = self._work(pg, [item], now)
                pg.commit()  # releases its savepoint, if it opened one
                return folded

            result, events = await greenlet_spawn(work)
        self._announce(*events)
        first: Folded | None = result[0]
        return first


__all__ = ["CallIn", "CallState", "FoldWrites", "Folded", "fold_batch"]
