"""Small helpers for API tests: an admin, operators, a channel and customer messages."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event

from hub.http import CTX
from hub.inbox import inbound_sql
from hub.inbox.staff import create_operator, create_team
from hub.settings import Settings
from hub.worker import PeriodicWorker

_counter = itertools.count(1)
#: The last resort of a wait for a frame or a state that is sure to come, never the expected
#: time: on a machine running other test suites a frame took seconds where it takes
#: milliseconds on a quiet one. A wait ends as soon as what it waits for arrives.
FRAME_CAP_S = 60.0

#: The loopback networks, for tests whose callback or webhook receiver is a local server:
#: without this setting the hub refuses to send there (DESIGN.md rule 8).
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


def allow_loopback(settings: Settings) -> Settings:
    """These settings, letting callbacks and webhooks reach servers on this machine."""
    return settings.model_copy(update={"webhook_allowed_networks": LOOPBACK_NETWORKS})


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Op:
    id: int
    email: str
    password: str
    token: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


async def login(client: TestClient, email: str, password: str) -> str:  # type: ignore[type-arg]
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["token"])


async def make_operator(
    client: TestClient,  # type: ignore[type-arg]
    *,
    role: str = "operator",
    name: str | None = None,
    team_ids: list[int] | None = None,
) -> Op:
    n = next(_counter)
    name = name or f"Operator {n}"
    email = f"op{n}@example.com"
    password = f"password-{n}-long"
    created = await create_operator(
        client.app[CTX], email=email, name=name, role=role, password=password, team_ids=team_ids
    )
    token = await login(client, email, password)
    return Op(created.operator["id"], email, password, token, name)


async def make_team(client: TestClient, name: str | None = None) -> int:  # type: ignore[type-arg]
    team = await create_team(client.app[CTX], None, name or f"Team {next(_counter)}")
    return int(team["id"])


async def make_api_channel(
    client: TestClient,  # type: ignore[type-arg]
    admin: Op,
    *,
    callback_url: str | None = None,
    team_id: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "api", "name": f"API {next(_counter)}"}
    if callback_url:
        body["callback_url"] = callback_url
    if team_id is not None:
        body["team_id"] = team_id
    resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def customer_says(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    body: str,
    *,
    external_id: str = "cust-1",
    message_id: str | None = None,
    name: str = "Ivan Petrov",
    phone: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    contact: dict[str, Any] = {"external_id": external_id, "name": name}
    if phone:
        contact["phone"] = phone
    if email:
        contact["email"] = email
    payload: dict[str, Any] = {"contact": contact, "body": body}
    if message_id:
        payload["external_message_id"] = message_id
    resp = await client.post(
        f"/api/v1/channels/{channel['id']}/inbound", json=payload, headers=auth(channel["secret"])
    )
    assert resp.status in (200, 201), await resp.text()
    return dict(await resp.json())


@contextlib.contextmanager
def recorded_statements(client: TestClient) -> Iterator[list[str]]:  # type: ignore[type-arg]
    """Every SQL statement the hub runs meanwhile, lower-cased: through SQLAlchemy, and the
    inbound batch's own (``hub.inbox.inbound_sql``), which SQLAlchemy does not see."""
    statements: list[str] = []
    engine = client.app[CTX].engine.sync_engine

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.lower())

    def batch(statement: str) -> None:
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    inbound_sql.statement_observers.append(batch)
    try:
        yield statements
    finally:
        inbound_sql.statement_observers.remove(batch)
        event.remove(engine, "before_cursor_execute", seen)


async def after_passes(
    check: Callable[[], Awaitable[bool]], *workers: PeriodicWorker, within: float = FRAME_CAP_S
) -> None:
    """Wait until ``check()`` holds, looking again each time one of ``workers`` ends a pass:
    their passes are what change what it reads, so this waits on them, not on a clock."""
    async with asyncio.timeout(within):
        while True:
            seen = [worker.passes for worker in workers]  # before the look, so none is missed
            if await check():
                return
            ends = [
                asyncio.ensure_future(worker.passed(n + 1))
                for worker, n in zip(workers, seen, strict=True)
            ]
            try:
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for end in ends:
                    end.cancel()
