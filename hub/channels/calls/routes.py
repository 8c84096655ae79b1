"""The webhook every calls channel's provider sends to:
``/webhooks/calls/{channel_id}/{token}[/{tail}]``, GET or POST.

Checked in this order, and nothing is stored unless all pass: the channel's secret token in
the path (compared in constant time; a wrong id, token or type all answer 401 alike), the
size (a call event is small: past ``MAX_EVENT_BYTES`` 413), then the provider's own signature
(``Dialect.verify``: 401 ``invalid_signature``). A request the dialect cannot read answers
422. Stored events are answered as the provider expects (TwiML for Twilio, ``{"success":
true}`` for Sipuni, an empty 200 for the others; Zadarma's ``zd_echo`` check is answered with
its value).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote

from aiohttp import web

from hub.channels.cache import channel_by_secret
from hub.channels.calls.config import TYPE
from hub.channels.calls.dialect import CallRequest, Reply, Secrets
from hub.channels.calls.dialects import DIALECTS
from hub.channels.calls.keys import CALLS
from hub.channels.calls.recording_jobs import Wanted, queue
from hub.crm_sync.call_tracking import CallPolicy, record_call_events
from hub.errors import DomainError, NotFound, PayloadTooLarge, Unauthorized
from hub.http import CTX, METRICS, int_param

#: A provider's call event is a few hundred bytes; Mango's with its JSON a few KiB.
MAX_EVENT_BYTES = 64 * 1024
routes = web.RouteTableDef()


async def _form(request: web.Request) -> tuple[list[tuple[str, str]], bytes]:
    if request.content_length is not None and request.content_length > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"a call event is at most {MAX_EVENT_BYTES} bytes", code="body_too_large"
        )
    if request.content_type.startswith("multipart/"):
        posted = await request.post()
        return [(k, v) for k, v in posted.items() if isinstance(v, str)], b""
    body = await request.content.read(MAX_EVENT_BYTES + 1)
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"a call event is at most {MAX_EVENT_BYTES} bytes", code="body_too_large"
        )
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            raise DomainError("the form is not UTF-8", code="malformed_form") from exc
        return _pairs(text), body
    return [], body


def _pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)``, with each encoded part decoded once for
    the latest few thousand (a provider repeats its account, numbers and statuses in every
    event)."""
    out = []
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            out.append((_decoded(name), _decoded(value)))
    return out


def _decoded(part: str) -> str:
    return _unquoted(part) if "%" in part or "+" in part else part


@lru_cache(maxsize=4096)
def _unquoted(part: str) -> str:
    return unquote(part.replace("+", " "))


def _answer(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)


async def webhook(request: web.Request) -> web.Response:
    try:
        channel_id = int_param(request, "channel_id")
    except NotFound:
        channel_id = 0
    state = request.app[CALLS]
    channel = await channel_by_secret(state.channels, channel_id, TYPE, request.match_info["token"])
    if channel is None:
        raise Unauthorized("wrong channel or token", code="invalid_secret_token")
    dialect = DIALECTS[channel.config["provider"]]
    form, body = await _form(request)
    ctx = request.app[CTX]
    call = CallRequest(
        method=request.method,
        url=ctx.settings.public_url.rstrip("/") + request.path_qs,
        tail=request.match_info.get("tail", ""),
        query=list(request.query.items()),
        form=form,
        body=body,
        headers=request.headers,
    )
    early = dialect.early(call)
    if early is not None:
        return _answer(early)
    secrets = await state.secrets.get(channel.id) if dialect.secrets else Secrets(channel.secret)
    if not dialect.verify(call, secrets):
        raise Unauthorized("the provider's signature does not hold", code="invalid_signature")
    events = dialect.parse(call, channel.id)
    results = await record_call_events(ctx, CallPolicy.of(channel.config), events)
    opened = sum(1 for r in results if r is not None and r.outcome == "opened")
    if opened:
        request.app[METRICS].messages.labels(TYPE).inc(opened)
    state.recordings.fetch_new(
        channel.id, dialect, results, channel.config.get("recording_hosts", ())
    )
    if dialect.recording_api is not None and secrets.key:  # Zadarma's API key is optional
        wanted = [
            Wanted(r.message_id, channel.id, r.recording_ref, ev.call_id)
            for ev, r in zip(events, results, strict=True)
            if r is not None and r.message_id and r.recording_ref
        ]
        if wanted:
            await queue(ctx, wanted, dialect.recording_api.first_delay_s)
            state.recording_jobs.wake()
    return _answer(dialect.ok(call))


for path in (
    "/webhooks/calls/{channel_id}/{token}",
    "/webhooks/calls/{channel_id}/{token}/{tail:.+}",
):
    routes.get(path)(webhook)
    routes.post(path)(webhook)
