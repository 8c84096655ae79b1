"""Zadarma (reference A.2): PBX notifications, form-encoded, one per event.

Signed in the ``Signature`` header: Base64 of the lowercase hex HMAC-SHA1 (PHP's
``hash_hmac`` default) of three fields that depend on the event, keyed with the API secret.
Saving the URL in the cabinet sends ``zd_echo``, answered with its own value.

Recordings come by id only (``call_id_with_rec``): given the account's API key too, the hub
asks ``GET /v1/pbx/record/request/?call_id=…&format=json`` for a download link, signed as the
official SDK (zadarma/user-api-v1, ``Client::_getAuthHeader``) signs: the parameters sorted by
name and joined as PHP's ``http_build_query`` (RFC 1738: a space is ``+``), then
``Authorization: <key>:<Base64 of the hex HMAC-SHA1 of method path + parameters + their hex
MD5, keyed with the secret>``. The answer is ``{"status": "success", "link": …}`` (or
``links``); the file is ready some 40 s after NOTIFY_RECORD.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import orjson

from hub.channels.call_event import CallEvent
from hub.channels.calls.dialect import (
    ApiHttp,
    BadPayload,
    CallRequest,
    Dialect,
    NotReady,
    RecordingApi,
    Reply,
    SecretOption,
    Secrets,
    equal,
    integer,
    number,
    phone,
    required,
)

#: The fields each event's signature string joins, in order.
SIGNED: dict[str, tuple[str, str, str]] = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_IVR": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec", ""),
}
#: ``disposition`` → the call's stage.
DISPOSITIONS = {"answered": "answered", "busy": "busy"}


def signature(secret: str, text: str) -> str:
    hexdigest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hexdigest.encode()).decode()


RECORD_REQUEST = "/v1/pbx/record/request/"


def _php(text: str) -> str:
    """PHP's ``urlencode``: Python's also leaves ``~`` as it is."""
    return quote_plus(text, safe="-_.").replace("~", "%7E")


def _query(params: dict[str, str]) -> str:
    """PHP's ``http_build_query`` (RFC 1738) of ``ksort``ed parameters."""
    return "&".join(f"{_php(k)}={_php(v)}" for k, v in sorted(params.items()))


def api_authorization(key: str, secret: str, method: str, params: dict[str, str]) -> str:
    """The ``Authorization`` header of an API request (the SDK's ``_getAuthHeader``)."""
    query = _query(params)
    text = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324 - Zadarma's
    return f"{key}:{signature(secret, text)}"


async def recording_link(
    api: ApiHttp, base_url: str, secrets: Secrets, ref: str, call_id: str
) -> str:
    if not secrets.key or not secrets.secret:
        raise NotReady("the channel has no API key: give api_key to fetch recordings")
    params = {"call_id": ref, "format": "json"}
    auth = api_authorization(secrets.key, secrets.secret, RECORD_REQUEST, params)
    answer = await api.send(
        "GET",
        f"{base_url.rstrip('/')}{RECORD_REQUEST}?{_query(params)}",
        headers={"Authorization": auth},
    )
    try:
        doc = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        said = doc.get("message") if isinstance(doc, dict) else None
        raise NotReady(f"the API answered {answer.status}: {str(said or '')[:200]}")
    links = doc.get("links") if isinstance(doc.get("links"), list) else []
    link = doc.get("link") or (links[0] if links else None)
    if not isinstance(link, str) or not link:
        raise NotReady("the API answered no link")
    return link


def verify(request: CallRequest, secrets: Secrets) -> bool:
    p = request.params()
    fields = SIGNED.get(p.get("event", ""))
    presented = request.header("Signature")
    if fields is None or not presented or not secrets.secret:
        return False
    text = "".join(p.get(name, "") for name in fields if name)
    return equal(presented, signature(secrets.secret, text))


def _time(raw: str) -> datetime | None:
    """``call_start`` as ``YYYY-MM-DD HH:MM:SS``; its zone is not documented: read as UTC."""
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadPayload("call_start is not YYYY-MM-DD HH:MM:SS") from exc


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = request.params()
    event = required(p, "event")
    if event not in SIGNED:
        return []  # SMS and other notifications are not calls
    call_id = required(p, "pbx_call_id")
    base: dict[str, Any] = {"channel_id": channel_id, "call_id": call_id}
    if event == "NOTIFY_RECORD":
        return [CallEvent(kind="record", recording_ref=required(p, "call_id_with_rec"), **base)]
    started = _time(required(p, "call_start"))
    outbound = event.startswith("NOTIFY_OUT")
    caller, hidden = phone(p.get("destination") if outbound else p.get("caller_id"))
    parties: dict[str, Any] = {
        "direction": "outbound" if outbound else "inbound",
        "caller": caller,
        "hidden": hidden,
        "called": number(p.get("caller_id") if outbound else p.get("called_did")),
        "started_at": started,
    }
    if event in ("NOTIFY_START", "NOTIFY_INTERNAL", "NOTIFY_IVR", "NOTIFY_OUT_START"):
        return [CallEvent(kind="start", stage="ringing", **base, **parties)]
    if event == "NOTIFY_ANSWER":
        operator = p.get("internal") or p.get("destination") or None
        return [CallEvent(kind="answer", stage="answered", operator=operator, **base, **parties)]
    stage = DISPOSITIONS.get(p.get("disposition", ""), "missed")
    recorded = p.get("is_recorded") == "1" and p.get("call_id_with_rec")
    return [
        CallEvent(
            kind="end",
            stage=stage,
            operator=(p.get("internal") or None) if stage == "answered" else None,
            duration_s=integer(p.get("duration"), "duration") if stage == "answered" else 0,
            recording_ref=p.get("call_id_with_rec") if recorded else None,
            **base,
            **parties,
        )
    ]


def _early(request: CallRequest) -> Reply | None:
    echo = dict(request.query).get("zd_echo")
    if echo is None:
        return None
    return Reply(200, echo[:200].encode())


def _setup(url: str) -> list[str]:
    return [
        f"Settings → Integrations and API → Notifications, 'Call notifications in PBX': {url}",
        "tick NOTIFY_START, NOTIFY_ANSWER, NOTIFY_END, NOTIFY_OUT_START, NOTIFY_OUT_END, "
        "NOTIFY_RECORD; the hub answers the zd_echo check itself",
        "requests are checked with the Signature header against the API secret given here",
    ]


DIALECT = Dialect(
    "zadarma",
    "Zadarma",
    parse,
    verify,
    lambda request: Reply(200),
    secrets=(
        SecretOption("api_secret", "--api-secret", "the API secret (Settings → API)"),
        SecretOption(
            "api_key",
            "--api-key",
            "the API key (Settings → API), to fetch call recordings",
            slot="key",
            required=False,
        ),
    ),
    recording_hosts=("zadarma.com",),
    setup=_setup,
    early=_early,
    signature="Signature header (Base64 of hex HMAC-SHA1 with the API secret)",
    recording_api=RecordingApi("https://api.zadarma.com", recording_link, first_delay_s=40.0),
)
