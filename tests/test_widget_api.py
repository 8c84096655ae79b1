"""The widget's visitor API over HTTP: channel creation, sessions, touches, history, the REST
fallback, resume, "call me back", the contact form and identity verification.

Every test that takes ``client`` runs on both backends (SQLite + in-process bus, PostgreSQL +
Redis). The helpers here are shared with ``test_widget_socket`` and ``test_widget_security``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.channels.widget.models import WidgetVisitor
from hub.http import CTX
from hub.inbox.models import Contact, Conversation, Message
from hub.inbox.staff import create_operator
from hub.settings import Settings
from tests.helpers import FRAME_CAP_S, Op, auth, make_operator

ORIGIN = "https://shop.example"
OTHER_ORIGIN = "https://evil.example"
WS = aiohttp.ClientWebSocketResponse
Frame = dict[str, Any]

# --- helpers shared by the widget tests ------------------------------------------------------


async def make_widget_channel(
    client: TestClient,  # type: ignore[type-arg]
    admin: Op,
    *,
    name: str = "Shop",
    origins: tuple[str, ...] = (ORIGIN,),
    **config: Any,
) -> dict[str, Any]:
    body = {"type": "widget", "name": name, "allowed_origins": list(origins), **config}
    resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def post_session(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    *,
    origin: str | None = ORIGIN,
    page: dict[str, str] | None = None,
    **fields: Any,
) -> aiohttp.ClientResponse:
    body: dict[str, Any] = {"website_token": channel["website_token"], **fields}
    body["page"] = page or {"url": f"{ORIGIN}/", "title": "Shop", "referrer": ""}
    headers = {"Origin": origin} if origin else {}
    return await client.post("/api/widget/v1/sessions", json=body, headers=headers)


async def start_session(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    **kwargs: Any,
) -> dict[str, Any]:
    resp = await post_session(client, channel, **kwargs)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def new_visitor(
    client: TestClient,  # type: ignore[type-arg]
) -> tuple[Op, dict[str, Any], str]:
    """An admin, a widget channel of the shop, and a visitor's token on it."""
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    return admin, channel, token


def visitor_headers(token: str, origin: str | None = ORIGIN) -> dict[str, str]:
    headers = {"X-Visitor-Token": token}
    if origin:
        headers["Origin"] = origin
    return headers


async def recv(ws: WS, within: float = FRAME_CAP_S) -> Frame:
    msg = await ws.receive(timeout=within)
    assert msg.type == WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    frame = json.loads(msg.data)
    assert isinstance(frame, dict)
    return frame


async def recv_until(
    ws: WS, match: Callable[[Frame], bool], within: float = FRAME_CAP_S
) -> tuple[Frame, list[Frame]]:
    """The first frame that matches, and every frame that came before it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    before: list[Frame] = []
    while True:
        left = deadline - loop.time()
        assert left > 0, f"no matching frame within {within} s; got {before}"
        frame = await recv(ws, left)
        if match(frame):
            return frame, before
        before.append(frame)


def is_type(kind: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == kind


def is_message_from(sender_type: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == "message" and f["message"]["sender"]["type"] == sender_type


async def open_visitor(
    client: TestClient,  # type: ignore[type-arg]
    token: str,
    origin: str = ORIGIN,
) -> tuple[WS, Frame]:
    ws = await client.ws_connect(f"/ws/widget?visitor_token={token}", headers={"Origin": origin})
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws, ready


async def send_over(ws: WS, client_id: str, body: str) -> Frame:
    """Send a visitor message and return its ack (other frames are skipped)."""
    await ws.send_json({"type": "message", "client_id": client_id, "body": body})
    ack, _ = await recv_until(
        ws, lambda f: f.get("type") in ("ack", "error") and f.get("client_id") == client_id
    )
    assert ack["type"] == "ack", ack
    return ack


async def open_operator(client: TestClient, op: Op) -> WS:  # type: ignore[type-arg]
    ws = await client.ws_connect("/ws/operator", headers=auth(op.token))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws


async def recv_event(
    ws: WS, name: str, match: Callable[[dict[str, Any]], bool] = lambda d: True
) -> dict[str, Any]:
    frame, _ = await recv_until(
        ws, lambda f: f.get("type") == "event" and f["event"] == name and match(f["data"])
    )
    return dict(frame["data"])


async def conversations_of(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    channel: dict[str, Any],
) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/conversations?channel={channel['id']}", headers=op.headers)
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["items"])


async def only_conversation(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    channel: dict[str, Any],
) -> dict[str, Any]:
    convs = await conversations_of(client, op, channel)
    assert len(convs) == 1, convs
    return convs[0]


async def operator_messages(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    conv_id: int,
) -> list[dict[str, Any]]:
    resp = await client.get(
        f"/api/v1/conversations/{conv_id}/messages?limit=200", headers=op.headers
    )
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["items"])


async def operator_reply(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    conv_id: int,
    body: str,
    *,
    private: bool = False,
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": body, "private": private},
        headers=op.headers,
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def fetch_messages(
    client: TestClient,  # type: ignore[type-arg]
    token: str,
    after: int | None = None,
) -> list[dict[str, Any]]:
    query = "" if after is None else f"?after={after}"
    resp = await client.get(f"/api/widget/v1/messages{query}", headers=visitor_headers(token))
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["items"])


async def get_contact(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    contact_id: int,
) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/contacts/{contact_id}", headers=op.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def table_counts(client: TestClient) -> dict[str, int]:  # type: ignore[type-arg]
    """Rows in the tables a visitor can write to, read straight from the database."""
    out = {}
    async with client.app[CTX].sessionmaker() as session:
        for model in (Message, Conversation, Contact, WidgetVisitor):
            out[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
    return out


async def expect_error(resp: aiohttp.ClientResponse, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    data = await resp.json()
    assert set(data) == {"error"} and data["error"]["code"] == code, data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]


def identity_hash(secret: str, identifier: str) -> str:
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


@contextlib.asynccontextmanager
async def running_hub(settings: Settings) -> AsyncIterator[tuple[web.Application, str]]:
    """The real hub on a free port of 127.0.0.1 (AppRunner + TCPSite), and its base URL."""
    app = create_app(settings)
    # As ``hub serve`` runs it.
    runner = web.AppRunner(app, shutdown_timeout=settings.shutdown_timeout_s, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield app, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def real_admin_and_channel(
    app: web.Application, http: aiohttp.ClientSession, name: str = "Анна"
) -> tuple[dict[str, str], dict[str, Any]]:
    """On a ``running_hub``: an admin's auth headers, and a widget channel he created."""
    await create_operator(
        app[CTX], email="admin@example.com", name=name, role="admin", password="password-long-1"
    )
    resp = await http.post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": "password-long-1"}
    )
    assert resp.status == 200, await resp.text()
    admin = auth((await resp.json())["token"])
    resp = await http.post(
        "/api/v1/channels",
        json={"type": "widget", "name": "Печи", "allowed_origins": [ORIGIN]},
        headers=admin,
    )
    assert resp.status == 201, await resp.text()
    return admin, dict(await resp.json())


# --- creating the channel --------------------------------------------------------------------


async def test_admin_creates_widget_channel_and_secret_is_shown_once(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    created = await make_widget_channel(
        client, admin, origins=(ORIGIN, "https://Shop.Example:8443")
    )
    assert created["type"] == "widget" and created["name"] == "Shop"
    assert isinstance(created["id"], int)
    assert len(created["website_token"]) >= 16
    assert len(created["secret"]) >= 32 and created["secret"] != created["website_token"]
    assert created["config"]["allowed_origins"] == [ORIGIN, "https://shop.example:8443"]

    resp = await client.get("/api/v1/channels", headers=admin.headers)
    assert resp.status == 200
    listed = await resp.text()
    assert created["secret"] not in listed
    (row,) = [c for c in json.loads(listed)["items"] if c["id"] == created["id"]]
    assert row["website_token"] == created["website_token"] and "secret" not in row

    # The session answer is public: it never carries the secret or the allowed origins.
    session = await start_session(client, created)
    assert created["secret"] not in json.dumps(session)
    assert "allowed_origins" not in session["channel"]


async def test_only_admins_create_widget_channels_and_bad_settings_are_refused(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    operator = await make_operator(client)
    body = {"type": "widget", "name": "Shop", "allowed_origins": [ORIGIN]}
    resp = await client.post("/api/v1/channels", json=body, headers=operator.headers)
    await expect_error(resp, 403, "admin_required")
    bad = {**body, "allowed_origins": ["shop.example/path"]}
    resp = await client.post("/api/v1/channels", json=bad, headers=admin.headers)
    await expect_error(resp, 422, "invalid_widget_settings")
    resp = await client.get("/api/v1/channels", headers=admin.headers)
    assert (await resp.json())["items"] == []


# --- sessions --------------------------------------------------------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")


async def test_new_session_gets_a_long_random_token(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin, prechat={"enabled": False})
    tokens = set()
    for _ in range(5):
        session = await start_session(client, channel)
        token = session["visitor_token"]
        assert TOKEN_RE.match(token), token  # url-safe, >= 22 chars: >= 128 random bits
        tokens.add(token)
        assert session["messages"] == []
        assert session["channel"]["name"] == "Shop"
        assert session["contact"] == {"name": "", "email": None, "phone": None}
    assert len(tokens) == 5
    async with client.app[CTX].sessionmaker() as db:
        stored = list((await db.scalars(select(WidgetVisitor.token_hash))).all())
    # Kept only as a SHA-256, never as the token itself.
    assert sorted(stored) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)
    counts = await table_counts(client)
    # Page views make visitors, never contacts or conversations.
    assert counts["widget_visitors"] == 5
    assert counts["contacts"] == counts["conversations"] == counts["messages"] == 0


async def test_unknown_visitor_token_gets_a_new_one_and_known_token_keeps_the_visitor(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    first = await start_session(client, channel)
    token = first["visitor_token"]
    ws, _ = await open_visitor(client, token)
    ack = await send_over(ws, "c-1", "Здравствуйте, есть печь на 12 м²?")
    await ws.close()

    again = await start_session(client, channel, visitor_token=token)
    assert again["visitor_token"] == token
    assert [m["id"] for m in again["messages"]] == [ack["message"]["id"]]
    assert again["messages"][0]["body"] == "Здравствуйте, есть печь на 12 м²?"
    assert again["messages"][0]["sender"]["type"] == "contact"

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    fresh = await start_session(client, channel, visitor_token=forged)
    assert fresh["visitor_token"] not in (token, forged)
    assert TOKEN_RE.match(fresh["visitor_token"])
    assert fresh["messages"] == []

    # A token of another widget channel is unknown here too.
    other = await make_widget_channel(client, admin, name="Other shop")
    elsewhere = await start_session(client, other, visitor_token=token)
    assert elsewhere["visitor_token"] != token and elsewhere["messages"] == []
    assert (await table_counts(client))["widget_visitors"] == 3


async def test_session_for_an_unknown_website_token_is_404(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    await make_widget_channel(client, admin)
    resp = await client.post(
        "/api/widget/v1/sessions",
        json={"website_token": "no-such-token", "page": {"url": f"{ORIGIN}/"}},
        headers={"Origin": ORIGIN},
    )
    await expect_error(resp, 404, "unknown_website_token")
    # Readable by the page (the widget stops on it); it tells nothing but the refusal.
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert (await table_counts(client))["widget_visitors"] == 0


async def test_first_touch_kept_last_touch_updated_and_shown_to_operators(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    landing = {
        "url": f"{ORIGIN}/pechi?utm_source=yandex&utm_campaign=spring&yclid=777&x=1",
        "title": "Печи для бани",
        "referrer": "https://yandex.ru/search?text=pech",
    }
    session = await start_session(client, channel, page=landing)
    token = session["visitor_token"]
    # He browses on before he writes: the landing page stays his first touch.
    await start_session(
        client, channel, visitor_token=token, page={"url": f"{ORIGIN}/price", "title": "Цены"}
    )
    ws, _ = await open_visitor(client, token)
    ack = await send_over(ws, "m1", "Сколько стоит доставка?")
    await ws.close()

    later = {
        "url": f"{ORIGIN}/contacts?utm_source=google&utm_campaign=retarget&gclid=G-1",
        "title": "Контакты",
        "referrer": f"{ORIGIN}/pechi",
    }
    await start_session(client, channel, visitor_token=token, page=later)

    conv = await only_conversation(client, admin, channel)
    contact = await get_contact(client, admin, conv["contact_id"])
    first, last = contact["attributes"]["first_touch"], contact["attributes"]["last_touch"]
    assert first["url"] == landing["url"] and first["title"] == "Печи для бани"
    assert first["referrer"] == landing["referrer"]
    assert first["utm_source"] == "yandex" and first["utm_campaign"] == "spring"
    assert first["yclid"] == "777" and "gclid" not in first and "x" not in first
    assert last["url"] == later["url"] and last["title"] == "Контакты"
    assert last["utm_source"] == "google" and last["utm_campaign"] == "retarget"
    assert last["gclid"] == "G-1" and "yclid" not in last

    # The conversation carries them too (stored on the row; see the next test for the API).
    async with client.app[CTX].sessionmaker() as db:
        row = await db.get(Conversation, conv["id"])
        assert row is not None
        assert row.attributes["first_touch"]["utm_source"] == "yandex"
        assert row.attributes["last_touch"]["utm_source"] == "google"
    assert ack["message"]["id"] in [
        m["id"] for m in await operator_messages(client, admin, conv["id"])
    ]


async def test_conversation_answer_shows_the_touches(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The issue: "both show on the contact and the conversation for operators"."""
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    page = {"url": f"{ORIGIN}/?utm_source=vk&utm_campaign=autumn", "title": "Shop"}
    session = await start_session(client, channel, page=page)
    ws, _ = await open_visitor(client, session["visitor_token"])
    await send_over(ws, "m1", "Hello")
    await ws.close()
    conv = await only_conversation(client, admin, channel)
    resp = await client.get(f"/api/v1/conversations/{conv['id']}", headers=admin.headers)
    assert resp.status == 200
    data = await resp.json()
    assert "attributes" in data, f"the conversation answer has no attributes: {sorted(data)}"
    assert data["attributes"]["first_touch"]["utm_source"] == "vk"
    assert data["attributes"]["last_touch"]["utm_campaign"] == "autumn"


async def test_session_with_contact_fields_fills_the_visitor_then_the_contact(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    session = await start_session(
        client, channel, name=" Иван ", email="Ivan@Example.RU", phone="8 (916) 123-45-67"
    )
    assert session["contact"] == {
        "name": "Иван",
        "email": "ivan@example.ru",
        "phone": "+79161234567",
    }
    ws, _ = await open_visitor(client, session["visitor_token"])
    await send_over(ws, "m1", "Hi")
    await ws.close()
    conv = await only_conversation(client, admin, channel)
    contact = await get_contact(client, admin, conv["contact_id"])
    assert contact["name"] == "Иван"
    assert contact["phones"] == ["+79161234567"]
    assert contact["emails"] == ["ivan@example.ru"]


# --- history, REST fallback, resume ----------------------------------------------------------


async def test_reload_returns_the_history_with_replies_but_no_notes(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    ws, _ = await open_visitor(client, token)
    first = await send_over(ws, "m1", "Первое сообщение")
    await ws.close()
    conv = await only_conversation(client, admin, channel)
    note = await operator_reply(client, admin, conv["id"], "NOTE: VIP client", private=True)
    reply = await operator_reply(client, admin, conv["id"], "Добрый день!")
    ws, _ = await open_visitor(client, token)
    second = await send_over(ws, "m2", "Второе")
    await ws.close()

    reloaded = await start_session(client, channel, visitor_token=token)
    assert [m["id"] for m in reloaded["messages"]] == [
        first["message"]["id"],
        reply["id"],
        second["message"]["id"],
    ]
    assert reloaded["messages"][1]["sender"] == {"type": "operator", "name": "Анна"}
    assert reloaded["messages"][1]["body"] == "Добрый день!"
    assert all(
        set(m) == {"id", "body", "sender", "created_at", "kind", "attachments"}
        for m in reloaded["messages"]
    )
    assert "VIP" not in json.dumps(reloaded)
    assert note["id"] not in [m["id"] for m in await fetch_messages(client, token)]


async def test_rest_fallback_sends_once_per_client_id(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    headers = visitor_headers(token)
    body = {"client_id": "rest-1", "body": "Через REST"}
    resp = await client.post("/api/widget/v1/messages", json=body, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    ack = await resp.json()
    assert ack["type"] == "ack" and ack["client_id"] == "rest-1" and ack["duplicate"] is False
    assert ack["message"]["body"] == "Через REST" and ack["message"]["sender"]["type"] == "contact"

    resp = await client.post("/api/widget/v1/messages", json=body, headers=headers)
    again = await resp.json()
    assert again["duplicate"] is True and again["message"]["id"] == ack["message"]["id"]
    # The same client_id with another body is still the first message.
    resp = await client.post(
        "/api/widget/v1/messages", json={**body, "body": "changed"}, headers=headers
    )
    third = await resp.json()
    assert third["duplicate"] is True and third["message"]["body"] == "Через REST"

    conv = await only_conversation(client, admin, channel)
    items = await operator_messages(client, admin, conv["id"])
    assert [m["body"] for m in items] == ["Через REST"]
    assert items[0]["kind"] == "incoming"
    assert [m["id"] for m in await fetch_messages(client, token)] == [ack["message"]["id"]]


async def test_rest_fetch_after_returns_exactly_what_was_missed(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    mine = await send_over(ws, "m1", "Есть кто?")
    conv = await only_conversation(client, admin, channel)
    seen = await operator_reply(client, admin, conv["id"], "Да, слушаю")
    frame, _ = await recv_until(ws, is_message_from("operator"))
    assert frame["message"]["id"] == seen["id"]
    await ws.close()  # the connection is cut here

    missed = [await operator_reply(client, admin, conv["id"], f"Ответ {i}") for i in range(3)]
    await operator_reply(client, admin, conv["id"], "internal: call him", private=True)
    await client.post(
        f"/api/v1/conversations/{conv['id']}/status",
        json={"status": "pending"},
        headers=admin.headers,
    )

    items = await fetch_messages(client, token, after=seen["id"])
    assert [m["id"] for m in items] == [m["id"] for m in missed]
    assert [m["body"] for m in items] == ["Ответ 0", "Ответ 1", "Ответ 2"]
    assert await fetch_messages(client, token, after=missed[-1]["id"]) == []
    everything = await fetch_messages(client, token, after=0)
    assert [m["id"] for m in everything] == [mine["message"]["id"], seen["id"]] + [
        m["id"] for m in missed
    ]


# --- call me back, contact form --------------------------------------------------------------


async def test_callback_request_stores_e164_and_operators_see_it_at_once(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    op_ws = await open_operator(client, admin)
    resp = await client.post(
        "/api/widget/v1/callback",
        json={
            "visitor_token": token,
            "phone": "8 (916) 123-45-67",
            "name": "Пётр",
            "when": {"kind": "tomorrow_morning"},
        },
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 201, await resp.text()
    item = (await resp.json())["message"]
    assert item["kind"] == "callback_request"
    assert item["body"] == "Перезвоните мне: +79161234567, завтра утром"  # the channel's "ru"

    data = await recv_event(op_ws, "message.created", lambda d: d["message"]["id"] == item["id"])
    assert data["message"]["meta"]["type"] == "callback_request"
    assert data["message"]["meta"]["phone"] == "+79161234567"
    assert data["message"]["meta"]["when"] == {"kind": "tomorrow_morning"}
    await op_ws.close()

    conv = await only_conversation(client, admin, channel)
    contact = await get_contact(client, admin, conv["contact_id"])
    assert contact["phones"] == ["+79161234567"]
    assert contact["name"] == "Пётр"
    history = await fetch_messages(client, token)
    assert [(m["id"], m["kind"]) for m in history] == [(item["id"], "callback_request")]


async def test_callback_with_garbage_phone_is_422_and_changes_nothing(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, _channel, token = await new_visitor(client)
    before = await table_counts(client)
    for phone in ("call me maybe", "12", "", "+7 916 123-45-67-89-00-11"):
        resp = await client.post(
            "/api/widget/v1/callback",
            json={"visitor_token": token, "phone": phone},
            headers={"Origin": ORIGIN},
        )
        await expect_error(resp, 422, "invalid_phone")
    assert await table_counts(client) == before


async def test_contact_form_keeps_details_and_validates_them(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel, token = await new_visitor(client)
    resp = await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": token, "email": "not-an-email"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 422, await resp.text()
    resp = await client.post(
        "/api/widget/v1/contact",
        json={"visitor_token": token, "email": "Maria@Example.com", "phone": "+7 912 000 11 22"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["contact"] == {
        "name": "",
        "email": "maria@example.com",
        "phone": "+79120001122",
    }
    # Nothing in the inbox until the visitor writes; then the contact has the details.
    assert (await table_counts(client))["contacts"] == 0
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "m1", "Перезвоните, пожалуйста")
    await ws.close()
    conv = await only_conversation(client, admin, channel)
    contact = await get_contact(client, admin, conv["contact_id"])
    assert contact["emails"] == ["maria@example.com"]
    assert contact["phones"] == ["+79120001122"]


# --- presence --------------------------------------------------------------------------------


async def test_operators_online_follows_operator_sockets(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    session = await start_session(client, channel)
    assert session["operators_online"] is False
    ws, ready = await open_visitor(client, session["visitor_token"])
    assert ready["operators_online"] is False

    op_ws = await open_operator(client, admin)
    frame, _ = await recv_until(ws, is_type("presence"))
    assert frame == {"type": "presence", "operators_online": True}
    assert (await start_session(client, channel))["operators_online"] is True
    other, ready = await open_visitor(client, session["visitor_token"])
    assert ready["operators_online"] is True
    await other.close()

    await op_ws.close()
    frame, _ = await recv_until(ws, is_type("presence"))
    assert frame == {"type": "presence", "operators_online": False}
    assert (await start_session(client, channel))["operators_online"] is False
    await ws.close()


# --- identity verification -------------------------------------------------------------------


async def test_verified_identity_joins_the_same_contact_across_visitor_tokens(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    ident = {
        "identifier": "user-42",
        "identifier_hash": identity_hash(channel["secret"], "user-42"),
    }

    laptop = await start_session(client, channel, **ident)
    ws, _ = await open_visitor(client, laptop["visitor_token"])
    first = await send_over(ws, "laptop-1", "Пишу с ноутбука")
    await ws.close()

    phone = await start_session(client, channel, **ident)
    assert phone["visitor_token"] != laptop["visitor_token"]
    assert [m["id"] for m in phone["messages"]] == [first["message"]["id"]]
    ws, _ = await open_visitor(client, phone["visitor_token"])
    second = await send_over(ws, "phone-1", "А теперь с телефона")
    await ws.close()

    conv = await only_conversation(client, admin, channel)
    ids = [m["id"] for m in await operator_messages(client, admin, conv["id"])]
    assert ids == [first["message"]["id"], second["message"]["id"]]
    contact = await get_contact(client, admin, conv["contact_id"])
    assert [i["external_id"] for i in contact["identities"]] == ["user:user-42"]
    assert [m["id"] for m in await fetch_messages(client, laptop["visitor_token"])] == ids

    # An anonymous visitor on the same site sees none of it.
    anonymous = await start_session(client, channel)
    assert anonymous["messages"] == []
    assert await fetch_messages(client, anonymous["visitor_token"]) == []


async def test_wrong_identity_hash_is_refused(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    good = identity_hash(channel["secret"], "user-42")
    before = await table_counts(client)
    for forged in (
        identity_hash(channel["secret"], "user-43"),  # another user's hash
        identity_hash(channel["website_token"], "user-42"),  # signed with the public token
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        "",
    ):
        resp = await post_session(client, channel, identifier="user-42", identifier_hash=forged)
        assert resp.status in (403, 422), await resp.text()
        assert (await resp.json())["error"]["code"] == "invalid_identity"
    resp = await post_session(client, channel, identifier="user-42")
    await expect_error(resp, 422, "invalid_identity")
    assert await table_counts(client) == before
    # The right hash works, in upper case too.
    session = await start_session(
        client, channel, identifier="user-42", identifier_hash=good.upper()
    )
    assert TOKEN_RE.match(session["visitor_token"])


async def test_channel_requiring_identity_refuses_anonymous_visitors(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin, require_identity=True)
    resp = await post_session(client, channel)
    await expect_error(resp, 403, "identity_required")
    assert (await table_counts(client))["widget_visitors"] == 0
    session = await start_session(
        client,
        channel,
        identifier="u-1",
        identifier_hash=identity_hash(channel["secret"], "u-1"),
    )
    assert session["channel"]["require_identity"] is True
    assert TOKEN_RE.match(session["visitor_token"])


async def test_logging_in_mid_chat_keeps_the_chat(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A visitor chats anonymously, then logs in on the site (Hub.identify): his chat goes on,
    and his other devices see it."""
    admin, channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    before_login = await send_over(ws, "c-1", "Вопрос до входа")
    await ws.close()
    ident = {"identifier": "user-7", "identifier_hash": identity_hash(channel["secret"], "user-7")}

    session = await start_session(client, channel, visitor_token=token, **ident)
    assert session["visitor_token"] == token
    assert [m["id"] for m in session["messages"]] == [before_login["message"]["id"]]
    ws, _ = await open_visitor(client, token)
    after_login = await send_over(ws, "c-2", "Вопрос после входа")
    await ws.close()
    ids = [before_login["message"]["id"], after_login["message"]["id"]]
    assert [m["id"] for m in await fetch_messages(client, token)] == ids

    conv = await only_conversation(client, admin, channel)
    assert [m["id"] for m in await operator_messages(client, admin, conv["id"])] == ids
    contact = await get_contact(client, admin, conv["contact_id"])
    assert "user:user-7" in [i["external_id"] for i in contact["identities"]]
    other_device = await start_session(client, channel, **ident)
    assert other_device["visitor_token"] != token
    assert [m["id"] for m in other_device["messages"]] == ids


async def test_a_callback_in_an_existing_conversation_makes_one_open_task(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The lead intake makes the task of a request that opens a conversation; a request in a
    conversation the visitor already had makes it here, once while that task is open."""
    admin, _channel, token = await new_visitor(client)
    first = await client.post(
        "/api/widget/v1/messages",
        json={"client_id": "m-1", "body": "Сколько стоит печь?"},
        headers={"Origin": ORIGIN, "X-Visitor-Token": token},
    )
    assert first.status in (200, 201), await first.text()

    async def ask() -> None:
        resp = await client.post(
            "/api/widget/v1/callback",
            json={"visitor_token": token, "phone": "8 916 123 45 67"},
            headers={"Origin": ORIGIN},
        )
        assert resp.status == 201, await resp.text()

    async def callbacks() -> list[dict[str, Any]]:
        resp = await client.get("/api/v1/tasks?status=open", headers=admin.headers)
        assert resp.status == 200, await resp.text()
        return [t for t in (await resp.json())["items"] if t["kind"] == "callback"]

    await ask()
    await ask()
    tasks = await callbacks()
    assert [t["title"] for t in tasks] == ["Call back +79161234567"]
    done = await client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", headers=admin.headers)
    assert done.status == 200, await done.text()
    await ask()
    again = await callbacks()
    assert [t["title"] for t in again] == ["Call back +79161234567"]
    assert again[0]["id"] != tasks[0]["id"]
