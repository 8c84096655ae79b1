"""The lead intake's passes under a burst: each pass reads only the conversations after the
newest one it read, so a burst longer than one batch is decided at once, not when its first
rows settle; and the cursor, before it passes settled rows, reads them once more to decide one
that was committed after a pass read past it (PostgreSQL commits ids out of order)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import INTAKE
from hub.crm_sync import intake as intake_module
from hub.crm_sync.intake import CURSOR, LeadIntake
from hub.crm_sync.intake_facts import read_facts
from hub.crm_sync.models import CrmCursor, Lead
from hub.http import CTX
from hub.inbox.models import Conversation
from tests.helpers import customer_says, make_api_channel, make_operator


async def _leads(client: TestClient) -> list[int]:  # type: ignore[type-arg]
    ctx = client.app[CTX]
    return sorted((await ctx.read(lambda s: s.scalars(select(Lead.conversation_id)))).all())


async def _cursor(client: TestClient) -> int:  # type: ignore[type-arg]
    row = await client.app[CTX].read(lambda s: s.get(CrmCursor, CURSOR))
    assert row is not None
    return int(row.last_id)


async def _alone(client: TestClient) -> tuple[LeadIntake, dict[str, Any]]:  # type: ignore[type-arg]
    """An API channel, and an intake this test drives by hand: the app's own is stopped and
    its lease released."""
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await client.app[INTAKE].close()
    intake = LeadIntake(client.app[CTX])
    assert await intake.acquire() is not None
    return intake, channel


async def test_a_burst_longer_than_a_batch_is_decided_before_it_settles(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intake, channel = await _alone(client)
    monkeypatch.setattr(intake_module, "BATCH", 2)
    said = [
        await customer_says(client, channel, "Hi", external_id=f"burst{n}", name=f"Burst {n}")
        for n in range(5)
    ]
    convs = sorted(x["conversation"]["id"] for x in said)
    # Three passes of two: none is held back by the young rows before it.
    assert [await intake.run_once() for _ in range(4)] == [2, 2, 1, 0]
    assert await _leads(client) == convs
    assert intake.processed == 5
    # Nothing settled yet, so the cursor has not moved past any of them.
    assert await _cursor(client) < convs[0]


async def test_a_row_committed_after_a_pass_read_past_it_is_decided_before_the_cursor_passes(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    intake, channel = await _alone(client)
    first, second = [
        (await customer_says(client, channel, "Hi", external_id=f"late{n}"))["conversation"]["id"]
        for n in range(2)
    ]
    real_after = intake_module._after

    def not_committed_yet(conv_id: int, limit: int) -> Any:
        return real_after(conv_id, limit).where(Conversation.id != first)

    monkeypatch.setattr(intake_module, "_after", not_committed_yet)
    assert await intake.run_once() == 1
    assert await _leads(client) == [second]
    monkeypatch.setattr(intake_module, "_after", real_after)
    monkeypatch.setattr(intake_module, "SETTLE_S", 0.0)
    assert await intake.run_once() == 0  # nothing after the newest read ...
    assert await _leads(client) == [first, second]  # ... but the late one is decided
    assert await _cursor(client) == second
    assert intake.processed == 2
    await intake.release()


async def test_the_intakes_reads_read_the_same_whatever_the_batchs_size(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """On PostgreSQL a membership is ``= ANY`` of one array (``hub.db.one_of``), so each
    statement is one text whatever the batch holds: prepared once, not once per length of its
    list, and not rendered again value by value. SQLite's differ only in the count of marks."""
    intake, channel = await _alone(client)
    said = [
        await customer_says(client, channel, "Hi", external_id=f"size{n}", phone=f"+7916555{n:04d}")
        for n in range(6)
    ]
    ids = [x["conversation"]["id"] for x in said]
    ctx = client.app[CTX]

    async def texts(conv_ids: list[int]) -> set[str]:
        # Only this read's own connection is listened to: the app's other workers (deliveries,
        # the CRM sync) run their own statements meanwhile.
        seen: list[str] = []

        async def facts(session: AsyncSession) -> None:
            connection = (await session.connection()).sync_connection
            assert connection is not None
            event.listen(connection, "before_cursor_execute", lambda *a: seen.append(a[2].lower()))
            await read_facts(session, conv_ids)

        await ctx.read(facts)
        if ctx.settings.is_sqlite:
            return {re.sub(r"\(\?(, \?)*\)", "(?)", text) for text in seen}
        return set(seen)

    one, five = await texts(ids[:1]), await texts(ids[1:])
    assert len(one) >= 4  # the conversations, channels, first messages and contact keys
    assert one == five
    await intake.release()
