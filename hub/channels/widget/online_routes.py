"""``GET /api/v1/contacts/{contact_id}/visitors``: the contact's website visitors on the site now.

For the manager's contact page: for each of the contact's widget visitors with a tab open
(``VisitorTabs.is_open``, on any process), the page that tab was opened on (his last touch), and
the browser, system and device his browser named (``agent``), and his city and country when a
GeoIP database is configured (``hub.geoip``: read from his address when his session started and
kept with that touch, not looked up here). A contact the operator may not see is "not found".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.keys import WIDGET
from hub.channels.widget.models import WidgetVisitor
from hub.channels.widget.visitors import external_id, to_visitor
from hub.crm_sync.access import get_visible_contact
from hub.geoip import LANGUAGES
from hub.http import CTX, int_param, json, principal
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox.models import Channel
from hub.inbox.serialize import iso
from hub.responses import Omittable, Out

routes = web.RouteTableDef()
#: The newest visitors of a contact looked at (a contact with more tabs is rare).
LOOKED_AT = 20


class PlaceNamesOut(Out):
    """A place's name in the hub's languages, each as the GeoIP database has it."""

    en: Omittable[str] = Field(default=None, description="e.g. Moscow")
    ru: Omittable[str] = Field(default=None, description="e.g. Москва")


class OnlineVisitorOut(Out):
    visitor_id: int
    channel_id: int
    channel_name: str
    page_url: str = Field(description="The page his open tab was loaded on")
    page_title: str
    browser: Omittable[str] = Field(default=None, description="e.g. Chrome 131, when told")
    os: Omittable[str] = Field(default=None, description="e.g. Android, when told")
    device: Omittable[str] = Field(default=None, description="phone, tablet or desktop")
    city: Omittable[PlaceNamesOut] = Field(
        default=None, description="His city, from his address (HUB_GEOIP_DATABASE), when known"
    )
    country: Omittable[PlaceNamesOut] = Field(
        default=None, description="His country, from his address, when known"
    )
    country_code: Omittable[str] = Field(default=None, description="ISO 3166-1, e.g. RU")
    last_seen_at: datetime


class OnlineVisitorsOut(Out):
    items: list[OnlineVisitorOut] = Field(description="Those with a tab open now, newest first")


def _names(value: Any) -> dict[str, str]:
    """A place's names kept in a touch (``hub.geoip.place_of``), in the hub's languages."""
    if not isinstance(value, dict):
        return {}
    return {lang: str(value[lang]) for lang in LANGUAGES if value.get(lang)}


def _item(row: WidgetVisitor, channel_name: str) -> dict[str, Any]:
    touch = dict(row.last_touch or {})
    item: dict[str, Any] = {
        "visitor_id": row.id,
        "channel_id": row.channel_id,
        "channel_name": channel_name,
        "page_url": str(touch.get("url", "")),
        "page_title": str(touch.get("title", "")),
        "last_seen_at": iso(row.last_seen_at),
    }
    for key in ("browser", "os", "device", "country_code"):
        if touch.get(key):
            item[key] = str(touch[key])
    for key in ("city", "country"):
        names = _names(touch.get(key))
        if names:
            item[key] = names
    return item


@routes.get("/api/v1/contacts/{contact_id}/visitors")
async def online_visitors(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")

    async def query(session: AsyncSession) -> list[tuple[WidgetVisitor, str]]:
        await get_visible_contact(session, who, contact_id)
        rows = await session.execute(
            select(WidgetVisitor, Channel.name)
            .join(Channel, Channel.id == WidgetVisitor.channel_id)
            .where(WidgetVisitor.contact_id == contact_id)
            .order_by(WidgetVisitor.last_seen_at.desc(), WidgetVisitor.id.desc())
            .limit(LOOKED_AT)
        )
        return [(row, str(name)) for row, name in rows.all()]

    tabs = request.app[WIDGET].tabs
    items = []
    for row, channel_name in await request.app[CTX].read(query):
        if await tabs.is_open(row.channel_id, external_id(to_visitor(row))):
            items.append(_item(row, channel_name))
    return json({"items": items})


#: Its part of the widget's OpenAPI description.
ONLINE_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts/{contact_id}/visitors": {
        "get": op(
            "The contact's website visitors with the site open now: the page, browser, system, "
            "device, city and country of each (the city and country with HUB_GEOIP_DATABASE)",
            answer=OnlineVisitorsOut,
            auth=OPERATOR,
            params=[path_id("contact_id")],
            errors=(400, 401, 404),
        ),
    },
}
ONLINE_MODELS: tuple[type[BaseModel], ...] = (OnlineVisitorsOut,)
