"""A customer reads and is answered by the identity that wrote his conversation, never by a
contact that a merge widened (DESIGN.md section 5, rule 7).

The attack: an anonymous visitor types a known customer's email (or phone, in any spelling);
the lead intake merges his new contact into the victim's on that unverified key. Before
conversations carried their identity, the widget then read the victim's chat, the attacker's
messages landed in it and the operators' answers to the victim reached the attacker. Each
channel is tried: the widget (email and callback phone), Telegram and the API channel.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.crm_sync.models import ContactMerge
from hub.http import CTX
from hub.settings import Settings
from tests.crm_helpers import run_intake
from tests.helpers import Op, allow_loopback, customer_says, make_api_channel, make_operator
from tests.telegram_fake import Telegram, fixture, start_telegram
from tests.test_api_channel import CallbackServer, callback, wait_for
from tests.test_widget_api import (
    ORIGIN,
    conversations_of,
    fetch_messages,
    get_contact,
    is_message_from,
    make_widget_channel,
    open_visitor,
    operator_messages,
    operator_reply,
    recv_until,
    send_over,
    start_session,
    visitor_headers,
)

__all__ = ["callback"]  # the API channel's callback server fixture, used below


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API channel's callback receiver is a local server: allowed explicitly."""
    return allow_loopback(settings)


async def merges(client: TestClient) -> list[ContactMerge]:  # type: ignore[type-arg]
    return list((await client.app[CTX].read(lambda s: s.scalars(select(ContactMerge)))).all())


def conversation_with(convs: list[dict[str, Any]], conv_id: int) -> list[dict[str, Any]]:
    return [c for c in convs if c["id"] != conv_id]


async def test_a_visitor_typing_a_customers_email_reads_nothing_of_his_chat(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    victim = await start_session(
        client, channel, email="victim@mail.example", name="Виктор Жертвин", phone="+79161234567"
    )
    v_ws, _ = await open_visitor(client, victim["visitor_token"])
    v_msg = await send_over(v_ws, "v-1", "VICTIM-SECRET мой адрес: ул. Ленина 1")
    [v_conv] = await conversations_of(client, admin, channel)
    v_reply = await operator_reply(client, admin, v_conv["id"], "VICTIM-REPLY доставим завтра")
    await recv_until(v_ws, is_message_from("operator"))
    await run_intake(client)

    attacker = await start_session(client, channel, email="VICTIM@mail.example")
    a_ws, _ = await open_visitor(client, attacker["visitor_token"])
    a_first = await send_over(a_ws, "a-1", "Здравствуйте")
    await run_intake(client)
    # The intake did merge the two contacts on the email: for operators only, and it says so.
    [merge] = await merges(client)
    assert merge.kept_id == v_conv["contact_id"]
    assert merge.reason == "automatic: same email (unverified)"

    a_second = await send_over(a_ws, "a-2", "Покажите мой заказ")
    convs = await conversations_of(client, admin, channel)
    [a_conv] = conversation_with(convs, v_conv["id"])
    assert a_conv["contact_id"] == v_conv["contact_id"]  # one contact card for operators
    v_ids = [m["id"] for m in await operator_messages(client, admin, v_conv["id"])]
    assert v_ids == [v_msg["message"]["id"], v_reply["id"]]  # nothing of his landed there
    a_all = await operator_messages(client, admin, a_conv["id"])
    # Operators also see the merge told in his conversation (an activity, never a customer's).
    assert [m["meta"].get("action") for m in a_all if m["kind"] == "activity"] == ["merge"]
    a_ids = [m["id"] for m in a_all if m["kind"] != "activity"]
    assert a_ids == [a_first["message"]["id"], a_second["message"]["id"]]

    # What the attacker's widget reads: his own messages, none of the victim's or his details.
    a_items = await fetch_messages(client, attacker["visitor_token"], after=0)
    assert [m["id"] for m in a_items] == a_ids
    again = await start_session(client, channel, visitor_token=attacker["visitor_token"])
    assert [m["id"] for m in again["messages"]] == a_ids
    seen = json.dumps(a_items) + json.dumps(again)
    for secret in ("VICTIM", "Виктор", "79161234567"):  # the email is what he typed himself
        assert secret not in seen, secret
    resp = await client.get(
        f"/api/widget/v1/messages?after={v_msg['message']['id'] - 1}",
        headers=visitor_headers(attacker["visitor_token"]),
    )
    assert "VICTIM" not in await resp.text()

    # Answers go to whoever wrote each conversation, live, and to nobody else.
    to_victim = await operator_reply(client, admin, v_conv["id"], "VICTIM-REPLY-2 ваш счёт")
    to_attacker = await operator_reply(client, admin, a_conv["id"], "Для нового клиента")
    frame, _ = await recv_until(a_ws, is_message_from("operator"))
    assert frame["message"]["id"] == to_attacker["id"]
    frame, _ = await recv_until(v_ws, is_message_from("operator"))
    assert frame["message"]["id"] == to_victim["id"]
    last = await operator_reply(client, admin, v_conv["id"], "VICTIM-REPLY-3")
    frame, _ = await recv_until(v_ws, is_message_from("operator"))
    assert frame["message"]["id"] == last["id"]  # the attacker's answer never reached him

    # The victim's own widget still reads his whole chat, and only it.
    v_items = await fetch_messages(client, victim["visitor_token"], after=0)
    assert [m["id"] for m in v_items] == [*v_ids, to_victim["id"], last["id"]]
    await a_ws.close()
    await v_ws.close()


async def test_a_callback_with_a_customers_phone_in_another_spelling_reads_nothing(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    victim = (await start_session(client, channel))["visitor_token"]
    resp = await client.post(
        "/api/widget/v1/callback",
        json={"visitor_token": victim, "phone": "+7 916 123-45-67", "name": "Виктор"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 201, await resp.text()
    [v_conv] = await conversations_of(client, admin, channel)
    await operator_reply(client, admin, v_conv["id"], "VICTIM-REPLY перезвоним в 18:00")
    await run_intake(client)

    attacker = (await start_session(client, channel))["visitor_token"]
    resp = await client.post(
        "/api/widget/v1/callback",
        json={"visitor_token": attacker, "phone": "8 (916) 123-45-67"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 201, await resp.text()
    mine = (await resp.json())["message"]
    await run_intake(client)
    [merge] = await merges(client)
    assert merge.reason == "automatic: same phone (unverified)"

    items = await fetch_messages(client, attacker, after=0)
    assert [m["id"] for m in items] == [mine["id"]]
    assert "VICTIM" not in json.dumps(items)
    session = await start_session(client, channel, visitor_token=attacker)
    assert "VICTIM" not in json.dumps(session) and "Виктор" not in json.dumps(session)
    a_ws, _ = await open_visitor(client, attacker)
    a_next = await send_over(a_ws, "a-1", "Где мой заказ?")
    ids = [m["id"] for m in await operator_messages(client, admin, v_conv["id"])]
    assert a_next["message"]["id"] not in ids
    await a_ws.close()


def _from(user_id: int, first_name: str, message_id: int, text: str) -> dict[str, Any]:
    update = fixture("text")
    update["update_id"] = 500000000 + message_id
    who = {"id": user_id, "is_bot": False, "first_name": first_name}
    update["message"].update(
        message_id=message_id,
        text=text,
        chat={"id": user_id, "first_name": first_name, "type": "private"},
        **{"from": who},
    )
    return update


async def test_telegram_answers_go_to_the_chat_that_wrote_even_after_a_merge(
    aiohttp_server: Any,
    aiohttp_client: Any,
    settings: Settings,
) -> None:
    tg: Telegram = await start_telegram(aiohttp_server, aiohttp_client, settings)
    await tg.fed("text")  # Ivan, 424242
    await tg.fed("contact")  # Ivan shares his own contact: a phone Telegram proved his
    await tg.fed(_from(555001, "Mallory", 901, "Здравствуйте, я Иван"))
    convs = await tg.conversations()
    by_title = {c["contact"]["name"]: c for c in convs}
    ivan, mallory = by_title["Ivan Petrov"], by_title["Mallory"]

    card = await get_contact(tg.client, tg.admin, ivan["contact_id"])
    assert card["verified_phones"] == ["+79161234567"] == card["phones"]
    # An operator merges Mallory into Ivan (believing he is Ivan): for operators only.
    resp = await tg.client.post(
        f"/api/v1/contacts/{ivan['contact_id']}/merge",
        json={"other_id": mallory["contact_id"]},
        headers=tg.admin.headers,
    )
    assert resp.status == 201, await resp.text()

    await tg.fed(_from(555001, "Mallory", 902, "Какой у меня адрес доставки?"))
    ivan_ids = [m["id"] for m in await tg.messages(ivan["id"])]
    mallory_msgs = await tg.messages(mallory["id"])
    assert mallory_msgs[-1]["body"] == "Какой у меня адрес доставки?"
    assert mallory_msgs[-1]["id"] not in ivan_ids

    for conv, body in ((ivan, "IVAN-ONLY адрес: ул. Ленина 1"), (mallory, "Для вас")):
        resp = await tg.client.post(
            f"/api/v1/conversations/{conv['id']}/messages",
            json={"body": body},
            headers=tg.admin.headers,
        )
        assert resp.status == 201, await resp.text()

    async def both_sent() -> bool:
        return len(tg.api.sends) >= 2

    await wait_for(both_sent)
    sent = {call.params["text"]: call.params["chat_id"] for call in tg.api.sends}
    assert sent == {"IVAN-ONLY адрес: ул. Ленина 1": "424242", "Для вас": "555001"}


async def test_api_channel_answers_go_to_the_customer_that_wrote(
    client: TestClient,  # type: ignore[type-arg]
    callback: CallbackServer,
) -> None:
    admin: Op = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin, callback_url=callback.url)
    victim = await customer_says(
        client, channel, "VICTIM-SECRET", external_id="crm-1", email="victim@mail.example"
    )
    await run_intake(client)
    attacker = await customer_says(
        client, channel, "Hi", external_id="crm-666", name="M", email="victim@mail.example"
    )
    await run_intake(client)
    assert len(await merges(client)) == 1
    again = await customer_says(client, channel, "Again", external_id="crm-666", name="M")
    assert again["conversation"]["id"] == attacker["conversation"]["id"]
    assert again["conversation"]["id"] != victim["conversation"]["id"]

    for conv, body in ((victim, "VICTIM-ONLY"), (attacker, "For M")):
        await operator_reply(client, admin, conv["conversation"]["id"], body)

    async def both_posted() -> bool:
        return len(callback.received) >= 2

    await wait_for(both_posted)
    got = {
        r.payload["message"]["body"]: r.payload["contact"]["external_id"] for r in callback.received
    }
    assert got == {"VICTIM-ONLY": "crm-1", "For M": "crm-666"}
