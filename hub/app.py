"""``create_app(settings)``: one aiohttp application with the database, bus, workers and routes.

The parts are registered in explicit lists (routes, channel adapters), the same for built-in and
extra ones. Start-up opens the bus and the writer, then follows the bus; shutdown closes every
operator socket with 1001 first, so clients reconnect elsewhere at once instead of timing out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels import registry
from hub.channels.http import routes as channel_routes
from hub.context import HubContext
from hub.crm_sync.defaults import ensure_defaults
from hub.crm_sync.http import merges as merge_routes
from hub.crm_sync.http import reports as report_routes
from hub.crm_sync.http import routes as crm_routes
from hub.crm_sync.http import webhooks as webhook_routes
from hub.crm_sync.intake import LeadIntake
from hub.crm_sync.reminders import TaskReminder
from hub.crm_sync.worker import SyncWorker
from hub.http import CTX, LOGIN_GUARD, METRICS, REALTIME, TYPING, error_middleware
from hub.http import ops as ops_routes
from hub.inbox.auth import Principal, load_principal
from hub.inbox.delivery import DeliveryWorker
from hub.inbox.handoff import SnoozeWaker
from hub.inbox.http import attachments as attachment_routes
from hub.inbox.http import canned as canned_routes
from hub.inbox.http import email_view as email_view_routes
from hub.inbox.http import locale as locale_routes
from hub.inbox.http import pages as inbox_pages
from hub.inbox.http import ratings as rating_routes
from hub.inbox.http import routes as inbox_routes
from hub.inbox.http import unread as unread_routes
from hub.inbox.login_guard import LoginGuard
from hub.inbox.login_throttle import LoginThrottle
from hub.inbox.models import Operator
from hub.inbox.realtime import RealtimeHub
from hub.inbox.typing import OperatorTyping
from hub.metrics import Metrics
from hub.outbound.poster import AiohttpPoster
from hub.settings import Settings

#: In order: a literal path (``/conversations/counts``, ``/contacts/merges``) comes before the
#: ``{id}`` route that would take it.
ROUTE_TABLES = (
    ops_routes.routes,
    unread_routes.routes,
    merge_routes.routes,
    inbox_routes.routes,
    attachment_routes.routes,
    email_view_routes.routes,
    canned_routes.routes,
    inbox_pages.routes,
    channel_routes.routes,
    crm_routes.routes,
    webhook_routes.routes,
    report_routes.routes,
    rating_routes.routes,
    locale_routes.routes,
)

DELIVERY = web.AppKey("delivery", DeliveryWorker)
INTAKE = web.AppKey("lead_intake", LeadIntake)
SYNC = web.AppKey("sync", SyncWorker)
SNOOZE = web.AppKey("snooze", SnoozeWaker)
REMINDER = web.AppKey("task_reminder", TaskReminder)


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

    app[REALTIME] = RealtimeHub(ctx.bus, settings.socket_queue_size, principal_of)
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
    ctx.live_adapters = {
        kind: adapter for kind, adapter in adapters.items() if ctx.capabilities_of(kind).live
    }
    app[DELIVERY] = DeliveryWorker(ctx, adapters)
    app[INTAKE] = intake = LeadIntake(ctx)
    app[METRICS].lead_intake_decided.set_function(lambda: intake.processed)
    app[SYNC] = SyncWorker(ctx, AiohttpPoster(settings.destination_policy, settings.sync_timeout_s))
    app[SNOOZE] = SnoozeWaker(ctx)
    app[REMINDER] = TaskReminder(ctx)
    app.on_shutdown.append(_close_sockets)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
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
    await app[REALTIME].start()
    await app[DELIVERY].start()
    if ctx.settings.lead_intake:
        await app[INTAKE].start()
    await app[SYNC].start()
    await app[SNOOZE].start()
    await app[REMINDER].start()
    try:
        yield
    finally:
        await app[REMINDER].close()
        await app[SNOOZE].close()
        await app[INTAKE].close()
        await app[SYNC].close()
        await app[DELIVERY].close()
        await app[REALTIME].close()
        await app[LOGIN_GUARD].close()
        await ctx.close()


async def _close_sockets(app: web.Application) -> None:
    await app[REALTIME].close()
