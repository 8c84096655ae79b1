"""Routes for the people who run the hub: health, readiness, metrics and the API document."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.channels import registry
from hub.errors import DatabaseUnavailable
from hub.http import CTX, METRICS, REALTIME, error_response, json
from hub.http.openapi import openapi_document

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database and the bus answer; a load balancer sends traffic only when this is 200.

    Each check has its own short bound (``HUB_READY_TIMEOUT_S``) and the database's its own
    connection, so the answer comes within a second even while the database is stuck."""
    ctx = request.app[CTX]

    async def database() -> str:
        try:
            await ctx.probe_database()
        except DatabaseUnavailable as exc:
            return f"error: {type(exc.__cause__ or exc).__name__}"
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    async def bus() -> str:
        try:
            async with asyncio.timeout(ctx.settings.ready_timeout_s):
                return "ok" if await ctx.bus.ping() else "error: no answer"
        except Exception as exc:
            return f"error: {type(exc).__name__}"

    db_check, bus_check = await asyncio.gather(database(), bus())
    checks = {"database": db_check, "bus": bus_check}
    if all(v == "ok" for v in checks.values()):
        return json({"status": "ready", "checks": checks})
    response = error_response(503, "not_ready", "a dependency does not answer")
    return response


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    ctx = request.app[CTX]
    m.operator_sockets.set(request.app[REALTIME].socket_count)
    m.commit_batches.set(ctx.writer.batches)
    m.commit_units.set(ctx.writer.units)
    return web.Response(body=m.render(), content_type="text/plain", charset="utf-8")


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    app = request.app
    return json(openapi_document(app[CTX].settings.public_url, app[registry.SPECS]))
