"""A customer's site on an origin of its own, embedding the hub's widget from the hub's origin.

A small server of its own on another port of 127.0.0.1 (another origin than the hub's), so the
widget's every call to the hub is a cross-origin one, with CORS preflights, as on a real site.
It is a real server rather than a page the browser's routing answers: Chromium refuses requests
from a page of an unknown address to a loopback one (private network access).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ForeignSite:
    origin: str = ""
    pages: dict[str, str] = field(default_factory=dict)

    async def open(
        self, page: Any, hub_url: str, website_token: str, *, path: str = "/", lang: str = "ru"
    ) -> None:
        """Put a shop page embedding the widget at ``path`` of this site, and go to it."""
        self.pages[path] = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Печной мир</title></head><body><h1>Печной мир</h1>"
            "<p>Печи, камины и дымоходы с установкой.</p>"
            f'<script src="{hub_url}/widget.js" data-channel="{website_token}" async></script>'
            "</body></html>"
        )
        await page.goto(self.origin + path)


@contextlib.asynccontextmanager
async def foreign_site() -> AsyncIterator[ForeignSite]:
    site = ForeignSite()

    async def serve(request: web.Request) -> web.Response:
        html = site.pages.get(request.path)
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        host, port = runner.addresses[0][:2]
        site.origin = f"http://{host}:{port}"
        yield site
    finally:
        await runner.cleanup()
