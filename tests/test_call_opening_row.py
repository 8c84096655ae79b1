"""A call's row is written whole when the call opens: the inbound batch's insert carries what
the call's events told so far (the provider's id, the extension that answered, the times, the
attribution), so opening a call costs no second statement on ``message_calls`` (on PostgreSQL
each statement is a round trip of the write lane, which every webhook waits for)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.http import CTX
from hub.inbox import inbound_sql
from hub.inbox.item_models import CallItem
from tests.calls_replay import build, connect, send
from tests.helpers import make_operator


async def test_a_call_opened_by_its_answer_is_stored_whole_by_one_insert(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "zadarma")
    seen: list[str] = []
    inbound_sql.statement_observers.append(seen.append)
    try:
        # The answer comes first (the start was lost): it opens the call with what it says.
        assert (await send(client, build(ch, "2_answer.form"))).status == 200
    finally:
        inbound_sql.statement_observers.remove(seen.append)

    on_calls = [" ".join(s.split()) for s in seen if "message_calls" in s]
    writes = [s for s in on_calls if not s.upper().startswith(("SELECT", "WITH"))]
    assert len(writes) == 1, on_calls
    assert writes[0].startswith("INSERT INTO message_calls")

    async with client.app[CTX].sessionmaker() as session:
        row = (await session.scalars(select(CallItem))).one()
    assert (row.channel_id, row.provider_call_id) == (ch.id, "in_0f6b2c6e8d4a1b3c")
    assert row.operator == "101"
    assert row.status == "answered"
    assert row.started_at is not None  # Zadarma tells the start, not the answer's time
    assert row.ended_at is None
    assert row.attribution == {}

    # Its end folds into the same row, as before.
    assert (await send(client, build(ch, "3_end.form"))).status == 200
    async with client.app[CTX].sessionmaker() as session:
        ended = (await session.scalars(select(CallItem))).one()
    assert ended.message_id == row.message_id
    assert (ended.status, ended.operator, ended.started_at) == ("answered", "101", row.started_at)
    assert ended.duration_s > 0
