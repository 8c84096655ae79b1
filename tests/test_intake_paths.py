"""The lead intake's batch (``intake_batch``, facts read outside the write lane) ends as the
per-conversation ORM path (``intake_one.take_conversation``, each conversation in a savepoint)
leaves it: the same rows in every table and the same events, for random contacts (sharing
phones, emails, verified identities; with open leads, deals, "call back" tasks) and
conversations (first touches, Telegram starts, callback requests, decided already or not, on
channels with automatic leads on and off). Each example builds the same world twice on a fresh
database (the template copied, or PostgreSQL emptied with its sequences restarted), so both
copies have the same ids; one goes through the batch, the other one by one, and every table
and the events are compared, with the times each path wrote read as "now".
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import make_url

from hub.channels.registry import contact_rows
from hub.context import HubContext
from hub.crm_sync.intake import LeadIntake
from hub.crm_sync.models import Deal, DealConversation, Lead, Pipeline, Stage, Task
from hub.db import Base, utcnow
from hub.events import Event
from hub.inbox.models import (
    Channel,
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    Message,
    Operator,
    Team,
)
from tests.conftest import ServedServices, base_settings, require_served, truncate_all

pytestmark = pytest.mark.timeout(300)

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
#: Every table emptied, every sequence restarted, in one round trip (``truncate_all``: seconds).
EMPTY_POSTGRES = """
SET session_replication_role = replica;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM %I', r.tablename);
  END LOOP;
  FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'S' AND n.nspname = 'public' LOOP
    PERFORM setval(r.oid, 1, false);
  END LOOP;
END $$;
SET session_replication_role = origin;
"""
#: (type, config): automatic leads on for most, off for two.
CHANNELS = (
    ("api", {}),
    ("widget", {}),
    ("telegram", {}),
    ("calls", {"auto_leads": False}),
    ("widget", {"auto_leads": False}),
)
#: The two widget channels: one site's user id is proven on each (the same person on two sites).
WIDGETS = (1, 4)
PHONES = ("+79160000001", "+79160000002", "+79160000003")
EMAILS = ("anna@example.com", "ivan@example.com")
TOUCHES: dict[str, dict[str, Any]] = {
    "none": {},
    "empty": {"first_touch": {}},
    "utm": {
        "first_touch": {
            "url": "https://shop.example/?utm_source=yandex",
            "referrer": "https://ya.ru",
            "utm_source": "yandex",
            "utm_medium": "cpc",
            "utm_campaign": "winter",
            "gclid": "g1",
        }
    },
    "number": {"first_touch": {"utm_source": "number: +7 495 000-00-00", "label": "site"}},
    "telegram": {
        "telegram_start": {"payload": "yandex--sale", "utm_source": "yandex"},
        "telegram_start_kind": "advert",
        "utm_campaign": "sale",
    },
    "start": {"telegram_start": "promo"},
}
DUES = {"none": None, "given": "2030-01-02T10:00:00+03:00", "naive": "2030-01-02T10:00:00"}
DUES |= {"bad": "soon", "number": 5}


@dataclass(frozen=True)
class Person:
    phone: int | None
    email: int | None
    verified: int | None  # a widget user id proven with identifier_hash
    touch: bool
    deals: tuple[str, ...]  # each "open" or "won"
    open_lead: bool
    open_task: int | None  # an open "call back" task for this phone


@dataclass(frozen=True)
class Said:
    kind: str  # incoming or outgoing
    ask: int | None  # a callback request for this phone (3: none given)
    due: str
    odd: bool  # its meta is not a callback request at all


@dataclass(frozen=True)
class Conv:
    person: int
    channel: int
    touch: str
    assignee: int | None
    team: int | None
    said: tuple[Said, ...]
    decided: str  # no, lead, deal
    new: bool  # among the intake's batch


people = st.builds(
    Person,
    st.sampled_from([None, None, None, 0, 1, 2]),
    st.sampled_from([None, None, None, 0, 1]),
    st.sampled_from([None, None, None, None, 0, 1]),
    st.booleans(),
    st.sampled_from([(), (), (), (), ("open",), ("won",), ("open", "won"), ("won", "open")]),
    st.sampled_from([False, False, False, False, True]),
    st.sampled_from([None, None, None, 0, 1, 3]),
)
saids = st.builds(
    Said,
    st.sampled_from(["incoming"] * 4 + ["outgoing"]),
    st.sampled_from([None, None, None, None, None, 0, 1, 3]),
    st.sampled_from(list(DUES)),
    st.sampled_from([False] * 5 + [True]),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Person], list[Conv]]:
    persons = draw(st.lists(people, min_size=2, max_size=6))
    convs = st.builds(
        Conv,
        st.integers(0, len(persons) - 1),
        st.integers(0, len(CHANNELS) - 1),
        st.sampled_from(list(TOUCHES)),
        st.sampled_from([None, None, 0, 1]),
        st.sampled_from([None, 0, 1]),
        st.lists(saids, min_size=1, max_size=6).map(tuple),
        st.sampled_from(["no"] * 6 + ["lead", "deal"]),
        st.sampled_from([True, True, True, False]),
    )
    return persons, draw(st.lists(convs, min_size=3, max_size=10))


async def _seed(ctx: HubContext, persons: list[Person], convs: list[Conv]) -> list[int]:
    """The world; the ids of the conversations the intake gets, in order."""
    async with ctx.sessionmaker() as session, session.begin():
        teams = [Team(name="sales"), Team(name="support")]
        ops = [
            Operator(email=f"o{i}@example.com", name=f"Op {i}", role="operator", password_hash="x")
            for i in range(2)
        ]
        pipeline = Pipeline(name="Sales", is_default=True, created_at=T0)
        session.add_all([*teams, *ops, pipeline])
        await session.flush()
        stages = [
            Stage(pipeline_id=pipeline.id, name=name, position=n, kind=kind)
            for n, (name, kind) in enumerate([("New", "open"), ("Won", "won")])
        ]
        channels = [
            Channel(type=kind, name=f"ch{n}", secret="s", config=config)
            for n, (kind, config) in enumerate(CHANNELS)
        ]
        session.add_all([*stages, *channels])
        await session.flush()
        contacts = []
        for k, p in enumerate(persons):
            attrs = {"first_touch": TOUCHES["utm"]["first_touch"]} if p.touch else {}
            contact = Contact(name=f"P{k}", attributes=attrs, created_at=T0, updated_at=T0)
            session.add(contact)
            await session.flush()
            contacts.append(contact)
            session.add(
                ContactIdentity(
                    contact_id=contact.id,
                    channel_id=channels[0].id,
                    external_id=f"p{k}",
                    created_at=T0,
                )
            )
            if p.phone is not None:
                session.add(ContactPhone(contact_id=contact.id, e164=PHONES[p.phone]))
            if p.email is not None:
                session.add(ContactEmail(contact_id=contact.id, email=EMAILS[p.email]))
            holders = sum(1 for q in persons[:k] if q.verified == p.verified)
            if p.verified is not None and holders < len(WIDGETS):
                session.add(
                    ContactIdentity(
                        contact_id=contact.id,
                        channel_id=channels[WIDGETS[holders]].id,
                        external_id=f"user:{p.verified}",
                        created_at=T0,
                    )
                )
            for n, status in enumerate(p.deals):
                session.add(
                    Deal(
                        title=f"Deal {k}.{n}",
                        contact_id=contact.id,
                        owner_id=ops[n % 2].id if n else None,
                        pipeline_id=pipeline.id,
                        stage_id=stages[0 if status == "open" else 1].id,
                        status=status,
                        created_at=T0,
                        updated_at=T0 + timedelta(minutes=(k * 7 + n * 3) % 5),
                    )
                )
            if p.open_lead:
                session.add(Lead(contact_id=contact.id, status="incoming", created_at=T0))
            if p.open_task is not None:
                phone = PHONES[p.open_task] if p.open_task < len(PHONES) else ""
                session.add(
                    Task(
                        title=f"Call back {phone}".strip(),
                        kind="callback",
                        contact_id=contact.id,
                        due_at=T0,
                        created_at=T0,
                    )
                )
        await session.flush()
        new_ids = []
        for n, c in enumerate(convs):
            contact = contacts[c.person]
            conv = Conversation(
                channel_id=channels[c.channel].id,
                contact_id=contact.id,
                team_id=None if c.team is None else teams[c.team].id,
                assignee_id=None if c.assignee is None else ops[c.assignee].id,
                created_at=T0 + timedelta(seconds=n),
                last_activity_at=T0,
                attributes=TOUCHES[c.touch],
            )
            session.add(conv)
            await session.flush()
            for m, said in enumerate(c.said):
                meta: Any = {}
                if said.odd:
                    meta = {"type": ["callback_request"], "phone": "x"}
                elif said.ask is not None:
                    meta = {"type": "callback_request"}
                    if said.ask < len(PHONES):
                        meta["phone"] = PHONES[said.ask]
                    if DUES[said.due] is not None:
                        meta["due_at"] = DUES[said.due]
                session.add(
                    Message(
                        conversation_id=conv.id,
                        channel_id=conv.channel_id,
                        kind=said.kind,
                        body=f"m{m}",
                        sender_contact_id=contact.id,
                        meta=meta,
                        created_at=T0 + timedelta(seconds=n, milliseconds=m),
                    )
                )
            if c.decided == "lead":
                session.add(
                    Lead(
                        contact_id=contact.id,
                        conversation_id=conv.id,
                        status="qualified",
                        created_at=T0,
                    )
                )
            elif c.decided == "deal":
                # The contact's first deal: both copies must link the same one (without an
                # order PostgreSQL may return either, as each copy's rows lie in its table).
                deal = await session.scalar(
                    select(Deal).where(Deal.contact_id == contact.id).order_by(Deal.id).limit(1)
                )
                if deal is None:
                    deal = Deal(
                        title="Old",
                        contact_id=contact.id,
                        pipeline_id=pipeline.id,
                        stage_id=stages[1].id,
                        status="won",
                        created_at=T0,
                        updated_at=T0,
                    )
                    session.add(deal)
                    await session.flush()
                session.add(
                    DealConversation(deal_id=deal.id, conversation_id=conv.id, created_at=T0)
                )
            if c.new:
                new_ids.append(conv.id)
        return new_ids


def _now(value: Any, since: datetime) -> Any:
    """A time the path wrote (at or after ``since``) reads as "now", in rows and JSON alike."""
    if isinstance(value, str) and value.endswith("Z") and value[:2] == "20":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return "now" if value >= since else value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _now(v, since) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_now(v, since) for v in value]
    return value


async def _tables(ctx: HubContext, since: datetime) -> dict[str, list[Any]]:
    out = {}
    async with ctx.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [_now(tuple(row), since) for row in rows.all()]
    return out


@dataclass
class Tally:
    batched: int = 0
    alone: int = 0
    leads: int = 0
    joins: int = 0
    merges: int = 0
    tasks: int = 0


Decide = Callable[[LeadIntake, list[int]], Awaitable[None]]


async def _run(
    fresh: Callable[[], Awaitable[str]], world: tuple[list[Person], list[Conv]], decide: Decide
) -> tuple[dict[str, list[Any]], list[Any], LeadIntake]:
    # A busy machine's slow statement is not an outage here.
    settings = base_settings(database_url=await fresh(), redis_url=None, db_timeout_s=60.0)
    ctx = HubContext.build(settings)
    ctx.contact_rows = contact_rows()
    await ctx.start()
    try:
        since = utcnow()  # what the seed does not date itself is dated now, in both copies
        new_ids = await _seed(ctx, *world)
        announced: list[Event] = []
        ctx.announce = lambda *events: announced.extend(events)  # type: ignore[method-assign]
        intake = LeadIntake(ctx)
        await decide(intake, new_ids)
        assert intake.processed == len(new_ids)  # nothing failed, so nothing is left for later
        events = [_now(e.to_wire(), since) for e in announced]
        return await _tables(ctx, since), events, intake
    finally:
        await ctx.close()


async def _compare(
    fresh: Callable[[], Awaitable[str]], world: tuple[list[Person], list[Conv]], tally: Tally
) -> None:
    async def batch(intake: LeadIntake, ids: list[int]) -> None:
        await intake.take(ids)

    async def one_by_one(intake: LeadIntake, ids: list[int]) -> None:
        await intake.take_one_by_one(ids)

    rows_a, events_a, intake = await _run(fresh, world, batch)
    rows_b, events_b, _ = await _run(fresh, world, one_by_one)
    assert intake.batched + intake.alone == intake.processed  # the batch did not fall back
    assert events_a == events_b
    assert rows_a == rows_b
    tally.batched += intake.batched
    tally.alone += intake.alone
    names = [e["event"] for e in events_a]
    tally.leads += names.count("lead.created")
    tally.joins += names.count("deal.updated")
    tally.merges += len(rows_a["contact_merges"])
    tally.tasks += sum("now" in row for row in rows_a["tasks"])


def _check(fresh: Callable[[], Awaitable[str]], runner: asyncio.Runner) -> None:
    tally = Tally()

    @given(worlds())
    @hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(world: tuple[list[Person], list[Conv]]) -> None:
        runner.run(_compare(fresh, world, tally))

    check()
    # Every kind of outcome was seen, and the batch did the most of it.
    assert tally.leads and tally.joins and tally.merges and tally.tasks, tally
    assert tally.batched > 3 * tally.alone > 0, tally


def test_the_batch_matches_the_orm_path_on_sqlite(sqlite_template: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, asyncio.Runner() as runner:
        copies = iter(range(1_000_000))

        async def fresh() -> str:
            db = Path(tmp) / f"hub-{next(copies)}.db"
            shutil.copy(sqlite_template, db)
            return f"sqlite+aiosqlite:///{db}"

        _check(fresh, runner)


def test_the_batch_matches_the_orm_path_on_postgres(
    served_services: ServedServices | str,
) -> None:
    served = require_served(served_services)
    with asyncio.Runner() as runner:
        runner.run(truncate_all(served))
        conn = runner.run(
            asyncpg.connect(
                make_url(served.database_url)
                .set(drivername="postgresql")
                .render_as_string(hide_password=False)
            )
        )

        async def fresh() -> str:
            await conn.execute(EMPTY_POSTGRES)
            return served.database_url

        try:
            _check(fresh, runner)
        finally:
            runner.run(conn.close())
