"""Mango Office VPBX "Realtime" API (reference A.3): ``events/call``, ``events/summary`` and
``events/recording`` under the base URL, each a form with ``vpbx_api_key``, ``sign`` and
``json``.

``sign`` is the hex SHA-256 of key + json + salt, over the ``json`` text exactly as received
(never re-serialised). ``entry_result`` (1 talked, 0 missed) tells answered from missed;
``disconnect_reason`` alone cannot (1110 ends both).

Recordings come by id only (``events/recording``): the hub POSTs ``queries/recording/post``
with the same three fields, ``json`` being ``{"recording_id": …, "action": "download"}``
signed with the same key and salt; Mango answers 302 to a one-time link, which is fetched only
if it is on Mango's hosts (or the channel's ``recording_hosts``). Saving takes time: an answer
without the redirect is tried again later.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urljoin

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
    unix_time,
)

BUSY = 1121


def sign(key: str, json_text: str, salt: str) -> str:
    return hashlib.sha256((key + json_text + salt).encode()).hexdigest()


async def recording_link(
    api: ApiHttp, base_url: str, secrets: Secrets, ref: str, call_id: str
) -> str:
    body = orjson.dumps({"recording_id": ref, "action": "download"}).decode()
    answer = await api.send(
        "POST",
        f"{base_url.rstrip('/')}/queries/recording/post",
        headers={},
        form={
            "vpbx_api_key": secrets.key,
            "sign": sign(secrets.key, body, secrets.secret),
            "json": body,
        },
    )
    if answer.status not in (301, 302, 303, 307, 308) or not answer.location:
        raise NotReady(f"the API answered {answer.status} without a link")
    return urljoin(base_url, answer.location)


def verify(request: CallRequest, secrets: Secrets) -> bool:
    form = dict(request.form)
    key, presented, body = form.get("vpbx_api_key", ""), form.get("sign", ""), form.get("json")
    if body is None or not presented or not secrets.key or not secrets.secret:
        return False
    return equal(key, secrets.key) and equal(presented, sign(key, body, secrets.secret))


def _doc(request: CallRequest) -> dict[str, Any]:
    try:
        doc = orjson.loads(dict(request.form).get("json", ""))
    except orjson.JSONDecodeError as exc:
        raise BadPayload("json is not a JSON document") from exc
    if not isinstance(doc, dict):
        raise BadPayload("json is not an object")
    return doc


def _part(doc: dict[str, Any], name: str) -> dict[str, Any]:
    part = doc.get(name)
    return part if isinstance(part, dict) else {}


def _entry(doc: dict[str, Any]) -> str:
    entry = doc.get("entry_id")
    if not isinstance(entry, str) or not entry or len(entry) > 200:
        raise BadPayload("the event has no entry_id")
    return entry


def _tracking(doc: dict[str, Any]) -> str | None:
    dct = _part(doc, "dct")
    return number(str(dct.get("number") or "")) if dct.get("type") in (1, 2) else None


def _summary(doc: dict[str, Any], channel_id: int) -> list[CallEvent]:
    direction = doc.get("call_direction")
    if direction not in (1, 2):
        return []  # an internal call between employees
    src, dst = _part(doc, "from"), _part(doc, "to")
    inbound = direction == 1
    caller, hidden = phone(str((src if inbound else dst).get("number") or ""))
    talked = doc.get("entry_result") == 1
    talk_at = unix_time(doc.get("talk_time"), "talk_time")
    end_at = unix_time(doc.get("end_time"), "end_time")
    duration = int((end_at - talk_at).total_seconds()) if talked and talk_at and end_at else 0
    stage = "answered" if talked else ("busy" if doc.get("disconnect_reason") == BUSY else "missed")
    operator = (dst if inbound else src).get("extension") if talked else None
    return [
        CallEvent(
            channel_id=channel_id,
            call_id=_entry(doc),
            kind="end",
            direction="inbound" if inbound else "outbound",
            caller=caller,
            hidden=hidden,
            called=number(str(doc.get("line_number") or "")),
            tracking_number=_tracking(doc),
            operator=str(operator) if operator else None,
            stage=stage,
            started_at=unix_time(doc.get("create_time"), "create_time"),
            answered_at=talk_at if talked else None,
            ended_at=end_at,
            duration_s=max(duration, 0),
        )
    ]


def _call(doc: dict[str, Any], channel_id: int) -> list[CallEvent]:
    state = doc.get("call_state")
    src, dst = _part(doc, "from"), _part(doc, "to")
    at = unix_time(doc.get("timestamp"), "timestamp")
    inbound = bool(src.get("number")) or not src.get("extension")
    caller, hidden = phone(str((src if inbound else dst).get("number") or ""))
    base: dict[str, Any] = {
        "channel_id": channel_id,
        "call_id": _entry(doc),
        "direction": "inbound" if inbound else "outbound",
        "caller": caller,
        "hidden": hidden,
        "called": number(str(dst.get("line_number") or "")) if inbound else None,
        "tracking_number": _tracking(doc),
    }
    if state == "Appeared":
        return [CallEvent(kind="start", stage="ringing", started_at=at, **base)]
    if state == "Connected":
        operator = (dst if inbound else src).get("extension")
        return [
            CallEvent(
                kind="answer",
                stage="answered",
                answered_at=at,
                operator=str(operator) if operator else None,
                **base,
            )
        ]
    if state == "Disconnected":
        return [CallEvent(kind="end", ended_at=at, **base)]
    return []  # OnHold changes nothing the hub shows


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    doc = _doc(request)
    tail = request.tail.strip("/")
    if tail == "events/summary":
        return _summary(doc, channel_id)
    if tail == "events/call":
        return _call(doc, channel_id)
    if tail == "events/recording":
        if doc.get("recording_state") != "Completed" or not doc.get("recording_id"):
            return []
        if integer(str(doc.get("completion_code") or 1000), "completion_code") != 1000:
            return []
        return [
            CallEvent(
                channel_id=channel_id,
                call_id=_entry(doc),
                kind="record",
                recording_ref=str(doc["recording_id"])[:200],
            )
        ]
    return []  # events/dtmf, events/sms: not calls


def _setup(url: str) -> list[str]:
    return [
        f"VPBX → Integrations → API connection, 'External system address': {url}",
        "Mango adds events/call, events/summary and events/recording to it itself",
        "requests are checked with sign = sha256(key + json + salt) against the key and "
        "salt given here",
    ]


DIALECT = Dialect(
    "mango",
    "Mango Office",
    parse,
    verify,
    lambda request: Reply(200),
    secrets=(
        SecretOption("api_key", "--api-key", "the VPBX API key (unique code)", slot="key"),
        SecretOption("api_salt", "--api-salt", "the VPBX API salt (signature key)"),
    ),
    recording_hosts=("mango-office.ru",),
    setup=_setup,
    signature="sign = sha256(vpbx_api_key + json + salt)",
    recording_api=RecordingApi("https://app.mango-office.ru/vpbx", recording_link),
)
