"""HTTP side of the web inbox: the cookie session's routes and checks, and the page's files.

The rules (cookie flags, CSRF token, Origin, Content-Security-Policy) are in ``hub.inbox.web``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.errors import Unauthorized
from hub.http import CTX, LOGIN_GUARD, client_address, int_param, json, principal, read_json
from hub.inbox import staff
from hub.inbox.http.session import check_origin
from hub.inbox.schemas import LoginIn
from hub.inbox.web import (
    SESSION_COOKIE,
    STATIC_DIR,
    STATIC_FILES,
    csrf_token,
    is_https,
    security_headers,
)
from hub.settings import Settings

routes = web.RouteTableDef()


def set_session_cookie(response: web.Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_hours * 3600,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(settings),
    )


@routes.post("/api/v1/auth/session")
async def create_session(request: web.Request) -> web.Response:
    settings = request.app[CTX].settings
    check_origin(request, settings, required=False)
    body = await read_json(request, LoginIn)
    token, operator = await request.app[LOGIN_GUARD].login(
        request.app[CTX], body.email, body.password, client_address(request)
    )
    response = json({"operator": operator, "csrf_token": csrf_token(settings, token)})
    set_session_cookie(response, settings, token)
    return response


@routes.get("/api/v1/auth/session")
async def current_session(request: web.Request) -> web.Response:
    """The page after a reload: who is logged in by the cookie, and the CSRF token again."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or "Authorization" in request.headers:
        raise Unauthorized("no session cookie", code="no_session")
    who = await principal(request)
    data: dict[str, Any] = {
        "operator": {
            "id": who.operator_id,
            "name": who.name,
            "role": who.role,
            "team_ids": sorted(who.team_ids),
        },
        "csrf_token": csrf_token(request.app[CTX].settings, token),
    }
    return json(data)


@routes.delete("/api/v1/auth/session")
async def delete_session(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or "Authorization" in request.headers:
        raise Unauthorized("no session cookie", code="no_session")
    await principal(request)  # checks the CSRF token and the Origin
    await staff.logout(request.app[CTX], token)
    response = json({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _page(request: web.Request, name: str = "index.html") -> web.StreamResponse:
    headers = security_headers(request.app[CTX].settings)
    headers["Content-Type"] = "text/html; charset=utf-8"
    return web.FileResponse(STATIC_DIR / name, headers=headers)


@routes.get("/inbox")
async def inbox_page(request: web.Request) -> web.StreamResponse:
    return _page(request)


@routes.get("/inbox/contacts/{contact_id}")
async def contact_page(request: web.Request) -> web.StreamResponse:
    int_param(request, "contact_id")
    return _page(request)


@routes.get("/inbox/deals")
async def deals_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "deals.html")


@routes.get("/inbox/deals/{deal_id}")
async def deal_page(request: web.Request) -> web.StreamResponse:
    int_param(request, "deal_id")
    return _page(request, "deals.html")


@routes.get("/inbox/reports")
async def reports_page(request: web.Request) -> web.StreamResponse:
    """Managers' reports; the page asks the API, which refuses operators."""
    return _page(request, "reports.html")


@routes.get("/admin")
async def admin_page(request: web.Request) -> web.StreamResponse:
    """The admin area; the page asks the API, which refuses anyone but admins."""
    return _page(request, "admin.html")


@routes.get("/inbox/static/{name}")
async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound(reason="no such file")
    headers = security_headers(request.app[CTX].settings)
    headers["Content-Type"] = content_type
    return web.FileResponse(STATIC_DIR / name, headers=headers)
