"""The suppression list: addresses the hub no longer sends to, and why.

An address lands here when a mail server said for good that it does not exist: a 5xx answer to
the hub's own SMTP session (``source = "smtp"``) or a delivery status notification that came
back to the mailbox (``"dsn"``, ``hub.channels.email.bounces``). Sending on to such an address
only hurts the mailbox's reputation with its provider, so every send checks this list first and
fails at once with the reason an operator can read. One list for the whole hub: an address that
does not exist does not exist for any mailbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow

if TYPE_CHECKING:
    from hub.context import HubContext

MAX_REASON = 1000


class EmailSuppression(Base):
    __tablename__ = "email_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased, as email identities keep it.
    address: Mapped[str] = mapped_column(String(320), unique=True)
    #: The server's answer that put it here ("550 5.1.1 no such user").
    reason: Mapped[str] = mapped_column(Text)
    #: ``smtp`` (answered to the hub's send) or ``dsn`` (a bounce in the mailbox).
    source: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)


def normalize(address: str) -> str:
    return address.strip().strip("<>").lower()


async def suppressed(session: AsyncSession, address: str) -> EmailSuppression | None:
    """The entry that stops sends to ``address``, if there is one."""
    return await session.scalar(
        select(EmailSuppression).where(EmailSuppression.address == normalize(address))
    )


async def add(session: AsyncSession, address: str, reason: str, source: str) -> None:
    """Put ``address`` on the list, or note that it bounced again (its newest reason kept)."""
    addr, reason = normalize(address), reason[:MAX_REASON]
    now = utcnow()
    row = await suppressed(session, addr)
    if row is None:
        try:
            # Two bounces of one address at once: the unique address decides.
            async with session.begin_nested():
                session.add(
                    EmailSuppression(
                        address=addr,
                        reason=reason,
                        source=source,
                        first_seen_at=now,
                        last_seen_at=now,
                        count=1,
                    )
                )
                await session.flush()
            return
        except IntegrityError:
            row = await suppressed(session, addr)
            if row is None:
                raise
    row.reason, row.source, row.last_seen_at = reason, source, now
    row.count += 1
    await session.flush()


async def suppress(ctx: HubContext, address: str, reason: str, source: str) -> None:
    """``add`` in a write unit of its own."""

    async def unit(session: AsyncSession) -> None:
        await add(session, address, reason, source)

    await ctx.write(unit)


async def check(ctx: HubContext, address: str) -> str | None:
    """Why ``address`` must not be sent to, in words for the operator; None when it may."""

    async def query(session: AsyncSession) -> str | None:
        row = await suppressed(session, address)
        return None if row is None else refusal(row)

    return await ctx.read(query)


def refusal(row: EmailSuppression) -> str:
    return (
        f"{row.address} is on the suppression list: its mail server refused it for good "
        f"({row.reason})"
    )
