"""A real hub for the API conformance run (``tests/test_api_conformance.py``), in its own process.

``python -m tests.conformance_hub`` migrates the SQLite database of ``HUB_DATABASE_URL``, serves
the hub on a free loopback port, seeds it through the hub's own actions (operators, an API
channel, a website widget, customers with conversations, leads and deals, a reply, a note, a
task, a canned response, a webhook subscription, an attachment, a contact merge), then prints one
JSON line: the address, the admin's credentials, the channel secret, the widget's website token
and the ids of the seeded rows. It serves until its standard input closes.

The run sends whatever the document allows, webhook and callback URLs included, so nothing here
may reach past this machine: the two background workers that post to such URLs (outbound
delivery of replies, sync-out webhooks) are stopped once the app has started. The HTTP answers
are the same with or without them; their sending is tested in test_sync_out.py and
test_api_channel.py against local servers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

from hub.app import DELIVERY, SYNC, create_app
from hub.channels.admin import create_channel
from hub.context import HubContext
from hub.crm_sync import merge, subscriptions, tasks
from hub.crm_sync.demo import seed_sales
from hub.crm_sync.queries import DealFilter, list_deals, list_leads
from hub.db import make_engine
from hub.http import CTX
from hub.inbox import attachments, canned, replies
from hub.inbox.auth import Principal
from hub.inbox.queries import ConversationFilter, list_conversations
from hub.inbox.staff import create_operator, create_team
from hub.migrate import upgrade
from hub.settings import Settings

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "conformance-admin-password"
#: The seeded subscription's receiver: nothing listens there, and nothing is sent (the sync
#: worker is stopped); an address literal, so setting it asks no DNS (the run's
#: HUB_WEBHOOK_ALLOWED_NETWORKS allows it).
WEBHOOK_URL = "http://127.0.0.1:9/hub/events"
#: A 1x1 PNG: the attachment the run downloads (images are served inline with their own type).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def _stop_outbound(app: web.Application) -> None:
    await app[DELIVERY].close()
    await app[SYNC].close()


async def seed(ctx: HubContext) -> dict[str, Any]:
    team = await create_team(ctx, None, "Support")
    admin = await create_operator(
        ctx,
        email=ADMIN_EMAIL,
        name="Admin",
        role="admin",
        password=ADMIN_PASSWORD,
        team_ids=[team["id"]],
    )
    others = [
        await create_operator(
            ctx, email=f"{role}@example.com", name=role.title(), role=role, team_ids=[team["id"]]
        )
        for role in ("manager", "operator")
    ]
    who = Principal(admin.operator["id"], "Admin", "admin", frozenset({team["id"]}))
    channel = await create_channel(ctx, None, type="api", name="API", team_id=team["id"])
    widget = await create_channel(ctx, None, type="widget", name="Site", team_id=team["id"])
    await seed_sales(ctx, who, channel.channel["id"])
    seeded = (await list_conversations(ctx, who, ConversationFilter()))["items"]
    conversations = sorted(c["id"] for c in seeded)
    contacts = sorted({c["contact_id"] for c in seeded})
    first = conversations[0]
    reply = await replies.send_reply(ctx, who, first, "Добрый день! Пришлю расчёт сегодня.")
    note = await replies.add_note(ctx, who, first, "Клиент просил перезвонить после обеда")
    deals = [d["id"] for d in (await list_deals(ctx, who, DealFilter()))["items"]]
    leads = [lead["id"] for lead in (await list_leads(ctx, who, "all", 50))["items"]]
    task = await tasks.create_task(ctx, who, title="Перезвонить", deal_id=deals[0])
    answer = await canned.create_canned(ctx, who, "price", "Цены на сайте: example.com/prices")
    hook = await subscriptions.create_subscription(ctx, who, name="CRM", url=WEBHOOK_URL, events=[])
    stored = await ctx.media.save_bytes(PNG)
    upload = await attachments.create_upload(ctx, who, first, stored, "pixel.png", "image/png")
    merged = await merge.merge_contacts(ctx, who, contacts[-2], contacts[-1], "the same person")
    return {
        "admin_id": admin.operator["id"],
        "operator_ids": [o.operator["id"] for o in others],
        "team_id": team["id"],
        "team_ids": [team["id"]],
        "channel_id": channel.channel["id"],
        "channel_secret": channel.secret,
        "website_tokens": [widget.channel["website_token"]],
        "conversation_ids": conversations,
        "contact_ids": contacts[:-1],
        "message_ids": [reply["id"], note["id"]],
        "deal_ids": deals,
        "lead_ids": leads,
        "task_ids": [task["id"]],
        "canned_ids": [answer["id"]],
        "webhook_ids": [hook.subscription["id"]],
        "attachment_ids": [upload["id"]],
        "merge_ids": [merged["id"]],
    }


async def serve() -> None:
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    app = create_app(settings)
    app.on_startup.append(_stop_outbound)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        seeded = await seed(app[CTX])
        seeded.update(url=f"http://127.0.0.1:{port}", email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        print(json.dumps(seeded), flush=True)
        # Serve until the test closes our standard input (or goes away).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
