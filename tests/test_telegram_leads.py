"""Telegram leads: a deep-link payload that is not ``<source>--<campaign>`` sets no UTM marks
(docs/admins.md), and a customer who presses Start and then shares his phone with Telegram's
contact button (so the number is proven his) joins the known customer with that phone; his lead
folds into that customer's instead of standing as a second one."""

from __future__ import annotations

from typing import Any

import pytest

from hub.settings import Settings
from tests.crm_helpers import make_lead, run_intake
from tests.helpers import make_api_channel
from tests.telegram_fake import Telegram, fixture, start_telegram


@pytest.fixture
async def tg(aiohttp_server: Any, aiohttp_client: Any, settings: Settings) -> Telegram:
    return await start_telegram(aiohttp_server, aiohttp_client, settings)


def _start(payload: str) -> dict[str, Any]:
    """Ivan (the user of the recorded contact share) opens the bot by a link."""
    update = fixture("start_payload")
    shared = fixture("contact")["message"]
    update["message"].update({"from": shared["from"], "chat": shared["chat"]})
    update["message"]["text"] = f"/start {payload}"
    return update


async def _leads(tg: Telegram) -> list[dict[str, Any]]:
    resp = await tg.client.get("/api/v1/leads?status=all", headers=tg.admin.headers)
    return list((await resp.json())["items"])


async def _telegram_conversation(tg: Telegram) -> dict[str, Any]:
    [conv] = [c for c in await tg.conversations() if c["channel"]["type"] == "telegram"]
    return conv


async def test_start_then_a_shared_phone_folds_into_the_known_customers_lead(tg: Telegram) -> None:
    api = await make_api_channel(tg.client, tg.admin)
    known = await make_lead(tg.client, api, tg.admin, "crm-7", "Иван", phone="8 916 123-45-67")
    await tg.fed(_start("yandex--winter_sale"))
    await run_intake(tg.client)  # the intake was quicker than the customer's thumb
    assert len(await _leads(tg)) == 2
    await tg.fed("contact")
    conv = await _telegram_conversation(tg)
    assert conv["contact_id"] == known["contact_id"]
    by_status = {lead["status"]: lead for lead in await _leads(tg)}
    assert by_status["incoming"]["id"] == known["id"]
    assert by_status["rejected"]["contact_id"] == known["contact_id"]
    assert f"#{known['id']}" in by_status["rejected"]["reject_reason"]
    card = await tg.client.get(f"/api/v1/contacts/{known['contact_id']}", headers=tg.admin.headers)
    assert {i["channel_type"] for i in (await card.json())["identities"]} == {"api", "telegram"}


async def test_a_known_customer_with_an_open_deal_gets_the_conversation_in_it(
    tg: Telegram,
) -> None:
    api = await make_api_channel(tg.client, tg.admin)
    known = await make_lead(tg.client, api, tg.admin, "crm-8", "Иван", phone="+79161234567")
    qualified = await tg.client.post(
        f"/api/v1/leads/{known['id']}/qualify", headers=tg.admin.headers
    )
    deal = await qualified.json()
    await tg.fed(_start("promo"))
    conv = await _telegram_conversation(tg)
    # Not <source>--<campaign>: kept as the start payload, no UTM marks (docs/admins.md).
    assert conv["attributes"]["telegram_start"] == "promo"
    assert "utm_source" not in conv["attributes"]
    await run_intake(tg.client)
    [mine] = [lead for lead in await _leads(tg) if lead["conversation_id"] == conv["id"]]
    assert mine["source"]["utm_source"] is None and mine["source"]["channel"] == "telegram"
    await tg.fed("contact")
    conv = await _telegram_conversation(tg)
    [folded] = [lead for lead in await _leads(tg) if lead["conversation_id"] == conv["id"]]
    assert (folded["status"], folded["deal_id"]) == ("linked", deal["id"])
    got = await (
        await tg.client.get(f"/api/v1/deals/{deal['id']}", headers=tg.admin.headers)
    ).json()
    assert conv["id"] in [c["id"] for c in got["conversations"]]
