""" "Call me back" from the widget: the request, its words in the visitor's language, and how
the visitor's own history shows it.

The visitor gives his phone, maybe his name, and a choice of time (``hub.crm_sync.
callback_time``); his browser adds its time zone and his language. The request becomes a
conversation item written as he would have said it, in his language, with the choice, the
moment to call (``due_at``) and the phone in its ``meta``: operators see a callback card, and
the "call back" task is due at that moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.crm_sync.callback_time import Asap, At, PreferredTime, TodayAfter, TomorrowMorning

Lang = Literal["ru", "en"]

_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "ask": "Перезвоните мне: {phone}, {when}",
        "asap": "как можно скорее",
        "today_after": "сегодня после {time}",
        "tomorrow_morning": "завтра утром",
        "at": "{day}.{month}.{year} в {time}",
    },
    "en": {
        "ask": "Please call me back: {phone}, {when}",
        "asap": "as soon as possible",
        "today_after": "today after {time}",
        "tomorrow_morning": "tomorrow morning",
        "at": "on {year}-{month}-{day} at {time}",
    },
}


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str = Field(max_length=100)
    phone: str = Field(max_length=40)
    name: str | None = Field(default=None, max_length=200)
    #: When to call; as soon as possible unless said.
    when: PreferredTime = Field(default_factory=lambda: Asap(kind="asap"))
    #: The visitor's IANA time zone (his browser's), for the times he typed.
    time_zone: str | None = Field(default=None, max_length=64)
    #: The language the widget speaks to him; the channel's when not given.
    lang: Lang | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


def request_text(
    lang: Lang, phone_e164: str, when: Asap | TodayAfter | TomorrowMorning | At
) -> str:
    """The request as the visitor would have written it, in his language."""
    words = _WORDS[lang]
    if isinstance(when, TodayAfter):
        said = words["today_after"].format(time=when.time)
    elif isinstance(when, At):
        day, clock = when.at.split("T")
        year, month, dom = day.split("-")
        said = words["at"].format(year=year, month=month, day=dom, time=clock)
    else:
        said = words[when.kind]
    return words["ask"].format(phone=phone_e164, when=said)


def request_meta(
    phone_e164: str,
    when: Asap | TodayAfter | TomorrowMorning | At,
    due_at: datetime,
    time_zone: str,
    page: str,
) -> dict[str, Any]:
    """What operators' callback card and the lead intake read (``meta.type`` says what it is)."""
    return {
        "type": "callback_request",
        "phone": phone_e164,
        "when": when.model_dump(),
        "due_at": due_at.isoformat().replace("+00:00", "Z"),
        "time_zone": time_zone,
        "page": page,
    }


def callback_view(meta: dict[str, Any]) -> dict[str, Any]:
    """A callback request as the visitor's widget shows it, in its own language."""
    return {
        "phone": meta.get("phone"),
        "when": meta.get("when"),
        "due_at": meta.get("due_at"),
    }
