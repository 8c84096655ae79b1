"""The admin area (``/admin``) in Chromium: an admin invites and edits an operator, makes and
edits a team, connects a website chat and edits its look with the preview following and the
snippet shown, adds and renames a pipeline stage; in Russian too. On a 390 px phone nothing
overflows sideways; an operator gets a refusal and no link."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hub.http import CTX
from hub.inbox.staff import create_operator
from hub.settings import Settings
from tests.e2e.conftest import Hub, screenshot_path
from tests.e2e.pw import expect

pytestmark = pytest.mark.timeout(120)
_n = itertools.count(1)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The e2e hub, with working hours for the hours screen to show."""
    return settings.model_copy(update={"working_hours": "mon-fri 09:00-18:00; sat 10:00-14:00"})


async def log_in(hub: Hub, page: Any, role: str = "admin") -> None:
    n = next(_n)
    email, password = f"admin-area{n}@example.com", f"password-{n}-long-enough"
    await create_operator(
        hub.app[CTX], email=email, name=f"Admin {n}", role=role, password=password
    )
    await page.goto(hub.url + "/inbox")
    await page.fill("#login-form [name=email]", email)
    await page.fill("#login-form [name=password]", password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#app")).to_be_visible()


async def section(page: Any, name: str) -> None:
    await page.click(f".admin-nav a[data-section={name}]")
    await expect(page.locator(f"body[data-section={name}]")).to_have_count(1)


async def no_sideways_overflow(page: Any) -> None:
    wide = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth, "
        "[...document.querySelectorAll('body *')].filter(e => {"
        " const r = e.getBoundingClientRect();"
        " return r.width > 0 && (r.right > window.innerWidth + 1 || r.left < -1); })"
        ".map(e => e.tagName + '.' + e.className).slice(0, 5)]"
    )
    assert wide[0] <= wide[1] and wide[2] == [], wide


async def test_an_admin_sets_up_people_channels_and_stages(hub: Hub, browser: Any) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'en')")
    page.on("dialog", lambda dialog: dialog.accept())
    await log_in(hub, page)
    link = page.locator("#admin-link")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)
    team = await hub.call("POST", "/api/v1/teams", 201, json={"name": "Sales"})

    # An operator invited: with no mailbox sending the hub's mail, the admin is told so and
    # gets the link to pass on; then renamed, put in a team, given a password, deactivated.
    await page.reload()
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)
    await page.click("#invite-toggle")
    form = page.locator("#invite-form")
    await form.locator("[name=email]").fill("oleg@example.com")
    await form.locator("[name=name]").fill("Oleg")
    await form.locator("[name=role]").select_option("manager")
    await expect(page.locator("#system-mail.warn")).to_contain_text("Mail is not set up")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#once code")).to_have_text(invite_link(hub))
    await expect(page.locator("#once")).to_contain_text("system mail is not set up")
    oleg = page.locator(".card.operator", has=page.locator("h3", has_text="Oleg"))
    await expect(oleg.locator(".role")).to_have_text("Manager")
    await expect(oleg.locator(".pill.invited")).to_have_text("Invited")
    await page.click("#once button.primary")
    await oleg.locator("[data-action=resend]").click()  # a new link, the first one ends
    await expect(page.locator("#once code")).to_have_text(invite_link(hub))
    await page.click("#once button.primary")
    await oleg.locator("[data-action=edit]").click()
    await oleg.locator("form [name=name]").fill("Oleg Petrov")
    await oleg.locator(f"form input[name=team][value='{team['id']}']").check()
    await oleg.locator("form button[type=submit]").click()
    oleg = page.locator(".card.operator", has=page.locator("h3", has_text="Oleg Petrov"))
    await expect(oleg).to_contain_text("Sales")
    await oleg.locator("[data-action=password]").click()
    await expect(page.locator("#once")).to_contain_text("Password of Oleg Petrov")
    if path := screenshot_path("admin-operators-en.png"):
        await page.screenshot(path=path, full_page=True)
    await oleg.locator("[data-action=active]").click()
    await expect(oleg.locator(".pill.off")).to_have_text("Deactivated")
    listed = await hub.call("GET", "/api/v1/operators")
    made = next(o for o in listed["items"] if o["email"] == "oleg@example.com")
    assert made["name"] == "Oleg Petrov" and made["team_ids"] == [team["id"]]
    assert made["role"] == "manager" and made["active"] is False

    # A team made, then renamed.
    await section(page, "teams")
    new = page.locator("form.new-team")
    await new.locator("[name=name]").fill("Support")
    await new.locator("button[type=submit]").click()
    support = page.locator(".card.team", has=page.locator("h3", has_text="Support"))
    await support.locator("[name=name]").fill("Support 24/7")
    await support.locator("form.team-form button[type=submit]").click()
    await expect(page.locator(".card.team h3", has_text="Support 24/7")).to_have_count(1)
    # Its automatic assignment: on, three open conversations each.
    routing = page.locator(".card.team", has=page.locator("h3", has_text="Support 24/7")).locator(
        "form.routing"
    )
    await routing.locator("[name=enabled]").check()
    await routing.locator("[name=capacity]").fill("3")
    await routing.locator("button[type=submit]").click()
    support_id = next(
        t["id"]
        for t in (await hub.call("GET", "/api/v1/teams"))["items"]
        if t["name"] == "Support 24/7"
    )

    async def saved() -> bool:
        rules = await hub.call("GET", f"/api/v1/teams/{support_id}/routing")
        return bool(rules["enabled"]) and rules["capacity"] == 3

    await expect(routing.locator("[name=enabled]")).to_be_checked()
    for _ in range(100):
        if await saved():
            break
        await page.wait_for_timeout(100)
    assert await saved()
    if path := screenshot_path("admin-teams-en.png"):
        await page.screenshot(path=path, full_page=True)

    # A website chat connected and its look edited beside the preview.
    await section(page, "channels")
    await page.click("#connect-toggle")
    connect = page.locator("#connect-form")
    await connect.locator("[name=name]").fill("Shop chat")
    await connect.locator("button[type=submit]").click()
    await expect(page.locator("#once")).to_contain_text("Secret of Shop chat")
    preview = page.locator("#widget-preview")
    launcher = preview.locator(".pv-launcher")
    await expect(launcher).to_have_class("pv-launcher right")
    editor = page.locator("form.channel-form")
    await editor.locator("[name=color]").fill("#ff5500")
    await expect(launcher).to_have_css("background-color", "rgb(255, 85, 0)")
    await editor.locator("[name=position]").select_option("left")
    await expect(launcher).to_have_class("pv-launcher left")
    await editor.locator("[name=greeting]").fill("Hello! How can we help?")
    await expect(preview.locator(".pv-greeting")).to_have_text("Hello! How can we help?")
    await editor.locator("[name=lang]").select_option("en")
    await expect(preview.locator(".pv-input")).to_have_text("Write a message…")
    await editor.locator("[name=prechat]").check()
    await editor.locator("[name=field_phone]").select_option("required")
    await expect(preview.locator(".pv-field")).to_have_text(["Name", "Email", "Phone *"])
    await editor.locator("[name=allowed_origins]").fill("https://shop.example")
    channels = await hub.call("GET", "/api/v1/channels")
    chat = next(c for c in channels["items"] if c["name"] == "Shop chat")
    snippet = page.locator("#widget-snippet")
    await expect(snippet).to_contain_text(f'data-channel="{chat["website_token"]}"')
    await expect(snippet).to_contain_text(f"{hub.url}/widget.js")
    if path := screenshot_path("admin-widget-en.png"):
        await page.screenshot(path=path, full_page=True)
    await editor.locator("button[type=submit]").click()
    await expect(editor).to_have_count(0)  # saved: the editor closes
    channels = await hub.call("GET", "/api/v1/channels")
    config = next(c for c in channels["items"] if c["name"] == "Shop chat")["config"]
    assert config["color"] == "#ff5500" and config["position"] == "left"
    assert config["greeting"]["text"] == "Hello! How can we help?"
    assert config["prechat"]["fields"]["phone"] == "required"
    assert config["allowed_origins"] == ["https://shop.example"] and config["lang"] == "en"

    # A stage added to the pipeline and renamed.
    await section(page, "pipelines")
    sales = page.locator(".card.pipeline").first
    await sales.locator("form.stage-add input").fill("Demo")
    await sales.locator("form.stage-add button").click()
    demo = sales.locator(".stage-row", has=page.locator("input[value=Demo]"))
    await expect(demo).to_have_count(1)
    await demo.locator("input").fill("Demo call")
    await demo.locator("[data-action=rename]").click()
    await expect(sales.locator(".stage-row input[value='Demo call']")).to_have_count(1)
    pipelines = await hub.call("GET", "/api/v1/pipelines")
    names = [s["name"] for s in pipelines["items"][0]["stages"]]
    assert names[-3:] == ["Demo call", "Won", "Lost"], names

    # Russian, as the switch leaves it.
    await page.click("#lang")
    await expect(page.locator(".admin-nav a[data-section=operators]")).to_have_text("Операторы")
    await expect(page.locator("#pipelines h2")).to_have_text("Воронки")
    if path := screenshot_path("admin-pipelines-ru.png"):
        await page.screenshot(path=path, full_page=True)
    await section(page, "hours")
    await expect(page.locator("#hours")).to_contain_text("HUB_WORKING_HOURS")
    monday = page.locator("#hours tr[data-day=mon]")
    await expect(monday).to_contain_text("Понедельник")
    await expect(monday.locator("input[type=time]").first).to_have_value("09:00")
    await expect(monday.locator("input[type=time]").last).to_have_value("18:00")
    await expect(page.locator("#hours tr[data-day=sun] input[name=open]")).not_to_be_checked()
    if path := screenshot_path("admin-hours-ru.png"):
        await page.screenshot(path=path, full_page=True)


def invite_link(hub: Hub) -> Any:
    """An invitation's link on this hub."""
    import re

    return re.compile("^" + re.escape(hub.url) + r"/inbox/invite/hubl_[A-Za-z0-9_-]{43}$")


async def test_on_a_phone_nothing_overflows_and_operators_are_refused(
    hub: Hub, browser: Any
) -> None:
    chat = await hub.call(
        "POST", "/api/v1/channels", 201, json={"type": "widget", "name": "Site chat"}
    )
    page = await browser.new_page(viewport=PHONE)
    await page.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    await log_in(hub, page)
    await page.goto(hub.url + "/admin")
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)
    await no_sideways_overflow(page)
    await page.click("#invite-toggle")
    await no_sideways_overflow(page)
    for name in ("teams", "pipelines", "hours", "channels"):
        await section(page, name)
        await no_sideways_overflow(page)
    await page.locator(".card.channel [data-action=edit]").first.click()
    await expect(page.locator("#widget-preview .pv-launcher")).to_have_count(1)
    await no_sideways_overflow(page)
    if path := screenshot_path("admin-widget-phone-ru.png"):
        await page.screenshot(path=path, full_page=True)

    other = await browser.new_page(viewport=PHONE)
    await other.add_init_script("localStorage.setItem('hub.inbox.lang', 'ru')")
    await log_in(hub, other, role="operator")
    await expect(other.locator("#admin-link")).to_be_hidden()
    # A channel an admin renames is renamed in the operator's open inbox (channel.updated).
    await expect(other.locator("#channel-filter")).to_contain_text("Site chat (widget)")
    await hub.call("PATCH", f"/api/v1/channels/{chat['id']}", json={"name": "Shop chat"})
    await expect(other.locator("#channel-filter")).to_contain_text("Shop chat (widget)")
    await other.goto(hub.url + "/admin")
    refusal = other.locator("#not-admin")
    await expect(refusal).to_be_visible()
    await expect(refusal).to_contain_text("только администраторы")
    await expect(other.locator("#area")).to_be_hidden()
    await no_sideways_overflow(other)
