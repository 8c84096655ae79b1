"""New visitors' rows, made in the write lane's batches.

Every visitor's first session makes his row (``widget_visitors``). So that many visitors
arriving at once cost a statement per batch rather than an ORM unit each, the rows of a batch
are inserted on the lane's own connection, in one transaction (``inbound_batch.run_batch_sql``),
as customer messages are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.models import WidgetVisitor
from hub.context import HubContext
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.inbox.inbound_batch import run_batch_sql
from hub.inbox.inbound_sql import BatchSql
from hub.jsoncodec import dumps
from hub.writes import RunAlone

INSERT = (
    "INSERT INTO widget_visitors (channel_id, token_hash, identifier, profile, first_touch,"
    " last_touch, created_at, last_seen_at) VALUES (?, ?, ?, ?j, ?j, ?j, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class NewVisitor:
    """A new visitor's row: his token's hash, where he is, what he told about himself."""

    channel_id: int
    token_hash: str
    touch: dict[str, Any]
    profile: dict[str, Any]
    identifier: str | None


class NewVisitorWrites:
    """The write lane's handler of new visitors' rows; answers each row's id."""

    async def run_many(
        self, conn: DriverConnection, items: list[NewVisitor]
    ) -> list[int | RunAlone]:
        now = utcnow()

        def work(sql: BatchSql) -> list[int]:
            return sql.insert_ids(INSERT, [_row(sql, item, now) for item in items])

        return list(await run_batch_sql(conn, work))

    async def run_one(self, session: AsyncSession, item: NewVisitor) -> int:
        """The lane's fallback (a batch that failed): the same row through the ORM."""
        now = utcnow()
        row = WidgetVisitor(
            channel_id=item.channel_id,
            token_hash=item.token_hash,
            identifier=item.identifier,
            profile=item.profile,
            first_touch=item.touch,
            last_touch=item.touch,
            created_at=now,
            last_seen_at=now,
        )
        session.add(row)
        await session.flush()
        return row.id


def _row(sql: BatchSql, item: NewVisitor, now: datetime) -> tuple[Any, ...]:
    touch = dumps(item.touch)
    return (
        item.channel_id,
        item.token_hash,
        item.identifier,
        dumps(item.profile),
        touch,
        touch,
        sql.time(now),
        sql.time(now),
    )


def new_visitor_writes(ctx: HubContext) -> NewVisitorWrites:
    """The context's one handler, so new visitors share batches."""
    handler = ctx.batch_handlers.get("widget-new-visitor")
    if not isinstance(handler, NewVisitorWrites):
        handler = ctx.batch_handlers["widget-new-visitor"] = NewVisitorWrites()
    return handler
