"""The widget's HTTP and WebSocket surface: the script, the demo page, sessions, messages.

Every request names its visitor by token (``X-Visitor-Token`` or the session body; the socket's
query string, since browsers cannot set headers on a WebSocket) and its page's Origin must be one
the channel allows; CORS headers are sent only to those origins, but for the session call's
refusal (``refusal_readable``), which a widget on any page must be able to read to stop.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.widget import conversation, visitors
from hub.channels.widget.availability import audience_of, working_hours
from hub.channels.widget.callback import CallbackIn
from hub.channels.widget.config import origin_allowed
from hub.channels.widget.keys import WIDGET
from hub.channels.widget.live import VisitorSocket
from hub.errors import DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from hub.http import CTX, WebSocketConnection, client_address, is_number, json, read_json
from hub.inbox.models import Channel
from hub.inbox.ratings import pending_rating
from hub.inbox.staff import normalize_email
from hub.phones import normalize_phone

routes = web.RouteTableDef()
CORS_ORIGIN = web.RequestKey("cors_origin", str)


class PageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str = Field(default="", max_length=4000)
    title: str = Field(default="", max_length=1000)
    referrer: str = Field(default="", max_length=4000)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    website_token: str = Field(max_length=64)
    visitor_token: str | None = Field(default=None, max_length=100)
    page: PageIn = Field(default_factory=PageIn)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    identifier: str | None = Field(default=None, max_length=200)
    identifier_hash: str | None = Field(default=None, max_length=128)


class VisitorMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=64)
    body: str


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str = Field(max_length=100)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


def _check_origin(request: web.Request, channel: Channel) -> None:
    origin = request.headers.get("Origin")
    own = request.app[CTX].settings.public_url
    if not origin_allowed(channel.config, origin, own) and origin != _request_origin(request):
        raise Forbidden("this site may not embed this widget", code="origin_not_allowed")
    if origin:
        request[CORS_ORIGIN] = origin


def _request_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _rate(request: web.Request, visitor_id: int | None = None) -> None:
    state = request.app[WIDGET]
    if not state.ip_limit.allow(client_address(request)):
        raise RateLimited("too many requests from this address; wait a little")
    if visitor_id is not None and not state.visitor_limit.allow(str(visitor_id)):
        raise RateLimited("you are sending messages too fast; wait a little")


def _clean_contact(name: str | None, email: str | None, phone: str | None) -> dict[str, str | None]:
    return {
        "name": name.strip() if name and name.strip() else None,
        "email": normalize_email(email) if email else None,
        "phone": normalize_phone(phone) if phone else None,
    }


def _check_body(request: web.Request, body: str) -> None:
    limit = request.app[CTX].settings.widget_max_message_chars
    if len(body) > limit:
        raise InvalidInput(f"the message is longer than {limit} characters", code="body_too_long")


@contextlib.contextmanager
def refusal_readable(request: web.Request) -> Iterator[None]:
    """Let the page read a refusal of the session call (an unknown website token, a site the
    channel does not allow): a browser hides an answer without CORS headers, so the widget
    would take it for a network failure and retry for ever, filling the page's console. The
    answer carries the refusal and nothing else; nothing was written before it."""
    try:
        yield
    except (NotFound, Forbidden):
        origin = request.headers.get("Origin")
        if origin:
            request[CORS_ORIGIN] = origin
        raise


async def _visitor(request: web.Request, token: str | None) -> tuple[visitors.Visitor, Channel]:
    try:
        visitor, channel = await visitors.visitor_by_token(request.app[CTX], token or "")
    except Unauthorized:
        # The widget starts a new session when its token is refused: an allowed page must be
        # able to read this 401, which a browser hides without CORS headers.
        origin = request.headers.get("Origin")
        if origin and await request.app[WIDGET].any_channel_allows(origin, request):
            request[CORS_ORIGIN] = origin
        raise
    _check_origin(request, channel)
    return visitor, channel


async def _returning(request: web.Request, token: str | None, channel: Channel) -> bool:
    """Whether ``token`` is a visitor of ``channel`` already (else the session makes one)."""
    if not token:
        return False
    try:
        _visitor_now, known_channel = await visitors.visitor_by_token(request.app[CTX], token)
    except Unauthorized:
        return False
    return known_channel.id == channel.id


@routes.get("/widget.js")
async def widget_script(request: web.Request) -> web.Response:
    """The embed script, gzip-compressed for a client that accepts it (``script.py``)."""
    script = request.app[WIDGET].script
    if script is None:
        raise web.HTTPNotFound(reason="the widget script is not installed")
    return script.response(request)


@routes.get("/")
async def demo_page(request: web.Request) -> web.Response:
    """The demo site that embeds the widget of the channel ``hub demo`` seeded."""
    token = await request.app[WIDGET].demo_token()
    path = request.app[CTX].settings.widget_dir / "demo.html"
    if token is None or not path.is_file():
        return web.Response(
            text="<!doctype html><meta charset=utf-8><title>Hub</title><p>No demo site here. "
            "Run <code>python -m hub demo</code> to seed one; operators sign in at "
            "<a href=/inbox>/inbox</a>.</p>",
            content_type="text/html",
        )
    html = path.read_text(encoding="utf-8").replace("{{WEBSITE_TOKEN}}", token)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


@routes.get("/demo.js")
async def demo_script(request: web.Request) -> web.StreamResponse:
    """The demo site's own script (a price calculator that keeps working beside the widget)."""
    path = request.app[CTX].settings.widget_dir / "demo.js"
    if not path.is_file():
        raise web.HTTPNotFound(reason="the demo site's script is not installed")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/javascript; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.route("OPTIONS", "/api/widget/v1/{tail:.*}")
async def preflight(request: web.Request) -> web.Response:
    """For pages of allowed sites; and for the session call from any page, whose only answer
    to a page that is not allowed is its refusal (see ``refusal_readable``)."""
    origin = request.headers.get("Origin")
    if origin is None or (
        request.match_info["tail"] != "sessions"
        and not await request.app[WIDGET].any_channel_allows(origin, request)
    ):
        raise Forbidden("this site may not embed a widget of this hub", code="origin_not_allowed")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Visitor-Token",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


@routes.post("/api/widget/v1/sessions")
async def create_session(request: web.Request) -> web.Response:
    _rate(request)
    body = await read_json(request, SessionIn)
    ctx = request.app[CTX]
    with refusal_readable(request):
        channel = await visitors.channel_by_token(ctx, body.website_token)
        _check_origin(request, channel)
    # Only new visitors count as new chats: an unknown token makes one too.
    returning = await _returning(request, body.visitor_token, channel)
    if not returning and not request.app[WIDGET].session_limit.allow(client_address(request)):
        raise RateLimited("too many new chats from this address; wait a little")
    contact = _clean_contact(body.name, body.email, body.phone)
    data, visitor = await visitors.start_session(
        ctx,
        channel,
        visitors.SessionIn(
            website_token=body.website_token,
            visitor_token=body.visitor_token,
            # The browser's own header, read into browser, system and device (``agent``).
            page={**body.page.model_dump(), "user_agent": request.headers.get("User-Agent", "")},
            name=contact["name"],
            email=contact["email"],
            phone=contact["phone"],
            identifier=body.identifier,
            identifier_hash=body.identifier_hash,
            # His city and country, kept with this touch (HUB_GEOIP_DATABASE; else nothing).
            place=await ctx.geoip.place(client_address(request)),
        ),
    )
    if body.identifier is not None:
        # Logged in on the site: his open tabs listen for his verified identity from now on.
        await request.app[WIDGET].live.rekey(visitor.id, visitors.external_id(visitor))
    audience = await audience_of(ctx, visitor, channel)
    data["operators_online"] = await request.app[WIDGET].presence.operators_online(audience)
    data["working_hours"] = working_hours(ctx.company.hours)
    data["channel"]["max_message_chars"] = ctx.settings.widget_max_message_chars
    data["channel"]["max_attachment_bytes"] = ctx.settings.max_attachment_bytes
    data["rating_request"] = await pending_rating(ctx, channel.id, visitors.external_id(visitor))
    return json(data)


@routes.get("/api/widget/v1/messages")
async def fetch_messages(request: web.Request) -> web.Response:
    _rate(request)
    visitor, channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    raw_after = request.query.get("after", "")
    if raw_after and (not is_number(raw_after) or len(raw_after) > 18):
        raise InvalidInput("after must be a message id", code="invalid_query")
    ctx = request.app[CTX]
    items = await visitors.history(ctx, visitor, int(raw_after) if raw_after else None)
    rating = await pending_rating(ctx, channel.id, visitors.external_id(visitor))
    return json({"items": items, "rating_request": rating})


async def _send(
    request: web.Request, visitor: visitors.Visitor, channel: Channel, client_id: str, body: str
) -> tuple[dict[str, Any], visitors.Visitor]:
    _check_body(request, body)
    message, duplicate, visitor = await conversation.post_visitor_message(
        request.app[CTX], visitor, channel, client_id, body
    )
    if not duplicate:
        # The visitor's other tabs show what he wrote here.
        await request.app[WIDGET].live.push(
            channel.id, visitors.external_id(visitor), {"type": "message", "message": message}
        )
    return {
        "type": "ack",
        "client_id": client_id,
        "message": message,
        "duplicate": duplicate,
    }, visitor


@routes.post("/api/widget/v1/messages")
async def send_message(request: web.Request) -> web.Response:
    """The REST fallback for networks that block WebSockets."""
    visitor, channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    _rate(request, visitor.id)
    body = await read_json(request, VisitorMessageIn)
    ack, _visitor_now = await _send(request, visitor, channel, body.client_id, body.body)
    return json(ack)


@routes.post("/api/widget/v1/callback")
async def callback(request: web.Request) -> web.Response:
    body = await read_json(request, CallbackIn)
    visitor, channel = await _visitor(request, body.visitor_token)
    _rate(request, visitor.id)
    phone = normalize_phone(body.phone)
    message, visitor = await conversation.request_callback(
        request.app[CTX], visitor, channel, phone, body.name, body
    )
    # His open tabs show the request.
    await request.app[WIDGET].live.push(
        channel.id, visitors.external_id(visitor), {"type": "message", "message": message}
    )
    return json({"message": message}, status=201)


@routes.post("/api/widget/v1/contact")
async def update_contact(request: web.Request) -> web.Response:
    body = await read_json(request, ContactIn)
    visitor, _channel = await _visitor(request, body.visitor_token)
    _rate(request)
    clean = _clean_contact(body.name, body.email, body.phone)
    contact = await conversation.update_visitor_contact(
        request.app[CTX], visitor, name=clean["name"], email=clean["email"], phone=clean["phone"]
    )
    return json({"contact": contact})


def _error_frame(exc: DomainError, client_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if isinstance(client_id, str):
        frame["client_id"] = client_id
    return frame


@routes.get("/ws/widget")
async def widget_socket(request: web.Request) -> web.StreamResponse:
    """A visitor's socket. It sits idle for hours in most tabs, so its coroutine keeps only
    what a frame needs: the visitor packed (``pack_visitor``) and the channel's id, not the
    decoded visitor, his channel's row or the opening's locals."""
    ws, sock, packed = await _open_socket(request)
    state = request.app[WIDGET]
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = jsonlib.loads(msg.data)
            except ValueError:
                state.live.offer(
                    sock,
                    {"type": "error", "code": "malformed_json", "message": "a frame must be JSON"},
                )
                continue
            packed = await _on_frame(request, sock, packed, frame)
    finally:
        state.live.remove(sock)
        await state.tabs.closed(sock.channel_id, sock.key)
        await state.live.sent(sock)
    return ws


async def _open_socket(request: web.Request) -> tuple[web.WebSocketResponse, VisitorSocket, str]:
    """Check and upgrade the request, join the fan-out and queue the ``ready`` frame."""
    _rate(request)  # opening a socket counts against the address like any request
    token = dict(parse_qsl(request.query_string, keep_blank_values=True)).get("visitor_token")
    visitor, channel = await _visitor(request, token)
    state = request.app[WIDGET]
    state.share_channel(channel)
    # No compression: frames are small JSON, and deflate state costs ~90 KiB per socket.
    ws = web.WebSocketResponse(heartbeat=25, max_msg_size=64 * 1024, compress=False)
    await ws.prepare(request)
    conn = WebSocketConnection(ws)
    sock = VisitorSocket(conn, visitor.id, channel.id, visitors.external_id(visitor))
    sock.audience = await audience_of(request.app[CTX], visitor, channel)
    online = sock.told_online = await state.presence.operators_online(sock.audience)
    hours = working_hours(request.app[CTX].company.hours)
    state.live.add(sock)
    await state.tabs.opened(channel.id, sock.key)
    # Queued first, with no await since joining the fan-out, so nothing overtakes it; what
    # came before it the widget fetches with messages?after=.
    state.live.offer(sock, {"type": "ready", "operators_online": online, "working_hours": hours})
    return ws, sock, visitors.pack_visitor(visitor)


async def _on_frame(request: web.Request, sock: VisitorSocket, packed: str, frame: Any) -> str:
    """Answer one frame; returns the visitor packed again if sending changed him."""
    state = request.app[WIDGET]
    kind = frame.get("type") if isinstance(frame, dict) else None
    client_id = frame.get("client_id") if isinstance(frame, dict) else None
    try:
        if kind == "message":
            _rate(request, sock.visitor_id)
            body = frame.get("body")
            if not isinstance(body, str) or not isinstance(client_id, str):
                raise InvalidInput("a message needs client_id and body", code="bad_frame")
            visitor, channel = visitors.unpack_visitor(packed), state.channel(sock.channel_id)
            ack, visitor = await _send(request, visitor, channel, client_id, body)
            packed = visitors.pack_visitor(visitor)
            state.live.offer(sock, ack)
        elif kind == "typing":
            await state.visitor_typing(visitors.unpack_visitor(packed))
        elif kind == "ping":
            state.live.offer(sock, {"type": "pong"})
        else:
            raise InvalidInput("frame type must be message, typing or ping", code="unknown_frame")
    except (DomainError, Unauthorized) as exc:
        state.live.offer(sock, _error_frame(exc, client_id))
    return packed


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Answers to an allowed page's requests, errors included, are readable by that page."""
    origin = request.get(CORS_ORIGIN)
    if origin and request.path.startswith("/api/widget/"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
