"""Thin HTTP handlers of the webhook admin API (sync out); the rules are in hub.crm_sync."""

from __future__ import annotations

from aiohttp import web

from hub.crm_sync import subscriptions
from hub.crm_sync.sync_schemas import WebhookIn, WebhookPatch
from hub.http import CTX, int_param, json, principal, query_int, query_value, read_json

routes = web.RouteTableDef()


@routes.get("/api/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    who = await principal(request)
    return json({"items": await subscriptions.list_subscriptions(request.app[CTX], who)})


@routes.post("/api/v1/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    who = await principal(request)
    subscriptions.require_admin(who)
    body = await read_json(request, WebhookIn)
    created = await subscriptions.create_subscription(
        request.app[CTX], who, name=body.name, url=body.url, events=body.events
    )
    return json({**created.subscription, "secret": created.secret}, status=201)


@routes.patch("/api/v1/webhooks/{webhook_id}")
async def update_webhook(request: web.Request) -> web.Response:
    who = await principal(request)
    subscriptions.require_admin(who)
    sub_id = int_param(request, "webhook_id")
    body = await read_json(request, WebhookPatch)
    data = await subscriptions.update_subscription(
        request.app[CTX],
        who,
        sub_id,
        name=body.name,
        url=body.url,
        events=body.events,
        active=body.active,
    )
    return json(data)


@routes.delete("/api/v1/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    who = await principal(request)
    subscriptions.require_admin(who)
    sub_id = int_param(request, "webhook_id")
    await subscriptions.delete_subscription(request.app[CTX], who, sub_id)
    return json({"ok": True})


@routes.get("/api/v1/webhooks/{webhook_id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    who = await principal(request)
    subscriptions.require_admin(who)
    sub_id = int_param(request, "webhook_id")
    data = await subscriptions.list_deliveries(
        request.app[CTX],
        who,
        sub_id,
        status=query_value(request, "status"),
        before=query_int(request, "before"),
        limit=query_int(request, "limit", 50) or 50,
    )
    return json(data)


@routes.post("/api/v1/webhooks/deliveries/{delivery_id}/retry")
async def retry_delivery(request: web.Request) -> web.Response:
    who = await principal(request)
    subscriptions.require_admin(who)
    delivery_id = int_param(request, "delivery_id")
    return json(await subscriptions.retry_failed(request.app[CTX], who, delivery_id))
