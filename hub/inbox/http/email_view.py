"""``GET /api/v1/messages/{id}/email.html``: an email's HTML for the inbox's sandboxed frame
(``hub.inbox.email_view``)."""

from __future__ import annotations

from aiohttp import web

from hub.http import CTX, int_param, principal, query_flag
from hub.inbox.email_view import email_page, frame_policy

routes = web.RouteTableDef()


@routes.get("/api/v1/messages/{message_id}/email.html")
async def email_html(request: web.Request) -> web.Response:
    who = await principal(request)
    images = query_flag(request, "images")
    page = await email_page(request.app[CTX], who, int_param(request, "message_id"), images)
    return web.Response(
        text=page,
        content_type="text/html",
        headers={
            "Content-Security-Policy": frame_policy(images),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )
