"""The group-commit writer: a batch handler's items are answered from its set-based write;
the items it leaves, and all of them when it fails, are written one by one, each in its own
savepoint. (That a failed set-based write leaves nothing behind is the handler's part:
tests/test_inbound_batch.py checks it for customer messages.) No write waits forever: a stuck
batch is given up past the bound, and so is a unit queued behind it."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.driver import DriverConnection
from hub.errors import DatabaseUnavailable
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


#: The last resort of the waits below, never the expected time: a writer that did not bound
#: its waits would be caught here instead of hanging the run.
CAP_S = 60.0


async def test_a_stuck_batch_is_given_up_and_its_lane_goes_on(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A unit that never ends (a database that stopped answering) fails past the bound with
    ``DatabaseUnavailable``, and the lane writes what comes after it."""
    writer = client.app[CTX].writer
    writer.timeout_s = 1.0  # HUB_DB_TIMEOUT_S, short for the test
    started = asyncio.Event()

    async def stuck(session: AsyncSession) -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async def after(session: AsyncSession) -> str:
        session.add(Team(name="after the stuck one"))
        await session.flush()
        return "written"

    first = asyncio.create_task(writer.run(stuck))
    await started.wait()
    with pytest.raises(DatabaseUnavailable):
        await asyncio.wait_for(first, CAP_S)
    # The stuck batch is cancelled once it has overrun its bound twice; this caller may wait
    # longer than that.
    writer.timeout_s = CAP_S
    assert await asyncio.wait_for(writer.run(after), CAP_S) == "written"


async def test_a_unit_queued_behind_a_stuck_batch_is_given_up_and_never_written(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Even when the stuck batch cannot be stopped (a driver call that ignores the cancel),
    the unit queued behind it answers within the bound, and is not written when the lane
    comes free: its caller was told it failed."""
    writer = client.app[CTX].writer
    writer.timeout_s = 1.0  # HUB_DB_TIMEOUT_S, short for the test
    started, release = asyncio.Event(), asyncio.Event()
    ran: list[str] = []

    async def stubborn(session: AsyncSession) -> str:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            await release.wait()  # as a blocked driver call: ends when it ends
            raise
        return "late"

    async def queued(session: AsyncSession) -> str:
        ran.append("queued")
        return "written"

    try:
        first = asyncio.create_task(writer.run(stubborn))
        await started.wait()
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(writer.run(queued), CAP_S)
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(first, CAP_S)
        release.set()
        writer.timeout_s = CAP_S
        # The lane comes free and goes on: a later unit is written, the given-up one is not.
        assert await asyncio.wait_for(writer.run(lambda s: asyncio.sleep(0, "next")), CAP_S) == (
            "next"
        )
        assert ran == []
    finally:
        release.set()


async def test_a_workers_write_does_not_wait_behind_a_requests_batch(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """On PostgreSQL a background worker's unit (the lead intake's, sync out's) has a lane of
    its own: a unit holding the main lane does not hold it up. SQLite has one writer, so there
    it is written on the one lane, after."""
    ctx = client.app[CTX]
    started, release = asyncio.Event(), asyncio.Event()

    async def held(session: AsyncSession) -> str:
        started.set()
        await release.wait()
        return "held"

    async def worker(session: AsyncSession) -> str:
        session.add(Team(name="a worker's write"))
        await session.flush()
        return "written"

    first = asyncio.create_task(ctx.write(held))
    try:
        await started.wait()
        background = asyncio.create_task(ctx.write(worker, background=True))
        if ctx.settings.is_sqlite:
            release.set()
        assert await asyncio.wait_for(background, CAP_S) == "written"
        assert not first.done() or ctx.settings.is_sqlite
        release.set()
        assert await asyncio.wait_for(first, CAP_S) == "held"
    finally:
        release.set()
