"""``GET /api/v1/locale``: the installation's time zone and language, for the pages.

The inbox, the deal board and the reports show every date and time in the company's time zone
(``ctx.company``: set in the admin area, else ``HUB_TIMEZONE``), the zone report periods and
working hours are counted in, whatever zone an operator's computer is set to; the page asks for
it here once after logging in, and follows ``working_hours.updated`` after that. With a free
GeoIP database (``HUB_GEOIP_DATABASE``) it also tells the credit its licence asks of the pages
that show a visitor's city (``hub.geoip.CREDITS``).
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from hub.http import CTX, json, principal
from hub.http.openapi_build import OPERATOR, op
from hub.responses import Omittable, Out

routes = web.RouteTableDef()


class GeoIPCreditOut(Out):
    text: str = Field(description="e.g. IP Geolocation by DB-IP")
    url: str = Field(description="The link the licence asks for, e.g. https://db-ip.com")


class LocaleOut(Out):
    timezone: str = Field(
        description="The company's time zone (set in the admin area), e.g. Europe/Moscow"
    )
    language: Literal["en", "ru"] = Field(description="The installation's language (HUB_LANGUAGE)")
    geoip_credit: Omittable[GeoIPCreditOut] = Field(
        default=None,
        description="With a GeoLite2 or DB-IP Lite database (HUB_GEOIP_DATABASE): the credit "
        "to show beside a visitor's city",
    )


@routes.get("/api/v1/locale")
async def locale(request: web.Request) -> web.Response:
    await principal(request)
    ctx = request.app[CTX]
    answer: dict[str, Any] = {"timezone": ctx.company.timezone, "language": ctx.settings.language}
    if ctx.geoip.credit is not None:
        answer["geoip_credit"] = ctx.geoip.credit
    return json(answer)


#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
LOCALE_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/locale": {
        "get": op(
            "The company's time zone and the installation's language, for showing dates (and "
            "the GeoIP database's credit, when its licence asks for one)",
            answer=LocaleOut,
            auth=OPERATOR,
            errors=(401,),
        ),
    },
}
LOCALE_MODELS: tuple[type[BaseModel], ...] = (LocaleOut,)
