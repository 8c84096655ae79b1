"""A call as the fold holds it, and the join of an event into it, in Python and in SQL.

``CallState.join`` and ``MERGE`` are the same join (``hub.inbox.call_fold`` says why it is a
join): the first for the events of a batch and a call it opens, the second for a stored call,
so that two processes adding to one row each add what they know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.channels.call_event import STAGE_RANK, CallEvent
from hub.inbox.inbound_sql import BatchSql
from hub.inbox.serialize import iso

STATE_COLUMNS = (
    "message_id",
    "direction",
    "from_number",
    "to_number",
    "tracking_number",
    "status",
    "duration_s",
    "recording_url",
    "operator",
    "started_at",
    "answered_at",
    "ended_at",
    "recording_ref",
    "attribution",
)
TIMES = ("started_at", "answered_at", "ended_at")


def _rank(expr: str) -> str:
    cases = " ".join(f"WHEN '{stage}' THEN {rank}" for stage, rank in STAGE_RANK.items())
    return f"(CASE {expr} {cases} ELSE -1 END)"


#: The join in SQL: the parameters are an event's (or a group's) values (``_merge_params``).
MERGE = (
    "UPDATE message_calls SET"
    f" status = CASE WHEN {_rank('?')} > {_rank('status')} THEN ? ELSE status END,"
    " duration_s = CASE WHEN ? > duration_s THEN ? ELSE duration_s END,"
    " from_number = CASE WHEN from_number = '' THEN coalesce(?, '') ELSE from_number END,"
    " to_number = CASE WHEN to_number = '' THEN coalesce(?, '') ELSE to_number END,"
    " tracking_number = coalesce(tracking_number, ?),"
    " recording_url = coalesce(recording_url, ?),"
    " recording_ref = coalesce(recording_ref, ?),"
    " operator = coalesce(?, operator),"
    " started_at = CASE WHEN started_at IS NULL OR ? < started_at"
    " THEN coalesce(?, started_at) ELSE started_at END,"
    " answered_at = CASE WHEN answered_at IS NULL OR ? < answered_at"
    " THEN coalesce(?, answered_at) ELSE answered_at END,"
    " ended_at = CASE WHEN ended_at IS NULL OR ? > ended_at"
    " THEN coalesce(?, ended_at) ELSE ended_at END"
    " WHERE message_id = ?"
)

#: ``MERGE`` for many calls in one PostgreSQL statement, which answers each call as merged, in
#: the look-up's columns (``call_fold._CALLS``, the channel first): the lane's cost there is
#: round trips, and ``executemany`` followed by a read back is two. The values come as one
#: array per ``merge_params`` value (``merge_columns``), each ``?`` of ``MERGE`` reads its own.
_MERGED_AS = (
    *("st", "st", "dur", "dur", "fr", "tn", "tr", "ru"),
    *("rr", "op", "sa", "sa", "aa", "aa", "ea", "ea"),
)
_MERGE_SET = MERGE.removeprefix("UPDATE message_calls SET").removesuffix(" WHERE message_id = ?")
for _name in _MERGED_AS:
    _MERGE_SET = _MERGE_SET.replace("?", f"d.{_name}", 1)
MERGE_AT_ONCE = (
    "WITH up AS (UPDATE message_calls SET" + _MERGE_SET + " FROM unnest($1::text[], $2::int[],"
    " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
    " $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::bigint[])"
    " AS d(st, dur, fr, tn, tr, ru, rr, op, sa, aa, ea, mid)"
    " WHERE message_id = d.mid RETURNING *)"
    " SELECT c.channel_id, c.provider_call_id, m.conversation_id, m.sender_contact_id,"
    " v.team_id, v.assignee_id, NULL, "
    + ", ".join(f"c.{name}" for name in STATE_COLUMNS)
    + " FROM up c JOIN messages m ON m.id = c.message_id"
    " JOIN conversations v ON v.id = m.conversation_id"
)


@dataclass(slots=True)
class CallState:
    """A call as folded so far, in ``STATE_COLUMNS`` order."""

    message_id: int = 0
    direction: str | None = None
    from_number: str = ""
    to_number: str = ""
    tracking_number: str | None = None
    status: str | None = None
    duration_s: int | None = None
    recording_url: str | None = None
    operator: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    recording_ref: str | None = None
    attribution: dict[str, Any] = field(default_factory=dict)

    def join(self, ev: CallEvent) -> None:
        """Add what ``ev`` says (the Python twin of ``MERGE``)."""
        self.direction = self.direction or ev.direction
        self.from_number = self.from_number or ev.caller or ""
        self.to_number = self.to_number or ev.called or ""
        self.tracking_number = self.tracking_number or ev.tracking_number
        if ev.stage is not None and STAGE_RANK[ev.stage] > STAGE_RANK.get(self.status or "", -1):
            self.status = ev.stage
        if (
            ev.duration_s is not None and ev.duration_s > (self.duration_s or 0)
        ) or self.duration_s is None:
            self.duration_s = ev.duration_s
        self.recording_url = self.recording_url or ev.recording_url
        self.recording_ref = self.recording_ref or ev.recording_ref
        self.operator = ev.operator or self.operator
        self.started_at = _earliest(self.started_at, ev.started_at)
        self.answered_at = _earliest(self.answered_at, ev.answered_at)
        self.ended_at = _latest(self.ended_at, ev.ended_at)
        self.attribution = self.attribution or dict(ev.attribution)

    def data(self) -> dict[str, Any]:
        """The call as the API shows it: ``items.call_dict`` of its row, without an ORM object
        (the fold shows every call it touches, a few hundred a second)."""
        return {
            "direction": self.direction or "inbound",
            "from": self.from_number,
            "to": self.to_number,
            "tracking_number": self.tracking_number,
            "status": self.status or "ringing",
            "duration_s": self.duration_s or 0,
            "recording_url": self.recording_url,
            "recording_ref": self.recording_ref,
            "operator": self.operator,
            "started_at": iso(self.started_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "attribution": dict(self.attribution or {}),
        }


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def row_state(sql: BatchSql, row: Sequence[Any]) -> CallState:
    values = dict(zip(STATE_COLUMNS, row, strict=True))
    for name in TIMES:
        values[name] = sql.read_time(values[name])
    values["attribution"] = sql.read_json(values["attribution"])
    return CallState(**values)


def merge_params(sql: BatchSql, s: CallState) -> list[Any]:
    def t(value: datetime | None) -> Any:
        return None if value is None else sql.time(value)

    return [
        s.status,
        s.status,
        s.duration_s,
        s.duration_s,
        s.from_number or None,
        s.to_number or None,
        s.tracking_number,
        s.recording_url,
        s.recording_ref,
        s.operator,
        t(s.started_at),
        t(s.started_at),
        t(s.answered_at),
        t(s.answered_at),
        t(s.ended_at),
        t(s.ended_at),
        s.message_id,
    ]


def merge_columns(sql: BatchSql, deltas: Sequence[CallState]) -> list[list[Any]]:
    """``MERGE_AT_ONCE``'s arrays: ``merge_params`` of each delta, each value once."""
    rows = [merge_params(sql, d) for d in deltas]
    picks = (0, 2, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16)  # a repeated value is passed once
    return [[row[i] for row in rows] for i in picks]


def joined(state: CallState, delta: CallState) -> CallState:
    """``state`` with what ``delta`` (a group of events, as joined) adds."""
    out = CallState(**{name: getattr(state, name) for name in STATE_COLUMNS})
    out.attribution = dict(state.attribution)
    out.join(
        CallEvent(
            channel_id=0,
            call_id="",
            kind="",
            direction=delta.direction,
            caller=delta.from_number or None,
            called=delta.to_number or None,
            tracking_number=delta.tracking_number,
            operator=delta.operator,
            stage=delta.status,
            started_at=delta.started_at,
            answered_at=delta.answered_at,
            ended_at=delta.ended_at,
            duration_s=delta.duration_s,
            recording_url=delta.recording_url,
            recording_ref=delta.recording_ref,
        )
    )
    return out


def same_call(a: CallState, b: CallState) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in STATE_COLUMNS)
