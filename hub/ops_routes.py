"""Routes for the people who run the hub: health, readiness, metrics and the API document."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from hub.http import CTX, METRICS, REALTIME, error_response, json
from hub.openapi import openapi_document

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database and the bus answer; a load balancer sends traffic only when this is 200."""
    ctx = request.app[CTX]
    checks: dict[str, str] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["bus"] = "ok" if await ctx.bus.ping() else "error: no answer"
    except Exception as exc:
        checks["bus"] = f"error: {type(exc).__name__}"
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
    return json(openapi_document(request.app[CTX].settings.public_url))
