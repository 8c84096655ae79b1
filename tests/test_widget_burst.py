"""New visitors arriving together: their rows and their first messages are written in the write
lane's batches, a statement per batch rather than units of their own for each visitor, and
every visitor ends linked to a contact of his own, with his touches on it and on his new
conversation."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.channels.widget.models import WidgetVisitor
from hub.http import CTX
from hub.inbox.models import Contact, Conversation
from tests.helpers import make_operator, recorded_statements
from tests.test_widget_api import (
    ORIGIN,
    make_widget_channel,
    open_visitor,
    send_over,
    start_session,
)

#: Within the widget's per-address limit of new chats (all come from one address here).
VISITORS = 24


async def test_new_visitors_arriving_together_share_batches(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)

    with recorded_statements(client) as statements:
        sessions = await asyncio.gather(
            *(
                start_session(client, channel, page={"url": f"{ORIGIN}/p/{n}?utm_source=s{n}"})
                for n in range(VISITORS)
            )
        )
    rows_made = _count(statements, "insert into widget_visitors")
    assert rows_made < VISITORS // 2, f"{VISITORS} new visitors: {rows_made} inserts"

    sockets = [(await open_visitor(client, s["visitor_token"]))[0] for s in sessions]

    async def first_message(n: int, ws: Any) -> dict[str, Any]:
        return await send_over(ws, f"first-{n}", f"hello {n}")

    with recorded_statements(client) as statements:
        acks = await asyncio.gather(*(first_message(n, ws) for n, ws in enumerate(sockets)))
    for what in ("insert into contacts", "insert into conversations", "update widget_visitors"):
        made = _count(statements, what)
        assert made < VISITORS // 2, f"{VISITORS} first messages: {made} times {what!r}"
    assert sorted(a["message"]["body"] for a in acks) == sorted(
        f"hello {n}" for n in range(VISITORS)
    )
    for ws in sockets:
        await ws.close()

    async with ctx.sessionmaker() as db:
        rows = list(
            (
                await db.scalars(
                    select(WidgetVisitor)
                    .where(WidgetVisitor.channel_id == channel["id"])
                    .order_by(WidgetVisitor.id)
                )
            ).all()
        )
        assert len(rows) == VISITORS
        contact_ids = [row.contact_id for row in rows]
        assert None not in contact_ids and len(set(contact_ids)) == VISITORS
        for row in rows:
            source = row.first_touch["utm_source"]
            contact = await db.get(Contact, row.contact_id)
            assert contact is not None
            assert contact.attributes["first_touch"]["utm_source"] == source
            assert contact.attributes["last_touch"]["utm_source"] == source
            conv = await db.scalar(
                select(Conversation).where(Conversation.contact_id == row.contact_id)
            )
            assert conv is not None
            assert conv.attributes["first_touch"]["utm_source"] == source
            assert conv.attributes["last_touch"]["utm_source"] == source


def _count(statements: list[str], start: str) -> int:
    """Statements that begin so (one per batch when batched, one per row through the ORM)."""
    return sum(1 for statement in statements if statement.lstrip().startswith(start))
