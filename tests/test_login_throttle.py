"""Login throttling: wrong passwords get 429 with Retry-After before any hash is computed, by
email and address, without letting an attacker lock the operator out; shared through Redis.

The throttle's clock is the test's, so waits pass without sleeping."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.http import CTX, LOGIN_GUARD
from hub.inbox.auth import PasswordHasher
from hub.inbox.login_throttle import LoginThrottle
from hub.settings import Settings
from tests.conftest import ServedServices, base_settings, require_served, truncate_all
from tests.helpers import Op, make_operator

ATTACKER = "203.0.113.7"
OPERATOR_PLACE = "198.51.100.1"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """The real (cheap) hasher, counting the passwords it checks."""

    def __init__(self) -> None:
        super().__init__(fast=True)
        self.verified = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified += 1
        return await super().verify(password_hash, password)


async def throttled_client(
    aiohttp_client: Any, settings: Settings, **limits: Any
) -> tuple[TestClient, Clock, CountingHasher]:  # type: ignore[type-arg]
    app = create_app(settings.model_copy(update={"behind_proxy": True, **limits}))
    clock = Clock()
    app[LOGIN_GUARD].throttle.clock = clock
    hasher = CountingHasher()
    app[CTX].hasher = hasher
    return await aiohttp_client(app), clock, hasher


async def attempt(
    client: TestClient,  # type: ignore[type-arg]
    email: str,
    password: str,
    address: str = ATTACKER,
    path: str = "/api/v1/auth/login",
) -> aiohttp.ClientResponse:
    return await client.post(
        path, json={"email": email, "password": password}, headers={"X-Forwarded-For": address}
    )


async def expect_throttled(resp: aiohttp.ClientResponse, retry_after: int) -> None:
    assert resp.status == 429, await resp.text()
    assert resp.headers["Retry-After"] == str(retry_after)
    error = (await resp.json())["error"]
    assert error["code"] == "too_many_attempts"
    assert f"{retry_after} s" in error["message"]


async def test_wrong_passwords_are_throttled_before_any_hash(
    aiohttp_client: Any, settings: Settings
) -> None:
    client, clock, hasher = await throttled_client(aiohttp_client, settings)
    op = await make_operator(client)
    hasher.verified = 0
    for _ in range(5):
        assert (await attempt(client, op.email, "wrong password")).status == 401
    assert hasher.verified == 5

    # Now every attempt waits, the right password too, and none of them is hashed.
    await expect_throttled(await attempt(client, op.email, "wrong password"), 1)
    await expect_throttled(await attempt(client, op.email, op.password), 1)
    cookie_login = await attempt(client, op.email, op.password, path="/api/v1/auth/session")
    await expect_throttled(cookie_login, 1)
    assert hasher.verified == 5

    # The waits grow: 1 s, then 2 s, then 4 s.
    clock.now += 1
    assert (await attempt(client, op.email, "wrong password")).status == 401
    await expect_throttled(await attempt(client, op.email, op.password), 2)
    clock.now += 2
    assert (await attempt(client, op.email, "wrong again")).status == 401
    await expect_throttled(await attempt(client, op.email, op.password), 4)
    assert hasher.verified == 7

    # Once the wait is over the operator gets in, and that clears his count.
    clock.now += 4
    assert (await attempt(client, op.email, op.password)).status == 200
    for _ in range(5):
        assert (await attempt(client, op.email, "wrong password")).status == 401
    await expect_throttled(await attempt(client, op.email, "wrong password"), 1)


async def test_the_waits_stop_growing_at_the_longest(
    aiohttp_client: Any, settings: Settings
) -> None:
    client, clock, _ = await throttled_client(
        aiohttp_client, settings, login_free_failures=1, login_max_delay_s=5
    )
    waits = []
    for _ in range(6):
        resp = await attempt(client, "nobody@example.com", "guess")
        assert resp.status == 401
        throttled = await attempt(client, "nobody@example.com", "guess")
        assert throttled.status == 429
        waits.append(int(throttled.headers["Retry-After"]))
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 5, 5, 5]


async def test_a_wait_holds_only_the_attackers_address(
    aiohttp_client: Any, settings: Settings
) -> None:
    client, _clock, _ = await throttled_client(aiohttp_client, settings)
    op = await make_operator(client)
    for _ in range(5):
        assert (await attempt(client, op.email, "wrong password")).status == 401
    assert (await attempt(client, op.email, "wrong password")).status == 429
    # The operator, elsewhere, is not held: not even by a mistake of his own.
    assert (await attempt(client, op.email, "typo", OPERATOR_PLACE)).status == 401
    assert (await attempt(client, op.email, op.password, OPERATOR_PLACE)).status == 200
    # Nor is another operator at the attacker's address.
    other = await make_operator(client)
    assert (await attempt(client, other.email, other.password)).status == 200


async def test_guessing_one_email_from_many_addresses_spares_the_operators_own(
    aiohttp_client: Any, settings: Settings
) -> None:
    client, clock, hasher = await throttled_client(
        aiohttp_client, settings, login_wide_free_failures=4
    )
    op = await make_operator(client)
    assert (await attempt(client, op.email, op.password, OPERATOR_PLACE)).status == 200
    for n in range(4):
        assert (await attempt(client, op.email, "guess", f"203.0.113.{n + 10}")).status == 401
    verified = hasher.verified
    # A fifth address is held at its first attempt: the email has failed too often.
    await expect_throttled(await attempt(client, op.email, "guess", "203.0.113.99"), 1)
    await expect_throttled(await attempt(client, op.email, op.password, "192.0.2.50"), 1)
    assert hasher.verified == verified
    # The operator, from where he logged in before, is not.
    assert (await attempt(client, op.email, op.password, OPERATOR_PLACE)).status == 200
    clock.now += 1
    assert (await attempt(client, op.email, op.password, "192.0.2.50")).status == 200


async def test_one_address_trying_many_emails_is_throttled(
    aiohttp_client: Any, settings: Settings
) -> None:
    client, _clock, _ = await throttled_client(aiohttp_client, settings, login_wide_free_failures=4)
    op = await make_operator(client)
    for n in range(4):
        assert (await attempt(client, f"user{n}@example.com", "spray")).status == 401
    await expect_throttled(await attempt(client, "user9@example.com", "spray"), 1)
    await expect_throttled(await attempt(client, op.email, op.password), 1)
    assert (await attempt(client, op.email, op.password, OPERATOR_PLACE)).status == 200


async def test_failures_and_throttled_attempts_are_logged_without_flooding(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client, _clock, _ = await throttled_client(aiohttp_client, settings)
    op: Op = await make_operator(client)
    caplog.set_level(logging.WARNING, logger="hub.inbox.login_guard")
    for _ in range(5):
        await attempt(client, op.email, "secret-guess-1234")
    for _ in range(30):
        assert (await attempt(client, op.email, "secret-guess-1234")).status == 429
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.inbox.login_guard"]
    assert all("secret-guess-1234" not in line for line in lines)
    failed = [line for line in lines if line.startswith("failed login")]
    throttled = [line for line in lines if line.startswith("login throttled")]
    assert len(failed) == 5
    assert all(op.email in line and ATTACKER in line for line in failed)
    assert len(throttled) == 1, throttled
    assert op.email in throttled[0] and ATTACKER in throttled[0]


@pytest.fixture
async def served_settings(served_services: ServedServices | str) -> Settings:
    served = require_served(served_services)
    await truncate_all(served)
    return base_settings(
        database_url=served.database_url,
        redis_url=served.redis_url,
        redis_prefix=f"{served.redis_prefix}:{uuid.uuid4().hex[:8]}",
    )


async def test_processes_share_the_counts_through_redis(
    aiohttp_client: Any, served_settings: Settings
) -> None:
    first, clock, _ = await throttled_client(aiohttp_client, served_settings)
    second, _, second_hasher = await throttled_client(aiohttp_client, served_settings)
    second.app[LOGIN_GUARD].throttle.clock = clock  # one time for both, as NTP gives hosts
    op = await make_operator(first)
    for _ in range(3):
        assert (await attempt(first, op.email, "wrong password")).status == 401
    for _ in range(2):
        assert (await attempt(second, op.email, "wrong password")).status == 401
    second_hasher.verified = 0
    await expect_throttled(await attempt(second, op.email, op.password), 1)
    await expect_throttled(await attempt(first, op.email, op.password), 1)
    assert second_hasher.verified == 0
    clock.now += 1
    assert (await attempt(second, op.email, op.password)).status == 200


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_without_redis_each_process_still_throttles(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis does not answer: logins neither stop nor go unthrottled, and the failure is
    logged once, not once per login."""
    settings = base_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    throttle = LoginThrottle(settings)
    caplog.set_level(logging.ERROR, logger="hub.inbox.login_throttle")
    try:
        waits = [await throttle.admit("anna@example.com", ATTACKER) for _ in range(6)]
        assert waits[:5] == [0.0] * 5
        assert 0.9 < waits[5] <= 1.0
        await throttle.succeeded("anna@example.com", ATTACKER)
        assert await throttle.admit("anna@example.com", ATTACKER) == 0.0
    finally:
        await throttle.close()
    failures = [r for r in caplog.records if r.name == "hub.inbox.login_throttle"]
    assert len(failures) == 1
    assert "falls back" in failures[0].getMessage()
