"""Telphin (reference A.6): extension events (``dial-in``, ``dial-out``, ``answer``,
``hangup``) by GET or POST, URL-encoded; times in microseconds.

``CallID`` is the call across forwards (its legs have ``SubCallID``s). Telphin signs nothing:
the channel's secret in the URL is the check.
"""

from __future__ import annotations

from typing import Any

from hub.channels.call_event import CallEvent
from hub.channels.calls.dialect import (
    CallRequest,
    Dialect,
    Reply,
    Secrets,
    integer,
    number,
    phone,
    required,
    unix_time,
)

KINDS = {"dial-in": "start", "dial-out": "start", "answer": "answer", "hangup": "end"}
STAGES = {"ANSWER": "answered", "BUSY": "busy"}


def _extension(raw: str | None) -> str | None:
    """``101@sipproxy.telphin.ru`` → ``101``."""
    return raw.split("@", 1)[0][:200] if raw else None


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = request.params()
    kind = KINDS.get(required(p, "EventType"))
    if kind is None:
        return []  # message-in, message-out: not calls
    outbound = p.get("CallFlow") == "out" or p.get("EventType") == "dial-out"
    customer = p.get("RemoteNumber") or (
        p.get("CalledNumber") if outbound else p.get("CallerIDNum")
    )
    caller, hidden = phone(customer)
    at = unix_time(p.get("EventTime"), "EventTime", scale=1_000_000)
    operator = _extension(p.get("CallerExtension") if outbound else p.get("CalledExtension"))
    base: dict[str, Any] = {
        "channel_id": channel_id,
        "call_id": required(p, "CallID"),
        "direction": "outbound" if outbound else "inbound",
        "caller": caller,
        "hidden": hidden,
        "called": None if outbound else number(p.get("CalledDID")),
    }
    if kind == "start":
        return [CallEvent(kind="start", stage="ringing", started_at=at, **base)]
    if kind == "answer":
        return [
            CallEvent(kind="answer", stage="answered", answered_at=at, operator=operator, **base)
        ]
    stage = STAGES.get(p.get("CallStatus", ""), "missed")
    return [
        CallEvent(
            kind="end",
            stage=stage,
            ended_at=at,
            operator=operator if stage == "answered" else None,
            duration_s=integer(p.get("BridgedDuration"), "BridgedDuration") or 0,
            recording_ref=p.get("RecID") or None,
            **base,
        )
    ]


def _setup(url: str) -> list[str]:
    return [
        f"subscribe each extension (/extension/{{id}}/event/) to dial-in, dial-out, answer "
        f"and hangup, method POST, URL: {url}",
        "Telphin signs nothing: keep this URL secret, its token is the check",
    ]


def _signed(request: CallRequest, secrets: Secrets) -> bool:
    return True  # the secret in the URL, checked before, is all Telphin offers


DIALECT = Dialect("telphin", "Telphin", parse, _signed, lambda request: Reply(200), setup=_setup)
