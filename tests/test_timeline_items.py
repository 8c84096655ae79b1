"""Calls and emails in the timeline, and threads: a channel hands them in on
``InboundMessage``; they are stored with their message, evented, listed, threaded by the
channel's key, never delivered back out, and email HTML is sanitised as it is stored."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.channels.base import InboundCall, InboundContact, InboundEmail, InboundMessage
from hub.errors import InvalidInput
from hub.http import CTX
from hub.inbox.actions import receive_message
from hub.inbox.inbound_batch import ReceiveResult
from hub.inbox.item_models import CallItem
from hub.inbox.models import Conversation, Message
from tests.helpers import Op, customer_says, make_api_channel, make_operator
from tests.test_widget_api import get_contact, open_operator, operator_messages, recv_event

CALLER = InboundContact("tel:+79161234567", "", "+79161234567")


def call(status: str = "answered", duration_s: int = 135, **extra: Any) -> InboundCall:
    return InboundCall(
        direction="inbound",
        from_number="+79161234567",
        to_number="+74951234567",
        status=status,
        duration_s=duration_s,
        tracking_number="+74957654321",
        **extra,
    )


async def receive(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    **fields: Any,
) -> ReceiveResult:
    fields.setdefault("contact", CALLER)
    fields.setdefault("body", "")
    return await receive_message(client.app[CTX], InboundMessage(channel["id"], **fields))


async def setup(client: TestClient) -> tuple[Op, dict[str, Any]]:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    return admin, await make_api_channel(client, admin)


async def test_a_call_is_stored_evented_listed_and_never_delivered(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel = await setup(client)
    ws = await open_operator(client, admin)
    result = await receive(
        client,
        channel,
        call=call(recording_url="https://pbx.example/rec/1.mp3"),
        provider_message_id="call-1",
    )
    expected = {
        "direction": "inbound",
        "from": "+79161234567",
        "to": "+74951234567",
        "tracking_number": "+74957654321",
        "status": "answered",
        "duration_s": 135,
        "recording_url": "https://pbx.example/rec/1.mp3",
        "recording_ref": None,
        # What a calls channel folds in from its provider's events (``call_fold``).
        "operator": None,
        "started_at": None,
        "answered_at": None,
        "ended_at": None,
        "attribution": {},
    }
    assert result.message["call"] == expected and result.message["email"] is None
    assert result.conversation["last_message_preview"] == "📞 +79161234567 2:15"
    event = await recv_event(
        ws, "message.created", lambda d: d["message"]["id"] == result.message["id"]
    )
    assert event["message"]["call"] == expected
    [listed] = await operator_messages(client, admin, result.conversation["id"])
    assert listed["call"] == expected and listed["delivery"] is None
    # The provider reports it again: nothing new is stored, the answer is the same call.
    again = await receive(client, channel, call=call(), provider_message_id="call-1")
    assert again.duplicate and again.message["call"] == expected
    count = await client.app[CTX].read(
        lambda s: s.scalar(select(func.count()).select_from(CallItem))
    )
    assert count == 1
    await ws.close()


async def test_a_missed_call_shows_as_missed(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, channel = await setup(client)
    result = await receive(client, channel, call=call("missed", 0))
    assert result.message["call"]["status"] == "missed"
    assert result.conversation["last_message_preview"] == "📵 +79161234567"
    assert result.conversation["unread_count"] == 1  # a customer waits for a call back


@pytest.mark.parametrize(
    "bad",
    [call("ringing-forever"), call(duration_s=-1), InboundCall("sideways", "+7", "+7", "answered")],
)
async def test_a_call_built_wrongly_is_refused_and_stores_nothing(
    client: TestClient,  # type: ignore[type-arg]
    bad: InboundCall,
) -> None:
    _admin, channel = await setup(client)
    with pytest.raises(InvalidInput):
        await receive(client, channel, call=bad)
    rows = await client.app[CTX].read(lambda s: s.scalar(select(func.count(Message.id))))
    assert rows == 0


async def test_an_email_keeps_its_headers_and_only_safe_html(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel = await setup(client)
    html = (
        '<p onclick="steal()">Добрый день!<script>alert(1)</script>'
        '<img src="https://tracker.example/open.gif"><a href="javascript:alert(2)">x</a>'
        '<a href="https://shop.example/offer">КП</a><style>p{}</style></p>'
    )
    result = await receive(
        client,
        channel,
        contact=InboundContact("mail:ivan@example.com", "Ivan", email="ivan@example.com"),
        body="Добрый день! КП",
        thread_key="<offer-1@shop.example>",
        email=InboundEmail(
            subject="Re: Коммерческое предложение",
            from_address="ivan@example.com",
            to=("sales@shop.example",),
            cc=("boss@example.com",),
            html=html,
            message_id="<reply-1@example.com>",
        ),
    )
    email = result.message["email"]
    assert email["subject"] == "Re: Коммерческое предложение"
    assert (email["to"], email["cc"], email["message_id"]) == (
        ["sales@shop.example"],
        ["boss@example.com"],
        "reply-1@example.com",
    )
    for unsafe in ("script", "onclick", "javascript:", " src=", "<style"):
        assert unsafe not in email["html"], unsafe
    # The image stays, its address parked: the inbox loads it only when the operator asks.
    assert '<img data-hub-src="https://tracker.example/open.gif">' in email["html"]
    assert 'href="https://shop.example/offer"' in email["html"] and "Добрый день!" in email["html"]
    assert result.conversation["last_message_preview"] == "✉ Re: Коммерческое предложение"
    [listed] = await operator_messages(client, admin, result.conversation["id"])
    assert listed["email"] == email and listed["body"] == "Добрый день! КП"
    # The inbox frames it from the hub, with a policy of its own: images only when asked.
    path = f"/api/v1/messages/{listed['id']}/email.html"
    page = await client.get(path, headers=admin.headers)
    assert page.status == 200 and page.content_type == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "img-src data:;" in policy and "sandbox" in policy and "script-src" not in policy
    text = await page.text()
    assert "Добрый день!" in text and " src=" not in text
    with_images = await client.get(path + "?images=true", headers=admin.headers)
    assert 'src="https://tracker.example/open.gif"' in await with_images.text()
    assert "img-src https: http: data:;" in with_images.headers["Content-Security-Policy"]
    assert (await client.get(path + "?images=maybe", headers=admin.headers)).status == 400
    assert (await client.get(path)).status == 401
    outsider = await make_operator(client, role="operator")
    assert (await client.get(path, headers=outsider.headers)).status == 404


async def test_threads_keep_their_own_conversations(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, channel = await setup(client)
    who = InboundContact("crm-7", "Anna")

    def email(subject: str) -> InboundEmail:
        return InboundEmail(subject=subject, from_address="anna@example.com")

    first = await receive(
        client, channel, contact=who, body="1", thread_key="t-1", email=email("A")
    )
    same = await receive(client, channel, contact=who, body="2", thread_key="t-1", email=email("A"))
    other = await receive(
        client, channel, contact=who, body="3", thread_key="t-2", email=email("B")
    )
    assert same.conversation["id"] == first.conversation["id"]
    assert other.conversation["id"] != first.conversation["id"]
    # A message without a thread (the batch path) is the sender's one conversation outside any.
    plain = await customer_says(client, channel, "просто вопрос", external_id="crm-7", name="Anna")
    assert plain["conversation"]["id"] not in (first.conversation["id"], other.conversation["id"])
    again = await customer_says(client, channel, "ещё вопрос", external_id="crm-7", name="Anna")
    assert again["conversation"]["id"] == plain["conversation"]["id"]
    card = await get_contact(client, admin, first.conversation["contact_id"])
    assert len(card["conversations"]) == 3
    keys = await client.app[CTX].read(
        lambda s: s.scalars(select(Conversation.thread_key).order_by(Conversation.id))
    )
    assert list(keys.all()) == ["t-1", "t-2", None]
