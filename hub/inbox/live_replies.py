"""Replies on channels whose own live layer delivers them (``Capabilities.live``: the widget).

The outbox (``hub.inbox.delivery``) exists for adapters that call a provider, which may fail
and must be retried: it claims each reply in one write and records the outcome in another. A
live channel's adapter only hands the reply to its sockets, and the customer who has no tab
open reads it from the database when he comes back; so the reply is stored as sent in its own
commit and handed to the adapter right after, three writes fewer per reply. Should the hand-over
fail (the bus is away), the reply is put back on the outbox, which tries again; should that
fail too (the database is away), the stored reply waits for the visitor's next fetch. An adapter
that must call a provider after all (the visitor left; the reply goes by email) says
``DeliverLater`` and the outbox takes the reply.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import DeliverLater, OutboundMessage
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.models import DeliveryStatus, Message

log = logging.getLogger(__name__)


async def hand_over(
    ctx: HubContext, channel_type: str, config: dict[str, object], out: OutboundMessage
) -> None:
    """Give a committed reply to its live adapter; on failure, queue it on the outbox."""
    adapter = ctx.live_adapters[channel_type]
    try:
        await adapter.send(dict(config), "", out)
    except DeliverLater as later:
        log.info("reply %s goes through the outbox: %s", out.message_id, later)
        try:
            await _back_to_outbox(ctx, out.message_id)
        except Exception:
            log.exception("reply %s could not go to the outbox", out.message_id)
    except Exception as exc:
        log.warning("reply %s not pushed (%s); the outbox sends it again", out.message_id, exc)
        try:
            await _back_to_outbox(ctx, out.message_id)
        except Exception:
            # The reply is stored; the visitor reads it when his widget next fetches. The
            # operator's request must not fail for it (he would send it twice).
            log.exception("reply %s could not go back to the outbox", out.message_id)


async def _back_to_outbox(ctx: HubContext, message_id: int) -> None:
    async def unit(session: AsyncSession) -> None:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(delivery_status=DeliveryStatus.PENDING.value, next_attempt_at=utcnow())
        )

    await ctx.write(unit)
    ctx.delivery_wakeup.set()
