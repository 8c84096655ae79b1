"""``create_app(settings)``: one aiohttp application with the database, bus, workers and routes.

The parts are registered in explicit lists (routes, channel adapters), the same for built-in and
extra ones. Start-up opens the bus and the writer, then follows the bus; shutdown closes every
operator socket with 1001 first, so clients reconnect elsewhere at once instead of timing out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels import registry
from hub.channels.base import SystemMailer
from hub.channels.http import routes as channel_routes
from hub.context import HubContext
from hub.crm_sync.call_sweep import CallSweep
from hub.crm_sync.defaults import ensure_defaults
from hub.crm_sync.http import contacts as contact_search_routes
from hub.crm_sync.http import merges as merge_routes
from hub.crm_sync.http import number_pool as number_pool_routes
from hub.crm_sync.http import pipeline_routes
from hub.crm_sync.http import reports as report_routes
from hub.crm_sync.http import routes as crm_routes
from hub.crm_sync.http import tracking as tracking_routes
from hub.crm_sync.http import webhooks as webhook_routes
from hub.crm_sync.intake import LeadIntake
from hub.crm_sync.reminders import TaskReminder
from hub.crm_sync.worker import SyncWorker
from hub.http import CTX, LOGIN_GUARD, METRICS, PRESENCE, REALTIME, TYPING, error_middleware
from hub.http import ops as ops_routes
from hub.inbox.auth import Principal, load_principal
from hub.inbox.delivery import DeliveryWorker
from hub.inbox.handoff import SnoozeWaker
from hub.inbox.http import admin as admin_routes
from hub.inbox.http import attachments as attachment_routes
from hub.inbox.http import canned as canned_routes
from hub.inbox.http import email_view as email_view_routes
from hub.inbox.http import hours as hours_routes
from hub.inbox.http import invites as invite_routes
from hub.inbox.http import locale as locale_routes
from hub.inbox.http import pages as inbox_pages
from hub.inbox.http import ratings as rating_routes
from hub.inbox.http import routes as inbox_routes
from hub.inbox.http import routing as routing_routes
from hub.inbox.http import unread as unread_routes
from hub.inbox.login_guard import LoginGuard
from hub.inbox.login_throttle import LoginThrottle
from hub.inbox.models import Operator
from hub.inbox.realtime import RealtimeHub
from hub.inbox.router import Router
from hub.inbox.typing import OperatorTyping
from hub.inbox.working_hours import HoursFollower
from hub.metrics import Metrics
from hub.outbound.poster import AiohttpPoster
from hub.presence import Online, Presence
from hub.settings import Settings

#: In order: a literal path (``/conversations/counts``, ``/contacts/merges``) comes before the
#: ``{id}`` route that would take it.
ROUTE_TABLES = (
    ops_routes.routes,
    unread_routes.routes,
    merge_routes.routes,
    contact_search_routes.routes,
    inbox_routes.routes,
    attachment_routes.routes,
    email_view_routes.routes,
    canned_routes.routes,
    inbox_pages.routes,
    channel_routes.routes,
    crm_routes.routes,
    webhook_routes.routes,
    tracking_routes.routes,
    report_routes.routes,
    rating_routes.routes,
    admin_routes.routes,
    hours_routes.routes,
    pipeline_routes.routes,
    number_pool_routes.routes,
    locale_routes.routes,
    invite_routes.routes,
    routing_routes.routes,
)

DELIVERY = web.AppKey("delivery", DeliveryWorker)
INTAKE = web.AppKey("lead_intake", LeadIntake)
SYNC = web.AppKey("sync", SyncWorker)
SNOOZE = web.AppKey("snooze", SnoozeWaker)
CALL_SWEEP = web.AppKey("call_sweep", CallSweep)
REMINDER = web.AppKey("task_reminder", TaskReminder)
ROUTER = web.AppKey("router", Router)
HOURS = web.AppKey("working_hours", HoursFollower)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)
    ctx = HubContext.build(settings)
    app[CTX] = ctx
    app[METRICS] = Metrics()

    async def principal_of(operator_id: int) -> Principal | None:
        async def query(session: AsyncSession) -> Principal | None:
            op = await session.get(Operator, operator_id)
            if op is None or not op.is_active:
                return None
            return await load_principal(session, op)

        return await ctx.read(query)

    app[REALTIME] = realtime = RealtimeHub(ctx.bus, settings.socket_queue_size, principal_of)
    app[PRESENCE] = presence = Presence(
        lambda: Online.of(realtime.principals()),
        settings.redis_url,
        settings.redis_prefix,
        refresh_s=settings.presence_refresh_interval_s,
        backoff_s=settings.worker_backoff_s,
    )
    realtime.on_sockets_changed.append(_publish_presence(presence))
    app[TYPING] = typing = OperatorTyping(ctx)
    app[REALTIME].frame_handlers["typing"] = typing.handle
    app[LOGIN_GUARD] = LoginGuard(LoginThrottle(settings))
    for table in ROUTE_TABLES:
        app.router.add_routes(table)
    # The core starts first (channels' own start-up uses the bus) and stops last.
    app.cleanup_ctx.append(_lifecycle)
    registry.load_channel_modules(settings.channel_module_names)
    app[registry.SPECS] = specs = registry.channel_specs()
    adapters = {spec.type: spec.install(app) for spec in specs}
    ctx.channel_capabilities = registry.capabilities()
    ctx.contact_rows = registry.contact_rows()
    ctx.adapters = adapters
    ctx.system_mailers = {
        kind: adapter for kind, adapter in adapters.items() if isinstance(adapter, SystemMailer)
    }
    ctx.live_adapters = {
        kind: adapter for kind, adapter in adapters.items() if ctx.capabilities_of(kind).live
    }
    app[DELIVERY] = DeliveryWorker(ctx, adapters)
    app[INTAKE] = intake = LeadIntake(ctx)
    app[METRICS].lead_intake_decided.set_function(lambda: intake.processed)
    app[SYNC] = SyncWorker(ctx, AiohttpPoster(settings.destination_policy, settings.sync_timeout_s))
    app[SNOOZE] = SnoozeWaker(ctx)
    app[CALL_SWEEP] = CallSweep(ctx)

    async def online_operators() -> frozenset[int]:
        return (await presence.online()).operator_ids

    app[ROUTER] = router = Router(ctx, online_operators)
    app[METRICS].routing_assigned.set_function(lambda: router.assigned)

    async def operator_came(_count: int) -> None:
        router.wake()  # someone opened the inbox: he may take what waits

    realtime.on_sockets_changed.append(operator_came)
    app[REMINDER] = TaskReminder(ctx)
    app[HOURS] = HoursFollower(ctx)
    app.on_shutdown.append(_close_sockets)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    # A GeoIP database that cannot be read stops the start (HUB_GEOIP_DATABASE), before
    # anything else was started.
    await ctx.geoip.open()
    await ctx.start()
    if ctx.settings.migrate_on_start:
        from hub.db import make_engine
        from hub.migrate import upgrade

        # An engine of its own: a migration's statements may run past HUB_DB_TIMEOUT_S.
        migrating = make_engine(ctx.settings.database_url)
        try:
            await upgrade(migrating)
        finally:
            await migrating.dispose()
    await ensure_defaults(ctx)
    await app[HOURS].start()
    await app[REALTIME].start()
    await app[PRESENCE].start()
    await app[DELIVERY].start()
    if ctx.settings.lead_intake:
        await app[INTAKE].start()
    await app[SYNC].start()
    await app[SNOOZE].start()
    await app[CALL_SWEEP].start()
    await app[REMINDER].start()
    if ctx.settings.routing:
        await app[ROUTER].start()
    try:
        yield
    finally:
        await app[ROUTER].close()
        await app[HOURS].close()
        await app[REMINDER].close()
        await app[CALL_SWEEP].close()
        await app[SNOOZE].close()
        await app[INTAKE].close()
        await app[SYNC].close()
        await app[DELIVERY].close()
        await app[REALTIME].close()
        await app[PRESENCE].close()
        await app[LOGIN_GUARD].close()
        await ctx.close()


def _publish_presence(presence: Presence) -> Callable[[int], Awaitable[None]]:
    """Who is online here, written for the other processes as soon as a socket opens or
    closes (between the presence's own refreshes)."""

    async def publish(_count: int) -> None:
        await presence.publish_local()

    return publish


async def _close_sockets(app: web.Application) -> None:
    await app[REALTIME].close()
