"""Twilio Voice (reference A.1): status and recording callbacks, form-encoded.

Signed with ``X-Twilio-Signature``: HMAC-SHA1, keyed with the account's auth token, over the
URL Twilio called followed by every form parameter (sorted by name, then value) as
``name + value``; Base64. Twilio's SDK also accepts the URL with and without the default port,
as Twilio's own signing is inconsistent there, and so does this check. A request with a JSON
body carries ``bodySHA256`` (the body's hex SHA-256) in its URL, and its signature covers the
URL alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import orjson

from hub.channels.call_event import CallEvent
from hub.channels.calls.dialect import (
    BadPayload,
    CallRequest,
    Dialect,
    Reply,
    SecretOption,
    Secrets,
    equal,
    integer,
    number,
    phone,
    required,
)

#: CallStatus → (what happened, the call's stage).
STATUSES: dict[str, tuple[str, str]] = {
    "queued": ("start", "ringing"),
    "initiated": ("start", "ringing"),
    "ringing": ("start", "ringing"),
    "in-progress": ("answer", "answered"),
    "completed": ("end", "answered"),
    "busy": ("end", "busy"),
    "no-answer": ("end", "missed"),
    "canceled": ("end", "missed"),
    "failed": ("end", "missed"),
}
FORM = "application/x-www-form-urlencoded"
TWIML_OK = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _form_text(form: Sequence[tuple[str, str]]) -> str:
    """What the signature covers after the URL, as the SDK's ``compute_signature``: each
    name once, sorted, with its distinct values sorted (the distinct pairs, sorted)."""
    return "".join([name + value for name, value in sorted(set(form))])


def _signed(url: str, form_text: str, token: str) -> str:
    digest = hmac.digest(token.encode(), (url + form_text).encode(), "sha1")
    return base64.b64encode(digest).decode()


@lru_cache(maxsize=256)
def _url_variants(url: str) -> tuple[str, str]:
    """The URL without any port, and with the scheme's default port when it has none (the
    SDK's ``remove_port`` and ``add_port``): the URL as called is always one of them.
    Remembered for the latest few hundred URLs (a channel's is always the same)."""
    parts = urlsplit(url)
    host = parts.netloc.split(":")[0] if parts.port else parts.netloc
    bare = urlunsplit(parts._replace(netloc=host))
    if parts.port:
        return bare, url
    port = 443 if parts.scheme == "https" else 80
    return bare, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


@lru_cache(maxsize=1024)
def _timestamp(text: str) -> datetime:
    """An RFC 2822 ``Timestamp``, remembered for the latest thousand: it has whole seconds,
    so under load (when its parsing counts) the events of a second share it."""
    return parsedate_to_datetime(text)


def _body_hash(request: CallRequest) -> str | None:
    """The ``bodySHA256`` of a request with a JSON body (None for a form)."""
    if request.method != "POST" or request.form or request.header("Content-Type").startswith(FORM):
        return None
    return dict(parse_qsl(urlsplit(request.url).query)).get("bodySHA256")


def verify(request: CallRequest, secrets: Secrets) -> bool:
    """As the SDK's ``RequestValidator.validate``: a JSON body's hex SHA-256 must be the
    URL's ``bodySHA256``, and then the signature covers the URL alone."""
    presented = request.header("X-Twilio-Signature")
    if not presented or not secrets.secret:
        return False
    form: Sequence[tuple[str, str]] = request.form if request.method == "POST" else ()
    claimed = _body_hash(request)
    if claimed is not None:
        if not equal(hashlib.sha256(request.body).hexdigest(), claimed):
            return False
        form = ()
    text = _form_text(form)
    return any(
        equal(presented, _signed(url, text, secrets.secret)) for url in _url_variants(request.url)
    )


def _params(request: CallRequest) -> dict[str, str]:
    """The request's values; a JSON body's (the ``bodySHA256`` variant) are its fields."""
    p = request.params()
    if _body_hash(request) is None:
        return p
    try:
        doc = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise BadPayload("the body is not a JSON document") from exc
    if not isinstance(doc, dict):
        raise BadPayload("the body is not a JSON object")
    p.update({k: str(v) for k, v in doc.items() if isinstance(v, str | int | float)})
    return p


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = _params(request)
    call_id = p.get("ParentCallSid") or required(p, "CallSid")
    if len(call_id) > 64:
        raise BadPayload("CallSid is longer than 64 characters")
    at = None
    if p.get("Timestamp"):
        try:
            at = _timestamp(p["Timestamp"])
        except (TypeError, ValueError) as exc:
            raise BadPayload("Timestamp is not an RFC 2822 date") from exc
    outbound = p.get("Direction", "inbound").startswith("outbound")
    customer, company = (p.get("To"), p.get("From")) if outbound else (p.get("From"), p.get("To"))
    caller, hidden = phone(customer)
    common: dict[str, Any] = {
        "channel_id": channel_id,
        "call_id": call_id,
        "direction": "outbound" if outbound else "inbound",
        "caller": caller,
        "hidden": hidden,
        "called": number(company),
    }
    if p.get("RecordingSid") or p.get("RecordingUrl"):
        if p.get("RecordingStatus", "completed") != "completed" or not p.get("RecordingUrl"):
            return []
        return [CallEvent(kind="record", recording_url=p["RecordingUrl"], **common)]
    status = required(p, "CallStatus")
    if status not in STATUSES:
        raise BadPayload(f"unknown CallStatus {status!r}")
    kind, stage = STATUSES[status]
    duration = integer(p.get("CallDuration"), "CallDuration")
    return [
        CallEvent(
            kind=kind,
            stage=stage,
            started_at=at if kind == "start" else None,
            answered_at=at if kind == "answer" else None,
            ended_at=at if kind == "end" else None,
            duration_s=duration if stage == "answered" else (0 if kind == "end" else None),
            **common,
        )
    ]


def _ok(request: CallRequest) -> Reply:
    return Reply(200, TWIML_OK, "text/xml")


def _setup(url: str) -> list[str]:
    return [
        f"Status Callback URL (HTTP POST), events initiated ringing answered completed: {url}",
        f"Recording Status Callback URL (HTTP POST): {url}",
        "requests are checked with X-Twilio-Signature against the auth token given here",
    ]


DIALECT = Dialect(
    "twilio",
    "Twilio",
    parse,
    verify,
    _ok,
    secrets=(SecretOption("auth_token", "--auth-token", "the account's Auth Token"),),
    recording_hosts=("api.twilio.com",),
    setup=_setup,
    signature="X-Twilio-Signature (HMAC-SHA1 with the auth token)",
)
