"""A widget channel's settings: allowed origins, look, greeting, pre-chat form, identity."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from hub.errors import InvalidInput

TYPE = "widget"
FieldMode = Literal["required", "optional", "off"]
FieldName = Literal["name", "email", "phone"]


def _default_fields() -> dict[FieldName, FieldMode]:
    return {"name": "optional", "email": "optional", "phone": "off"}


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=500)
    delay_s: float = Field(default=5, ge=0, le=600)


class Prechat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    fields: dict[FieldName, FieldMode] = Field(default_factory=_default_fields)


class WidgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Origins (scheme://host[:port]) whose pages may embed the widget; empty means any.
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    lang: Literal["ru", "en"] = "ru"
    color: str = Field(default="#2f6fed", pattern=r"^#[0-9a-fA-F]{3,8}$")
    position: Literal["right", "left"] = "right"
    greeting: Greeting | None = None
    prechat: Prechat = Field(default_factory=Prechat)
    #: Refuse visitors who do not prove who they are with identifier_hash.
    require_identity: bool = False
    #: The channel ``make run`` seeds; the demo page at / embeds it.
    demo: bool = False
    #: A first conversation from a new contact becomes a lead in "incoming".
    auto_leads: StrictBool = True
    #: Seconds a visitor waits for a first answer before the widget offers to leave a phone or
    #: email and says when the company answers (its working hours, ``ctx.company``).
    reply_wait_s: StrictInt = Field(default=120, ge=5, le=3600)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for origin in value:
            parts = urlsplit(origin.strip())
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
            ):
                raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
            out.append(f"{parts.scheme}://{parts.netloc}".lower())
        return out


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    try:
        return WidgetConfig.model_validate(config).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", code="invalid_widget_settings") from exc


def public_settings(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """What the widget script may know of its channel (no secrets, no origins)."""
    cfg = WidgetConfig.model_validate(config)
    return {
        "name": name,
        "lang": cfg.lang,
        "color": cfg.color,
        "position": cfg.position,
        "greeting": cfg.greeting.model_dump() if cfg.greeting else None,
        "prechat": cfg.prechat.model_dump(),
        "require_identity": cfg.require_identity,
        "reply_wait_s": cfg.reply_wait_s,
    }


def origin_allowed(config: dict[str, Any], origin: str | None, own_origin: str) -> bool:
    """No Origin header (not a browser page) or the hub's own pages pass; else the list decides."""
    if origin is None:
        return True
    origin = origin.lower().rstrip("/")
    if origin == own_origin.lower().rstrip("/"):
        return True
    allowed = config.get("allowed_origins") or []
    return not allowed or origin in allowed
