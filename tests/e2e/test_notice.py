"""Nothing new goes unnoticed, in a real browser: the operator's unread badges and the title's
count clear when he opens a conversation (in his other tab too), a customer message in a
conversation of his sounds and notifies, the inbox lands where the work is, a task that falls
due shows a live notice and sits in the inbox's list of tasks due today, and an automatic
contact merge is told in the conversation and undone from there."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.app import INTAKE, REMINDER
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import (
    api_channel,
    customer_says,
    open_inbox,
    person,
    row,
    shot,
    team,
)
from tests.e2e.test_inbox_tools import RECORDERS, until

pytestmark = pytest.mark.timeout(90)
ON = re.compile(r"\bon\b")


async def test_opening_clears_the_badge_and_the_title_in_every_tab(browser: Any, hub: Hub) -> None:
    sales = await team(hub, "Sales")
    oleg = await person(hub, "Oleg", "operator", [sales])
    channel = await api_channel(hub, "Shop", sales)
    mine = await customer_says(hub, channel, "Hello", external_id="m", name="Pyotr")
    await customer_says(hub, channel, "Are you there?", external_id="m", name="Pyotr")
    await customer_says(hub, channel, "A question", external_id="f", name="Vera")
    conv = mine["conversation"]["id"]
    await hub.call("POST", f"/api/v1/conversations/{conv}/assign", json={"operator_id": oleg.id})

    page, errors = await open_inbox(browser, hub, oleg)
    other = await second_tab(browser, hub, oleg)
    await expect(page.locator("[data-assignee=me]")).to_have_class(ON)
    await expect(page.locator("[data-tab-count=mine]")).to_have_text("1")
    await expect(page.locator("[data-tab-count=unassigned]")).to_have_text("1")
    await expect(row(page, "Pyotr").locator(".unread")).to_have_text("2")
    await expect(page).to_have_title("(2) Hub inbox")

    await row(page, "Pyotr").click()
    await expect(page.locator("#messages")).to_contain_text("Are you there?")
    await expect(row(page, "Pyotr").locator(".unread")).to_have_count(0)
    await expect(page).to_have_title("(1) Hub inbox")
    # Live in his other tab, which never opened it.
    await expect(row(other, "Pyotr").locator(".unread")).to_have_count(0)
    await expect(other).to_have_title("(1) Hub inbox")
    # Read while he looks at it: no badge comes back.
    await customer_says(hub, channel, "Thanks!", external_id="m", name="Pyotr")
    await expect(page.locator("#messages")).to_contain_text("Thanks!")
    await expect(row(other, "Pyotr")).to_contain_text("Thanks!")
    await expect(row(other, "Pyotr").locator(".unread")).to_have_count(0)
    await expect(page).to_have_title("(1) Hub inbox")
    # Not only new conversations: a customer message in a conversation of his sounds, and
    # notifies in the tab in the background (the one looking at it reads it instead).
    await until(other, "window.__notes.length === 1")
    notes = await other.evaluate("window.__notes")
    assert notes == [{"title": "New message: Pyotr", "body": "Thanks!"}]
    assert await other.evaluate("window.__beeps") == 1
    assert errors == []


async def second_tab(browser: Any, hub: Hub, who: Any) -> Any:
    """Another tab of his, in the background, with notifications allowed (sound and
    notifications recorded)."""
    ctx = await browser.new_context(locale="en-US")
    await ctx.add_init_script(RECORDERS)
    page = await ctx.new_page()
    await page.goto(hub.url + "/inbox")
    await page.fill("#login-form [name=email]", who.email)
    await page.fill("#login-form [name=password]", who.password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-live='1']", state="attached")
    await page.click("#notify-btn")
    await page.evaluate("window.__hidden = true")
    return page


async def test_landing_on_unassigned_and_a_task_falling_due(browser: Any, hub: Hub) -> None:
    """Nothing in Mine: the inbox opens on Unassigned, with the tabs' counts. Then a task of
    hers falls due: a live notice, and it is listed until done."""
    sales = await team(hub, "Sales")
    anna = await person(hub, "Anna", "operator", [sales])
    channel = await api_channel(hub, "Shop", sales)
    said = await customer_says(hub, channel, "Call me", external_id="c0", name="Ivan")
    for n in range(1, 3):
        await customer_says(hub, channel, "Hi", external_id=f"c{n}", name=f"Client {n}")
    page, errors = await open_inbox(browser, hub, anna, lang="ru")
    await expect(page.locator("[data-assignee=unassigned]")).to_have_class(ON)
    await expect(page.locator("#conv-list .conv-row")).to_have_count(3)
    await expect(page.locator("[data-tab-count=unassigned]")).to_have_text("3")
    await expect(page.locator("[data-tab-count=mine]")).to_have_text("")
    await expect(page).to_have_title("(3) Входящие")
    await expect(page.locator("#due-tasks")).to_be_hidden()

    due = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    await hub.call(
        "POST",
        "/api/v1/tasks",
        201,
        json={
            "title": "Перезвонить Ивану",
            "due_at": due,
            "assignee_id": anna.id,
            "contact_id": said["conversation"]["contact_id"],
        },
    )
    listed = page.locator("#due-list .due-task", has_text="Перезвонить Ивану")
    await expect(listed).to_be_visible()
    await expect(listed).to_contain_text("просрочена")
    assert await hub.app[REMINDER].run_once() == 1
    await expect(page.locator("#toast")).to_have_text("Пора выполнить задачу: Перезвонить Ивану")
    await shot(page, "inbox-due-tasks-ru.png")
    assert await hub.app[REMINDER].run_once() == 0

    await listed.locator("[data-complete]").click()
    await expect(page.locator("#due-tasks")).to_be_hidden()
    assert errors == []


async def test_an_automatic_merge_is_told_in_the_conversation_and_undone(
    browser: Any, hub: Hub
) -> None:
    sales = await team(hub, "Sales")
    oleg = await person(hub, "Oleg", "operator", [sales])
    site, bot = await api_channel(hub, "Сайт", sales), await api_channel(hub, "Бот", sales)
    for channel, ext, name, body in (
        (site, "k", "Иван", "Нужна печь"),
        (bot, "t", "Ваня", "Снова я"),
    ):
        contact = {"external_id": ext, "name": name, "phone": "+79161234567"}
        await hub.call(
            "POST",
            f"/api/v1/channels/{channel['id']}/inbound",
            201,
            json={"contact": contact, "body": body},
            headers={"Authorization": f"Bearer {channel['secret']}"},
        )
        await hub.app[INTAKE].run_once()
    page, errors = await open_inbox(browser, hub, oleg, lang="ru")
    await row(page, "Снова я").click()
    line = page.locator("#messages .msg.activity", has_text="автоматически объединён")
    await expect(line).to_contain_text("совпадает телефон (не подтверждён)")
    await shot(page, "inbox-merge-ru.png")
    await line.locator("[data-undo-merge]").click()
    await expect(page.locator("#messages .msg.activity").last).to_contain_text(
        "Oleg отменил(а) автоматическое объединение: «Ваня»"
    )
    await expect(line.locator("[data-undo-merge]")).to_have_count(0)
    await expect(page.locator("#c-name")).to_have_text("Ваня")

    await page.click("#merges-btn")
    item = page.locator("#merges-list .merge-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("отменено")
    await expect(item.locator("[data-undo-merge]")).to_have_count(0)
    assert errors == []
