"""Operators, teams and sessions through the HTTP API: login, admin writes, revocation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from hub.db import utcnow
from hub.http import CTX
from hub.inbox.auth import hash_token
from hub.inbox.models import OperatorToken
from tests.helpers import auth, login, make_operator, make_team

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


async def expect_error(resp: ClientResponse, status: int, code: str | None = None) -> str:
    """Assert the documented error shape; return the message."""
    assert resp.status == status, await resp.text()
    data = await resp.json()
    assert set(data) == {"error"}, data
    assert set(data["error"]) == {"code", "message"}, data
    assert SNAKE.match(data["error"]["code"]), data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    if code is not None:
        assert data["error"]["code"] == code, data
    return str(data["error"]["message"])


async def test_login_ok_returns_token_and_operator(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client, name="Anna")
    resp = await client.post(
        "/api/v1/auth/login", json={"email": op.email.upper(), "password": op.password}
    )
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["operator"]["id"] == op.id
    assert data["operator"]["name"] == "Anna"
    assert data["operator"]["email"] == op.email
    assert "password" not in data["operator"] and "password_hash" not in data["operator"]
    me = await client.get("/api/v1/me", headers=auth(data["token"]))
    assert me.status == 200
    assert (await me.json())["id"] == op.id


async def test_wrong_password_and_unknown_email_answer_alike(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": op.email, "password": "not-the-password"}
    )
    msg_wrong = await expect_error(wrong, 401, "invalid_credentials")
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": op.password}
    )
    msg_unknown = await expect_error(unknown, 401, "invalid_credentials")
    assert msg_wrong == msg_unknown
    not_an_email = await client.post(
        "/api/v1/auth/login", json={"email": "nobody", "password": op.password}
    )
    assert await expect_error(not_an_email, 401, "invalid_credentials") == msg_wrong


async def test_me_describes_the_caller(client: TestClient) -> None:  # type: ignore[type-arg]
    team = await make_team(client, "Sales")
    op = await make_operator(client, name="Oleg", role="manager", team_ids=[team])
    resp = await client.get("/api/v1/me", headers=op.headers)
    assert resp.status == 200
    assert await resp.json() == {"id": op.id, "name": "Oleg", "role": "manager", "team_ids": [team]}
    await expect_error(await client.get("/api/v1/me"), 401, "missing_token")


async def test_admin_creates_operator_with_generated_password(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client, "Support")
    resp = await client.post(
        "/api/v1/operators",
        json={"email": "New.Person@Example.com", "name": "New Person", "team_ids": [team]},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    password = data["password"]
    assert isinstance(password, str) and len(password) >= 12
    assert data["operator"]["email"] == "new.person@example.com"
    assert data["operator"]["role"] == "operator"
    assert data["operator"]["team_ids"] == [team]
    # The generated password works ...
    token = await login(client, "new.person@example.com", password)
    me = await (await client.get("/api/v1/me", headers=auth(token))).json()
    assert me["id"] == data["operator"]["id"] and me["team_ids"] == [team]
    # ... and is never shown again.
    listing = await client.get("/api/v1/operators", headers=admin.headers)
    assert password not in await listing.text()


async def test_admin_may_choose_the_password(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/operators",
        json={"email": "chosen@example.com", "name": "Chosen", "password": "a-long-password-1"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["password"] is None
    await login(client, "chosen@example.com", "a-long-password-1")
    weak = await client.post(
        "/api/v1/operators",
        json={"email": "weak@example.com", "name": "Weak", "password": "short"},
        headers=admin.headers,
    )
    await expect_error(weak, 422, "weak_password")


async def test_non_admin_cannot_create_operators_or_teams(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    for role in ("operator", "manager"):
        op = await make_operator(client, role=role)
        resp = await client.post(
            "/api/v1/operators",
            json={"email": f"sneaky-{role}@example.com", "name": "Sneaky"},
            headers=op.headers,
        )
        await expect_error(resp, 403, "admin_required")
        resp = await client.post(
            "/api/v1/teams", json={"name": f"Rogue {role}"}, headers=op.headers
        )
        await expect_error(resp, 403, "admin_required")
    listing = await (await client.get("/api/v1/operators", headers=admin.headers)).json()
    assert not [o for o in listing["items"] if o["email"].startswith("sneaky")]
    teams = await (await client.get("/api/v1/teams", headers=admin.headers)).json()
    assert not [t for t in teams["items"] if t["name"].startswith("Rogue")]


async def test_duplicate_email_is_409(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    body = {"email": "twice@example.com", "name": "Twice"}
    first = await client.post("/api/v1/operators", json=body, headers=admin.headers)
    assert first.status == 201
    again = await client.post(
        "/api/v1/operators",
        json={"email": "TWICE@example.com", "name": "Other"},
        headers=admin.headers,
    )
    await expect_error(again, 409, "email_taken")
    listing = await (await client.get("/api/v1/operators", headers=admin.headers)).json()
    assert [o["name"] for o in listing["items"] if o["email"] == "twice@example.com"] == ["Twice"]


async def test_create_operator_rejects_bad_input(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "not-an-email", "name": "X"}, "invalid_email"),
        ({"email": "r@example.com", "name": "X", "role": "king"}, "invalid_role"),
        ({"email": "t@example.com", "name": "X", "team_ids": [987654]}, "team_not_found"),
        ({"email": "n@example.com", "name": "   "}, "invalid_name"),
        ({"email": "u@example.com", "name": "X", "shoe_size": 44}, "validation_error"),
    ]
    before = await (await client.get("/api/v1/operators", headers=admin.headers)).json()
    for body, code in cases:
        resp = await client.post("/api/v1/operators", json=body, headers=admin.headers)
        await expect_error(resp, 422, code)
    after = await (await client.get("/api/v1/operators", headers=admin.headers)).json()
    assert after == before


async def test_list_operators_and_teams(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin", name="Admin")
    resp = await client.post("/api/v1/teams", json={"name": "Sales"}, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    sales = await resp.json()
    assert sales["name"] == "Sales" and sales["operator_ids"] == []
    anna = await make_operator(client, name="Anna", team_ids=[sales["id"]])
    oleg = await make_operator(client, name="Oleg")
    resp = await client.post(
        "/api/v1/teams",
        json={"name": "Support", "operator_ids": [oleg.id, anna.id]},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    support = await resp.json()
    assert support["operator_ids"] == sorted([anna.id, oleg.id])

    dup = await client.post("/api/v1/teams", json={"name": "Sales"}, headers=admin.headers)
    await expect_error(dup, 409, "team_exists")
    ghost = await client.post(
        "/api/v1/teams", json={"name": "Ghosts", "operator_ids": [999999]}, headers=admin.headers
    )
    await expect_error(ghost, 422, "operator_not_found")

    # Any operator may read the directory (assignment pickers need it).
    ops = await client.get("/api/v1/operators", headers=oleg.headers)
    assert ops.status == 200
    by_id = {o["id"]: o for o in (await ops.json())["items"]}
    assert by_id[anna.id]["team_ids"] == sorted([sales["id"], support["id"]])
    assert by_id[oleg.id]["team_ids"] == [support["id"]]
    assert by_id[admin.id]["role"] == "admin"
    assert all("password" not in key for o in by_id.values() for key in o)
    teams = await client.get("/api/v1/teams", headers=anna.headers)
    assert teams.status == 200
    names = {t["name"]: t for t in (await teams.json())["items"]}
    assert set(names) == {"Sales", "Support"}
    assert names["Sales"]["operator_ids"] == [anna.id]
    await expect_error(await client.get("/api/v1/teams"), 401)
    await expect_error(await client.get("/api/v1/operators"), 401)


async def test_deactivation_ends_existing_sessions_at_once(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    second_token = await login(client, op.email, op.password)
    assert (await client.get("/api/v1/me", headers=op.headers)).status == 200

    resp = await client.patch(
        f"/api/v1/operators/{op.id}", json={"active": False}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["active"] is False

    for token in (op.token, second_token):
        await expect_error(await client.get("/api/v1/me", headers=auth(token)), 401)
        await expect_error(await client.get("/api/v1/conversations", headers=auth(token)), 401)
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": op.email, "password": op.password}
    )
    await expect_error(relogin, 401, "invalid_credentials")

    # Reactivated, he must log in again: the old sessions stay dead.
    resp = await client.patch(
        f"/api/v1/operators/{op.id}", json={"active": True}, headers=admin.headers
    )
    assert resp.status == 200
    await expect_error(await client.get("/api/v1/me", headers=op.headers), 401)
    fresh = await login(client, op.email, op.password)
    assert (await client.get("/api/v1/me", headers=auth(fresh))).status == 200


async def test_patch_operator_rules(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client, name="Before")
    other = await make_operator(client)
    team = await make_team(client)
    resp = await client.patch(
        f"/api/v1/operators/{op.id}",
        json={"name": "After", "role": "manager", "team_ids": [team]},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert (data["name"], data["role"], data["team_ids"]) == ("After", "manager", [team])
    me = await (await client.get("/api/v1/me", headers=op.headers)).json()
    assert (me["name"], me["role"], me["team_ids"]) == ("After", "manager", [team])

    # Only an admin may change operators, and an admin cannot lock himself out.
    forbidden = await client.patch(
        f"/api/v1/operators/{other.id}", json={"active": False}, headers=op.headers
    )
    await expect_error(forbidden, 403, "admin_required")
    assert (await client.get("/api/v1/me", headers=other.headers)).status == 200
    self_lock = await client.patch(
        f"/api/v1/operators/{admin.id}", json={"active": False}, headers=admin.headers
    )
    await expect_error(self_lock, 422, "self_lockout")
    assert (await client.get("/api/v1/me", headers=admin.headers)).status == 200
    missing = await client.patch(
        "/api/v1/operators/999999", json={"name": "X"}, headers=admin.headers
    )
    await expect_error(missing, 404, "operator_not_found")


async def test_logout_revokes_only_that_token(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    other_session = await login(client, op.email, op.password)
    resp = await client.post("/api/v1/auth/logout", headers=op.headers)
    assert resp.status == 200, await resp.text()
    await expect_error(await client.get("/api/v1/me", headers=op.headers), 401, "invalid_token")
    again = await client.post("/api/v1/auth/logout", headers=op.headers)
    await expect_error(again, 401)
    assert (await client.get("/api/v1/me", headers=auth(other_session))).status == 200


async def test_expired_token_is_401_token_expired(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    assert (await client.get("/api/v1/me", headers=op.headers)).status == 200
    ctx = client.app[CTX]
    async with ctx.sessionmaker() as session:
        result = await session.execute(
            update(OperatorToken)
            .where(OperatorToken.token_hash == hash_token(op.token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]
        await session.commit()
    await expect_error(await client.get("/api/v1/me", headers=op.headers), 401, "token_expired")
    await expect_error(
        await client.get("/api/v1/conversations", headers=op.headers), 401, "token_expired"
    )
    fresh = await login(client, op.email, op.password)
    assert (await client.get("/api/v1/me", headers=auth(fresh))).status == 200


async def test_forged_tokens_are_401(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    for header in (
        {"Authorization": "Bearer hub_" + "A" * 43},
        {"Authorization": "Bearer " + op.token + "x"},
        {"Authorization": "Basic " + op.token},
        {"Authorization": "Bearer " + "x" * 500},
        {"Authorization": "Bearer"},
    ):
        await expect_error(await client.get("/api/v1/me", headers=header), 401)
