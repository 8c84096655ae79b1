"""Recordings a provider names by id only (Zadarma, Mango), to be fetched through its API:
one row per call, a job claimed with a lease.

A call's event that carries the recording's id queues it (``queue``: once per call, however
many processes receive the event, however often it comes), in its own commit right after the
call's. The worker (``hub.channels.calls.recording_worker``) claims due rows with a lease, so
two processes never fetch the same one at once, and a process that died lets go when the lease
runs out. A row ends ``done`` or, after its attempts, ``failed`` with the reason; the call keeps
everything else it said either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, Text, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.context import HubContext
from hub.db import Base, UTCDateTime, utcnow

#: A claimed row is the claimer's this long; past it, another process may take it.
LEASE = timedelta(minutes=5)
BATCH = 20


class RecordingJob(Base):
    __tablename__ = "call_recording_jobs"
    __table_args__ = (Index("ix_call_recording_jobs_due", "status", "due_at"),)

    #: The call's message (one recording per call).
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    #: The provider's ids: the recording's and the call's.
    ref: Mapped[str] = mapped_column(String(200))
    call_id: Mapped[str] = mapped_column(String(200))
    #: waiting, done or failed.
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True), default=None)
    #: Why the last attempt failed (never a secret or a link).
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)


@dataclass(frozen=True, slots=True)
class Wanted:
    message_id: int
    channel_id: int
    ref: str
    call_id: str
    #: Attempts so far, this one included (a claimed row's).
    attempts: int = 0


_QUEUE = text(
    "INSERT INTO call_recording_jobs (message_id, channel_id, ref, call_id, status, attempts,"
    " due_at, created_at) VALUES (:message_id, :channel_id, :ref, :call_id, 'waiting', 0,"
    " :due_at, :now) ON CONFLICT (message_id) DO NOTHING"
).bindparams(
    bindparam("due_at", type_=UTCDateTime(timezone=True)),
    bindparam("now", type_=UTCDateTime(timezone=True)),
)


async def queue(ctx: HubContext, wanted: Sequence[Wanted], first_delay_s: float) -> None:
    """Queue these recordings (one that is queued already stays as it is)."""
    if not wanted:
        return
    now = utcnow()
    rows = [
        {
            "message_id": w.message_id,
            "channel_id": w.channel_id,
            "ref": w.ref[:200],
            "call_id": w.call_id[:200],
            "due_at": now + timedelta(seconds=first_delay_s),
            "now": now,
        }
        for w in wanted
    ]

    async def unit(session: AsyncSession) -> None:
        await session.execute(_QUEUE, rows)

    await ctx.write(unit)


async def claim(ctx: HubContext, now: datetime) -> list[Wanted]:
    """Due rows, each now this process's for ``LEASE`` (a row another claimed meanwhile is
    left out). It looks (a read) before it claims: an idle pass writes nothing."""

    async def look(session: AsyncSession) -> list[int]:
        return list(
            await session.scalars(
                select(RecordingJob.message_id)
                .where(RecordingJob.status == "waiting", RecordingJob.due_at <= now)
                .where((RecordingJob.lease_until.is_(None)) | (RecordingJob.lease_until < now))
                .order_by(RecordingJob.due_at)
                .limit(BATCH)
            )
        )

    due = await ctx.read(look)
    if not due:
        return []

    async def unit(session: AsyncSession) -> list[Wanted]:
        taken = []
        for message_id in due:
            won = await session.execute(
                update(RecordingJob)
                .where(
                    RecordingJob.message_id == message_id,
                    RecordingJob.status == "waiting",
                    (RecordingJob.lease_until.is_(None)) | (RecordingJob.lease_until < now),
                )
                .values(lease_until=now + LEASE, attempts=RecordingJob.attempts + 1)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(message_id)
        if not taken:
            return []
        jobs = await session.scalars(select(RecordingJob).where(RecordingJob.message_id.in_(taken)))
        return [Wanted(j.message_id, j.channel_id, j.ref, j.call_id, j.attempts) for j in jobs]

    return await ctx.write(unit)


async def finish(
    ctx: HubContext, message_id: int, *, status: str, due_at: datetime | None, error: str | None
) -> None:
    """Record how an attempt ended: ``done``, ``failed``, or ``waiting`` again at ``due_at``."""

    async def unit(session: AsyncSession) -> None:
        values: dict[str, object] = {"status": status, "lease_until": None, "error": error}
        if due_at is not None:
            values["due_at"] = due_at
        await session.execute(
            update(RecordingJob).where(RecordingJob.message_id == message_id).values(**values)
        )

    await ctx.write(unit)
