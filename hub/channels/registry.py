"""The list of channel types: one entry per channel module, built-in or extra alike.

Each entry says how to validate a channel's settings and how to install the channel into an app
(its routes, its per-process state) returning the adapter that sends operator replies.

Every app installs every type, and the CLI reads this list for its choices, so what an entry
names imports no provider SDK (aiogram, aiosmtplib…): a channel loads its SDK when a channel of
its type exists or is connected (``LazyConnector``, ``telegram.keys``), and
``tests/test_startup.py`` checks that a hub without one never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hub.channels import api
from hub.channels.base import ChannelAdapter
from hub.channels.capabilities import UNKNOWN, Capabilities
from hub.channels.connector import ChannelConnector, LazyConnector
from hub.channels.telegram import config as telegram_config
from hub.channels.telegram import install as telegram_install
from hub.channels.widget import config as widget_config
from hub.channels.widget import install as widget_install
from hub.errors import InvalidInput


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


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec(
        api.TYPE,
        api.validate_config,
        api.install,
        outbound_urls=("callback_url",),
        capabilities=Capabilities(reply_setting="callback_url"),
    ),
    ChannelSpec(
        widget_config.TYPE,
        widget_config.validate_config,
        widget_install.install,
        True,
        capabilities=Capabilities(typing=True),
    ),
    ChannelSpec(
        telegram_config.TYPE,
        telegram_config.validate_config,
        telegram_install.install,
        connector=LazyConnector("hub.channels.telegram.connect"),
        capabilities=Capabilities(files=True),
    ),
)


def capabilities() -> dict[str, Capabilities]:
    """Every type's capabilities, for the context (``HubContext.channel_capabilities``)."""
    return {spec.type: spec.capabilities for spec in CHANNELS}


def channel_spec(type_name: str) -> ChannelSpec:
    for spec in CHANNELS:
        if spec.type == type_name:
            return spec
    known = ", ".join(s.type for s in CHANNELS)
    raise InvalidInput(
        f"unknown channel type {type_name!r}; known: {known}", code="unknown_channel_type"
    )
