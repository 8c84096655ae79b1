"""Leads and the pipeline board in a real browser, in Russian: a customer's first message is a
lead in the contact panel, "В сделку" makes the deal in one click, the board shows it in its
first column, a card dragged forward moves at once, dragged back asks for the reason, and a deal
dropped on "Проиграна" asks why and keeps the answer."""

from __future__ import annotations

from typing import Any

import pytest

from hub.app import INTAKE
from hub.crm_sync.tasks import callback_task
from hub.http import CTX
from tests.e2e.conftest import Hub
from tests.e2e.pw import expect
from tests.e2e.test_inbox import api_channel, customer_says, open_inbox, person, row, shot

pytestmark = pytest.mark.timeout(90)


async def _intake_lead(hub: Hub) -> dict[str, Any]:
    """One pass of the lead intake (whose loop these tests do not run), and the lead it made:
    the pass has decided and stored it when it returns."""
    await hub.app[INTAKE].run_once()
    leads = (await hub.call("GET", "/api/v1/leads"))["items"]
    assert leads, "the intake made no lead"
    return dict(leads[0])


def column(page: Any, name: str) -> Any:
    return page.locator(".column", has=page.locator(".col-head strong", has_text=name))


async def test_qualify_then_drag_the_deal_across_the_board(browser: Any, hub: Hub) -> None:
    manager = await person(hub, "Мария Иванова", "manager")
    channel = await api_channel(hub, "Сайт")
    await customer_says(hub, channel, "Здравствуйте, нужна печь для бани", name="Иван Петров")
    lead = await _intake_lead(hub)
    page, errors = await open_inbox(browser, hub, manager, lang="ru")
    await page.click("#assignee-filter [data-assignee=all]")
    await row(page, "Иван Петров").click()
    await expect(page.locator("#c-lead")).to_be_visible()
    await expect(page.locator("#lead-qualify")).to_have_text("В сделку")
    await shot(page, "inbox-lead-ru.png")
    await page.click("#lead-qualify")
    await expect(page.locator("#c-lead")).to_be_hidden()
    await expect(page.locator("#c-deals .deal-item")).to_contain_text("Иван Петров")
    await expect(page.locator("#c-deals .stage-pill")).to_have_text("Новая")
    await shot(page, "inbox-deal-ru.png")
    deal = (await hub.call("GET", "/api/v1/deals"))["items"][0]
    assert deal["conversation_id"] == lead["conversation_id"]
    assert deal["owner_id"] == manager.id
    await hub.call("PATCH", f"/api/v1/deals/{deal['id']}", json={"amount": "150000.00"})
    await hub.call(
        "POST",
        "/api/v1/tasks",
        201,
        json={"title": "Перезвонить", "deal_id": deal["id"], "due_at": "2026-01-05T10:00:00+03:00"},
    )

    await page.click("a[href='/inbox/deals']")
    await expect(page.locator("#board-pane")).to_be_visible()
    new, qualified = column(page, "Новая"), column(page, "Квалифицирована")
    card = page.locator(f".card[data-id='{deal['id']}']")
    await expect(new.locator(".card")).to_have_count(1)
    await expect(new.locator(".col-count")).to_contain_text("1 сделка")
    await expect(new.locator(".col-count")).to_contain_text("150")
    await expect(page.locator("#board-total")).to_have_text("1 открытая сделка")
    await expect(card).to_contain_text("Мария Иванова")
    await expect(page.locator("#tasks-btn")).to_have_text("Задачи: 1 · 1 просрочено")
    await page.click("#tasks-btn")
    await expect(page.locator("#my-tasks .overdue")).to_be_visible()
    await expect(page.locator("#my-tasks")).to_contain_text("Перезвонить")
    await shot(page, "deals-board-ru.png")

    await card.drag_to(qualified)
    await expect(qualified.locator(f".card[data-id='{deal['id']}']")).to_be_visible()
    await expect(new.locator(".card")).to_have_count(0)
    stored = await hub.call("GET", f"/api/v1/deals/{deal['id']}")
    assert stored["stage"]["name"] == "Qualified"

    # Backwards: the board asks why, and the move is recorded as backward with the reason.
    await qualified.locator(".card").drag_to(new)
    await expect(page.locator("#reason-dialog")).to_be_visible()
    await page.fill("#reason-form [name=reason]", "клиент вернулся к выбору")
    await page.click("#reason-form button[type=submit]")
    await expect(new.locator(f".card[data-id='{deal['id']}']")).to_be_visible()
    stored = await hub.call("GET", f"/api/v1/deals/{deal['id']}")
    last = stored["stage_changes"][-1]
    assert (last["direction"], last["reason"]) == ("backward", "клиент вернулся к выбору")

    # Lost, with a reason from the list.
    await new.locator(".card").drag_to(column(page, "Проиграна"))
    await expect(page.locator("#reason-dialog")).to_be_visible()
    await expect(page.locator("#reason-form [name=preset]")).to_be_visible()
    await page.select_option("#reason-form [name=preset]", "Too expensive")
    await page.click("#reason-form button[type=submit]")
    await expect(column(page, "Проиграна").locator(".card")).to_contain_text("Дорого")
    # Shown in its column, but no longer open work.
    await expect(page.locator("#board-total")).to_have_text("0 открытых сделок")
    stored = await hub.call("GET", f"/api/v1/deals/{deal['id']}")
    assert (stored["status"], stored["lost_reason"]) == ("lost", "Too expensive")
    assert stored["lost_stage_id"] == deal["stage_id"]

    # The deal's page tells its story.
    await column(page, "Проиграна").locator(".card-title").click()
    await expect(page.locator("#deal-view")).to_be_visible()
    await expect(page.locator("#d-timeline li")).to_have_count(6)  # 4 moves, 1 chat, 1 task
    await expect(page.locator("#d-timeline")).to_contain_text("клиент вернулся к выбору")
    await shot(page, "deal-page-ru.png")
    # Its conversation opens in the inbox.
    await page.click("#d-timeline a[href^='/inbox#c']")
    await expect(page.locator("#conv-name")).to_have_text("Иван Петров")
    assert errors == []


async def test_reject_a_lead_as_spam(browser: Any, hub: Hub) -> None:
    operator = await person(hub, "Олег", "admin")
    channel = await api_channel(hub, "Сайт")
    await customer_says(hub, channel, "Купите рекламу!", name="Спамер")
    lead = await _intake_lead(hub)
    page, errors = await open_inbox(browser, hub, operator, lang="ru")
    await page.click("#assignee-filter [data-assignee=all]")
    await row(page, "Спамер").click()
    await page.click("#lead-reject")
    await expect(page.locator("#lead-reject-form")).to_be_visible()
    await page.select_option("#lead-reject-form [name=reason]", "spam")
    await page.click("#lead-reject-form button[type=submit]")
    await expect(page.locator("#c-lead")).to_be_hidden()
    leads = (await hub.call("GET", "/api/v1/leads?status=rejected"))["items"]
    assert [(x["id"], x["reject_reason"]) for x in leads] == [(lead["id"], "spam")]
    assert (await hub.call("GET", "/api/v1/deals"))["items"] == []
    assert errors == []


async def test_a_call_back_task_in_russian_links_to_its_contact(browser: Any, hub: Hub) -> None:
    """The hub titles the tasks it makes «Call back <phone>»: a Russian operator reads
    «Перезвонить <phone>», and one on no deal links to the caller's card."""
    manager = await person(hub, "Мария Иванова", "manager")
    channel = await api_channel(hub, "Сайт")
    said = await customer_says(hub, channel, "Перезвоните мне", name="Пётр")
    made = await callback_task(
        hub.app[CTX], conversation_id=said["conversation"]["id"], phone="+79161234567"
    )
    assert made is not None and made["title"] == "Call back +79161234567"
    page, errors = await open_inbox(browser, hub, manager, lang="ru")
    await page.click("a[href='/inbox/deals']")
    await expect(page.locator("#board-pane")).to_be_visible()
    await page.click("#tasks-btn")
    link = page.locator("#my-tasks a", has_text="Перезвонить +79161234567")
    await expect(link).to_have_attribute(
        "href", f"/inbox/contacts/{said['conversation']['contact_id']}"
    )
    await link.click()
    await expect(page.locator("body[data-contact-page]")).to_have_count(1)
    await expect(page.locator("#contact-page")).to_contain_text("Перезвонить +79161234567")
    assert errors == []
