"""Every pixel load and link click stored and, when a person made it, announced: the hot path.

A busy mailing brings pixel requests in bursts (Apple's prefetch loads every image of every
email when it lands), so hits take the group commit's batch path, as customer messages do
(``hub.writes``, ``hub.inbox.inbound_batch``): a batch of hits costs a few statements on the
write lane's own connection, not an ORM unit each. For a batch: one look-up of the tokens'
emails (with their conversation, contact and sender), one of the links clicked in the last
``BURST_S`` (the "every link at once" rule), the verdicts, one insert of all the hits, one
upsert of their count rows, and, if a person opened or clicked, one read of those emails' count
rows for the events' summaries.
``run_one`` is the same on an ORM session, for a batch that failed and is written hit by hit.

The answer for each hit is the link to redirect to (a click of a stored link), or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.tracking_verdict import BURST_S, Hit, Judgement, Seen, judge
from hub.context import HubContext
from hub.db import UTCDateTime, utcnow
from hub.driver import DriverConnection
from hub.events import Event, MessageClicked, MessageOpened, Recipients
from hub.inbox.inbound_batch import run_batch_sql
from hub.inbox.inbound_sql import BatchSql, insert_sql
from hub.inbox.tracking_models import EmailTrackingEvent, HitKind, Verdict
from hub.inbox.tracking_view import COUNT_SQL, SUMMARY_SQL, count_rows, summaries_of, summarize
from hub.jsoncodec import loads
from hub.writes import RunAlone

LOOKUP_SQL = (
    "SELECT t.token, t.message_id, t.links, t.sent_at, m.conversation_id,"
    " m.sender_operator_id, c.team_id, c.assignee_id, c.contact_id, ct.name, e.subject"
    " FROM email_tracking t JOIN messages m ON m.id = t.message_id"
    " JOIN conversations c ON c.id = m.conversation_id"
    " JOIN contacts ct ON ct.id = c.contact_id"
    " LEFT JOIN message_emails e ON e.message_id = t.message_id"
    " WHERE t.token {among}"
)
RECENT_CLICKS_SQL = (
    "SELECT message_id, link, at FROM email_tracking_events"
    " WHERE message_id {among} AND kind = 'click' AND at >= ?"
)
EVENT_COLUMNS = (
    "message_id",
    "kind",
    "at",
    "ip",
    "user_agent",
    "method",
    "link",
    "verdict",
    "reason",
    "client",
)


@dataclass(frozen=True, slots=True)
class TrackHit:
    """A request for a token's pixel (``place`` None) or its ``place``-th link."""

    token: str
    hit: Hit
    place: int | None = None


@dataclass(slots=True)
class _Email:
    message_id: int
    links: list[str]
    sent_at: datetime
    conversation_id: int
    sender_id: int | None
    team_id: int | None
    assignee_id: int | None
    contact_id: int
    contact_name: str
    subject: str
    #: Links clicked within the burst window, this batch's included.
    recent: list[tuple[datetime, str]] = field(default_factory=list)


def _email(row: Sequence[Any], read_time: Any) -> _Email:
    links = row[2]
    if isinstance(links, str):
        links = loads(links)
    return _Email(
        message_id=row[1],
        links=[str(link) for link in (links or [])],
        sent_at=read_time(row[3]),
        conversation_id=row[4],
        sender_id=row[5],
        team_id=row[6],
        assignee_id=row[7],
        contact_id=row[8],
        contact_name=row[9] or "",
        subject=row[10] or "",
    )


@dataclass(frozen=True, slots=True)
class _Judged:
    email: _Email
    item: TrackHit
    link: str | None
    judgement: Judgement


def _judge_all(items: list[TrackHit], emails: dict[str, _Email]) -> list[_Judged | None]:
    """Each hit's email, link and verdict, in order (None: no such token or link)."""
    out: list[_Judged | None] = []
    for item in items:
        email = emails.get(item.token)
        link = None
        if email is None or (item.place is not None and not 0 <= item.place < len(email.links)):
            out.append(None)
            continue
        if item.place is not None:
            link = email.links[item.place]
            email.recent.append((item.hit.at, link))
        since = item.hit.at - timedelta(seconds=BURST_S)
        burst = frozenset(
            email.links.index(url) for at, url in email.recent if at >= since and url in email.links
        )
        seen = Seen(email.sent_at, len(set(email.links)), burst)
        out.append(_Judged(email, item, link, judge(item.hit, seen)))
    return out


def _event_row(judged: _Judged) -> tuple[Any, ...]:
    hit, verdict = judged.item.hit, judged.judgement
    return (
        judged.email.message_id,
        hit.kind.value,
        hit.at,
        hit.ip[:64],
        hit.user_agent[:500],
        hit.method[:8],
        judged.link,
        verdict.verdict.value,
        verdict.reason[:200],
        verdict.client[:60],
    )


def _counted(rows: Sequence[tuple[Any, ...]]) -> list[tuple[int, str, str, Any, str]]:
    """(message, kind, verdict, time, client) of each ``_event_row``, for ``count_rows``."""
    return [(r[0], r[1], r[7], r[2], r[9]) for r in rows]


_COUNT_NAMES = ("message_id", "kind", "verdict", "hits", "first_at", "last_at", "client")
#: ``COUNT_SQL`` for an ORM session, its times bound as the models store them.
_COUNT_ORM = text(
    COUNT_SQL.replace(
        "VALUES (?, ?, ?, ?, ?, ?, ?)", f"VALUES ({', '.join(':' + n for n in _COUNT_NAMES)})"
    )
).bindparams(
    bindparam("first_at", type_=UTCDateTime(timezone=True)),
    bindparam("last_at", type_=UTCDateTime(timezone=True)),
)


def _events(judged: list[_Judged | None], summaries: dict[int, dict[str, Any]]) -> list[Event]:
    """``message.opened`` / ``message.clicked`` for the hits people made."""
    out: list[Event] = []
    for one in judged:
        if one is None or one.judgement.verdict != Verdict.HUMAN:
            continue
        email, hit = one.email, one.item.hit
        recipients = Recipients.for_conversation(email.team_id, email.assignee_id, email.sender_id)
        data: dict[str, Any] = {
            "subject": email.subject,
            "contact": {"id": email.contact_id, "name": email.contact_name},
            "at": hit.at.isoformat().replace("+00:00", "Z"),
            "client": one.judgement.client,
            "sender_operator_id": email.sender_id,
            "tracking": summaries.get(email.message_id),
        }
        if hit.kind == HitKind.CLICK:
            out.append(
                MessageClicked(
                    recipients, email.conversation_id, email.message_id, {**data, "link": one.link}
                )
            )
        else:
            out.append(MessageOpened(recipients, email.conversation_id, email.message_id, data))
    return out


def _write(
    sql: BatchSql, items: list[TrackHit], now: datetime
) -> tuple[list[_Judged | None], dict[int, dict[str, Any]]]:
    tokens = sorted({item.token for item in items})
    among, params = sql.any_of(tokens)
    rows = sql.fetch(LOOKUP_SQL.format(among=among), params)
    emails = {row[0]: _email(row, sql.read_time) for row in rows}
    clicking = sorted(
        {emails[i.token].message_id for i in items if i.place is not None and i.token in emails}
    )
    if clicking:
        since = sql.time(now - timedelta(seconds=BURST_S))
        by_id = {e.message_id: e for e in emails.values()}
        among, params = sql.any_of(clicking)
        for message_id, link, at in sql.fetch(
            RECENT_CLICKS_SQL.format(among=among), [*params, since]
        ):
            by_id[message_id].recent.append((sql.read_time(at) or now, link))
    judged = _judge_all(items, emails)
    stored = [one for one in judged if one is not None]
    if stored:
        rows_out = [_event_row(one) for one in stored]
        sql.execute_many(
            insert_sql("email_tracking_events", EVENT_COLUMNS),
            [(*r[:2], sql.time(r[2]), *r[3:]) for r in rows_out],
        )
        sql.execute_many(
            COUNT_SQL,
            [
                (*key, hits, sql.time(first), sql.time(last), client)
                for *key, hits, first, last, client in count_rows(_counted(rows_out))
            ],
        )
    people = sorted(
        {one.email.message_id for one in stored if one.judgement.verdict == Verdict.HUMAN}
    )
    summaries: dict[int, dict[str, Any]] = {}
    if people:
        among, params = sql.any_of(people)
        counted = sql.fetch(SUMMARY_SQL.format(among=among), params)
        summaries = summarize(people, counted, sql.read_time)
    return judged, summaries


async def _write_one(
    session: AsyncSession, item: TrackHit
) -> tuple[list[_Judged | None], dict[int, dict[str, Any]]]:
    """``_write`` for one hit on an ORM session: the path of a batch that failed."""
    row = (
        await session.execute(text(LOOKUP_SQL.format(among="IN (:token)")), {"token": item.token})
    ).first()
    emails = {row[0]: _email(row, _read_time)} if row is not None else {}
    email = emails.get(item.token)
    if email is not None and item.place is not None:
        since = item.hit.at - timedelta(seconds=BURST_S)
        recent = await session.execute(
            select(EmailTrackingEvent.link, EmailTrackingEvent.at).where(
                EmailTrackingEvent.message_id == email.message_id,
                EmailTrackingEvent.kind == HitKind.CLICK.value,
                EmailTrackingEvent.at >= since,
            )
        )
        email.recent.extend((at, link) for link, at in recent.all() if link)
    judged = _judge_all([item], emails)
    one = judged[0]
    if one is None:
        return judged, {}
    event = _event_row(one)
    session.add(EmailTrackingEvent(**dict(zip(EVENT_COLUMNS, event, strict=True))))
    await session.flush()
    for counted in count_rows(_counted([event])):
        await session.execute(_COUNT_ORM, dict(zip(_COUNT_NAMES, counted, strict=True)))
    people = [one.email.message_id] if one.judgement.verdict == Verdict.HUMAN else []
    return judged, await summaries_of(session, people)


def _read_time(value: Any) -> datetime | None:
    """A time read with ``text()``: a datetime on PostgreSQL, the ORM's text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class TrackingWrites:
    """The group commit's handler for hits; it announces the events of what it stored."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx

    def _answer(
        self, judged: list[_Judged | None], summaries: dict[int, dict[str, Any]]
    ) -> list[str | None]:
        self._ctx.announce(*_events(judged, summaries))
        return [one.link if one is not None else None for one in judged]

    async def run_many(
        self, conn: DriverConnection, items: list[TrackHit]
    ) -> list[str | RunAlone | None]:
        now = utcnow()
        judged, summaries = await run_batch_sql(conn, lambda sql: _write(sql, items, now))
        return list(self._answer(judged, summaries))

    async def run_one(self, session: AsyncSession, item: TrackHit) -> str | None:
        judged, summaries = await _write_one(session, item)
        return self._answer(judged, summaries)[0]


def tracking_writes(ctx: HubContext) -> TrackingWrites:
    """The context's one handler, so hits share batches."""
    handler = ctx.batch_handlers.get("email-tracking")
    if not isinstance(handler, TrackingWrites):
        handler = ctx.batch_handlers["email-tracking"] = TrackingWrites(ctx)
    return handler


async def record_hit(ctx: HubContext, item: TrackHit) -> str | None:
    """Store the hit (announcing it if a person made it); the link a click goes to, if the
    token and place are the hub's."""
    result: str | None = await ctx.writer.run_item(tracking_writes(ctx), item, item.token)
    return result
