"""A local fake Telegram Bot API server that records every call and can fail on demand.

aiogram's ``Bot`` reaches it through ``TelegramAPIServer.from_base`` (the hub's
``HUB_TELEGRAM_API_URL``). It answers ``getMe``, ``setWebhook``, ``deleteWebhook``,
``getFile``, ``getUpdates``, ``sendMessage``, ``sendPhoto`` and ``sendDocument``, serves files
under ``/file/bot<token>/<path>``, and answers the next calls of a method with an error queued
by ``fail`` (429 with ``retry_after``, 5xx, 403 "bot was blocked by the user", …).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.channels.telegram.routes import SECRET_HEADER
from hub.context import HubContext
from hub.http import CTX
from hub.settings import Settings
from tests.helpers import Op, make_operator

TOKEN = "7000000001:AAFakeTokenForTheHubTestsOnly_abcdefg"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "Hub Shop", "username": "hub_shop_bot"}


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class FakeBotAPI:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    errors: dict[str, list[tuple[int, str, dict[str, Any]]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, dict[str, Any]] = field(default_factory=lambda: {TOKEN: BOT})
    next_message_id: int = 1000
    nth_errors: dict[tuple[str, int], tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)

    def drop(self, method: str) -> None:
        """The next call of ``method`` gets no answer: the connection is cut."""
        self.dropped.add(method)

    def fail_nth(self, method: str, n: int, status: int, description: str) -> None:
        """The ``n``-th call (from 1) of ``method`` answers this error."""
        self.nth_errors[(method, n)] = (status, description, {})

    def fail(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """The next call of ``method`` answers this error (queue several for several calls)."""
        self.errors.setdefault(method, []).append((status, description, parameters))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def sends(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto", "sendDocument")]

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params: dict[str, Any] = {}
        uploaded: dict[str, bytes] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                data = await part.read()  # type: ignore[union-attr]
                if part.filename:  # type: ignore[union-attr]
                    uploaded[part.name or ""] = bytes(data)
                    params[part.name or ""] = part.filename  # type: ignore[union-attr]
                else:
                    params[part.name or ""] = data.decode()
        else:
            params = dict(await request.post())
        for key, value in list(params.items()):  # aiogram names a file part "attach://<part>"
            if isinstance(value, str) and value.startswith("attach://"):
                uploaded[key] = uploaded.pop(value.removeprefix("attach://"), b"")
                params[key] = value
        self.calls.append(Call(token, method, params, uploaded))
        if token not in self.tokens:
            return _error(401, "Unauthorized")
        if method in self.dropped:
            self.dropped.discard(method)
            assert request.transport is not None
            request.transport.close()  # the client sees the connection die mid-request
            return web.Response(status=500)
        nth = self.nth_errors.pop((method, len(self.of(method))), None)
        if nth is not None:
            return _error(*nth)
        queued = self.errors.get(method)
        if queued:
            status, description, parameters = queued.pop(0)
            return _error(status, description, parameters)
        if method == "getUpdates":
            if not self.updates:
                await asyncio.sleep(0.05)
            offset = int(params.get("offset", 0) or 0)
            return _ok([u for u in self.updates if u["update_id"] >= offset])
        return _ok(self._result(token, method, params))

    def _result(self, token: str, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.tokens[token]
        if method in ("setWebhook", "deleteWebhook"):
            return True
        if method == "getFile":
            file_id = params["file_id"]
            path = f"files/{file_id}"
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files.get(file_id, b"")),
                "file_path": path,
            }
        self.next_message_id += 1
        chat_id = int(params["chat_id"])
        return {
            "message_id": self.next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self.tokens[token],
            "text": params.get("text"),
        }

    async def file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].removeprefix("files/")
        if request.match_info["token"] not in self.tokens or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self.file)
        return app


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "telegram"


def fixture(name: str) -> dict[str, Any]:
    """A recorded update from tests/fixtures/telegram/."""
    return dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


@dataclass
class Telegram:
    """A hub app wired to a fake Bot API, with an admin and a connected bot."""

    client: TestClient  # type: ignore[type-arg]
    api: FakeBotAPI
    admin: Op
    channel: dict[str, Any]

    @property
    def ctx(self) -> HubContext:
        return self.client.app[CTX]

    async def feed(self, update: dict[str, Any] | str, secret: str | None = None) -> ClientResponse:
        """POST an update to the channel's webhook, as Telegram does."""
        payload = fixture(update) if isinstance(update, str) else update
        headers = {SECRET_HEADER: self.channel["secret"] if secret is None else secret}
        return await self.client.post(
            f"/webhooks/telegram/{self.channel['id']}", json=payload, headers=headers
        )

    async def fed(self, update: dict[str, Any] | str) -> dict[str, Any]:
        resp = await self.feed(update)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def messages(self, conv_id: int) -> list[dict[str, Any]]:
        resp = await self.client.get(
            f"/api/v1/conversations/{conv_id}/messages", headers=self.admin.headers
        )
        assert resp.status == 200, await resp.text()
        return list((await resp.json())["items"])

    async def conversations(self) -> list[dict[str, Any]]:
        resp = await self.client.get("/api/v1/conversations", headers=self.admin.headers)
        return list((await resp.json())["items"])


async def start_fake(aiohttp_server: Any) -> FakeBotAPI:
    api = FakeBotAPI()
    server = await aiohttp_server(api.app(), host="127.0.0.1")
    api.base = str(server.make_url("")).rstrip("/")
    return api


async def start_telegram(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings, **overrides: Any
) -> Telegram:
    api = await start_fake(aiohttp_server)
    tuned = settings.model_copy(update={"telegram_api_url": api.base, **overrides})
    client = await aiohttp_client(create_app(tuned))
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/channels",
        json={"type": "telegram", "name": "Shop bot", "token": TOKEN},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    return Telegram(client, api, admin, dict(await resp.json()))
