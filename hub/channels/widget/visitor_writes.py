"""A visitor's messages in the write lane's batches, stored with his row's link to his contact.

A new visitor's first message makes his contact, identity and conversation, and his row
(``widget_visitors.contact_id``) must then name that contact. So that many new visitors writing
at once cost a few statements per batch rather than units of their own each, the message takes
the inbox's batch (``inbound_batch.write_batch``) with everybody else's, his first and last
touch go with it (``InboundMessage.*_attribute_defaults``), and the links of the batch's new
contacts follow in the same transaction, one statement for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundMessage
from hub.channels.widget.models import WidgetVisitor
from hub.channels.widget.visitors import Visitor, to_visitor
from hub.context import HubContext
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.inbox.actions import receive_one
from hub.inbox.inbound_batch import Stored, run_batch_sql, stored_answer, write_batch
from hub.inbox.inbound_sql import BatchSql, marks
from hub.writes import RUN_ALONE, RunAlone

LINK = "UPDATE widget_visitors SET contact_id = ? WHERE id = ?"


@dataclass(frozen=True, slots=True)
class VisitorMessage:
    """A visitor's message, made by ``build`` from the visitor as his socket holds him.

    A visitor with no contact yet is read again in the batch, one statement for all of them,
    and his message made again from his row: a form he filled in since his socket opened,
    another tab's first message or his log-in on the site may have changed him."""

    visitor: Visitor
    inbound: InboundMessage
    build: Callable[[Visitor], InboundMessage]

    @property
    def contact_id(self) -> int | None:
        return self.visitor.contact_id


class VisitorWrites:
    """The write lane's handler of visitor messages: the inbox's batch, then the links.

    As the inbox's own handler does, the batch's events are published as soon as it
    committed, in one call, and each caller waits for the bus in ``ctx.publish``."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx

    async def run_many(
        self, conn: DriverConnection, items: list[VisitorMessage]
    ) -> list[Stored | RunAlone]:
        now = utcnow()

        def work(sql: BatchSql) -> list[Any]:
            written = write_batch(sql, _refreshed(sql, items), now)
            links = [
                (done.entry.conversation.contact_id, item.visitor.id)
                for item, done in zip(items, written, strict=True)
                if done is not None and done.entry.conversation.contact_id != item.contact_id
            ]
            if links:
                sql.execute_many(LINK, links)
            return written

        written = await run_batch_sql(conn, work)
        stored = [RUN_ALONE if done is None else stored_answer(done, now) for done in written]
        self._ctx.announce(
            *(e for answer in stored if not isinstance(answer, RunAlone) for e in answer[1])
        )
        return [answer if isinstance(answer, RunAlone) else (answer[0], []) for answer in stored]

    async def run_one(self, session: AsyncSession, item: VisitorMessage) -> Stored:
        """What the batch leaves (a message sent again) and a batch that failed: the inbox's
        per-message path, then the link."""
        inbound = item.inbound
        if item.contact_id is None:
            row = await session.get(WidgetVisitor, item.visitor.id)
            if row is not None:
                inbound = item.build(to_visitor(row))
        result, events = await receive_one(session, inbound)
        contact_id = result.conversation["contact_id"]
        if contact_id != item.contact_id:
            await session.execute(
                update(WidgetVisitor)
                .where(WidgetVisitor.id == item.visitor.id)
                .values(contact_id=contact_id)
            )
        return result, events


def _refreshed(sql: BatchSql, items: list[VisitorMessage]) -> list[InboundMessage]:
    """The items' messages, those of visitors with no contact yet made from their rows."""
    stale = sorted({item.visitor.id for item in items if item.contact_id is None})
    if not stale:
        return [item.inbound for item in items]
    rows = sql.fetch(
        "SELECT id, contact_id, identifier, profile, first_touch, last_touch"
        f" FROM widget_visitors WHERE id IN ({marks(len(stale))})",
        stale,
    )
    read = sql.read_json
    fresh = {row[0]: (row[1], row[2], read(row[3]), read(row[4]), read(row[5])) for row in rows}
    out = []
    for item in items:
        found = fresh.get(item.visitor.id) if item.contact_id is None else None
        if found is None:
            out.append(item.inbound)
        else:
            v = item.visitor
            out.append(item.build(Visitor(v.id, v.channel_id, *found)))
    return out


def visitor_writes(ctx: HubContext) -> VisitorWrites:
    """The context's one handler, so its messages share batches."""
    handler = ctx.batch_handlers.get("widget-visitor")
    if not isinstance(handler, VisitorWrites):
        handler = ctx.batch_handlers["widget-visitor"] = VisitorWrites(ctx)
    return handler
