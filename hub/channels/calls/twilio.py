"""Twilio Voice (reference A.1): status and recording callbacks, form-encoded.

Signed with ``X-Twilio-Signature``: HMAC-SHA1, keyed with the account's auth token, over the
URL Twilio called followed by every form parameter (sorted by name, then value) as
``name + value``; Base64. Twilio's SDK also accepts the URL with and without the default port,
as Twilio's own signing is inconsistent there, and so does this check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
TWIML_OK = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _signed(url: str, form: list[tuple[str, str]], token: str) -> str:
    text = url + "".join(name + value for name, value in sorted(form))
    digest = hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as called, with the scheme's default port added, and with it removed."""
    parts = urlsplit(url)
    port = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    out = [url]
    if port is not None:
        if parts.port is None:
            out.append(urlunsplit(parts._replace(netloc=f"{host}:{port}")))
        elif parts.port == port:
            out.append(urlunsplit(parts._replace(netloc=host)))
    return out


def verify(request: CallRequest, secrets: Secrets) -> bool:
    presented = request.header("X-Twilio-Signature")
    if not presented or not secrets.secret:
        return False
    form = list(request.form) if request.method == "POST" else []
    return any(
        equal(presented, _signed(url, form, secrets.secret)) for url in _url_variants(request.url)
    )


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = request.params()
    call_id = p.get("ParentCallSid") or required(p, "CallSid")
    if len(call_id) > 64:
        raise BadPayload("CallSid is longer than 64 characters")
    at = None
    if p.get("Timestamp"):
        try:
            at = parsedate_to_datetime(p["Timestamp"])
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
