"""The list of channel types: one entry per channel module, built-in or extra alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.channels import api
from hub.channels.base import ChannelAdapter
from hub.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    type: str
    validate_config: Callable[[dict[str, Any]], dict[str, Any]]
    make_adapter: Callable[[float], ChannelAdapter]


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec(api.TYPE, api.validate_config, api.ApiChannelAdapter),
)


def channel_spec(type_name: str) -> ChannelSpec:
    for spec in CHANNELS:
        if spec.type == type_name:
            return spec
    known = ", ".join(s.type for s in CHANNELS)
    raise InvalidInput(
        f"unknown channel type {type_name!r}; known: {known}", code="unknown_channel_type"
    )
