"""Run by ``tests/test_startup.py`` in a fresh interpreter: a hub with no Telegram channel, used,
then a Telegram bot connected and used, reporting which libraries were loaded at each step.

``python -m tests.startup_probe <migrated SQLite file>`` prints one JSON object: the heavy
libraries imported once the hub started and served an API channel's message and a reply, the
same after a bot was connected through the admin API (against a fake Bot API in this process)
and its first update taken on the webhook, and what those requests answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.channels.telegram.keys import TELEGRAM
from hub.settings import Settings
from tests.helpers import make_api_channel, make_operator
from tests.telegram_fake import SECRET_HEADER, TOKEN, FakeBotAPI, fixture

WATCHED = (
    "aiogram",
    "redis",
    "alembic",
    "asyncpg",
    "schemathesis",
    "sqlalchemy.dialects.postgresql",
    "maxminddb",
)


def loaded() -> list[str]:
    return [name for name in WATCHED if name in sys.modules]


async def probe(db: Path) -> dict[str, Any]:
    api = FakeBotAPI()
    bot_api = TestServer(api.app(), host="127.0.0.1")
    await bot_api.start_server()
    api.base = str(bot_api.make_url("")).rstrip("/")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{db}",
        secret_key="startup-probe-secret",
        fast_password_hash=True,
        lead_intake=False,
        media_dir=db.parent / "media",
        telegram_api_url=api.base,
    )
    report: dict[str, Any] = {}
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        admin = await make_operator(client, role="admin")
        channel = await make_api_channel(client, admin)
        inbound = await client.post(
            f"/api/v1/channels/{channel['id']}/inbound",
            json={"contact": {"external_id": "c1", "name": "Ivan"}, "body": "Hello"},
            headers={"Authorization": f"Bearer {channel['secret']}"},
        )
        report["api_inbound"] = inbound.status
        conversation = (await inbound.json())["conversation"]["id"]
        reply = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"body": "Hi"},
            headers=admin.headers,
        )
        report["api_reply"] = reply.status
        report["without_telegram"] = loaded()
        report["live_without_telegram"] = client.app[TELEGRAM].live is not None

        connected = await client.post(
            "/api/v1/channels",
            json={"type": "telegram", "name": "Shop bot", "token": TOKEN},
            headers=admin.headers,
        )
        report["telegram_connect"] = connected.status
        bot = await connected.json()
        update = await client.post(
            f"/webhooks/telegram/{bot['id']}",
            json=fixture("text"),
            headers={SECRET_HEADER: bot["secret"]},
        )
        report["telegram_update"] = update.status
        report["with_telegram"] = loaded()
        report["live_with_telegram"] = client.app[TELEGRAM].live is not None
    finally:
        await client.close()
        await bot_api.close()
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(Path(sys.argv[1])))))
