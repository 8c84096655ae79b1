"""UIS / CoMagic (and CallGear, Novofon) (reference A.5): notifications whose JSON body the
admin writes himself from UIS's ``{{variables}}``; the hub documents the template to paste.

UIS signs nothing: the channel's secret is in the URL and again as ``hub_key`` in the body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from hub.channels.call_event import CallEvent
from hub.channels.calls.dialect import (
    BadPayload,
    CallRequest,
    Dialect,
    Reply,
    Secrets,
    equal,
    integer,
    number,
    phone,
)

#: ``notification_name`` → what happened and the stage it means.
NOTIFICATIONS: dict[str, tuple[str, str | None]] = {
    "Входящий звонок на виртуальный номер": ("start", "ringing"),
    "Ожидание ответа": ("start", "ringing"),
    "Исходящий звонок": ("start", "ringing"),
    "Начало разговора": ("answer", "answered"),
    "Окончание разговора": ("end", None),
    "Завершение звонка": ("end", None),
    "Потерянный звонок": ("end", "missed"),
    "Записанный разговор": ("record", None),
}
FIELDS = (
    "notification_name",
    "call_session_id",
    "virtual_phone_number",
    "contact_phone_number",
    "direction",
    "notification_time",
    "employee_full_name",
    "talk_time_duration",
    "total_time_duration",
    "wait_time_duration",
    "file_link",
)
#: The template an admin pastes for every notification (the keys are the hub's).
TEMPLATE = (
    '{"hub_key": "<key>", '
    + ", ".join(f'"{name}": {{{{{name}}}}}' for name in FIELDS if name != "file_link")
    + ', "file_link": {{file_link}}}'
)


def _body(request: CallRequest) -> dict[str, Any]:
    if request.method == "GET" or not request.body.strip():
        return dict(request.params())
    try:
        doc = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise BadPayload("the body is not JSON") from exc
    if not isinstance(doc, dict):
        raise BadPayload("the body is not a JSON object")
    return doc


def verify(request: CallRequest, secrets: Secrets) -> bool:
    try:
        key = _body(request).get("hub_key")
    except BadPayload:
        return False
    return isinstance(key, str) and bool(secrets.secret) and equal(key, secrets.secret)


def _time(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadPayload("notification_time is not a date and time") from exc


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    doc = _body(request)
    name = str(doc.get("notification_name") or "")
    if name not in NOTIFICATIONS:
        if not name:
            raise BadPayload("the event has no notification_name")
        return []
    session = str(doc.get("call_session_id") or "")
    if not session or len(session) > 64:
        raise BadPayload("the event has no call_session_id")
    kind, stage = NOTIFICATIONS[name]
    at = _time(doc.get("notification_time"))
    outbound = doc.get("direction") == "out" or name == "Исходящий звонок"
    caller, hidden = phone(str(doc.get("contact_phone_number") or ""))
    virtual = number(str(doc.get("virtual_phone_number") or ""))
    talk = integer(str(doc.get("talk_time_duration") or ""), "talk_time_duration")
    if kind == "end" and stage is None:
        stage = "answered" if talk else "missed"
    link = doc.get("file_link")
    operator = doc.get("employee_full_name")
    return [
        CallEvent(
            channel_id=channel_id,
            call_id=session,
            kind=kind,
            direction="outbound" if outbound else "inbound",
            caller=caller,
            hidden=hidden,
            called=virtual,
            tracking_number=virtual,
            operator=str(operator)[:200] if operator and stage == "answered" else None,
            stage=stage,
            started_at=at if kind == "start" else None,
            answered_at=at if kind == "answer" else None,
            ended_at=at if kind == "end" else None,
            duration_s=talk if kind == "end" else None,
            recording_url=str(link) if kind == "record" and link else None,
        )
    ]


def _setup(url: str) -> list[str]:
    return [
        f"Notifications → a notification per event, HTTP, method POST, URL: {url}",
        "events: incoming call, start of talk, call ended, lost call, recorded talk",
        f"body template (replace <key> with the token at the end of the URL): {TEMPLATE}",
    ]


DIALECT = Dialect(
    "uis",
    "UIS / CoMagic",
    parse,
    verify,
    lambda request: Reply(200),
    recording_hosts=("uiscom.ru", "comagic.ru", "callgear.com"),
    setup=_setup,
    signature="the secret token in the URL and as hub_key in the body",
)
