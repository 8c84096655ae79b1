"""The JSON answers of the channel admin routes and of the API channel's inbound route
(conventions in ``hub.responses``; each channel with routes of its own keeps its answers in its
package: ``hub.channels.widget.responses``, ``hub.channels.telegram.responses``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from hub.inbox.responses import ListedConversationOut, MessageOut
from hub.responses import Omittable, Out

_CONFIG = (
    "The type's settings, as its module validated them (callback_url of an api channel, the "
    "widget's look, origins and forms, …); never a secret"
)


class ChannelStatusOut(Out):
    """How a channel's own connection to its provider goes (an email channel reading its
    mailbox)."""

    last_ok_at: datetime | None = Field(
        description="When it last worked (a pass that read the mailbox)"
    )
    last_error: str | None = Field(description="What went wrong last, in words for the admin")
    last_error_at: datetime | None
    reading: bool = Field(description="A hub process holds the mailbox and reads it now")


class ChannelOut(Out):
    id: int
    type: str
    name: str
    team_id: int | None
    active: bool
    config: Omittable[dict[str, Any]] = Field(
        default=None, description=f"{_CONFIG}. Listed to admins only"
    )
    created_at: datetime
    website_token: Omittable[str] = Field(
        default=None, description="The public token a website embeds (widget channels)"
    )
    status: Omittable[ChannelStatusOut | None] = Field(
        default=None,
        description="Listed to admins, for a type that keeps a connection of its own (email: "
        "its mailbox reading); null before it was first tried",
    )


class ChannelsOut(Out):
    items: list[ChannelOut]


class CreatedChannelOut(ChannelOut):
    config: dict[str, Any] = Field(description=_CONFIG)
    secret: str = Field(
        description="Shown this once: authenticates the channel's webhooks (the API channel's "
        "inbound route) and signs its callbacks"
    )
    webhook_secret: Omittable[str] = Field(
        default=None,
        description="For a type that sends callbacks: the secret in the Standard Webhooks form "
        "(whsec_…) that verifies them, shown this once",
    )
    setup: Omittable[list[str]] = Field(
        default=None,
        description="For a type set up in its provider's cabinet (calls): what to paste there, "
        "its webhook URL with the channel's token, shown this once",
    )


class CapabilitiesOut(Out):
    """What a channel type can do (``hub.channels.capabilities``)."""

    replies: bool = Field(description="Operators can answer at all (notes always can)")
    files: bool = Field(description="Replies may carry files")
    html: bool = Field(description="Replies may be sent as HTML")
    typing: bool = Field(description="The customer sees that the operator is typing")
    threads: bool = Field(description="A sender has one conversation per thread")
    number_insertion: bool = Field(
        description="Its script shows site visitors tracking numbers from a pool, so a pool "
        "of numbers may belong to a channel of it (/api/v1/channels/{id}/number-pool)"
    )


class ChannelTypeOut(Out):
    type: str
    title: str = Field(description="Its name for people")
    badge: str = Field(description="The few letters of its badge in the inbox")
    capabilities: CapabilitiesOut


class ChannelTypesOut(Out):
    items: list[ChannelTypeOut]


class InboundOut(Out):
    message: MessageOut
    conversation: ListedConversationOut
    duplicate: bool = Field(
        description="The external_message_id was stored before: nothing new was stored"
    )
