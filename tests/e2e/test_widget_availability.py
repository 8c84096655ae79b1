"""«Операторы на связи» in the real widget on a site of another origin: only someone who can see
the site's chats counts; when nobody answers in time the widget offers to leave a phone and
says when the company answers (``HUB_WORKING_HOURS``, here: from 09:00 tomorrow).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.crm_sync.report_period import DAYS
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.staff import create_team
from hub.settings import Settings
from tests.e2e.conftest import Hub, Operator, Site, open_site
from tests.e2e.pw import expect
from tests.e2e.test_widget import W, new_page, send

pytestmark = pytest.mark.timeout(120)
ZONE = "Europe/Moscow"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The company works only tomorrow, from 09:00: closed whenever this test runs."""
    tomorrow = DAYS[(utcnow().astimezone(ZoneInfo(ZONE)) + timedelta(days=1)).weekday()]
    return settings.model_copy(
        update={"working_hours": f"{tomorrow} 09:00-18:00", "timezone": ZONE}
    )


async def team_member(hub: Hub, name: str, team: str) -> Operator:
    op = await hub.operator(name, role="operator")
    await create_team(hub.app[CTX], None, team, [op.id])
    return op


async def test_online_means_someone_who_can_answer(browser: Any, hub: Hub, site: Site) -> None:
    anna = await team_member(hub, "Анна Печникова", "Печи")
    boris = await team_member(hub, "Борис Котлов", "Котлы")
    stoves = (await hub.call("GET", "/api/v1/teams"))["items"]
    stoves_id = next(t["id"] for t in stoves if t["name"] == "Печи")
    channel = await hub.widget_channel(
        "Печной мир", allowed_origins=[site.url], team_id=stoves_id, reply_wait_s=5
    )
    # Boris has the inbox open, but cannot see this site's chats: nobody is there to answer.
    await hub.go_online(boris)
    page, errors = await new_page(browser, viewport={"width": 1280, "height": 800})
    await open_site(page, site, hub, channel["website_token"])
    await page.locator(f"{W} .la").click()
    subtitle, notice = page.locator(f"{W} .su"), page.locator(f"{W} .of")
    await expect(subtitle).to_have_text("Сейчас нет операторов на связи")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Ответим завтра с 09:00")

    # Anna, of the site's team, opens the inbox: the widget says so at once.
    anna_ws = await hub.go_online(anna)
    await expect(subtitle).to_have_text("Операторы на связи")
    await expect(notice).to_be_hidden()

    # He writes; nobody answers within the channel's 5 s: leave a phone, we answer tomorrow.
    await send(page, "Есть ли в наличии печь «Термофор Гейзер»?")
    await expect(page.locator(f"{W} .m.out:not(.pe)")).to_have_count(1)
    await expect(notice).to_be_visible(timeout=30_000)
    await expect(notice).to_contain_text(
        re.compile(r"Похоже, все операторы сейчас заняты\. Ответим завтра с 09:00\. Оставьте")
    )
    await expect(subtitle).to_have_text("Операторы на связи")  # still online, just busy
    await notice.locator("input").fill("8 (916) 123-45-67")
    await notice.locator("button").click()
    await expect(notice).to_contain_text("Ответим сюда: +79161234567")
    await expect(notice.locator("form")).to_be_hidden()

    # Anna answers: the offer goes away.
    conv = await hub.conversation_id(channel["id"])
    await hub.reply(conv, "Да, есть, доставим завтра.", op=anna)
    await expect(page.locator(f"{W} .m.in")).to_have_count(1)
    await expect(notice).to_be_hidden()

    # Anna leaves: nobody who can answer is online again.
    await anna_ws.close()
    await expect(subtitle).not_to_have_text("Операторы на связи")
    await expect(notice).to_contain_text("Сейчас нет операторов на связи")
    assert errors == []
