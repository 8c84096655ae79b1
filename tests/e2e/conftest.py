"""Browser tests: the real hub on a real port, driven by Debian's Chromium through playwright.

* ``browser``: headless Chromium (``/usr/bin/chromium``); skipped when it or the ``playwright``
  package is missing, except with ``CI=true``, where that fails the run. One Chromium per test
  process (launching it and playwright's driver cost about a second of CPU, 70 times a run); each
  test gets it with no context open, and every context (page) the test opened is closed when it
  ends, so tests share no cookies, storage or pages. So every test here, and every async fixture
  it uses, runs on pytest-asyncio's session event loop, the loop of that Chromium: a fixture is
  declared with ``@pytest_asyncio.fixture(loop_scope="session")`` (or is not async), which
  ``pytest_collection_modifyitems`` checks.
* ``live_server``: ``hub.app.create_app`` served by ``AppRunner`` + ``TCPSite`` on 127.0.0.1 and a
  free port, on the embedded backend only (a copy of the migrated SQLite template, in-process bus):
  the browser tests check the widget; the backends are covered by the protocol tests.
* ``hub``: an admin, operators, widget channels and the operator's side of a conversation, over
  the hub's public REST API and operator WebSocket.
* ``site``: a shop's web server of its own on another port of 127.0.0.1, another origin than the
  hub's, so the widget's requests to the hub are cross-origin for real (preflights, CORS headers);
  ``open_site`` puts a page embedding the widget on it and goes there. A real server rather than a
  page the browser's routing answers: Chromium refuses requests from a page of an unknown address
  to a loopback one (private network access).

Screenshots are written only when ``HUB_SCREENSHOTS_DIR`` is set (``docs/screenshots`` refreshes
the ones in the docs).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import itertools
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from hub.app import create_app
from hub.http import CTX
from hub.inbox.staff import create_operator
from hub.settings import Settings
from tests.conftest import IN_CI, base_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SCREENSHOTS = os.environ.get("HUB_SCREENSHOTS_DIR", "")
_counter = itertools.count(1)


def _missing(why: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run under CI=true: {why}", pytrace=False)
    pytest.skip(why)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests on the session's event loop; their async fixtures on it too."""
    here = Path(__file__).resolve().parent
    on_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if not pytest_asyncio.is_async_test(item) or here not in Path(item.path).parents:
            continue
        item.add_marker(on_session_loop, append=False)
        for defs in item._fixtureinfo.name2fixturedefs.values():  # type: ignore[attr-defined]
            # The closest definition, and the ones it overrides while it asks for them.
            used = [defs[-1]]
            while used[-1].argname in used[-1].argnames and len(used) < len(defs):
                used.append(defs[-1 - len(used)])
            for fixturedef in used:
                func = fixturedef.func
                asynchronous = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
                if asynchronous and getattr(func, "_loop_scope", None) != "session":
                    raise pytest.UsageError(
                        f"{fixturedef.argname} ({func.__module__}), used by {item.nodeid}: a "
                        "browser test's async fixture needs "
                        '@pytest_asyncio.fixture(loop_scope="session")'
                    )


@dataclass
class Chromium:
    """The test process's playwright driver and its Chromium, launched again if it went away."""

    playwright: Any
    browser: Any = None

    async def ready(self) -> Any:
        if self.browser is None or not self.browser.is_connected():
            self.browser = await self.playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self.browser


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    if not HAVE_CHROMIUM:
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("the playwright package is missing (pip install playwright)")
    async with async_playwright() as p:
        held = Chromium(p)
        try:
            yield held
        finally:
            if held.browser is not None and held.browser.is_connected():
                await held.browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Chromium) -> AsyncIterator[Any]:
    """The process's Chromium with no context open; the test's contexts closed after it."""
    b = await chromium.ready()
    for left in list(b.contexts):  # a test that failed in its own teardown
        await left.close()
    try:
        yield b
    finally:
        for ctx in list(b.contexts):
            await ctx.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, port: int) -> Settings:
    """Embedded only (overrides the parametrized fixture of tests/conftest.py)."""
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    return base_settings(
        database_url=f"sqlite+aiosqlite:///{db}",
        redis_url=None,
        public_url=f"http://127.0.0.1:{port}",
    )


@dataclass
class LiveServer:
    url: str
    app: web.Application


@pytest_asyncio.fixture(loop_scope="session")
async def live_server(settings: Settings, port: int) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        await runner.cleanup()


@dataclass
class Operator:
    id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Hub:
    """The operator's side of the tests, through the hub's public API."""

    url: str
    app: web.Application
    http: aiohttp.ClientSession
    admin: Operator | None = None
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    async def operator(self, name: str, role: str = "admin") -> Operator:
        n = next(_counter)
        email, password = f"e2e{n}@example.com", f"password-{n}-long-enough"
        created = await create_operator(
            self.app[CTX], email=email, name=name, role=role, password=password
        )
        async with self.http.post(
            f"{self.url}/api/v1/auth/login", json={"email": email, "password": password}
        ) as resp:
            assert resp.status == 200, await resp.text()
            token = (await resp.json())["token"]
        return Operator(int(created.operator["id"]), name, token)

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        assert self.admin is not None
        async with self.http.request(
            method, self.url + path, headers=kw.pop("headers", self.admin.headers), **kw
        ) as resp:
            assert resp.status == expect, f"{method} {path}: {resp.status} {await resp.text()}"
            return await resp.json()

    async def widget_channel(self, name: str = "ПечиПро", **config: Any) -> dict[str, Any]:
        """A widget channel: ``id``, ``website_token`` and ``secret`` (for identity hashes)."""
        body = {"type": "widget", "name": name, **config}
        return dict(await self.call("POST", "/api/v1/channels", 201, json=body))

    async def conversations(self, channel_id: int) -> list[dict[str, Any]]:
        data = await self.call("GET", f"/api/v1/conversations?channel={channel_id}")
        return list(data["items"])

    async def conversation_id(self, channel_id: int) -> int:
        items = await self.conversations(channel_id)
        assert len(items) == 1, items
        return int(items[0]["id"])

    async def reply(
        self, conv_id: int, body: str, *, private: bool = False, op: Operator | None = None
    ) -> dict[str, Any]:
        who = op or self.admin
        assert who is not None
        return dict(
            await self.call(
                "POST",
                f"/api/v1/conversations/{conv_id}/messages",
                201,
                json={"body": body, "private": private},
                headers=who.headers,
            )
        )

    async def messages(self, conv_id: int) -> list[dict[str, Any]]:
        data = await self.call("GET", f"/api/v1/conversations/{conv_id}/messages?limit=200")
        return list(data["items"])

    async def go_online(self, op: Operator) -> aiohttp.ClientWebSocketResponse:
        """Open an operator socket: the widget then says operators are online."""
        ws = await self.http.ws_connect(f"{self.url}/ws/operator", headers=op.headers)
        self.sockets.append(ws)
        return ws


def identifier_hash(secret: str, identifier: str) -> str:
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


@pytest_asyncio.fixture(loop_scope="session")
async def hub(live_server: LiveServer) -> AsyncIterator[Hub]:
    async with aiohttp.ClientSession() as http:
        h = Hub(live_server.url, live_server.app, http)
        h.admin = await h.operator("Анна Смирнова")
        try:
            yield h
        finally:
            for ws in h.sockets:
                with contextlib.suppress(Exception):
                    await ws.close()


def screenshot_path(name: str) -> str | None:
    if not SCREENSHOTS:
        return None
    Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
    return str(Path(SCREENSHOTS) / name)


# --- a shop's site on another origin ----------------------------------------------------------


@dataclass
class Site:
    """The shop's own web server: ``pages`` maps a path to its HTML."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)


@pytest_asyncio.fixture(loop_scope="session")
async def site() -> AsyncIterator[Site]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    shop = Site(f"http://127.0.0.1:{port}")

    async def page(request: web.Request) -> web.Response:
        html = shop.pages.get(request.path)
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield shop
    finally:
        await runner.cleanup()


async def open_site(
    page: Any, site: Site, hub: Hub, token: str, *, lang: str = "ru", path: str = "/"
) -> None:
    """The shop's page with the hub's widget on it."""
    site.pages[path] = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Shop</title>'
        f"</head><body><h1>Печи и камины</h1>"
        f'<script src="{hub.url}/widget.js" data-channel="{token}" async></script></body></html>'
    )
    await page.goto(site.url + path)
