"""One call event as every telephony provider's webhook becomes it (reference A.0).

A provider reports one call in several requests (ringing, answered, ended, recording ready),
in any order and sometimes twice. Each dialect (``hub.channels.calls.<provider>``) turns one
request into ``CallEvent`` values; the inbox folds all events of one ``call_id`` into one call
(``hub.inbox.call_fold``) with a join that gives the same call whatever the order or the
repetitions: the earliest start, the latest end, the longest duration, the strongest status.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any


class CallStage(enum.StrEnum):
    """Where a call stands after an event, weakest first: a later event never weakens it."""

    RINGING = "ringing"
    MISSED = "missed"
    BUSY = "busy"
    ANSWERED = "answered"


#: A stage's strength: the fold keeps the strongest one it saw.
STAGE_RANK: dict[str, int] = {"ringing": 0, "missed": 1, "busy": 2, "answered": 3}


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One provider event of one call; numbers already E.164 (``hub.phones``)."""

    channel_id: int
    #: The provider's id of the whole call (Twilio CallSid, Zadarma pbx_call_id, Mango
    #: entry_id…): every event of the call carries it.
    call_id: str
    #: What happened: ``start``, ``answer``, ``end`` or ``record`` (a recording is ready).
    kind: str
    direction: str | None = None
    #: The customer's number; None when the event does not say (``hidden`` tells why).
    caller: str | None = None
    #: The event says the caller hid his number: the call is still a call, of a contact
    #: without a phone.
    hidden: bool = False
    #: The company's number the call reached (or left from).
    called: str | None = None
    #: The advert's number the customer dialled (call tracking), when it is not ``called``.
    tracking_number: str | None = None
    #: The extension or employee who answered.
    operator: str | None = None
    stage: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    recording_url: str | None = None
    #: The provider's id of a recording it gives no URL for (fetched through its API).
    recording_ref: str | None = None
    #: The visit the provider attributes the call to (Calltouch's utm_* and page).
    attribution: dict[str, Any] = field(default_factory=dict)

    @property
    def names_parties(self) -> bool:
        """Whether the event says who called (a number, or that it was hidden): only such
        an event can open a call; one that does not (a recording ready) waits for it."""
        return self.caller is not None or self.hidden

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("started_at", "answered_at", "ended_at"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallEvent:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("started_at", "answered_at", "ended_at"):
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)
