"""A database that freezes, dies or stays locked: the hub fails fast and says so.

Requests answer 503 ``database_unavailable`` with ``Retry-After`` within ``HUB_DB_TIMEOUT_S``,
``/readyz`` answers 503 within its own short bound, the sockets get an ``error`` frame and stay
open, the outage is logged when it starts and when it ends (not a traceback per request), and
the hub serves again by itself once the database is back.

PostgreSQL here is the test's own (``tests/own_postgres.py``), frozen with SIGSTOP and killed
with SIGKILL; the shared server is never touched. The bounds asserted are loose on purpose (a
busy machine is slow): answers come while the database is still away, and ``/readyz`` answers
before any request could have given up on the database.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.db import make_engine
from hub.dbhealth import DatabaseHealth
from hub.http.openapi import openapi_document
from hub.migrate import upgrade
from hub.settings import Settings
from tests.conftest import base_settings
from tests.helpers import Op, auth, customer_says, make_api_channel, make_operator
from tests.own_postgres import OwnPostgres
from tests.test_widget_api import ORIGIN, make_widget_channel, start_session

#: Kept short so the test is quick; every assertion on time is relative to it, and loose.
DB_TIMEOUT_S = 3.0
READY_TIMEOUT_S = 0.5
RETRY_AFTER_S = 7
#: How long the test's PostgreSQL stays frozen, as in the report that asked for this.
FREEZE_S = 15.0
#: The last resort of a wait for the hub to be ready again, never the expected time.
RECOVERY_CAP_S = 120.0

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def outage_settings(database_url: str, tmp_path: Path) -> Settings:
    return base_settings(
        database_url=database_url,
        redis_url=None,
        media_dir=tmp_path / "media",
        db_timeout_s=DB_TIMEOUT_S,
        ready_timeout_s=READY_TIMEOUT_S,
        db_retry_after_s=RETRY_AFTER_S,
    )


@pytest.fixture
async def pg_settings(own_pg: OwnPostgres, tmp_path: Path) -> AsyncIterator[Settings]:
    """A fresh, migrated database on the test's own PostgreSQL."""
    name = f"hub_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(own_pg.url.replace("+asyncpg", ""), timeout=30)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    engine = make_engine(own_pg.database_url(name))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    yield outage_settings(own_pg.database_url(name), tmp_path)


class Answer:
    def __init__(self, status: int, headers: Any, body: Any, seconds: float) -> None:
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def __repr__(self) -> str:
        return f"<{self.status} {self.body!r} after {self.seconds:.2f} s>"


async def timed(call: Awaitable[aiohttp.ClientResponse]) -> Answer:
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await call
    body = await resp.json(content_type=None)
    return Answer(resp.status, resp.headers, body, loop.time() - started)


def assert_unavailable(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.body["error"]["code"] == "database_unavailable", answer
    assert answer.headers["Retry-After"] == str(RETRY_AFTER_S), answer.headers


async def wait_ready(client: Client) -> None:
    """Until ``/readyz`` answers 200: the readiness signal, with a generous cap."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY_CAP_S
    while (resp := await client.get("/readyz")).status != 200:
        assert loop.time() < deadline, await resp.text()
        await asyncio.sleep(0.1)


async def until_ok(call: Callable[[], Awaitable[aiohttp.ClientResponse]]) -> Answer:
    """The first answer that is not a 503, as a client honouring Retry-After gets it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY_CAP_S
    while True:
        answer = await timed(call())
        if answer.status != 503:
            return answer
        assert loop.time() < deadline, answer
        await asyncio.sleep(0.1)


async def socket_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind``, skipping others (events, presence)."""
    while True:
        frame: dict[str, Any] = await ws.receive_json(timeout=RECOVERY_CAP_S)
        if frame.get("type") == kind:
            return frame


def outage_logs(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str], list[str]]:
    """The outage's start and end lines (one of each for reads and for writes), and every line
    that came with a traceback."""
    messages = [r.getMessage() for r in caplog.records]
    started = [m for m in messages if m.startswith("the database is unavailable")]
    ended = [m for m in messages if m.startswith("the database is back")]
    tracebacks = [
        f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info and r.exc_info[0]
    ]
    return started, ended, tracebacks


def kinds(lines: list[str]) -> list[str]:
    return sorted("reads" if " for reads " in line else "writes" for line in lines)


async def _seed(client: Client) -> tuple[Op, dict[str, Any], dict[str, Any]]:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    first = await customer_says(client, channel, "before the outage")
    return admin, channel, first


def inbound(
    client: Client, channel: dict[str, Any], external_id: str, body: str
) -> Awaitable[aiohttp.ClientResponse]:
    """A customer's message through the API channel (the batched write path)."""
    return client.post(
        f"/api/v1/channels/{channel['id']}/inbound",
        json={"contact": {"external_id": external_id}, "body": body},
        headers=auth(channel["secret"]),
    )


async def test_a_frozen_postgresql_gets_503_fast_and_the_hub_recovers(
    aiohttp_client: Any,
    own_pg: OwnPostgres,
    pg_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client: Client = await aiohttp_client(create_app(pg_settings))
    admin, channel, first = await _seed(client)
    conv_id = first["conversation"]["id"]
    widget = await make_widget_channel(client, admin)
    visitor = (await start_session(client, widget))["visitor_token"]
    visitor_ws = await client.ws_connect(
        f"/ws/widget?visitor_token={visitor}", headers={"Origin": ORIGIN}
    )
    await socket_frame(visitor_ws, "ready")
    operator_ws = await client.ws_connect("/ws/operator", headers=admin.headers)
    await socket_frame(operator_ws, "ready")

    loop = asyncio.get_running_loop()
    thawed = asyncio.Event()

    def thaw() -> None:
        if not thawed.is_set():
            own_pg.thaw()
            thawed.set()

    own_pg.freeze()
    thawing = loop.call_later(FREEZE_S, thaw)
    try:
        reads = [
            timed(client.get("/api/v1/conversations", headers=admin.headers)) for _ in range(5)
        ]
        writes = [timed(inbound(client, channel, f"c{n}", f"frozen {n}")) for n in range(5)]
        answers, ready = await asyncio.gather(
            asyncio.gather(*reads, *writes), timed(client.get("/readyz"))
        )
        await visitor_ws.send_json({"type": "message", "client_id": "f1", "body": "hello?"})
        await operator_ws.send_json({"type": "typing", "conversation_id": conv_id})
        visitor_error, operator_error = await asyncio.gather(
            socket_frame(visitor_ws, "error"), socket_frame(operator_ws, "error")
        )
        ready_again = await timed(client.get("/readyz"))
        # Every answer came while the database was still frozen.
        assert not thawed.is_set(), "the answers waited for the freeze to end"
    finally:
        thawing.cancel()
        thaw()

    for answer in answers:
        assert_unavailable(answer)
    for probe in (ready, ready_again):
        assert probe.status == 503 and probe.body["error"]["code"] == "not_ready", probe
        # Its own bound, not the database's: never queued behind what waits on it.
        assert probe.seconds < DB_TIMEOUT_S, probe
    assert visitor_error["code"] == "database_unavailable", visitor_error
    assert visitor_error["client_id"] == "f1"
    assert operator_error["code"] == "database_unavailable", operator_error
    # The sockets stayed open and usable.
    await visitor_ws.send_json({"type": "ping"})
    await operator_ws.send_json({"type": "ping"})
    assert (await socket_frame(visitor_ws, "pong"))["type"] == "pong"
    assert (await socket_frame(operator_ws, "pong"))["type"] == "pong"

    await wait_ready(client)
    listed = await until_ok(lambda: client.get("/api/v1/conversations", headers=admin.headers))
    assert listed.status == 200, listed
    stored = await until_ok(lambda: inbound(client, channel, "after", "after the freeze"))
    assert stored.status == 201, stored
    await visitor_ws.send_json({"type": "message", "client_id": "f2", "body": "back?"})
    ack = await socket_frame(visitor_ws, "ack")
    assert ack["client_id"] == "f2" and ack["message"]["body"] == "back?"
    await visitor_ws.close()
    await operator_ws.close()

    started, ended, tracebacks = outage_logs(caplog)
    assert kinds(started) == ["reads", "writes"], started
    assert kinds(ended) == ["reads", "writes"], ended
    assert tracebacks == [], tracebacks


async def test_a_dead_postgresql_gets_503_logged_once_and_the_hub_recovers(
    aiohttp_client: Any,
    own_pg: OwnPostgres,
    pg_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client: Client = await aiohttp_client(create_app(pg_settings))
    admin, channel, _first = await _seed(client)

    own_pg.kill()
    try:
        answers = await asyncio.gather(
            *(timed(client.get("/api/v1/conversations", headers=admin.headers)) for _ in range(20)),
            *(timed(inbound(client, channel, f"d{n}", f"down {n}")) for n in range(20)),
        )
        ready = await timed(client.get("/readyz"))
    finally:
        own_pg.start()

    for answer in answers:
        assert_unavailable(answer)
    assert ready.status == 503, ready
    started, _ended, tracebacks = outage_logs(caplog)
    assert kinds(started) == ["reads", "writes"], started  # not a line per refused request
    assert tracebacks == [], tracebacks

    await wait_ready(client)
    listed = await until_ok(lambda: client.get("/api/v1/conversations", headers=admin.headers))
    assert listed.status == 200, listed
    stored = await until_ok(lambda: inbound(client, channel, "after", "after the restart"))
    assert stored.status == 201, stored
    _started, ended, _tracebacks = outage_logs(caplog)
    assert kinds(ended) == ["reads", "writes"], ended


async def test_a_sqlite_lock_held_past_the_bound_gets_503(
    aiohttp_client: Any,
    tmp_path: Path,
    sqlite_template: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another process holds SQLite's write lock (a backup, a CLI command): writes answer 503
    once the lock wait passes its bound, reads go on (WAL), and writes work again after."""
    caplog.set_level(logging.INFO)
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    client: Client = await aiohttp_client(
        create_app(outage_settings(f"sqlite+aiosqlite:///{db}", tmp_path))
    )
    admin, channel, _first = await _seed(client)

    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        writes = await asyncio.gather(
            *(timed(inbound(client, channel, f"l{n}", f"locked {n}")) for n in range(3))
        )
        read = await timed(client.get("/api/v1/conversations", headers=admin.headers))
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    for answer in writes:
        assert_unavailable(answer)
    assert read.status == 200, read
    stored = await until_ok(lambda: inbound(client, channel, "free", "after the lock"))
    assert stored.status == 201, stored
    started, ended, tracebacks = outage_logs(caplog)
    assert kinds(started) == ["writes"] and kinds(ended) == ["writes"], (started, ended)
    assert tracebacks == [], tracebacks


def test_an_outage_is_logged_as_it_starts_once_per_interval_and_as_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub.dbhealth")
    refused = ConnectionRefusedError(111, "Connect call failed")
    quiet = DatabaseHealth(log_interval_s=3600)
    errors = [quiet.failed(refused) for _ in range(100)]
    quiet.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("the database is unavailable for reads (ConnectionRefusedError")
    assert lines[1].startswith("the database is back for reads") and "100 calls" in lines[1]
    assert all(e.status == 503 and e.retry_after_s == 5 for e in errors)

    caplog.clear()
    chatty = DatabaseHealth(log_interval_s=0.0)
    for _ in range(3):
        chatty.failed(refused, "writes")
    chatty.succeeded("reads")  # reads never failed: nothing to say
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == [
        "the database is unavailable for writes",
        "the database is still unavailable for writes after 0 s",
        "the database is still unavailable for writes after 0 s",
    ]


def _filled(path: str) -> str:
    fill = {"{name}": "inbox.js", "{tail}": "sessions"}
    return re.sub(r"\{[a-z_]+\}", lambda m: fill.get(m.group(0), "1"), path)


async def test_every_route_that_meets_a_dead_database_documents_its_503(
    aiohttp_client: Any, own_pg: OwnPostgres, pg_settings: Settings
) -> None:
    """Every operation of the OpenAPI document, called while the database is down: each one
    that answers 503 ``database_unavailable`` says so in the document (with Retry-After)."""
    client: Client = await aiohttp_client(create_app(pg_settings))
    doc = openapi_document("http://hub.test")
    headers = {
        "Authorization": "Bearer hub_not-a-real-token",
        "Origin": ORIGIN,
        "X-Visitor-Token": "not-a-real-visitor",
        "X-Telegram-Bot-Api-Secret-Token": "not-a-real-secret",
    }
    answered: dict[str, bool] = {}
    own_pg.kill()
    try:
        for path, item in doc["paths"].items():
            for method, op in item.items():
                body = {} if method in ("post", "put", "patch") else None
                resp = await client.request(
                    method.upper(), _filled(path), json=body, headers=headers
                )
                if resp.status != 503:
                    continue
                error = (await resp.json())["error"]
                if error["code"] == "database_unavailable":
                    assert resp.headers["Retry-After"] == str(RETRY_AFTER_S)
                    answered[f"{method.upper()} {path}"] = "503" in op["responses"]
    finally:
        own_pg.start()
    assert len(answered) > 40, answered
    assert [name for name, documented in answered.items() if not documented] == []
    assert doc["components"]["responses"]["DatabaseUnavailable"]["headers"]["Retry-After"]
