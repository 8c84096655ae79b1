"""The group-commit writer: a batch handler's items are answered from its set-based write;
the items it leaves, and all of them when it fails, are written one by one, each in its own
savepoint. (That a failed set-based write leaves nothing behind is the handler's part:
tests/test_inbound_batch.py checks it for customer messages.)"""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.driver import DriverConnection
from hub.http import CTX
from hub.inbox.models import Team
from hub.writes import RUN_ALONE, RunAlone


class _FailingBatch:
    """Answers a batch at once, or fails when a poisoned item is in it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def run_many(self, conn: DriverConnection, items: list[str]) -> list[str | RunAlone]:
        self.batches.append(items)
        if "poison" in items:
            raise RuntimeError("the set-based write failed")
        return [RUN_ALONE if item == "alone" else f"batched {item}" for item in items]

    async def run_one(self, session: AsyncSession, item: str) -> str:
        if item == "poison":
            raise ValueError("this item is bad on its own too")
        session.add(Team(name=f"one-{item}"))
        await session.flush()
        return f"alone {item}"


async def test_a_failed_batch_is_written_item_by_item(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    writer = client.app[CTX].writer
    handler = _FailingBatch()
    items = ["a", "poison", "alone", "b"]
    results = await asyncio.gather(
        *(writer.run_item(handler, item, "same-lane") for item in items), return_exceptions=True
    )
    assert results[0] == "alone a" and results[2] == "alone alone" and results[3] == "alone b"
    assert isinstance(results[1], ValueError)
    assert any("poison" in batch for batch in handler.batches)
    async with client.app[CTX].sessionmaker() as session:
        names = set((await session.scalars(select(Team.name))).all())
    assert {"one-a", "one-alone", "one-b"} <= names
    assert "one-poison" not in names


async def test_a_good_batch_keeps_its_set_based_answers(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    writer = client.app[CTX].writer
    handler = _FailingBatch()
    results = await asyncio.gather(
        *(writer.run_item(handler, item, "same-lane") for item in ["x", "alone", "y"])
    )
    assert results == ["batched x", "alone alone", "batched y"]
    async with client.app[CTX].sessionmaker() as session:
        names = set((await session.scalars(select(Team.name))).all())
    assert "one-alone" in names
    assert "one-x" not in names and "one-y" not in names


async def test_a_quiet_writer_does_not_wait_for_its_window(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The commit window is for busy lanes: after small batches a lone write goes at once,
    even with a window far longer than the wait allowed here."""
    from hub.writes import GroupCommitWriter

    ctx = client.app[CTX]
    writer = GroupCommitWriter(ctx.sessionmaker, ctx.engine, window_s=60.0)
    writer.start()
    try:

        async def unit(session: AsyncSession) -> str:
            session.add(Team(name="quiet"))
            await session.flush()
            return "done"

        assert await asyncio.wait_for(writer.run(unit), 10) == "done"
        assert writer.batches == 1
    finally:
        await writer.close()
