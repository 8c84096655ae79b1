"""An email channel's settings: the mailbox address, its IMAP (in) and SMTP (out) servers, DKIM.

What an admin sends (``POST /api/v1/channels`` or ``channel add email``) is split in two
(``split_settings``): the public config, stored on the channel and shown back to admins, and the
secrets (both passwords and the DKIM private key), stored beside the channel in
``email_credentials`` (``hub.channels.email.credentials``) and never returned or logged, as a
Telegram bot's token lives in ``telegram_bots``. A preset (``yandex``, ``mailru``) fills the
hosts, ports and security an admin left out.

Transport security is never optional: IMAP and SMTP are either implicit TLS (993, 465) or
STARTTLS (143, 587), and STARTTLS is forced (aiosmtplib ``start_tls=True``, never its default
``None``, which would go on in the clear when a server or a man in the middle drops STARTTLS).

Imported wherever the channel is registered, so it imports no mail library.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)

from hub.errors import InvalidInput

TYPE = "email"
Security = Literal["tls", "starttls"]

#: What each security mode uses when the port is not given.
IMAP_PORTS: dict[str, int] = {"tls": 993, "starttls": 143}
SMTP_PORTS: dict[str, int] = {"tls": 465, "starttls": 587}

#: Hosted mailboxes whose servers the admin need not look up (both want an app password).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "yandex": {
        "imap": {"host": "imap.yandex.ru", "port": 993, "security": "tls"},
        "smtp": {"host": "smtp.yandex.ru", "port": 465, "security": "tls"},
    },
    "mailru": {
        "imap": {"host": "imap.mail.ru", "port": 993, "security": "tls"},
        "smtp": {"host": "smtp.mail.ru", "port": 465, "security": "tls"},
    },
}

#: The settings that are secrets: where they are in the request, and their key in storage.
SECRET_PATHS: tuple[tuple[str, str, str], ...] = (
    ("imap", "password", "imap_password"),
    ("smtp", "password", "smtp_password"),
    ("dkim", "private_key", "dkim_private_key"),
)

_HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ImapSettings(_Strict):
    host: str = Field(min_length=1, max_length=253, pattern=_HOST)
    port: StrictInt = Field(ge=1, le=65535)
    security: Security
    login: str = Field(min_length=1, max_length=320)
    #: The mailbox folder incoming mail is read from.
    folder: str = Field(default="INBOX", min_length=1, max_length=200)


class SmtpSettings(_Strict):
    host: str = Field(min_length=1, max_length=253, pattern=_HOST)
    port: StrictInt = Field(ge=1, le=65535)
    security: Security
    login: str = Field(min_length=1, max_length=320)


class DkimSettings(_Strict):
    selector: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")
    domain: str = Field(min_length=1, max_length=253, pattern=_HOST)


class EmailConfig(_Strict):
    """The public settings, as stored on the channel and shown to admins."""

    address: EmailStr
    #: The name in From: "Sales <sales@company.ru>".
    display_name: str = Field(default="", max_length=200, pattern=r"^[^\r\n]*$")
    imap: ImapSettings
    smtp: SmtpSettings
    dkim: DkimSettings | None = None
    #: Replies go to ``sales+<signed token>@…`` (Reply-To), so a client that drops the
    #: threading headers still threads. Off for a provider without plus addressing.
    plus_addressing: StrictBool = True
    #: Widget channels whose visitors, gone from the page, are answered from this mailbox.
    linked_widget_channel_ids: list[StrictInt] = Field(default_factory=list, max_length=50)
    #: A first conversation from a new contact becomes a lead.
    auto_leads: StrictBool = True
    #: Open and click tracking of what operators send: a pixel and links through the hub
    #: (``tracking_links``). Each email may still be sent untracked (the composer's switch).
    tracking: StrictBool = True
    #: This mailbox sends the hub's own mail: operators' invitations and password links
    #: (``system_mail``). One mailbox at most.
    system_mail: StrictBool = False


class Secrets(BaseModel):
    """The secrets of one mailbox: never in the channel's config, never in an answer or a log.
    Taken as given: a password may begin or end with a space."""

    model_config = ConfigDict(extra="forbid")

    imap_password: str = Field(min_length=1, max_length=1000)
    smtp_password: str = Field(min_length=1, max_length=1000)
    dkim_private_key: str = Field(default="", max_length=20_000)

    def __repr__(self) -> str:  # a stray log line or traceback shows no password
        return "Secrets(…)"

    __str__ = __repr__


def _invalid(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "settings"
    # Only where and what: pydantic's own text of an error may quote the input (a password).
    return InvalidInput(
        f"email channel setting {where}: {first['msg']}", code="invalid_email_settings"
    )


_SWITCH = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def _nested(settings: dict[str, Any]) -> dict[str, Any]:
    """The command line's flat keys (``imap.host``) as the API's nested objects."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        section, dot, name = key.partition(".")
        if dot:
            part = out.setdefault(section, {})
            if not isinstance(part, dict):
                raise InvalidInput(f"{section} must be an object", code="invalid_email_settings")
            part[name] = value
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**value, **out[key]}
        else:
            out[key] = value
    for flag in ("tracking", "system_mail"):
        switch = out.get(flag)
        if isinstance(switch, str) and switch.strip().lower() in _SWITCH:  # the command line
            out[flag] = _SWITCH[switch.strip().lower()]
    chats = out.get("linked_widget_channel_ids")
    if isinstance(chats, list):  # ids from the command line come as text
        out["linked_widget_channel_ids"] = [
            int(c) if isinstance(c, str) and c.strip().isdigit() else c for c in chats
        ]
    return out


def _fill(
    section: dict[str, Any], preset: dict[str, Any], ports: dict[str, int], address: Any
) -> None:
    if isinstance(section.get("port"), str) and section["port"].strip().isdigit():
        section["port"] = int(section["port"])  # from the command line
    # A security the admin chose brings its own port, not the preset's.
    if "port" not in section and section.get("security") in ports:
        section["port"] = ports[section["security"]]
    for key, value in preset.items():
        section.setdefault(key, value)
    section.setdefault("security", "tls")
    if section["security"] in ports:
        section.setdefault("port", ports[section["security"]])
    # Yandex, Mail.ru and most hosted mailboxes log in with the full address.
    section.setdefault("login", address)


_PEM = re.compile(r"(-----BEGIN [A-Z ]+-----)(.*?)(-----END [A-Z ]+-----)", re.DOTALL)


def normalize_pem(text: str) -> str:
    """A PEM key as it should be, also from one line (``--dkim-private-key-stdin`` reads one:
    ``tr '\\n' ' ' < dkim.pem``) or with literal ``\\n``: its base64 re-wrapped at 64."""
    found = _PEM.search(text.replace("\\n", "\n"))
    if found is None:
        return text.strip()
    body = "".join(found[2].split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([found[1], *lines, found[3]]) + "\n"


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """What an admin sent, as (the public config, validated; the secrets)."""
    raw = _nested(settings)
    preset_name = raw.pop("preset", None)
    preset: dict[str, dict[str, Any]] = {}
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise InvalidInput(
                f"unknown preset {preset_name!r}; known: {', '.join(PRESETS)}",
                code="unknown_email_preset",
            )
        preset = PRESETS[preset_name]
    secrets: dict[str, Any] = {}
    for section, key, stored in SECRET_PATHS:
        part = raw.get(section)
        if isinstance(part, dict) and key in part:
            part = raw[section] = dict(part)
            secrets[stored] = part.pop(key)
    # Yandex 360 and Mail.ru give one app password for both.
    if "imap_password" in secrets:
        secrets.setdefault("smtp_password", secrets["imap_password"])
    if isinstance(secrets.get("dkim_private_key"), str):
        secrets["dkim_private_key"] = normalize_pem(secrets["dkim_private_key"])
    for section, ports in (("imap", IMAP_PORTS), ("smtp", SMTP_PORTS)):
        part = raw.setdefault(section, {})
        if not isinstance(part, dict):
            raise InvalidInput(f"{section} must be an object", code="invalid_email_settings")
        raw[section] = part = dict(part)
        _fill(part, preset.get(section, {}), ports, raw.get("address"))
    if "dkim" in secrets and not isinstance(raw.get("dkim"), dict):
        raise InvalidInput("dkim needs a selector and a domain", code="invalid_email_settings")
    try:
        public = EmailConfig.model_validate(raw)
        secret = Secrets.model_validate(secrets)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if public.dkim is not None and not secret.dkim_private_key:
        raise InvalidInput("dkim needs its private_key (PEM)", code="invalid_email_settings")
    if secret.dkim_private_key and "PRIVATE KEY-----" not in secret.dkim_private_key:
        raise InvalidInput(
            "dkim.private_key must be a PEM private key", code="invalid_email_settings"
        )
    return dump(public), secret


def dump(config: EmailConfig) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    data["address"] = str(config.address).lower()
    if data.get("dkim") is None:
        data.pop("dkim", None)
    return data


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """The public settings as stored (after ``split_settings``): secrets have no place here."""
    try:
        return dump(EmailConfig.model_validate(config))
    except ValidationError as exc:
        raise _invalid(exc) from None


def parse_config(config: dict[str, Any]) -> EmailConfig:
    """A stored channel's settings, typed."""
    return EmailConfig.model_validate(config)
