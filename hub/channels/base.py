"""What every channel adapter speaks: inbound messages in, outbound messages out.

A channel module turns its provider's payloads into ``InboundMessage`` for
``inbox.actions.receive_message`` and sends ``OutboundMessage`` for the delivery worker. Only
operator replies become ``OutboundMessage``: notes and activities never reach an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class InboundContact:
    """The sender as the channel knows him; ``phone`` is already E.164, ``email`` lower-cased."""

    external_id: str
    name: str = ""
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel_id: int
    contact: InboundContact
    body: str
    #: The provider's id of this message; a second delivery with the same id stores nothing.
    provider_message_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An operator's reply on its way to the customer."""

    message_id: int
    conversation_id: int
    channel_id: int
    body: str
    contact_external_id: str | None
    operator_name: str
    created_at: str | None
    contact_id: int | None = None


class DeliveryError(Exception):
    """A send that failed; ``retryable`` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class ChannelAdapter(Protocol):
    """The outbound half of a channel."""

    type: str

    async def send(self, channel_config: dict[str, Any], secret: str, out: OutboundMessage) -> None:
        """Deliver ``out`` or raise ``DeliveryError``."""
        ...

    async def close(self) -> None: ...
