"""A mailbox's reading status, as the admin sees it on the channel: the last good pass, the last
error and when, and whether a hub process reads it now.

Kept apart from ``imap_runner`` so that listing the channels loads no IMAP library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.models import EmailMailbox
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.serialize import iso


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """What the admin sees of a mailbox: the last good pass, the last error and when."""

    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    reading: bool


async def mailbox_status(ctx: HubContext, channel_id: int) -> MailboxStatus | None:
    """The status of a channel's mailbox, or None before it was first looked at."""

    async def query(session: AsyncSession) -> MailboxStatus | None:
        row = await session.get(EmailMailbox, channel_id)
        if row is None:
            return None
        reading = row.lease_until is not None and row.lease_until > utcnow()
        return MailboxStatus(row.last_ok_at, row.last_error, row.last_error_at, reading)

    return await ctx.read(query)


async def channel_status(ctx: HubContext, channel_id: int) -> dict[str, Any] | None:
    """The ``status`` of an email channel in the admin's list (``ChannelSpec.status``)."""
    found = await mailbox_status(ctx, channel_id)
    if found is None:
        return None
    return {
        "last_ok_at": iso(found.last_ok_at),
        "last_error": found.last_error,
        "last_error_at": iso(found.last_error_at),
        "reading": found.reading,
    }
