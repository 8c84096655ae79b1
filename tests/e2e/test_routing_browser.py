"""Automatic assignment in a real browser: an operator of a routed team opens the inbox, a
customer writes, and the conversation lands in his «Мои» with the decision told in Russian;
opening it accepts the offer; «На месте» / «Отошёл» sets him away, and then a new conversation
waits in the team's queue. The app's router runs in the background here, as in production.
With ``HUB_SCREENSHOTS_DIR`` set the inbox is saved in Russian and English.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import ROUTER
from hub.http import CTX
from hub.inbox.models import Conversation
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row, shot, team

pytestmark = pytest.mark.timeout(90)


async def test_an_operator_gets_conversations_by_himself_and_can_step_away(
    browser: Any, hub: Hub
) -> None:
    team_id = await team(hub, "Печи")
    oleg = await person(hub, "Oleg", "operator", [team_id])
    channel = await api_channel(hub, "Shop API", team_id)
    await hub.call("PATCH", f"/api/v1/teams/{team_id}/routing", json={"enabled": True})
    page, errors = await open_inbox(browser, hub, oleg, lang="ru")
    away = page.locator("#away-btn")
    await expect(away).to_have_text("● На месте")

    said = await customer_says(hub, channel, "Есть ли печь в наличии?", name="Иван Петров")
    conv_id = said["conversation"]["id"]
    await expect(row(page, "Иван Петров")).to_be_visible()  # in «Мои», by itself
    async with page.expect_response(lambda r: r.url.endswith(f"/{conv_id}/accept")) as answer:
        await row(page, "Иван Петров").click()
    assert await (await answer.value).json() == {"accepted": True}
    activity = page.locator("#messages .msg.activity .body")
    await expect(activity).to_have_text(["Назначен оператору Oleg: по кругу, 1 из 5 открыты"])
    offered = await hub.call("GET", f"/api/v1/teams/{team_id}/routing")
    assert offered["members"][0]["open"] == 1
    state = await hub.call("GET", f"/api/v1/conversations/{conv_id}")
    assert state["assignee_id"] == oleg.id
    await shot(page, "inbox-auto-assigned-ru.png")

    # Opening it accepted the offer: it no longer passes on.
    async def state_of(session: AsyncSession) -> str | None:
        return await session.scalar(select(Conversation.routing).where(Conversation.id == conv_id))

    assert await hub.app[CTX].read(state_of) == "accepted"

    await away.click()
    await expect(away).to_have_text("○ Отошёл")
    router = hub.app[ROUTER]
    await customer_says(hub, channel, "Здравствуйте", external_id="c-2", name="Пётр")
    await router.next_pass()
    waiting = await hub.call("GET", f"/api/v1/teams/{team_id}/routing")
    assert waiting["queued"] == 1 and waiting["members"][0]["away"] is True
    await away.click()
    await expect(away).to_have_text("● На месте")
    await router.next_pass()
    assert (await hub.call("GET", f"/api/v1/teams/{team_id}/routing"))["queued"] == 0
    await page.click("#app [data-lang-switch]")
    await expect(activity).to_have_text(["Assigned to Oleg: round robin, 1 of 5 open"])
    await shot(page, "inbox-auto-assigned-en.png")
    assert errors == []
