"""A write lane's own PostgreSQL connection (``hub.driver``): its statements find rows by index
even while the tables are small, and its session settings never leak into the shared pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.util import await_only

from hub.db import make_engine
from hub.driver import DriverConnection
from tests.conftest import ServedServices, require_served, truncate_all

# A few rows, analysed: on so small a table the planner prefers a sequential scan.
FEW_ROWS = [
    "INSERT INTO channels (id, type, name, secret, config, is_active, created_at)"
    " VALUES (1, 'api', 'api', 'x', '{}', true, now())",
    "INSERT INTO contacts (id, name, search_text, attributes, created_at, updated_at)"
    " SELECT g, 'c', 'c', '{}', now(), now() FROM generate_series(1, 5) g",
    "INSERT INTO conversations (channel_id, contact_id, status, created_at, last_activity_at,"
    " last_message_preview, unread_count, attributes)"
    " SELECT 1, g, 'open', now(), now(), '', 0, '{}' FROM generate_series(1, 5) g",
    "ANALYZE conversations",
]
NEWEST = "EXPLAIN SELECT max(id) FROM conversations WHERE contact_id = 1 AND channel_id = 1"


def _plan(conn: Any) -> str:
    return "\n".join(row[0] for row in await_only(conn.fetch(NEWEST)))


def _setting(name: str) -> Callable[[Any], str]:
    return lambda conn: str(await_only(conn.fetchval(f"SHOW {name}")))


async def test_the_lane_reads_by_index_and_keeps_the_setting_to_itself(
    served_services: ServedServices | str,
) -> None:
    served = require_served(served_services)
    await truncate_all(served)
    engine = make_engine(served.database_url)
    try:
        async with engine.connect() as pooled:
            for statement in FEW_ROWS:
                await pooled.execute(text(statement))
            await pooled.commit()
            assert "Seq Scan" in "\n".join((await pooled.execute(text(NEWEST))).scalars())
        driver = DriverConnection(engine)
        lane_plan = await driver.run(_plan)
        assert "Index" in lane_plan and "Seq Scan" not in lane_plan
        # One plan for every run, not one planned again each time.
        assert await driver.run(_setting("plan_cache_mode")) == "force_generic_plan"
        # Dropped (as after a failed batch): closed, not handed to the next user of the pool,
        # which here would be the very connection the pool already holds.
        await driver.drop()
        async with engine.connect() as pooled:
            assert (await pooled.execute(text("SHOW enable_seqscan"))).scalar_one() == "on"
            mode = (await pooled.execute(text("SHOW plan_cache_mode"))).scalar_one()
            assert mode == "auto"
        # The lane takes a fresh connection, set up the same way.
        assert "Seq Scan" not in await driver.run(_plan)
        await driver.drop()
    finally:
        await engine.dispose()
