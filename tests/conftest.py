"""Test fixtures: every app test runs on both backends.

* embedded: a SQLite file (copied from a template migrated once per run) and the in-process bus;
* served: PostgreSQL and Redis. Each run creates its own database ``hub_test_<random>`` and uses
  its own Redis key prefix, and removes only those at the end.

The served backend needs ``HUB_TEST_PG_URL`` (an admin URL such as
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``) and ``HUB_TEST_REDIS_URL``. Without
them the served tests are skipped, except with ``CI=true``, where a missing service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestClient, TestServer
from sqlalchemy.engine import make_url

from hub.app import create_app
from hub.db import make_engine
from hub.migrate import upgrade
from hub.settings import Settings
from tests.answer_check import AnswerBook

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RUN_ID = uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class ServedServices:
    admin_dsn: str
    database: str
    database_url: str
    redis_url: str
    redis_prefix: str
    #: The tables in an order to empty them in: every table before the ones it refers to.
    tables: tuple[str, ...] = ()
    #: Tables in a cycle of foreign keys, if any: no such order exists for them.
    cyclic: tuple[str, ...] = ()


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"served backend unavailable under CI=true: {why}", pytrace=False)
    pytest.skip(f"served backend not configured: {why}")


def _asyncpg_dsn(sqlalchemy_url: str, database: str | None = None) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def _create_served(pg_url: str, redis_url: str) -> ServedServices:
    database = f"hub_test_{RUN_ID}"
    admin_dsn = _asyncpg_dsn(pg_url)
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
        # A commit of this database does not wait for its log to reach the disk (6-8 ms on a
        # busy machine, dozens of times a test): what a crash of the server would lose does not
        # matter here, and what sessions see is the same. Tests that crash PostgreSQL run their
        # own (tests/own_postgres.py).
        await conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    finally:
        await conn.close()
    db_url = make_url(pg_url).set(drivername="postgresql+asyncpg", database=database)
    database_url = db_url.render_as_string(hide_password=False)
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(_asyncpg_dsn(database_url), timeout=10)
    try:
        tables, cyclic = await _emptying_order(conn)
    finally:
        await conn.close()
    r = aioredis.from_url(redis_url)
    try:
        await r.ping()
    finally:
        await r.aclose()
    return ServedServices(
        admin_dsn, database, database_url, redis_url, f"hubtest:{RUN_ID}", tables, cyclic
    )


async def _emptying_order(conn: asyncpg.Connection) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The schema's tables, each before the tables its foreign keys point to (a table's
    references to itself aside), and the tables left over in a cycle, if any."""
    names = {
        row["tablename"]
        for row in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
    }
    refers: dict[str, set[str]] = {name: set() for name in names}
    for row in await conn.fetch(
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = 'public'"
    ):
        child, parent = row["child"].strip('"'), row["parent"].strip('"')
        if child in names and parent in names and child != parent:
            refers[child].add(parent)
    order: list[str] = []
    left = set(names)
    while True:
        # A table no remaining table refers to can go now.
        free = sorted(t for t in left if not any(t in refers[o] for o in left if o != t))
        if not free:
            break
        order.extend(free)
        left.difference_update(free)
    return tuple(order), tuple(sorted(left))


async def _drop_served(served: ServedServices) -> None:
    conn = await asyncpg.connect(served.admin_dsn, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{served.database}" WITH (FORCE)')
    finally:
        await conn.close()
    r = aioredis.from_url(served.redis_url)
    try:
        keys = [k async for k in r.scan_iter(match=f"{served.redis_prefix}:*", count=1000)]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


@pytest.fixture(scope="session")
def served_services() -> Iterator[ServedServices | str]:
    """The run's PostgreSQL database and Redis prefix, or why there are none."""
    pg_url = os.environ.get("HUB_TEST_PG_URL")
    redis_url = os.environ.get("HUB_TEST_REDIS_URL")
    if not pg_url or not redis_url:
        yield "set HUB_TEST_PG_URL and HUB_TEST_REDIS_URL"
        return
    try:
        served = asyncio.run(_create_served(pg_url, redis_url))
    except (OSError, asyncpg.PostgresError, aioredis.RedisError) as exc:
        yield f"cannot reach PostgreSQL or Redis: {exc}"
        return
    try:
        yield served
    finally:
        asyncio.run(_drop_served(served))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"

    async def migrate() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return path


def require_served(served: ServedServices | str) -> ServedServices:
    if isinstance(served, str):
        _unavailable(served)
    assert isinstance(served, ServedServices)
    return served


async def truncate_all(served: ServedServices) -> None:
    """Every table empty and every sequence back at its start, as ``TRUNCATE … RESTART
    IDENTITY`` of every table would leave them. TRUNCATE makes new files for every table and
    index, about a second per test on a busy machine even with nothing in them; so only the
    tables with rows are emptied, by DELETE in the order of ``_emptying_order``, and only the
    sequences that were used are set back."""
    conn = await asyncpg.connect(_asyncpg_dsn(served.database_url), timeout=10)
    try:
        every = (*served.tables, *served.cyclic)
        probe = " UNION ALL ".join(
            f"SELECT '{name}' AS name WHERE EXISTS (SELECT FROM \"{name}\")" for name in every
        )
        used = {row["name"] for row in await conn.fetch(probe)} if every else set()
        async with conn.transaction():
            for name in served.tables:
                if name in used:
                    await conn.execute(f'DELETE FROM "{name}"')
            cyclic = ", ".join(f'"{name}"' for name in served.cyclic if name in used)
            if cyclic:
                await conn.execute(f"TRUNCATE {cyclic} CASCADE")
        # setval is outside transactions anyway; false: the next value is the start itself.
        await conn.execute(
            "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
            "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
        )
    finally:
        await conn.close()


def base_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "secret_key": "test-secret-key",
        "fast_password_hash": True,
        "public_url": "http://127.0.0.1:8080",
        "delivery_timeout_s": 3.0,
        # HUB_DB_TIMEOUT_S is sized for a server doing its own work; a test machine running
        # the suite on every core can hold a read past 5 s, and then the test fails on a 503
        # that says nothing of the code. The outage tests set their own short bound.
        "db_timeout_s": 30.0,
        # Never the working folder: each test that stores files gets its own (see settings).
        "media_dir": Path(tempfile.gettempdir()) / f"hub-test-media-{RUN_ID}",
        # The intake's own events would interleave with the exact event sequences other tests
        # read; the sales tests run it on purpose (``run_intake``) or turn it on.
        "lead_intake": False,
        # The same for the task reminder's passes (task.due): the tests that want them run them
        # (``REMINDER``'s ``run_once``); its loop waits an hour.
        "task_reminder_interval_s": 3600.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["embedded", "served"])
async def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    served_services: ServedServices | str,
) -> Settings:
    if request.param == "embedded":
        db = tmp_path / "hub.db"
        shutil.copy(sqlite_template, db)
        return base_settings(
            database_url=f"sqlite+aiosqlite:///{db}", redis_url=None, media_dir=tmp_path / "media"
        )
    served = require_served(served_services)
    await truncate_all(served)
    return base_settings(
        database_url=served.database_url,
        redis_url=served.redis_url,
        redis_prefix=f"{served.redis_prefix}:{uuid.uuid4().hex[:8]}",
        media_dir=tmp_path / "media",
    )


@pytest.fixture
def aiohttp_client_cls() -> Iterator[type[TestClient]]:  # type: ignore[type-arg]
    """``aiohttp_client``'s clients record what their hub answers; when the test ends, every
    answer must be one the OpenAPI document describes (``tests.answer_check``)."""
    book = AnswerBook()

    class CheckedClient(TestClient):  # type: ignore[type-arg]
        def __init__(self, server: BaseTestServer, **kwargs: object) -> None:  # type: ignore[type-arg]
            if isinstance(server, TestServer):
                book.hook(server.app)
            super().__init__(server, **kwargs)  # type: ignore[arg-type]

    yield CheckedClient
    book.check()


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: object, app: web.Application) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    yield await aiohttp_client(app)  # type: ignore[operator]
