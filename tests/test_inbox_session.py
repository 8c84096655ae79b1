"""The web inbox's cookie session: flags, CSRF, Origin, logout, and the page's own headers."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.http import CTX
from hub.inbox.web import SESSION_COOKIE, csrf_token
from tests.helpers import FRAME_CAP_S, Op, customer_says, make_api_channel, make_operator

OWN = "http://127.0.0.1:8080"  # tests/conftest.py's public_url
EVIL = "https://evil.example"


async def session_login(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    **headers: str,
) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/v1/auth/session",
        json={"email": op.email, "password": op.password},
        headers=headers,
    )


async def logged_in(client: TestClient) -> tuple[Op, str, str]:  # type: ignore[type-arg]
    """An admin logged in by the cookie: (op, the session's operator token, its CSRF token)."""
    op = await make_operator(client, role="admin")
    resp = await session_login(client, op, Origin=OWN)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    return op, resp.cookies[SESSION_COOKIE].value, data["csrf_token"]


async def conversation(client: TestClient, admin: Op) -> int:  # type: ignore[type-arg]
    channel = await make_api_channel(client, admin)
    said = await customer_says(client, channel, "Здравствуйте")
    return int(said["conversation"]["id"])


async def test_login_sets_an_httponly_strict_cookie_and_answers_a_csrf_token(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    op = await make_operator(client)
    resp = await session_login(client, op)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["operator"]["id"] == op.id
    morsel = resp.cookies[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # the test hub's public URL is http
    assert morsel.value.startswith("hub_")
    assert data["csrf_token"] == csrf_token(client.app[CTX].settings, morsel.value)
    raw = resp.headers["Set-Cookie"]
    assert "HttpOnly" in raw and "SameSite=Strict" in raw
    # The cookie alone is a session: who am I, and the CSRF token again after a reload.
    me = await client.get("/api/v1/me")
    assert me.status == 200
    assert (await me.json())["id"] == op.id
    again = await client.get("/api/v1/auth/session")
    assert again.status == 200
    assert (await again.json())["csrf_token"] == data["csrf_token"]


async def test_cookie_is_secure_behind_https(aiohttp_client: Any, settings: Any) -> None:
    app = create_app(settings.model_copy(update={"public_url": "https://hub.example.com"}))
    client = await aiohttp_client(app)
    op = await make_operator(client)
    resp = await session_login(client, op)
    assert resp.status == 200
    assert resp.cookies[SESSION_COOKIE]["secure"] is True
    assert "Secure" in resp.headers["Set-Cookie"]


async def test_wrong_password_sets_no_cookie(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    resp = await client.post(
        "/api/v1/auth/session", json={"email": op.email, "password": "not-his-password"}
    )
    assert resp.status == 401
    assert SESSION_COOKIE not in resp.cookies
    assert (await client.get("/api/v1/auth/session")).status == 401


async def test_login_from_another_site_is_refused(client: TestClient) -> None:  # type: ignore[type-arg]
    op = await make_operator(client)
    resp = await session_login(client, op, Origin=EVIL)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "bad_origin"
    assert SESSION_COOKIE not in resp.cookies


@pytest.mark.parametrize(
    "sent", [None, "", "0" * 64, "wrong"], ids=["missing", "empty", "zeros", "wrong"]
)
async def test_a_cookie_write_without_the_right_csrf_token_is_refused(
    client: TestClient,  # type: ignore[type-arg]
    sent: str | None,
) -> None:
    admin, _token, _csrf = await logged_in(client)
    conv_id = await conversation(client, admin)
    headers = {} if sent is None else {"X-CSRF-Token": sent}
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"body": "hi"}, headers=headers
    )
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "csrf_failed"
    msgs = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=admin.headers)
    assert [m["body"] for m in (await msgs.json())["items"]] == ["Здравствуйте"]


async def test_a_cookie_write_with_the_csrf_token_works_and_checks_the_origin(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _token, csrf = await logged_in(client)
    conv_id = await conversation(client, admin)
    url = f"/api/v1/conversations/{conv_id}/messages"
    ok = await client.post(url, json={"body": "ответ"}, headers={"X-CSRF-Token": csrf})
    assert ok.status == 201, await ok.text()
    same = await client.post(
        url, json={"body": "ещё", "private": True}, headers={"X-CSRF-Token": csrf, "Origin": OWN}
    )
    assert same.status == 201
    evil = await client.post(
        url, json={"body": "evil"}, headers={"X-CSRF-Token": csrf, "Origin": EVIL}
    )
    assert evil.status == 403
    assert (await evil.json())["error"]["code"] == "bad_origin"


async def test_bearer_requests_need_no_csrf_token(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    conv_id = await conversation(client, admin)
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "by token"},
        headers={**admin.headers, "Origin": EVIL},
    )
    assert resp.status == 201


async def test_the_csrf_token_of_one_session_does_not_fit_another(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _token, csrf = await logged_in(client)
    conv_id = await conversation(client, admin)
    client.session.cookie_jar.clear()
    _other, token2, _csrf2 = await logged_in(client)
    assert csrf != csrf_token(client.app[CTX].settings, token2)
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status == 403


async def test_socket_with_the_cookie_needs_the_hubs_own_origin(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await logged_in(client)
    ws = await client.ws_connect("/ws/operator", headers={"Origin": OWN})
    try:
        frame = await ws.receive_json(timeout=FRAME_CAP_S)
        assert frame["type"] == "ready"
    finally:
        await ws.close()
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await client.ws_connect("/ws/operator", headers=headers)
        assert caught.value.status == 403, headers


async def test_logout_revokes_the_token_and_clears_the_cookie(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, token, csrf = await logged_in(client)
    refused = await client.delete("/api/v1/auth/session")
    assert refused.status == 403  # no CSRF token
    resp = await client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    assert resp.cookies[SESSION_COOKIE].value == ""
    assert (await client.get("/api/v1/me")).status == 401
    by_bearer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert by_bearer.status == 401
    # Even a browser that kept the cookie is logged out.
    kept = await client.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
    assert kept.status == 401


async def test_the_page_and_its_files_carry_a_content_security_policy(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    for path in ("/inbox", "/inbox/contacts/7"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Content-Type"].startswith("text/html")
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "connect-src 'self' ws://127.0.0.1:8080" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        html = await resp.text()
        assert "<script>" not in html  # no inline script: the page's script is a file
    js = await client.get("/inbox/static/inbox.js")
    assert js.status == 200
    assert js.headers["Content-Type"].startswith("application/javascript")
    assert js.headers["X-Content-Type-Options"] == "nosniff"
    css = await client.get("/inbox/static/inbox.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    for bad in ("/inbox/static/index.html", "/inbox/static/..%2fweb.py", "/inbox/static/x.js"):
        assert (await client.get(bad)).status == 404, bad
    assert (await client.get("/inbox/contacts/abc")).status == 400
