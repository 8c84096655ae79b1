"""``POST /api/widget/v1/phone-number``: the tracking number the site shows this visitor.

The script asks when its page marks a phone number (``data-hub-phone``) and again while the page
stays open, which keeps the number his (``hub.crm_sync.number_pool``). The page it sends (address
and referrer) is the visit a call to the number is attributed to: its UTM tags are read from the
address here. Authenticated like the widget's other routes: his visitor token, from a page of a
site the channel allows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.widget.routes import PageIn, _rate, _visitor
from hub.crm_sync.number_pool import Visit, reserve_number, utm_of
from hub.http import CTX, json, read_json
from hub.inbox.serialize import iso
from hub.phones import spoken_forms

routes = web.RouteTableDef()

#: The page renews its number this many times within a reservation, so one lost renewal
#: (a network hiccup, a throttled background tab) does not let it lapse.
RENEWALS_PER_RESERVATION = 3


class NumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: PageIn = Field(default_factory=PageIn)


def _utm(url: str) -> dict[str, str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return utm_of(dict(parse_qsl(query)))


@routes.post("/api/widget/v1/phone-number")
async def phone_number(request: web.Request) -> web.Response:
    """The number for ``data-hub-phone`` elements (X-Visitor-Token; ``{page: {url, referrer}}``)."""
    visitor, channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    _rate(request)
    body = await read_json(request, NumberIn)
    ctx = request.app[CTX]
    shown = await reserve_number(
        ctx,
        channel.id,
        Visit(
            visitor_id=visitor.id,
            contact_id=visitor.contact_id,
            page=body.page.url,
            referrer=body.page.referrer,
            utm=_utm(body.page.url),
        ),
    )
    answer: dict[str, Any] = {
        "kind": shown.kind,
        "number": shown.number,
        "international": None,
        "national": None,
        "expires_at": iso(shown.expires_at),
        "renew_in_seconds": None,
    }
    if shown.number is not None:
        answer.update(spoken_forms(shown.number))
    if shown.kind == "pool":
        ttl = int(ctx.settings.number_reservation_s)
        answer["renew_in_seconds"] = max(ttl // RENEWALS_PER_RESERVATION, 20)
    return json(answer)
