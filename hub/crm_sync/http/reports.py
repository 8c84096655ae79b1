"""Thin HTTP handlers of the sales reports (managers and admins); the figures are computed in
hub.crm_sync.reports and hub.crm_sync.report_groups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hub.context import HubContext
from hub.crm_sync import report_calls, report_email, report_groups, reports
from hub.crm_sync.report_period import Period, parse_period
from hub.db import utcnow
from hub.http import CTX, json, principal, query_int, query_text
from hub.inbox.auth import Principal

routes = web.RouteTableDef()

Report = Callable[[HubContext, Principal, Period, int | None], Awaitable[dict[str, Any]]]


async def _answer(request: web.Request, report: Report) -> web.Response:
    who = await principal(request)
    reports.require_manager(who)
    ctx = request.app[CTX]
    period = parse_period(
        query_text(request, "from"),
        query_text(request, "to"),
        ctx.company.timezone,
        now=utcnow(),
    )
    return json(await report(ctx, who, period, query_int(request, "pipeline_id")))


@routes.get("/api/v1/reports/funnel")
async def funnel(request: web.Request) -> web.Response:
    return await _answer(request, reports.funnel)


@routes.get("/api/v1/reports/operators")
async def operators(request: web.Request) -> web.Response:
    return await _answer(request, report_groups.by_operator)


@routes.get("/api/v1/reports/sources")
async def sources(request: web.Request) -> web.Response:
    return await _answer(request, report_groups.by_source)


@routes.get("/api/v1/reports/email-tracking")
async def email_tracking(request: web.Request) -> web.Response:
    return await _answer(request, report_email.by_operator)


@routes.get("/api/v1/reports/calls")
async def calls(request: web.Request) -> web.Response:
    return await _answer(request, report_calls.calls_report)
