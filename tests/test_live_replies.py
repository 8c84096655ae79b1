"""Replies on a live channel (the widget) are handed to its adapter at commit, with no outbox
claim and record around them; a hand-over that fails puts the reply back on the outbox, which
sends it again. The failing case uses a channel type of the test's own (registered like any
channel), whose adapter refuses its first hand-over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.channels import registry
from hub.channels.base import DeliveryError, InboundContact, InboundMessage, OutboundMessage
from hub.channels.capabilities import Capabilities
from hub.channels.spec import ChannelSpec
from hub.http import CTX
from hub.inbox.actions import receive_message
from hub.settings import Settings
from tests.helpers import FRAME_CAP_S, make_operator
from tests.test_widget_api import (
    conversations_of,
    is_message_from,
    make_widget_channel,
    open_visitor,
    operator_reply,
    recv_until,
    send_over,
    start_session,
)


class FlakyLive:
    """A live adapter whose first hand-over fails; every attempt is queued for the test."""

    type = "flaky"

    def __init__(self) -> None:
        self.attempts: asyncio.Queue[tuple[OutboundMessage, bool]] = asyncio.Queue()
        self.failed_once = False

    async def send(self, config: dict[str, Any], secret: str, out: OutboundMessage) -> None:
        fail = not self.failed_once
        self.failed_once = True
        await self.attempts.put((out, fail))
        if fail:
            raise DeliveryError("the live layer is away")

    async def close(self) -> None:
        return None


ADAPTER = web.AppKey("flaky_adapter", FlakyLive)


def _install(app: web.Application) -> FlakyLive:
    app[ADAPTER] = adapter = FlakyLive()
    return adapter


FLAKY = ChannelSpec(
    "flaky", lambda config: {}, _install, capabilities=Capabilities(live=True), title="Flaky"
)


@pytest.fixture
async def settings(settings: Settings) -> AsyncIterator[Settings]:
    registry.register(FLAKY)
    yield settings
    registry.unregister("flaky")


async def test_a_widget_reply_is_sent_at_commit_and_reaches_the_socket(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin", name="Анна")
    channel = await make_widget_channel(client, admin)
    token = (await start_session(client, channel))["visitor_token"]
    tab, _ = await open_visitor(client, token)
    await send_over(tab, "c-1", "Здравствуйте")
    [conv] = await conversations_of(client, admin, channel)
    reply = await operator_reply(client, admin, conv["id"], "Добрый день!")
    # Sent in the commit that stored it: the outbox would answer "pending" with no attempt.
    assert reply["delivery"] == {"status": "sent", "error": None, "attempts": 1}
    frame, _ = await recv_until(tab, is_message_from("operator"))
    assert frame["message"]["id"] == reply["id"]
    await tab.close()


async def test_a_failed_hand_over_goes_back_to_the_outbox_and_is_sent_again(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    made = await client.post(
        "/api/v1/channels", json={"type": "flaky", "name": "Live"}, headers=admin.headers
    )
    assert made.status == 201, await made.text()
    channel = await made.json()
    said = await customer_says_on(client, channel)
    reply = await operator_reply(client, admin, said, "Hello")
    adapter = client.app[ADAPTER]
    first, failed = await asyncio.wait_for(adapter.attempts.get(), FRAME_CAP_S)
    second, failed_again = await asyncio.wait_for(adapter.attempts.get(), FRAME_CAP_S)
    assert (first.message_id, failed, second.message_id, failed_again) == (
        reply["id"],
        True,
        reply["id"],
        False,
    )


async def customer_says_on(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
) -> int:
    """A customer message on a channel with no inbound route of its own: stored as any
    channel stores one (``receive_message``); returns its conversation's id."""
    result = await receive_message(
        client.app[CTX], InboundMessage(channel["id"], InboundContact("c-1", "Ivan"), "Hi")
    )
    return int(result.conversation["id"])
