"""The call fold's look-up and the call line's later-message test stay index probes on
PostgreSQL whatever the planner knows of the tables.

A write lane prepares each statement once and keeps its generic plan for as long as its
connection lives (``hub.driver``), so a plan made on a new installation's small tables, with
no statistics yet, is the plan for months. Two such plans read, for every batch, all of a
channel's calls and every customer's message of the database. Here they are made the way a
lane makes them, on a freshly migrated database that has never been analysed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hub.driver import LANE_SETTINGS
from hub.inbox.call_fold import _CALLS, _PENDING
from hub.inbox.call_preview import _SET_LINES_AT_ONCE
from hub.inbox.inbound_postgres import _numbered
from hub.migrate import upgrade
from tests.conftest import ServedServices, require_served
from tests.test_migrations import _scratch_database


@pytest.fixture
async def lane(
    tmp_path: Path, served_services: ServedServices | str
) -> AsyncIterator[asyncpg.Connection]:
    """A connection with a write lane's settings to a new, migrated, never analysed database."""
    served = require_served(served_services)
    async with _scratch_database("postgresql", tmp_path, served_services) as engine:
        await upgrade(engine)
        name = engine.url.database
        conn = await asyncpg.connect(served.admin_dsn.rpartition("/")[0] + f"/{name}")
        try:
            await conn.execute(LANE_SETTINGS)
            yield conn
        finally:
            await conn.close()


async def _plan(conn: asyncpg.Connection, sql: str, args: str) -> str:
    await conn.execute(f"PREPARE s AS {sql}")
    rows = await conn.fetch(f"EXPLAIN EXECUTE s({args})")
    await conn.execute("DEALLOCATE s")
    return "\n".join(row[0] for row in rows)


async def test_a_batchs_calls_are_found_by_their_ids(lane: asyncpg.Connection) -> None:
    test = "= ANY(?)"
    sql = _numbered(_CALLS.format(test=test) + _PENDING.format(test=test))
    plan = await _plan(lane, sql, "1, '{CA1,CA2}', 1, '{CA1,CA2}'")
    conds = [line.strip() for line in plan.splitlines() if "Index Cond" in line]
    assert len(conds) >= 2, plan
    on_ids = [c for c in conds if "provider_call_id" in c]
    assert len(on_ids) == 2, plan  # message_calls and call_pending_events, each by its ids
    assert "Filter: ((provider_call_id)" not in plan


async def test_a_calls_line_looks_for_later_messages_of_its_conversation_only(
    lane: asyncpg.Connection,
) -> None:
    plan = await _plan(lane, _SET_LINES_AT_ONCE, "'{1,2}', '{a,b}', '{10,20}'")
    assert "Anti Join" not in plan, plan
    assert "SubPlan" in plan, plan
    assert "Index Cond: (conversation_id = d.id)" in plan, plan  # this conversation's only
