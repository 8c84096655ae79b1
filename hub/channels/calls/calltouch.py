"""Calltouch (reference A.7): a lead webhook by GET or POST with the parameters chosen in its
cabinet, sent at the start or the end of a call; it carries the visit (UTM, page, referrer)
Calltouch attributed the call to.

The names are a mapping table (``FIELDS``), read case-insensitively, because the cabinet's
names were not published (the reference maps the calls API's). Calltouch signs nothing: the
secret is in the URL path and again as ``hub_key``; Calltouch sends from 92.118.66.0/23.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    unix_time,
)

#: The hub's name → Calltouch's parameter (lower-cased when read).
FIELDS = {
    "call_id": "callid",
    "caller": "callernumber",
    "tracking": "phonenumber",
    "called": "redirectnumber",
    "duration": "duration",
    "successful": "successful",
    "timestamp": "timestamp",
    "record": "callurl",
}
#: Calltouch's visit parameters → the attribution's keys.
VISIT = {
    "utmsource": "utm_source",
    "utmmedium": "utm_medium",
    "utmcampaign": "utm_campaign",
    "utmterm": "utm_term",
    "utmcontent": "utm_content",
    "ref": "referrer",
    "url": "page",
    "hostname": "hostname",
    "sessionid": "session_id",
}


def _params(request: CallRequest) -> dict[str, str]:
    return {k.lower(): v for k, v in request.params().items()}


def verify(request: CallRequest, secrets: Secrets) -> bool:
    key = _params(request).get("hub_key", "")
    return bool(key and secrets.secret) and equal(key, secrets.secret)


def parse(request: CallRequest, channel_id: int) -> list[CallEvent]:
    p = _params(request)
    call_id = p.get(FIELDS["call_id"], "").strip()
    if not call_id or len(call_id) > 64:
        raise BadPayload("the event has no callId")
    caller, hidden = phone(p.get(FIELDS["caller"]))
    ended = FIELDS["successful"] in p or FIELDS["duration"] in p
    successful = p.get(FIELDS["successful"], "").lower() in ("true", "1")
    duration = integer(p.get(FIELDS["duration"]), "duration")
    at: datetime | None = unix_time(p.get(FIELDS["timestamp"]), "timestamp")
    visit = {key: p[name][:2000] for name, key in VISIT.items() if p.get(name)}
    return [
        CallEvent(
            channel_id=channel_id,
            call_id=call_id,
            kind="end" if ended else "start",
            direction="inbound",
            caller=caller,
            hidden=hidden,
            called=number(p.get(FIELDS["called"])) or number(p.get(FIELDS["tracking"])),
            tracking_number=number(p.get(FIELDS["tracking"])),
            stage=("answered" if successful else "missed") if ended else "ringing",
            started_at=at if not ended else None,
            ended_at=(at or datetime.now(UTC)) if ended else None,
            duration_s=(duration or 0) if ended and successful else (0 if ended else None),
            recording_url=p.get(FIELDS["record"]) or None,
            attribution=visit,
        )
    ]


def _setup(url: str) -> list[str]:
    return [
        "Integrations → 'Send data to external systems' → Webhooks, leads (calls), at the "
        f"start and at the end of the call, GET, URL: {url}",
        "parameters: callId, callerNumber, phoneNumber, redirectNumber, duration, successful, "
        "timestamp, callUrl, utmSource, utmMedium, utmCampaign, utmTerm, utmContent, ref, url, "
        "hostname, sessionId",
        "allow only Calltouch's subnet 92.118.66.0/23 in front of the hub if you can",
    ]


DIALECT = Dialect(
    "calltouch",
    "Calltouch",
    parse,
    verify,
    lambda request: Reply(200),
    recording_hosts=("calltouch.ru",),
    setup=_setup,
    signature="the secret token in the URL and as hub_key",
)
