"""A calls channel's settings: the provider, and what the hub does with missed calls.

What an admin sends (``POST /api/v1/channels`` or ``channel add calls``) is split in two
(``split_settings``): the public config (shown back to admins) and the provider's secrets
(Twilio's auth token, Zadarma's API secret, Mango's key and salt), stored beside the channel
in ``call_credentials`` and never returned or logged. Imported wherever the channel is
registered, so it stays light.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from hub.channels.calls.dialect import SecretOption, Secrets
from hub.channels.calls.dialects import DIALECTS
from hub.errors import InvalidInput

TYPE = "calls"
NUMBERS = ("answer_within_s", "callback_due_minutes", "callback_operator_id")


class CallsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    #: A call still ringing this long counts as missed for the "call back" task (the
    #: provider's own "missed" always does); None: only the provider's.
    answer_within_s: StrictInt | None = Field(default=None, ge=5, le=3600)
    #: A "call back" task is due this long after the missed call.
    callback_due_minutes: StrictInt = Field(default=15, ge=0, le=7 * 24 * 60)
    #: Who calls back when the caller's conversation has no assignee (else: unassigned).
    callback_operator_id: StrictInt | None = Field(default=None, ge=1)
    auto_leads: bool = True
    #: Hosts recordings may also come from, beside the provider's own (a white-label
    #: account's domain).
    recording_hosts: list[str] = Field(default_factory=list, max_length=10)
    #: The provider API's base URL, where the hub asks for recordings given by id (Zadarma,
    #: Mango), when it is not the provider's own (a white-label account's API).
    api_url: str | None = Field(default=None, max_length=300, pattern=r"^https?://[^\s/]+")


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """(public settings, the provider's secrets), or ``InvalidInput`` naming what is wrong."""
    settings = dict(settings)
    provider = settings.get("provider")
    dialect = DIALECTS.get(provider) if isinstance(provider, str) else None
    if dialect is None:
        known = ", ".join(DIALECTS)
        raise InvalidInput(f"provider must be one of: {known}", code="invalid_provider")
    slots = {"secret": "", "key": ""}
    for option in dialect.secrets:
        value = settings.pop(option.key, None)
        if value is None and not option.required:
            continue
        slots[option.slot] = secret_value(dialect.title, option, value)
    for name in NUMBERS:  # ``channel add`` gives every option as text
        value = settings.get(name)
        if isinstance(value, str) and value.strip().isdigit():
            settings[name] = int(value)
    return settings, Secrets(secret=slots["secret"], key=slots["key"])


def secret_value(title: str, option: SecretOption, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InvalidInput(f"{title} needs {option.key} ({option.help})", code="missing_secret")
    return value.strip()


def secret_keys() -> frozenset[str]:
    """Every provider's secret settings (an admin may change them after connecting)."""
    return frozenset(o.key for d in DIALECTS.values() for o in d.secrets)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    try:
        clean = CallsConfig.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", code="invalid_config") from exc
    if clean.provider not in DIALECTS:
        raise InvalidInput(
            f"provider must be one of: {', '.join(DIALECTS)}", code="invalid_provider"
        )
    return clean.model_dump()
