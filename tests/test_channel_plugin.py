"""A channel type defined entirely in ``tests/plugin_channel.py`` (an SMS gateway) is served by
the hub with no edit to any core module: registered by ``HUB_CHANNEL_MODULES``, it is created by
the admin API and by ``python -m hub channel add``, its inbound route takes texts into the
inbox, ``/api/openapi.json`` lists its route, ``/api/v1/channel-types`` gives its badge, and an
operator's reply (never a note) reaches its adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from hub.channels import registry
from hub.settings import Settings
from tests.cli_run import Run, migrated_cli
from tests.helpers import FRAME_CAP_S, make_operator
from tests.plugin_channel import SENT
from tests.test_cli import SECRET_ONCE
from tests.test_widget_api import expect_error

MODULE = "tests.plugin_channel"


@pytest.fixture
async def settings(settings: Settings) -> AsyncIterator[Settings]:
    """Both backends' settings, with the SMS channel module named (its one registration)."""
    yield settings.model_copy(update={"channel_modules": MODULE})
    registry.unregister("sms")


async def test_a_channel_from_outside_the_core_takes_texts_and_sends_replies(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    types = await client.get("/api/v1/channel-types", headers=admin.headers)
    assert types.status == 200
    sms = [t for t in (await types.json())["items"] if t["type"] == "sms"]
    assert sms == [
        {
            "type": "sms",
            "title": "SMS gateway",
            "badge": "SMS",
            "capabilities": {
                "replies": True,
                "files": False,
                "html": False,
                "typing": False,
                "threads": False,
                "number_insertion": False,
            },
        }
    ]

    bad = await client.post(
        "/api/v1/channels", json={"type": "sms", "name": "Texts"}, headers=admin.headers
    )
    await expect_error(bad, 422, "invalid_sms_settings")
    made = await client.post(
        "/api/v1/channels",
        json={"type": "sms", "name": "Texts", "sender": "8 (495) 123-45-67"},
        headers=admin.headers,
    )
    assert made.status == 201, await made.text()
    channel = await made.json()
    assert channel["config"] == {"sender": "+74951234567"}

    hook = f"/webhooks/sms/{channel['id']}"
    text = {"id": "gw-1", "from": "8 916 123-45-67", "text": "Есть доставка в Тверь?"}
    wrong = await client.post(hook, json=text, headers={"Authorization": "Bearer nope"})
    await expect_error(wrong, 401, "invalid_channel_secret")
    auth = {"Authorization": f"Bearer {channel['secret']}"}
    first = await client.post(hook, json=text, headers=auth)
    assert (first.status, await first.json()) == (201, {"duplicate": False})
    again = await client.post(hook, json=text, headers=auth)
    assert (again.status, await again.json()) == (200, {"duplicate": True})

    listed = await client.get(
        f"/api/v1/conversations?channel={channel['id']}", headers=admin.headers
    )
    [conv] = (await listed.json())["items"]
    assert conv["channel"]["type"] == "sms"
    assert conv["last_message_preview"] == "Есть доставка в Тверь?"
    conv_id = conv["id"]

    note = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "VIP, answer fast", "private": True},
        headers=admin.headers,
    )
    assert note.status == 201, await note.text()
    reply = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "Да, 2 дня"},
        headers=admin.headers,
    )
    assert reply.status == 201, await reply.text()
    config, out = await asyncio.wait_for(client.app[SENT].next(), FRAME_CAP_S)
    # The first thing the adapter got is the reply: the note, posted before it, never went.
    assert (out.body, out.contact_external_id, config) == (
        "Да, 2 дня",
        "+79161234567",
        {"sender": "+74951234567"},
    )
    assert client.app[SENT].sent.empty()

    doc = await (await client.get("/api/openapi.json")).json()
    assert "post" in doc["paths"]["/webhooks/sms/{channel_id}"]
    assert "SmsIn" in doc["components"]["schemas"]


@pytest.fixture
def hub_cli(tmp_path: Path) -> Run:
    return migrated_cli(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")


def test_the_command_line_adds_a_channel_of_a_registered_type(hub_cli: Run) -> None:
    listed = hub_cli("channel", "add", HUB_CHANNEL_MODULES=MODULE)
    assert "sms          SMS gateway" in listed.stdout
    helped = hub_cli("channel", "add", "sms", "--help", HUB_CHANNEL_MODULES=MODULE)
    assert helped.returncode == 0, helped.stderr
    assert "--sender SENDER" in helped.stdout
    out = hub_cli(
        "channel",
        "add",
        "sms",
        "--name",
        "Texts",
        "--sender",
        "+7 495 123-45-67",
        HUB_CHANNEL_MODULES=MODULE,
    )
    assert out.returncode == 0, out.stderr
    assert "created: sms 'Texts'" in out.stdout
    assert "/webhooks/sms/" in out.stdout
    assert len(SECRET_ONCE.findall(out.stdout)) == 1
    unknown = hub_cli("channel", "add", "sms", "--name", "Texts")
    assert unknown.returncode == 2
    assert "unknown channel type 'sms'" in unknown.stderr


def test_the_plugin_module_is_the_only_place_that_names_it() -> None:
    core = Path(__file__).resolve().parent.parent / "hub"
    named = [
        str(p.relative_to(core))
        for p in core.rglob("*.py")
        if "plugin_channel" in (text := p.read_text(encoding="utf-8")) or '"sms"' in text
    ]
    assert named == []
