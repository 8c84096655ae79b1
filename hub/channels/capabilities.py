"""What a channel type can do, asked by core code instead of its type name.

Each registry entry (``hub.channels.registry``) carries one; the app hands them to the context
(``HubContext.channel_capabilities``), so the inbox domain, which imports no aiohttp and so no
registry, asks ``ctx.capabilities_of(channel.type)``. A new channel says what it can do here
and no core module learns its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Capabilities:
    #: Operators can answer at all (a call cannot be replied to; notes are always possible).
    replies: bool = True
    #: Replies may carry files.
    files: bool = False
    #: Replies may be sent as HTML (email).
    html: bool = False
    #: The customer sees "the operator is typing".
    typing: bool = False
    #: The channel gives a thread key: a sender has one conversation per thread.
    threads: bool = False
    #: Replies reach the customer through the hub's own live layer (the widget's sockets),
    #: which holds them in the database for a customer who is away: a reply is handed to the
    #: adapter as soon as it commits, with no outbox claim and record around it
    #: (``hub.inbox.live_replies``). Channels that call a provider keep the outbox.
    live: bool = False
    #: A setting of the channel that must be set for replies to leave the hub (an API channel
    #: without ``callback_url`` keeps its replies for the outside system to fetch).
    reply_setting: str | None = None
    #: The channel's script runs on the customer's site and can show each visitor a number of
    #: a pool of tracking numbers (dynamic number insertion), so a pool may belong to it.
    number_insertion: bool = False

    def delivers(self, config: Mapping[str, Any]) -> bool:
        """Whether a reply on a channel with these settings goes out through its adapter."""
        if not self.replies:
            return False
        return self.reply_setting is None or bool(config.get(self.reply_setting))


#: What an unknown type may do: nothing beyond text replies (an entry removed from the
#: registry while channels of it remain).
UNKNOWN = Capabilities()
