"""Replies and notes written a batch at a time (``hub.inbox.reply_batch``) end as the ORM path
(``replies.reply_one``) leaves them, one at a time: the same rows, answers, events and live
hand-overs, and the same refusals, for random sequences across conversations in every state.

Each example seeds the same conversations twice in one database; one copy takes the sequence
as one batch (``run_many``, then ``run_one`` for what it leaves, as the group commit does), the
other one item at a time through the ORM path; both are compared with their own ids replaced by
their place in the scenario and the times they wrote by "now".
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.channels.capabilities import Capabilities
from hub.channels.registry import capabilities
from hub.context import HubContext
from hub.driver import DriverConnection
from hub.errors import DomainError
from hub.events import Event, MessageCreated
from hub.inbox import reply_sql
from hub.inbox.auth import Principal
from hub.inbox.models import (
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    Operator,
    Team,
)
from hub.inbox.replies import ReplyWrites
from hub.inbox.reply_batch import ReplyItem
from hub.writes import RunAlone
from tests.conftest import ServedServices, base_settings, require_served, truncate_all

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
STATUSES = ("open", "pending", "resolved")
#: (type, team index or None, config): a live widget, an API channel that calls back (the
#: outbox), one that keeps its replies, and a type that takes no replies.
CHANNELS = (
    ("widget", 0, {}),
    ("api", 0, {"callback_url": "https://example.com/hook"}),
    ("api", None, {}),
    ("calls", 1, {}),
)


@dataclass(frozen=True)
class Conv:
    channel: int
    status: str
    assignee: int | None  # operator index
    team: int | None  # team index
    identity: bool
    incoming: bool
    replied: bool


@dataclass(frozen=True)
class Op:
    conv: int
    actor: int  # operator index: 0 admin, 1 member of team 0, 2 of team 1, 3 of none
    private: bool
    body: str
    reply_to: str  # none, own, other, missing
    files: bool


convs = st.builds(
    Conv,
    st.integers(0, len(CHANNELS) - 1),
    st.sampled_from(STATUSES),
    st.sampled_from([None, None, 1, 3]),
    st.sampled_from([None, 0, 0, 1]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Conv], list[Op]]:
    conversations = draw(st.lists(convs, min_size=1, max_size=4))
    ops = st.builds(
        Op,
        st.integers(0, len(conversations) - 1),
        st.sampled_from([0, 0, 0, 1, 1, 2, 3]),
        st.booleans(),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
        .filter(str.strip)
        .map(lambda s: s[:300]),
        st.sampled_from(["none"] * 6 + ["own"] * 2 + ["other", "missing"]),
        # Files are the ORM path's alone (an upload that is not there: refused by both).
        st.sampled_from([False] * 9 + [True]),
    )
    return conversations, draw(st.lists(ops, min_size=1, max_size=10))


@dataclass
class World:
    ctx: HubContext
    operators: list[Principal]
    channels: list[int]
    #: Items the batch took, and those it left to the ORM path, over all examples.
    taken: int = 0
    left: int = 0


async def _world(database_url: str, media: Path) -> World:
    ctx = HubContext.build(base_settings(database_url=database_url, media_dir=media))
    ctx.channel_capabilities = {**capabilities(), "calls": Capabilities(replies=False)}
    await ctx.start()
    async with ctx.sessionmaker() as session, session.begin():
        teams = [Team(name="sales"), Team(name="support")]
        session.add_all(teams)
        roles = ("admin", "operator", "operator", "operator")
        ops = [
            Operator(email=f"o{i}@example.com", name=f"Op {i}", role=role, password_hash="x")
            for i, role in enumerate(roles)
        ]
        session.add_all(ops)
        await session.flush()
        channels = [
            Channel(
                type=kind,
                name=f"ch{i}",
                team_id=None if team is None else teams[team].id,
                secret="s",
                config=config,
            )
            for i, (kind, team, config) in enumerate(CHANNELS)
        ]
        session.add_all(channels)
        await session.flush()
        team_of = {1: teams[0].id, 2: teams[1].id}
        principals = [
            Principal(op.id, op.name, op.role, frozenset({team_of[i]} if i in team_of else ()))
            for i, op in enumerate(ops)
        ]
        return World(ctx, principals, [c.id for c in channels])


async def _seed(world: World, spec: list[Conv], copy: str) -> tuple[list[int], list[int]]:
    """The conversations and their one customer message each; their ids."""
    conv_ids: list[int] = []
    message_ids: list[int] = []
    async with world.ctx.sessionmaker() as session, session.begin():
        team_ids = sorted({t for p in world.operators for t in p.team_ids})
        for k, c in enumerate(spec):
            channel_id = world.channels[c.channel]
            contact = Contact(name=f"C{k}", created_at=T0, updated_at=T0)
            session.add(contact)
            await session.flush()
            identity = ContactIdentity(
                contact_id=contact.id, channel_id=channel_id, external_id=f"{copy}-{k}"
            )
            session.add(identity)
            await session.flush()
            conv = Conversation(
                channel_id=channel_id,
                contact_id=contact.id,
                identity_id=identity.id if c.identity else None,
                team_id=None if c.team is None else team_ids[c.team],
                assignee_id=None if c.assignee is None else world.operators[c.assignee].operator_id,
                status=c.status,
                created_at=T0,
                last_activity_at=T0,
                last_message_preview="hello",
                unread_count=2,
                attributes={"page": "/"},
                first_incoming_at=T0 if c.incoming else None,
                first_reply_at=T0 + timedelta(minutes=1) if c.incoming and c.replied else None,
                first_replier_id=world.operators[1].operator_id if c.replied else None,
            )
            session.add(conv)
            await session.flush()
            msg = Message(
                conversation_id=conv.id,
                channel_id=channel_id,
                kind="incoming",
                body="hello",
                sender_contact_id=contact.id,
                created_at=T0,
            )
            session.add(msg)
            await session.flush()
            conv_ids.append(conv.id)
            message_ids.append(msg.id)
    return conv_ids, message_ids


def _items(world: World, ops: list[Op], convs: list[int], msgs: list[int]) -> list[ReplyItem]:
    items = []
    for op in ops:
        reply_to = {
            "none": None,
            "own": msgs[op.conv],
            "other": msgs[(op.conv + 1) % len(msgs)] if len(msgs) > 1 else msgs[op.conv],
            "missing": 2_000_000_000,
        }[op.reply_to]
        files = (2_000_000_001,) if op.files else ()
        actor = world.operators[op.actor]
        items.append(ReplyItem(actor, convs[op.conv], op.body, op.private, files, reply_to))
    return items


Outcome = tuple[dict[str, Any], list[Event], list[Any]] | tuple[str, str]


def _refusal(exc: Exception) -> tuple[str, str]:
    return (type(exc).__name__, exc.code if isinstance(exc, DomainError) else str(exc))


async def _batched(world: World, items: list[ReplyItem]) -> list[Outcome]:
    ctx, handler = world.ctx, ReplyWrites(world.ctx)
    announced: list[Event] = []
    ctx.announce = lambda *events: announced.extend(events)  # type: ignore[method-assign]
    conn = DriverConnection(ctx.engine)
    try:
        answers = await handler.run_many(conn, items)
    finally:
        await conn.drop()
        del ctx.announce
    out: list[Outcome] = []
    events = iter(announced)
    for item, answer in zip(items, answers, strict=True):
        world.left += isinstance(answer, RunAlone)
        if not isinstance(answer, RunAlone):
            world.taken += 1
            assert answer[1] == []
            out.append((answer[0], [next(events)], answer[2]))
            continue
        out.append(await _one(world, handler, item))
    assert next(events, None) is None
    return out


async def _one(world: World, handler: ReplyWrites, item: ReplyItem) -> Outcome:
    try:
        return await world.ctx.write(lambda session: handler.run_one(session, item))
    except DomainError as exc:
        return _refusal(exc)


class Names:
    """A copy's ids by their place in the scenario; the times it wrote as "now"."""

    def __init__(self, convs: list[int], msgs: list[int], copy: str) -> None:
        self.ids = {("c", v): f"c{k}" for k, v in enumerate(convs)}
        self.ids.update({("m", v): f"m{k}" for k, v in enumerate(msgs)})
        self.copy = copy

    def msg(self, value: int | None) -> Any:
        return None if value is None else self.ids.get(("m", value), value)

    def conv(self, value: int) -> Any:
        return self.ids.get(("c", value), value)

    @staticmethod
    def time(value: Any) -> Any:
        if isinstance(value, str) and value.endswith("Z"):
            # A JSON time; any other text (a reply's body may end in "Z" too) stays as it is.
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if isinstance(value, datetime) and value > T0 + timedelta(minutes=5):
            return "now"
        return value

    def message(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            **data,
            "id": self.msg(data["id"]),
            "conversation_id": self.conv(data["conversation_id"]),
            "reply_to_id": self.msg(data["reply_to_id"]),
            "created_at": self.time(data["created_at"]),
        }

    def conversation(self, data: dict[str, Any]) -> dict[str, Any]:
        times = {k: self.time(v) for k, v in data.items() if k.endswith("_at")}
        return {**data, **times, "id": self.conv(data["id"]), "contact_id": None}

    def outcome(self, outcome: Outcome) -> Any:
        if len(outcome) == 2:
            return outcome
        data, events, live = outcome
        assert len(events) == 1 and isinstance(events[0], MessageCreated)
        event = events[0]
        assert event.conversation is not None
        shown = (
            event.recipients,
            self.conv(event.conversation_id),
            self.message(event.message),
            self.conversation(event.conversation),
        )
        handed = [
            (
                kind,
                config,
                self.msg(out.message_id),
                self.conv(out.conversation_id),
                out.body,
                (out.contact_external_id or "").removeprefix(self.copy),
                out.operator_name,
                self.time(out.created_at),
            )
            for kind, config, out in live
        ]
        return self.message(data), shown, handed

    def learn(self, outcomes: list[Outcome]) -> None:
        for n, outcome in enumerate(outcomes):
            if len(outcome) == 3:
                self.ids[("m", outcome[0]["id"])] = f"op{n}"


async def _rows(world: World, names: Names, convs: list[int]) -> Any:
    async with world.ctx.sessionmaker() as session:
        messages = (
            await session.scalars(
                select(Message).where(Message.conversation_id.in_(convs)).order_by(Message.id)
            )
        ).all()
        conversations = (
            await session.scalars(select(Conversation).where(Conversation.id.in_(convs)))
        ).all()
    skip = {"id", "conversation_id", "reply_to_id", "sender_contact_id"}
    message_rows = sorted(
        (
            names.msg(m.id),
            names.conv(m.conversation_id),
            names.msg(m.reply_to_id),
            tuple(
                (c.name, names.time(getattr(m, c.key)))
                for c in Message.__table__.columns
                if c.name not in skip
            ),
        )
        for m in messages
    )
    skip = {"id", "contact_id", "identity_id"}
    conversation_rows = sorted(
        (
            names.conv(c.id),
            tuple(
                (col.name, names.time(getattr(c, col.key)))
                for col in Conversation.__table__.columns
                if col.name not in skip
            ),
        )
        for c in conversations
    )
    return message_rows, conversation_rows


async def _compare(world: World, spec: list[Conv], ops: list[Op], run: int) -> None:
    convs_a, msgs_a = await _seed(world, spec, f"a{run}")
    convs_b, msgs_b = await _seed(world, spec, f"b{run}")
    handler = ReplyWrites(world.ctx)
    batched = await _batched(world, _items(world, ops, convs_a, msgs_a))
    one_by_one = [await _one(world, handler, i) for i in _items(world, ops, convs_b, msgs_b)]
    names_a, names_b = Names(convs_a, msgs_a, f"a{run}"), Names(convs_b, msgs_b, f"b{run}")
    names_a.learn(batched)
    names_b.learn(one_by_one)
    assert [names_a.outcome(o) for o in batched] == [names_b.outcome(o) for o in one_by_one]
    assert await _rows(world, names_a, convs_a) == await _rows(world, names_b, convs_b)


def _check_backend(database_url: str, media: Path) -> None:
    with asyncio.Runner() as runner:
        world = runner.run(_world(database_url, media))
        runs = iter(range(1_000_000))
        try:

            @given(scenarios())
            @hyp_settings(
                max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
            )
            def check(scenario: tuple[list[Conv], list[Op]]) -> None:
                runner.run(_compare(world, *scenario, next(runs)))

            check()
            # Both paths were exercised, not only the ORM one.
            assert world.taken >= 30 and world.left >= 10, (world.taken, world.left)
        finally:
            runner.run(world.ctx.close())


def test_batched_replies_match_the_orm_path_on_sqlite(sqlite_template: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hub.db"
        shutil.copy(sqlite_template, db)
        _check_backend(f"sqlite+aiosqlite:///{db}", Path(tmp) / "media")


def test_batched_replies_match_the_orm_path_on_postgres(
    served_services: ServedServices | str,
) -> None:
    served = require_served(served_services)
    asyncio.run(truncate_all(served))
    with tempfile.TemporaryDirectory() as tmp:
        _check_backend(served.database_url, Path(tmp) / "media")


def test_the_reply_statement_fills_every_column_a_model_fills() -> None:
    """The batch writes messages with its own SQL, so SQLAlchemy's defaults do not apply."""
    table = Message.__table__
    must = {
        column.name
        for column in table.columns
        if not column.primary_key
        and column.server_default is None
        and (not column.nullable or getattr(column.default, "arg", None) is not None)
    }
    # Incoming messages' own columns: a reply has no customer sender or provider id.
    assert must - {"sender_contact_id", "provider_message_id"} <= set(reply_sql.REPLY_COLUMNS)
