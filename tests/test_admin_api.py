"""The admin area's routes: an operator's new password, a team's members, a channel's settings,
active flag and new secret, pipelines' stages, lost reasons, working hours. Operators are
refused; secrets are never returned but once; bad input changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.config import split_settings
from hub.channels.email.credentials import credentials_row
from hub.http import CTX
from hub.inbox.models import Channel
from tests.calls_replay import connect as calls_connect
from tests.helpers import (
    auth,
    customer_says,
    login,
    make_api_channel,
    make_operator,
    make_team,
)
from tests.telegram_fake import TOKEN, start_telegram
from tests.test_operator_socket import connect, recv_until
from tests.test_operators_api import expect_error


async def test_an_admin_gives_an_operator_a_new_password(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    path = f"/api/v1/operators/{op.id}/password"
    await expect_error(await client.post(path, json={}, headers=op.headers), 403, "admin_required")
    weak = await client.post(path, json={"password": "short"}, headers=admin.headers)
    await expect_error(weak, 422, "weak_password")
    assert (await client.get("/api/v1/me", headers=op.headers)).status == 200  # nothing changed
    ws, _ = await connect(client, op.token)
    missing = await client.post("/api/v1/operators/999999/password", json={}, headers=admin.headers)
    await expect_error(missing, 404, "operator_not_found")
    resp = await client.post(path, json={}, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    assert made["operator_id"] == op.id and made["sessions_ended"] == 1
    assert len(made["password"]) >= 16
    await expect_error(await client.get("/api/v1/me", headers=op.headers), 401)
    closed = await ws.receive(timeout=10)
    assert closed.type == WSMsgType.CLOSE and closed.data == 4003, closed
    old = await client.post("/api/v1/auth/login", json={"email": op.email, "password": op.password})
    await expect_error(old, 401, "invalid_credentials")
    token = await login(client, op.email, made["password"])
    chosen = await client.post(path, json={"password": "a chosen one, long"}, headers=admin.headers)
    assert (await chosen.json())["password"] is None
    await expect_error(await client.get("/api/v1/me", headers=auth(token)), 401)
    await login(client, op.email, "a chosen one, long")
    listed = await client.get("/api/v1/operators", headers=admin.headers)
    assert "password" not in await listed.text()


async def test_an_admin_renames_a_team_and_sets_its_members(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client, "Sales")
    await make_team(client, "Support")
    anna = await make_operator(client, team_ids=[team])
    oleg = await make_operator(client)
    path = f"/api/v1/teams/{team}"
    refused = await client.patch(path, json={"name": "Mine"}, headers=anna.headers)
    await expect_error(refused, 403, "admin_required")
    taken = await client.patch(path, json={"name": "Support"}, headers=admin.headers)
    await expect_error(taken, 409, "team_exists")
    unknown = await client.patch(
        path, json={"name": "Sales B2B", "operator_ids": [oleg.id, 999999]}, headers=admin.headers
    )
    await expect_error(unknown, 422, "operator_not_found")
    ws, _ = await connect(client, oleg.token)
    resp = await client.patch(
        path, json={"name": "Sales B2B", "operator_ids": [oleg.id]}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    told = await recv_until(ws, lambda f: f["event"] == "operator.updated")
    assert told[-1]["data"]["operator"]["id"] == oleg.id
    await ws.close()
    assert (await resp.json())["operator_ids"] == [oleg.id]
    assert (await (await client.get("/api/v1/me", headers=oleg.headers)).json())["team_ids"] == [
        team
    ]
    assert (await (await client.get("/api/v1/me", headers=anna.headers)).json())["team_ids"] == []
    teams = await (await client.get("/api/v1/teams", headers=admin.headers)).json()
    assert [t["name"] for t in teams["items"]] == ["Sales B2B", "Support"]
    await expect_error(
        await client.patch("/api/v1/teams/999999", json={}, headers=admin.headers),
        404,
        "team_not_found",
    )


async def _widget(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.post(
        "/api/v1/channels", json={"type": "widget", "name": "Site"}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_an_admin_edits_a_widget_channel(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    team = await make_team(client)
    ch = await _widget(client, admin.headers)
    path = f"/api/v1/channels/{ch['id']}"
    await expect_error(await client.patch(path, json={"name": "X"}, headers=op.headers), 403)
    bad = await client.patch(
        path, json={"name": "Renamed", "settings": {"color": "red"}}, headers=admin.headers
    )
    await expect_error(bad, 422, "invalid_widget_settings")
    unknown = await client.patch(path, json={"settings": {"colour": "#fff"}}, headers=admin.headers)
    await expect_error(unknown, 422, "invalid_widget_settings")
    no_team = await client.patch(path, json={"team_id": 999999}, headers=admin.headers)
    await expect_error(no_team, 422, "team_not_found")
    settings = {
        "color": "#ff5500",
        "position": "left",
        "lang": "en",
        "greeting": {"text": "Hello!", "delay_s": 3},
        "prechat": {
            "enabled": True,
            "fields": {"name": "required", "email": "off", "phone": "optional"},
        },
        "allowed_origins": ["https://shop.example"],
    }
    resp = await client.patch(
        path,
        json={"name": "Shop chat", "team_id": team, "settings": settings},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert "secret" not in data and ch["secret"] not in json.dumps(data)
    assert data["name"] == "Shop chat" and data["team_id"] == team
    assert {k: data["config"][k] for k in settings} == settings
    assert data["config"]["reply_wait_s"] == 120  # untouched settings keep their values
    start = {"website_token": ch["website_token"]}
    shop = {"Origin": "https://shop.example"}
    public = await client.post("/api/widget/v1/sessions", json=start, headers=shop)
    assert public.status == 200, await public.text()
    assert (await public.json())["channel"]["color"] == "#ff5500"  # the widget reads it at once
    elsewhere = {"Origin": "https://other.example"}
    refused = await client.post("/api/widget/v1/sessions", json=start, headers=elsewhere)
    assert refused.status == 403, await refused.text()
    cleared = await client.patch(path, json={"team_id": None}, headers=admin.headers)
    assert (await cleared.json())["team_id"] is None
    off = await client.patch(path, json={"active": False}, headers=admin.headers)
    assert (await off.json())["active"] is False
    gone = await client.post("/api/widget/v1/sessions", json=start, headers=shop)
    await expect_error(gone, 404, "unknown_website_token")


async def test_channel_settings_fixed_at_connection_stay(
    aiohttp_server: Any,
    aiohttp_client: Any,
    settings: Any,
) -> None:
    tg = await start_telegram(aiohttp_server, aiohttp_client, settings)
    path = f"/api/v1/channels/{tg.channel['id']}"
    fixed = await tg.client.patch(
        path, json={"settings": {"username": "other_bot"}}, headers=tg.admin.headers
    )
    message = await expect_error(fixed, 422, "setting_not_editable")
    assert "auto_leads" in message
    resp = await tg.client.patch(
        path, json={"settings": {"auto_leads": False}}, headers=tg.admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["config"] == {
        "username": "hub_shop_bot",
        "bot_id": 7000000001,
        "auto_leads": False,
    }
    # A new secret is registered with Telegram before it is stored; a refusal keeps the old one.
    tg.api.fail("setWebhook", 400, "Bad Request: bad webhook")
    refused = await tg.client.post(f"{path}/secret", headers=tg.admin.headers)
    await expect_error(refused, 422, "webhook_refused")
    assert (await tg.feed("text", secret=tg.channel["secret"])).status == 200
    rotated = await tg.client.post(f"{path}/secret", headers=tg.admin.headers)
    assert rotated.status == 200, await rotated.text()
    new = (await rotated.json())["secret"]
    assert TOKEN not in await rotated.text()
    assert tg.api.of("setWebhook")[-1].params["secret_token"] == new
    # Turned off, its webhook goes; turned on, it is set again first (a refusal keeps it off).
    off = await tg.client.patch(path, json={"active": False}, headers=tg.admin.headers)
    assert (await off.json())["active"] is False
    assert len(tg.api.of("deleteWebhook")) == 1
    tg.api.fail("setWebhook", 400, "Bad Request: bad webhook")
    refused_on = await tg.client.patch(path, json={"active": True}, headers=tg.admin.headers)
    await expect_error(refused_on, 422, "webhook_refused")
    listed = await (await tg.client.get("/api/v1/channels", headers=tg.admin.headers)).json()
    assert [c["active"] for c in listed["items"]] == [False]
    on = await tg.client.patch(path, json={"active": True}, headers=tg.admin.headers)
    assert (await on.json())["active"] is True
    assert tg.api.of("setWebhook")[-1].params["secret_token"] == new


async def test_a_new_secret_replaces_the_old_one(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    ch = await make_api_channel(client, admin)
    path = f"/api/v1/channels/{ch['id']}/secret"
    await expect_error(await client.post(path, headers=op.headers), 403, "admin_required")
    await expect_error(
        await client.post("/api/v1/channels/999999/secret", headers=admin.headers),
        404,
        "channel_not_found",
    )
    ws, _ = await connect(client, op.token)
    resp = await client.post(path, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    told = await recv_until(ws, lambda f: f["event"] == "channel.updated")
    assert told[-1]["data"] == {
        "channel": {
            "id": ch["id"],
            "type": "api",
            "name": ch["name"],
            "team_id": None,
            "active": True,
        }
    }
    await ws.close()
    assert data["secret"] != ch["secret"] and data["webhook_secret"].startswith("whsec_")
    inbound = f"/api/v1/channels/{ch['id']}/inbound"
    body = {"contact": {"external_id": "c1"}, "body": "hi"}
    ok = await client.post(inbound, json=body, headers=auth(data["secret"]))
    assert ok.status == 201, await ok.text()
    # A callback URL must be an allowed address, as at creation.
    private = await client.patch(
        f"/api/v1/channels/{ch['id']}",
        json={"settings": {"callback_url": "http://127.0.0.1:9/hook"}},
        headers=admin.headers,
    )
    await expect_error(private, 422, "destination_not_allowed")
    listed = await (await client.get("/api/v1/channels", headers=admin.headers)).text()
    assert data["secret"] not in listed and ch["secret"] not in listed


async def test_pipelines_stages_and_lost_reasons_change(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    op = await make_operator(client)
    made = await client.post(
        "/api/v1/pipelines", json={"name": "B2B", "stages": ["New", "Call"]}, headers=admin.headers
    )
    pipeline = await made.json()
    pid = pipeline["id"]
    ws, _ = await connect(client, op.token)
    refused = await client.post(
        f"/api/v1/pipelines/{pid}/stages", json={"name": "Demo"}, headers=op.headers
    )
    await expect_error(refused, 403, "forbidden")
    twice = await client.post(
        f"/api/v1/pipelines/{pid}/stages", json={"name": "call"}, headers=admin.headers
    )
    await expect_error(twice, 409, "stage_exists")
    added = await client.post(
        f"/api/v1/pipelines/{pid}/stages",
        json={"name": "Demo", "position": 1},
        headers=admin.headers,
    )
    assert added.status == 201, await added.text()
    stages = (await added.json())["stages"]
    assert [(s["name"], s["position"], s["kind"]) for s in stages] == [
        ("New", 0, "open"),
        ("Demo", 1, "open"),
        ("Call", 2, "open"),
        ("Won", 3, "won"),
        ("Lost", 4, "lost"),
    ]
    told = await recv_until(ws, lambda f: f["event"] == "pipeline.updated")
    assert told[-1]["data"]["pipeline"]["stages"] == stages
    call, won = stages[2]["id"], stages[3]["id"]
    moved = await client.patch(
        f"/api/v1/stages/{call}", json={"name": "Calls", "position": 0}, headers=admin.headers
    )
    assert [s["name"] for s in (await moved.json())["stages"]][:3] == ["Calls", "New", "Demo"]
    fixed = await client.patch(f"/api/v1/stages/{won}", json={"position": 0}, headers=admin.headers)
    await expect_error(fixed, 422, "closing_stage_fixed")
    renamed = await client.patch(
        f"/api/v1/pipelines/{pid}",
        json={"name": "B2B sales", "is_default": True},
        headers=admin.headers,
    )
    assert (await renamed.json())["is_default"] is True
    listed = await (await client.get("/api/v1/pipelines", headers=op.headers)).json()
    assert [p["name"] for p in listed["items"] if p["is_default"]] == ["B2B sales"]
    # A stage a deal is on stays.
    said = await customer_says(client, await make_api_channel(client, admin), "a boiler?")
    deal = await client.post(
        "/api/v1/deals",
        json={
            "contact_id": said["conversation"]["contact_id"],
            "pipeline_id": pid,
            "stage_id": stages[1]["id"],
        },
        headers=admin.headers,
    )
    assert deal.status == 201, await deal.text()
    in_use = await client.delete(f"/api/v1/stages/{stages[1]['id']}", headers=admin.headers)
    await expect_error(in_use, 409, "stage_in_use")
    gone = await client.delete(f"/api/v1/stages/{call}", headers=admin.headers)
    assert gone.status == 200, await gone.text()
    assert "Calls" not in [s["name"] for s in (await gone.json())["stages"]]
    reasons = await (await client.get("/api/v1/lost-reasons", headers=op.headers)).json()
    first = reasons["items"][0]
    await expect_error(
        await client.patch(
            f"/api/v1/lost-reasons/{first['id']}", json={"active": False}, headers=op.headers
        ),
        403,
    )
    clash = await client.patch(
        f"/api/v1/lost-reasons/{first['id']}",
        json={"name": reasons["items"][1]["name"].upper()},
        headers=admin.headers,
    )
    await expect_error(clash, 409, "reason_exists")
    retired = await client.patch(
        f"/api/v1/lost-reasons/{first['id']}",
        json={"name": "Pricey", "active": False},
        headers=admin.headers,
    )
    assert await retired.json() == {**first, "name": "Pricey", "active": False}
    after = await (await client.get("/api/v1/lost-reasons", headers=op.headers)).json()
    assert first["id"] not in [r["id"] for r in after["items"]]
    told = await recv_until(ws, lambda f: f["event"] == "lost_reasons.updated")
    assert told[-1]["data"]["items"] == after["items"]
    await ws.close()


@pytest.mark.parametrize("hours", ["mon-fri 09:00-18:00; sat 10:00-14:00"])
async def test_working_hours_are_shown_as_the_hub_reads_them(
    aiohttp_client: Any, settings: Any, hours: str
) -> None:
    from hub.app import create_app

    client = await aiohttp_client(create_app(settings.model_copy(update={"working_hours": hours})))
    op = await make_operator(client)
    resp = await client.get("/api/v1/working-hours", headers=op.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["spec"] == hours and data["timezone"] == "Europe/Moscow"
    assert data["days"][0] == {"day": "mon", "hours": [{"opens": "09:00", "closes": "18:00"}]}
    assert data["days"][5]["hours"] == [{"opens": "10:00", "closes": "14:00"}]
    assert data["days"][6]["hours"] == [] and isinstance(data["open_now"], bool)
    assert data["source"] == "environment"
    await expect_error(await client.get("/api/v1/working-hours"), 401)


async def test_an_email_channel_changes_only_what_needs_no_login(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    api_channel = await make_api_channel(client, admin)
    chat = await _widget(client, admin.headers)
    public, secrets = split_settings(
        {
            "address": "sales@company.ru",
            "imap": {"host": "imap.company.ru", "password": "imap-secret-1"},
            "smtp": {"host": "smtp.company.ru", "password": "smtp-secret-1"},
        }
    )

    async def unit(session: AsyncSession) -> int:
        channel = Channel(type="email", name="Sales", secret="s" * 32, config=public)
        session.add(channel)
        await session.flush()
        session.add(credentials_row(channel.id, secrets))
        return channel.id

    path = f"/api/v1/channels/{await client.app[CTX].write(unit)}"
    servers = await client.patch(
        path, json={"settings": {"imap": {"host": "evil.example"}}}, headers=admin.headers
    )
    await expect_error(servers, 422, "setting_not_editable")
    not_a_chat = await client.patch(
        path,
        json={"settings": {"linked_widget_channel_ids": [api_channel["id"]]}},
        headers=admin.headers,
    )
    await expect_error(not_a_chat, 422, "invalid_email_settings")
    resp = await client.patch(
        path,
        json={
            "settings": {
                "display_name": "Sales team",
                "linked_widget_channel_ids": [chat["id"]],
                "tracking": False,
            }
        },
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    config = (await resp.json())["config"]
    assert config["display_name"] == "Sales team" and config["linked_widget_channel_ids"] == [
        chat["id"]
    ]
    assert config["tracking"] is False  # opens and clicks no longer tracked from here on
    assert config["imap"]["host"] == "imap.company.ru"
    listed = await (await client.get("/api/v1/channels", headers=admin.headers)).text()
    assert "imap-secret-1" not in listed and "smtp-secret-1" not in listed


async def test_a_calls_channel_keeps_its_provider_and_gets_its_url_again(
    client: TestClient,
) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    line = await calls_connect(client, admin.headers, "sipuni")
    path = f"/api/v1/channels/{line.id}"
    other = await client.patch(
        path, json={"settings": {"provider": "twilio"}}, headers=admin.headers
    )
    await expect_error(other, 422, "setting_not_editable")
    resp = await client.patch(
        path, json={"settings": {"callback_due_minutes": 30}}, headers=admin.headers
    )
    assert (await resp.json())["config"]["callback_due_minutes"] == 30
    rotated = await client.post(f"{path}/secret", headers=admin.headers)
    made = await rotated.json()
    assert rotated.status == 200 and any(made["secret"] in line_ for line_ in made["setup"])
    assert not any(line.secret in line_ for line_ in made["setup"])
