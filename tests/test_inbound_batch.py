"""Messages that arrive together are stored together (hub.inbox.inbound_batch), and the result
is the same as storing them one by one: one contact per sender, one conversation per contact
and channel, each provider id once, the right unread counts and events."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.bus import Bus
from hub.channels.base import InboundContact, InboundMessage
from hub.events import EVENTS_TOPIC
from hub.http import CTX
from hub.inbox import actions as inbox_actions
from hub.inbox import inbound_batch, inbound_sql
from hub.inbox.actions import receive_message
from hub.inbox.handoff import set_status
from hub.inbox.inbound_batch import store_batch
from hub.inbox.models import Contact, ContactIdentity, Conversation, Message
from hub.redis_bus import RedisBus
from hub.writes import RunAlone
from tests.helpers import customer_says, make_api_channel, make_operator


async def _count(client: TestClient, model: Any) -> int:  # type: ignore[type-arg]
    async with client.app[CTX].sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _events_after(bus: Bus, after: str) -> list[dict[str, Any]]:
    return [payload for _id, payload in await bus.read_after(EVENTS_TOPIC, after, 10_000)]


async def test_a_burst_is_stored_like_one_message_at_a_time(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = client.app[CTX]
    taken: list[int] = []

    async def counting(session: Any, items: list[InboundMessage]) -> list[Any]:
        answers = await store_batch(session, items)
        taken.append(sum(1 for a in answers if not isinstance(a, RunAlone)))
        return answers

    monkeypatch.setattr(inbox_actions, "store_batch", counting)
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    ch = channel["id"]
    # Six known senders (one of them in a resolved conversation), six new ones.
    for k in range(6):
        await customer_says(
            client,
            channel,
            f"hello {k}",
            external_id=f"old{k}",
            message_id=f"seed{k}",
            name=f"Old {k}",
        )
    convs = (
        await (await client.get("/api/v1/conversations?limit=100", headers=admin.headers)).json()
    )["items"]
    resolved_id = next(c["id"] for c in convs if c["contact"]["name"] == "Old 0")
    from hub.inbox.auth import Principal

    boss = Principal(admin.id, admin.name, "admin", frozenset())
    await set_status(ctx, boss, resolved_id, "resolved")
    after = await ctx.bus.last_id(EVENTS_TOPIC)
    batches_before = ctx.writer.batches

    burst: list[InboundMessage] = []
    for n in range(48):
        who = f"old{(n // 2) % 6}" if n % 2 == 0 else f"new{(n // 2) % 6}"
        burst.append(InboundMessage(ch, InboundContact(who, who.title()), f"message {n}", f"b{n}"))
    burst.append(
        InboundMessage(ch, InboundContact("new0", "New0"), "again", "b1")
    )  # repeat in batch
    burst.append(InboundMessage(ch, InboundContact("old1", "Old 1"), "seeded", "seed1"))  # stored
    burst.append(
        InboundMessage(
            ch, InboundContact("new5", "New5", phone="+79161234567"), "with a phone", "p1"
        )
    )
    results = await asyncio.gather(*(receive_message(ctx, m) for m in burst))

    assert ctx.writer.batches - batches_before < len(burst), "nothing was grouped"
    assert sum(taken) >= 40, f"the set-based path took only {taken}"
    duplicates = [r for r in results if r.duplicate]
    assert len(duplicates) == 2
    assert results[48].duplicate and results[49].duplicate  # repeat in the batch; stored before
    assert results[48].message["id"] == results[1].message["id"]
    by_provider = {m.provider_message_id: r for m, r in zip(burst, results, strict=True)}
    assert await _count(client, Contact) == 12
    assert await _count(client, ContactIdentity) == 12
    assert await _count(client, Conversation) == 12
    assert await _count(client, Message) == 6 + 1 + 48 + 1 + 1  # seeds, status activity, burst,
    # the reopen activity, the message with a phone

    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Conversation.id, Conversation.status, Conversation.unread_count)
            )
        ).all()
        incoming = Counter(
            (
                await session.scalars(
                    select(Message.conversation_id).where(Message.kind == "incoming")
                )
            ).all()
        )
    for conv_id, status, unread in rows:
        assert status == "open"
        if conv_id == resolved_id:
            continue  # its count was not reset by a reply either; checked below
        assert unread == incoming[conv_id], (conv_id, unread, incoming[conv_id])

    events = await _events_after(ctx.bus, after)
    names = Counter(e["event"] for e in events)
    assert names["conversation.created"] == 6
    new_messages = sum(1 for r in results if not r.duplicate)
    assert names["message.created"] == new_messages + 1  # + the reopen activity
    assert names["conversation.updated"] == 1  # only the reopened one
    created_for = {
        e["data"]["conversation"]["id"] for e in events if e["event"] == "conversation.created"
    }
    assert len(created_for) == 6
    phone_result = by_provider["p1"]
    assert phone_result.message["sender"]["type"] == "contact"


async def test_fast_and_one_by_one_paths_answer_alike(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    fast = await customer_says(client, channel, "plain", external_id="a", message_id="x1")
    slow = await customer_says(
        client, channel, "with a phone", external_id="b", message_id="x2", phone="8 916 765 43 21"
    )
    assert fast["message"].keys() == slow["message"].keys()
    assert fast["conversation"].keys() == slow["conversation"].keys()
    assert fast["message"]["sender"] == {
        "type": "contact",
        "id": fast["message"]["sender"]["id"],
        "name": "Ivan Petrov",
    }
    assert fast["conversation"]["contact"]["name"] == "Ivan Petrov"
    assert fast["conversation"]["channel"]["type"] == "api"
    listed = (
        await (
            await client.get(
                f"/api/v1/conversations/{fast['conversation']['id']}/messages",
                headers=admin.headers,
            )
        ).json()
    )["items"]
    assert listed[-1] == fast["message"]
    # The conversation as the batch wrote it reads back the same through the ORM.
    shown = await (
        await client.get(
            f"/api/v1/conversations/{fast['conversation']['id']}", headers=admin.headers
        )
    ).json()
    for field in ("last_activity_at", "created_at", "unread_count", "last_message_preview"):
        assert shown[field] == fast["conversation"][field], field


def test_the_batch_statements_fill_every_column_a_model_fills() -> None:
    """The batch writes rows with its own SQL, so SQLAlchemy's defaults do not apply there: a
    new column that must be filled has to be added to its statement too."""
    for model, columns in (
        (Contact, inbound_sql.CONTACT_COLUMNS),
        (ContactIdentity, inbound_sql.IDENTITY_COLUMNS),
        (Conversation, inbound_sql.CONVERSATION_COLUMNS),
        (Message, inbound_sql.MESSAGE_COLUMNS),
    ):
        table = model.__table__
        must = {
            column.name
            for column in table.columns
            if not column.primary_key
            and column.server_default is None
            and (not column.nullable or getattr(column.default, "arg", None) is not None)
        }
        assert must <= set(columns), (table.name, sorted(must - set(columns)))


async def test_a_batch_that_fails_midway_leaves_nothing_and_is_stored_one_by_one(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New contacts are inserted, then the batch fails before its messages: the contacts go
    with the rolled-back transaction, and every message is stored by the one-by-one path."""
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    failures: list[int] = []

    def failing_open(*args: Any, **kwargs: Any) -> None:
        failures.append(1)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbound_batch, "_write_conversations", failing_open)
    burst = [
        InboundMessage(channel["id"], InboundContact(f"m{k}", f"M {k}"), f"hi {k}", f"mid{k}")
        for k in range(8)
    ]
    results = await asyncio.gather(*(receive_message(ctx, m) for m in burst))
    assert failures, "the set-based path never ran"
    assert not any(r.duplicate for r in results)
    assert await _count(client, Contact) == 8
    assert await _count(client, ContactIdentity) == 8
    assert await _count(client, Conversation) == 8
    assert await _count(client, Message) == 8
    # The one-by-one path answered with the same shape.
    assert {r.message["body"] for r in results} == {f"hi {k}" for k in range(8)}


@pytest.mark.parametrize("settings", ["served"], indirect=True)
async def test_a_message_is_answered_once_its_event_is_on_redis(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The answer comes after operators can be told: the operator's frame leaves with the
    answer, not after it. Redis's reply is held back a little here, so an answer that did not
    wait for it would come first."""
    bus = client.app[CTX].bus
    assert isinstance(bus, RedisBus)
    loop = asyncio.get_running_loop()
    replied: list[float] = []
    append = bus._append

    async def late_reply(keys: list[str], args: list[Any]) -> Any:
        assert append is not None
        ids = await append(keys, args)
        await asyncio.sleep(0.05)
        replied.append(loop.time())
        return ids

    monkeypatch.setattr(bus, "_append", late_reply)
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    for k in range(3):
        asked = loop.time()
        await customer_says(client, channel, f"hi {k}", message_id=f"m{k}")
        answered = loop.time()
        assert any(asked <= t <= answered for t in replied)


def test_plain_statements_are_numbered_for_asyncpg() -> None:
    """The batch's rarer statements are written once with ``?`` marks; on PostgreSQL they are
    numbered, and a JSON value given as text is cast."""
    from hub.inbox.inbound_postgres import _numbered

    sql = "UPDATE contacts SET name = ?, attributes = ?j, search_text = ? WHERE id = ?"
    assert _numbered(sql) == (
        "UPDATE contacts SET name = $1, attributes = $2::text::jsonb, search_text = $3"
        " WHERE id = $4"
    )


async def test_a_batchs_statements_read_the_same_whatever_its_size(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """On PostgreSQL the statements' texts do not depend on how many items a batch holds
    (membership is ``= ANY`` of one array): each is prepared once per connection instead of
    once for each length of its list. SQLite's differ only in the count of their marks."""
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    senders = [f"known-{k}" for k in range(6)]
    for k, sender in enumerate(senders):
        await customer_says(client, channel, "hello", external_id=sender, message_id=f"first-{k}")

    def item(sender: str, n: int) -> InboundMessage:
        return InboundMessage(
            channel_id=channel["id"],
            contact=InboundContact(sender, "Ivan", email=f"{sender}@mail.test"),
            body=f"again {n}",
            provider_message_id=f"{sender}-again-{n}",
            reply_to_provider_id=f"first-{senders.index(sender)}",
            thread_key=f"thread-{sender}",
        )

    async def texts(items: list[InboundMessage]) -> set[str]:
        seen: list[str] = []
        inbound_sql.statement_observers.append(seen.append)
        try:
            await asyncio.gather(*(receive_message(ctx, i) for i in items))
        finally:
            inbound_sql.statement_observers.remove(seen.append)
        return {" ".join(text.split()) for text in seen}

    one = await texts([item(senders[0], 1)])
    five = await texts([item(s, 2) for s in senders[1:]])
    assert any("thread_key" in text for text in one)  # the reads that take lists ran
    assert any("provider_message_id" in text and "select" in text.lower() for text in one)
    if ctx.settings.database_url.startswith("sqlite"):
        one = {text.replace("?,", "") for text in one}
        five = {text.replace("?,", "") for text in five}
    assert one == five
