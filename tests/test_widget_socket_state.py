"""What an open visitor socket keeps between frames: the visitor packed, shared audiences."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from hub.channels.widget import visitors
from hub.channels.widget.availability import audience_of
from hub.http import CTX
from tests.test_widget_api import new_visitor, start_session


def test_a_packed_visitor_unpacks_to_the_same_visitor() -> None:
    visitor = visitors.Visitor(
        7,
        3,
        None,
        "user-42",
        {"name": "Ольга", "email": "olga@example.ru"},
        {"url": "https://shop.example/?utm_source=ya", "agent": {"browser": "Firefox"}, "n": 1},
        {"url": "https://shop.example/cart", "title": "Корзина", "at": "2026-12-06T10:00:00Z"},
    )
    packed = visitors.pack_visitor(visitor)
    assert isinstance(packed, str)
    assert visitors.unpack_visitor(packed) == visitor
    linked = visitors.Visitor(7, 3, 11, None, {}, {}, {})
    assert visitors.unpack_visitor(visitors.pack_visitor(linked)) == linked


async def test_visitors_of_one_audience_share_it(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, channel, first = await new_visitor(client)
    second = (await start_session(client, channel))["visitor_token"]
    ctx = client.app[CTX]
    audiences = []
    for token in (first, second):
        visitor, row = await visitors.visitor_by_token(ctx, token)
        audiences.append(await audience_of(ctx, visitor, row))
    assert audiences[0] is audiences[1]
