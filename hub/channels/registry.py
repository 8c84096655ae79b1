"""The list of channel types: the built-in ones and those registered from outside, alike.

Each type is one ``ChannelSpec`` (``hub.channels.spec``) made by its own package. Built-in
types are named in ``BUILT_IN``; any other package registers with ``register(SPEC)``, or is named
in ``HUB_CHANNEL_MODULES`` (modules that define ``SPEC``), which the app and the command line
load (``load_channel_modules``) before they read the list. Nothing else in the core names a type.

Every app installs every type, and the CLI reads this list, so what a spec module imports must
not be a provider SDK (aiogram, aiosmtplib…): a channel loads its SDK when a channel of its type
exists or is connected (``LazyConnector``, ``telegram.keys``), and ``tests/test_startup.py``
checks that a hub without one never imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from aiohttp import web

from hub.channels import api
from hub.channels.calls.spec import SPEC as CALLS
from hub.channels.capabilities import Capabilities
from hub.channels.email.spec import SPEC as EMAIL
from hub.channels.hooks import ContactRows
from hub.channels.spec import ChannelSpec
from hub.channels.telegram.spec import SPEC as TELEGRAM
from hub.channels.widget.spec import SPEC as WIDGET
from hub.errors import InvalidInput

BUILT_IN: tuple[ChannelSpec, ...] = (api.SPEC, WIDGET, TELEGRAM, EMAIL, CALLS)
_registered: list[ChannelSpec] = []

#: The specs an app installed, for the routes that describe them (``/api/v1/channel-types``,
#: the API document).
SPECS = web.AppKey("channel_specs", tuple[ChannelSpec, ...])


def register(spec: ChannelSpec) -> None:
    """Add a channel type; registering the same spec again changes nothing, another spec
    under a taken type name is refused."""
    for known in channel_specs():
        if known.type == spec.type:
            if known is spec:
                return
            raise ValueError(f"channel type {spec.type!r} is registered already")
    _registered.append(spec)


def unregister(type_name: str) -> None:
    """Remove a registered (not built-in) type: for tests that register one of their own."""
    _registered[:] = [spec for spec in _registered if spec.type != type_name]


def load_channel_modules(names: Iterable[str]) -> None:
    """Import each module named (``HUB_CHANNEL_MODULES``) and register its ``SPEC``."""
    for name in names:
        module = importlib.import_module(name)
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, ChannelSpec):
            raise ValueError(f"channel module {name!r} defines no SPEC (a ChannelSpec)")
        register(spec)


def channel_specs() -> tuple[ChannelSpec, ...]:
    return (*BUILT_IN, *_registered)


def capabilities() -> dict[str, Capabilities]:
    """Every type's capabilities, for the context (``HubContext.channel_capabilities``)."""
    return {spec.type: spec.capabilities for spec in channel_specs()}


def contact_rows() -> tuple[ContactRows, ...]:
    """Every type's tables that follow a contact in a merge (``HubContext.contact_rows``)."""
    return tuple(rows for spec in channel_specs() for rows in spec.contact_rows)


def channel_spec(type_name: str) -> ChannelSpec:
    for spec in channel_specs():
        if spec.type == type_name:
            return spec
    known = ", ".join(s.type for s in channel_specs())
    raise InvalidInput(
        f"unknown channel type {type_name!r}; known: {known}", code="unknown_channel_type"
    )
