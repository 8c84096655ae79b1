"""What a channel type brings to the hub, in one value: ``ChannelSpec``.

A channel is one package plus one registration (``hub.channels.registry``): its spec says how to
validate its settings and install it (its routes, its adapter), what it can do
(``Capabilities``), how it shows on a badge, what ``python -m hub channel add <type>`` asks and
prints, which paths it adds to the OpenAPI document, and which of its tables follow a contact
through a merge. Core code reads these fields and never compares a type's name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel

from hub.channels.base import ChannelAdapter
from hub.channels.capabilities import UNKNOWN, Capabilities
from hub.channels.connector import ChannelConnector
from hub.channels.hooks import ContactRows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.channels.admin import CreatedChannel
    from hub.context import HubContext
    from hub.settings import Settings


@dataclass(frozen=True, slots=True)
class CliOption:
    """One option of ``python -m hub channel add <type>``, stored in the channel's config.

    ``secret`` options also get ``--<name>-stdin`` (read from standard input, so the value stays
    out of the process list and the shell's history); a ``repeated`` one may be given more than
    once and is stored as a list."""

    flag: str
    key: str
    help: str
    secret: bool = False
    repeated: bool = False


#: A channel's connection to its provider as the admin sees it (``status`` of a channel in
#: ``GET /api/v1/channels``): None while nothing was tried yet.
Status = Callable[["HubContext", int], Awaitable["dict[str, Any] | None"]]

#: A check of a channel's new settings that needs the database (an email channel's linked
#: website chats must be widget channels), run in the edit's transaction.
CheckSettings = Callable[["AsyncSession", "dict[str, Any]"], Awaitable[None]]

#: Stores a channel's changed secret settings (a provider's API key) apart from its config, in
#: the edit's transaction: (session, channel id, the channel's config, the changes); raising
#: ``InvalidInput`` changes nothing.
StoreSecrets = Callable[["AsyncSession", int, "dict[str, Any]", "dict[str, Any]"], Awaitable[None]]

#: Tells the provider a channel's new secret before it is stored (Telegram sends it back with
#: every update, so its webhook is registered again); raising keeps the old secret.
OnNewSecret = Callable[["HubContext", int, str], Awaitable[None]]

#: Tells the provider a channel was turned on (before it is stored: raising keeps it off) or
#: off (after: it is off whatever the provider says). Telegram's webhook is set or removed.
OnActiveChanged = Callable[["HubContext", int, bool], Awaitable[None]]

#: Lines ``channel add`` prints after the channel is made (its secret, where to point a webhook).
Describe = Callable[["CreatedChannel", "Settings"], list[str]]


def describe_secrets(created: CreatedChannel, settings: Settings) -> list[str]:
    """What most channels print: the secret its webhooks authenticate with, shown once."""
    lines = [f"secret (shown once): {created.secret}"]
    if created.webhook_secret:
        lines.append(f"its callbacks verify with (Standard Webhooks): {created.webhook_secret}")
    return lines


@dataclass(frozen=True, slots=True)
class ChannelOpenApi:
    """The paths a channel's own routes add to ``/api/openapi.json`` and the models they name,
    of request bodies and of answers (put under ``components/schemas``; see ``hub.responses``)."""

    paths: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    models: tuple[type[BaseModel], ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    type: str
    validate_config: Callable[[dict[str, Any]], dict[str, Any]]
    install: Callable[[web.Application], ChannelAdapter]
    #: Whether pages embed this channel by a public token (the widget's website token).
    public_token: bool = False
    #: The provider set-up of a type that needs one (see ``hub.channels.connector``).
    connector: ChannelConnector | None = None
    #: Settings that are URLs the hub sends to: checked against the address rule of
    #: ``hub.outbound.destinations`` when the channel is created (and again on every connection).
    outbound_urls: tuple[str, ...] = ()
    #: What the channel can do, which core code asks instead of its type name.
    capabilities: Capabilities = UNKNOWN
    #: Its name for people ("Telegram") and the few letters of its badge in the inbox ("TG").
    title: str = ""
    badge: str = ""
    #: ``python -m hub channel add <type>``: its options and what it prints once made.
    cli_options: tuple[CliOption, ...] = ()
    describe: Describe = describe_secrets
    #: Its routes in the API document.
    openapi: ChannelOpenApi = ChannelOpenApi()
    #: Its tables whose rows belong to a contact: a merge moves them, its undo moves them back.
    contact_rows: tuple[ContactRows, ...] = ()
    #: For a type that keeps a connection of its own (an email channel reads its mailbox): how
    #: it goes, ``{last_ok_at, last_error, last_error_at, reading}``, shown to admins with the
    #: channel. Called per channel when admins list them, so it must be one cheap read that
    #: loads no provider library.
    status: Status | None = None
    #: The settings an admin may change after the channel is made (``PATCH
    #: /api/v1/channels/{id}``), each validated with the rest by ``validate_config``; None: all
    #: of them. A setting the provider must check again (a bot's token, a mailbox's servers and
    #: passwords) is not among them: that is a channel connected anew.
    editable_settings: frozenset[str] | None = None
    check_settings: CheckSettings | None = None
    #: Settings that are secrets kept apart from the config (never returned): an admin may
    #: change them too (``PATCH``), and ``store_secrets`` stores them.
    secret_settings: frozenset[str] = frozenset()
    store_secrets: StoreSecrets | None = None
    on_new_secret: OnNewSecret | None = None
    on_active_changed: OnActiveChanged | None = None
    #: For a type whose provider is set up by hand (a telephony provider's cabinet): what to
    #: paste there (its webhook URL with the channel's token, which is secret), returned once
    #: in the API's answer to the channel's creation as ``setup``.
    setup: Describe | None = None

    @property
    def label(self) -> str:
        return self.title or self.type

    @property
    def badge_text(self) -> str:
        return self.badge or self.type[:3].upper()


def type_dict(spec: ChannelSpec) -> dict[str, Any]:
    """A type as ``GET /api/v1/channel-types`` shows it."""
    caps = spec.capabilities
    return {
        "type": spec.type,
        "title": spec.label,
        "badge": spec.badge_text,
        "capabilities": {
            "replies": caps.replies,
            "files": caps.files,
            "html": caps.html,
            "typing": caps.typing,
            "threads": caps.threads,
            "number_insertion": caps.number_insertion,
        },
    }
