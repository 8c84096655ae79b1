"""Bearer tokens checked in shared look-ups (``hub.inbox.token_check``): each concurrent request
gets its own operator's answer, the checks waiting together cost one statement, and nothing is
remembered between look-ups (a token logged out or an operator deactivated is refused by the
next request). Both backends."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from hub.http import CTX
from hub.inbox.models import Role
from tests.helpers import auth, make_operator, make_team, recorded_statements


def token_look_ups(statements: list[str]) -> int:
    return sum("from operator_tokens t join operators" in s for s in statements)


async def test_concurrent_checks_each_get_their_operator_and_share_a_look_up(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    sales, support = await make_team(client), await make_team(client)
    ann = await make_operator(client, role="operator", team_ids=[sales, support])
    bob = await make_operator(client, role="manager")
    tokens = client.app[CTX].tokens
    checks = [ann.token, bob.token, "hub_unknown", ann.token] * 25

    with recorded_statements(client) as statements:
        answers = await asyncio.gather(
            *(tokens.principal(t) for t in checks), return_exceptions=True
        )

    for token, answer in zip(checks, answers, strict=True):
        if token == "hub_unknown":
            assert getattr(answer, "code", None) == "invalid_token", answer
            continue
        assert not isinstance(answer, BaseException), answer
        want = ann if token == ann.token else bob
        assert answer.operator_id == want.id
        assert answer.name == want.name
    first = next(a for t, a in zip(checks, answers, strict=True) if t == ann.token)
    assert not isinstance(first, BaseException)
    assert first.team_ids == frozenset({sales, support})
    assert first.role == Role.OPERATOR
    # A hundred checks that wait together: far fewer statements than checks (the first goes
    # alone; the rest queue behind it and share the next).
    assert 1 <= token_look_ups(statements) <= 3, statements


async def test_nothing_is_remembered_between_requests(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ann = await make_operator(client)
    assert (await client.get("/api/v1/conversations", headers=ann.headers)).status == 200

    resp = await client.post("/api/v1/auth/logout", headers=ann.headers)
    assert resp.status in (200, 204), await resp.text()
    resp = await client.get("/api/v1/conversations", headers=ann.headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"

    bob = await make_operator(client)
    assert (await client.get("/api/v1/conversations", headers=bob.headers)).status == 200
    resp = await client.patch(
        f"/api/v1/operators/{bob.id}", json={"active": False}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    resp = await client.get("/api/v1/conversations", headers=auth(bob.token))
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"  # deactivating logs out


async def test_malformed_tokens_never_reach_the_database(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    tokens = client.app[CTX].tokens
    with recorded_statements(client) as statements:
        for token in ("", "x" * 201):
            try:
                await tokens.principal(token)
            except Exception as exc:
                assert getattr(exc, "code", None) == "invalid_token"
            else:
                raise AssertionError(f"{token[:10]!r} was accepted")
    assert token_look_ups(statements) == 0
