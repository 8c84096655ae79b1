"""HTTP plumbing shared by every route: errors as JSON, bodies validated, the caller known.

Routes stay thin: they parse with ``read_json``, find the caller with ``principal``, call one
action or query, and answer with ``json``. Whatever goes wrong becomes
``{"error": {"code", "message"}}`` with a 4xx status (a 500 says nothing of the internals; a
503 ``database_unavailable`` with ``Retry-After`` says the database is away, see
``hub.dbhealth``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from hub import jsoncodec
from hub.context import HubContext
from hub.db import MAX_ID
from hub.dbhealth import is_outage
from hub.errors import DatabaseUnavailable, DomainError, NotFound, Unauthorized
from hub.inbox.auth import Principal
from hub.inbox.http.session import session_token
from hub.inbox.login_guard import LoginGuard
from hub.inbox.realtime import RealtimeHub
from hub.inbox.typing import OperatorTyping
from hub.metrics import Metrics
from hub.presence import Presence

log = logging.getLogger(__name__)

CTX = web.AppKey("ctx", HubContext)
METRICS = web.AppKey("metrics", Metrics)
REALTIME = web.AppKey("realtime", RealtimeHub)
#: Who has the inbox open, on every process: the widget's "operators online" and automatic
#: assignment's "who may take a conversation".
PRESENCE = web.AppKey("presence", Presence)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
#: The operator socket's typing frames; channels whose customers see typing add a relay.
TYPING = web.AppKey("typing", OperatorTyping)
PRINCIPAL_KEY = web.RequestKey("principal", Principal)

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(data: Any) -> str:
    return jsoncodec.dumps(data)


def json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=jsoncodec.dumps_bytes(data), status=status, content_type="application/json"
    )


def error_response(status: int, code: str, message: str) -> web.Response:
    return json({"error": {"code": code, "message": message}}, status=status)


def database_unavailable(exc: DatabaseUnavailable) -> web.Response:
    """503 with ``Retry-After``: the database is away, the request may be sent again."""
    response = error_response(exc.status, exc.code, exc.message)
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except DatabaseUnavailable as exc:
        status = 503
        return database_unavailable(exc)
    except DomainError as exc:
        status = exc.status
        response = error_response(exc.status, exc.code, exc.message)
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except ValidationError as exc:
        status = 422
        return error_response(422, "validation_error", _validation_message(exc))
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        if exc.status == 413:
            return error_response(
                413,
                "body_too_large",
                f"the body is larger than {request.app[CTX].settings.max_body_bytes} bytes",
            )
        code = _HTTP_CODES.get(exc.status, "http_error")
        answer = error_response(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # a 405 names the methods the resource has (RFC 9110)
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except Exception as exc:
        if is_outage(exc):  # from outside the bounded calls; counted and logged all the same
            status = 503
            return database_unavailable(request.app[CTX].health.failed(exc))
        # The route's pattern, not the path: a path may hold a secret (a calls channel's token).
        resource = request.match_info.route.resource
        where = resource.canonical if resource is not None else request.path
        log.exception("unhandled error on %s %s", request.method, where)
        return error_response(500, "internal_error", "something went wrong on the hub's side")
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[METRICS].observe_request(
            request.method, name, status, time.perf_counter() - started
        )


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse the body as ``model``; malformed JSON and wrong fields become clear 4xx errors."""
    if (
        request.content_length is not None
        and request.content_length > request.app[CTX].settings.max_body_bytes
    ):
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.app[CTX].settings.max_body_bytes, actual_size=request.content_length
        )
    raw = await request.read()
    if not raw:
        raise DomainError("the request needs a JSON body", code="missing_body")
    try:
        data = jsoncodec.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError("the body is not valid JSON", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise DomainError("the body must be a JSON object", code="malformed_json")
    # Strict, as the document says: true is not the integer 1, "5" is not 5, a number is not a
    # date. Validated from the JSON text itself: pydantic's strict mode reads dates from JSON
    # strings only there.
    return model.model_validate_json(raw, strict=True)


def client_address(request: web.Request) -> str:
    """The client's address: the connection's, or behind a proxy (``HUB_BEHIND_PROXY``) the
    last ``X-Forwarded-For`` entry, the one the proxy vouches for."""
    if request.app[CTX].settings.behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.remote or "unknown"


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token")
    return token.strip()


async def principal(request: web.Request) -> Principal:
    """The operator behind the request's bearer token, else its session cookie (with the CSRF
    and Origin checks of ``hub.inbox.web``), checked against the database."""
    cached: Principal | None = request.get(PRINCIPAL_KEY)
    if cached is not None:
        return cached
    ctx = request.app[CTX]
    cookie_token = None
    if "Authorization" not in request.headers:
        cookie_token = session_token(request, ctx.settings)
    token = cookie_token or bearer_token(request)
    found = await ctx.tokens.principal(token)
    request[PRINCIPAL_KEY] = found
    return found


def is_number(raw: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` also accepts digits ``int()`` refuses ("²")."""
    return raw.isascii() and raw.isdigit()


def int_param(request: web.Request, name: str) -> int:
    raw = request.match_info.get(name, "")
    if not is_number(raw) or len(raw) > 18:
        raise DomainError(f"{name} must be a positive integer", code="invalid_id")
    value = int(raw)
    if value > MAX_ID:
        what = name.removesuffix("_id")
        raise NotFound(f"{what} {value} not found", code=f"{what}_not_found")
    return value


def _one_query_value(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise DomainError(f"{name} is given more than once", code="invalid_query")
    return values[0] if values else None


def query_value(request: web.Request, name: str) -> str | None:
    """A query parameter's value, None when it is absent. Given, it has a value (``status=``
    is not "any status") and is given once (of two, which would count?)."""
    value = _one_query_value(request, name)
    if value == "":
        raise DomainError(f"{name} is empty: leave it out or give a value", code="invalid_query")
    return value


def query_text(request: web.Request, name: str) -> str | None:
    """Free text (a search, a date field, a cursor): empty is the same as absent."""
    return _one_query_value(request, name) or None


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = query_value(request, name)
    if raw is None:
        return default
    if not is_number(raw) or len(raw) > 18:
        raise DomainError(f"{name} must be a positive integer", code="invalid_query")
    # Beyond the id range every filter means the same as at its edge (no row has a larger id).
    return min(int(raw), MAX_ID)


def query_flag(request: web.Request, name: str) -> bool:
    """``true`` or ``false``; absent is false."""
    raw = query_value(request, name)
    if raw not in (None, "true", "false"):
        raise DomainError(f"{name} must be true or false", code="invalid_query")
    return raw == "true"


class WebSocketConnection:
    """An aiohttp WebSocket as the realtime layers see it: JSON frames out, a close code."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self._ws.send_frame(jsoncodec.dumps_bytes(frame), WSMsgType.TEXT)

    async def close(self, code: int, message: str) -> None:
        await self._ws.close(code=code, message=message.encode())
