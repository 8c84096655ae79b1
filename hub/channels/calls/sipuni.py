"""Sipuni (reference A.4): PBX events by GET or POST, URL-encoded, ``event`` 1 (call
started), 3 (answered), 2 (hung up, with the call's record) and 4 (a secondary leg hung up).

Sipuni signs nothing: the channel's secret in the URL is the check. It wants valid JSON with
``success`` back, or it may stop sending.
"""

from __future__ import annotations

from typing import Any

from hub.channels.call_event import CallEvent
from hub.channels.calls.dialect import (
    CallRequest,
    Dialect,
    Reply,
    Secrets,
    number,
    phone,
    required,
    unix_time,
)

EXTERNAL = "1"
STAGES = {"ANSWER": "answered", "BUSY": "busy"}
SUCCESS = b'{"success": true}'


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = request.params()
    event = required(p, "event")
    if event not in ("1", "2", "3"):
        return []  # 4: a transfer's secondary leg; the call's own hangup follows
    call_id = required(p, "call_id")
    inbound = p.get("src_type", EXTERNAL) == EXTERNAL
    caller, hidden = phone(p.get("src_num") if inbound else p.get("dst_num"))
    at = unix_time(p.get("timestamp"), "timestamp")
    base: dict[str, Any] = {
        "channel_id": channel_id,
        "call_id": call_id,
        "direction": "inbound" if inbound else "outbound",
        "caller": caller,
        "hidden": hidden,
        "called": number(p.get("dst_num")) if inbound else None,
    }
    extension = (p.get("short_dst_num") if inbound else p.get("short_src_num")) or None
    if event == "1":
        return [CallEvent(kind="start", stage="ringing", started_at=at, **base)]
    if event == "3":
        return [
            CallEvent(kind="answer", stage="answered", answered_at=at, operator=extension, **base)
        ]
    stage = STAGES.get(p.get("status", ""), "missed")
    answered_at = unix_time(p.get("call_answer_timestamp"), "call_answer_timestamp")
    talked = stage == "answered" and answered_at is not None and at is not None
    return [
        CallEvent(
            kind="end",
            stage=stage,
            operator=extension if stage == "answered" else None,
            started_at=unix_time(p.get("call_start_timestamp"), "call_start_timestamp"),
            answered_at=answered_at,
            ended_at=at,
            duration_s=int((at - answered_at).total_seconds()) if talked else 0,  # type: ignore[operator]
            recording_url=p.get("call_record_link") or None,
            **base,
        )
    ]


def _setup(url: str) -> list[str]:
    return [
        f"Settings → API → 'PBX events' (События на АТС), the script URL: {url}",
        "Sipuni signs nothing: keep this URL secret, its token is the check",
    ]


def _signed(request: CallRequest, secrets: Secrets) -> bool:
    return True  # the secret in the URL, checked before, is all Sipuni offers


DIALECT = Dialect(
    "sipuni",
    "Sipuni",
    parse,
    _signed,
    lambda request: Reply(200, SUCCESS, "application/json"),
    recording_hosts=("sipuni.com",),
    setup=_setup,
)
