"""Dynamic number insertion: which visit held a tracking number, and holding one for a visitor.

The site's script asks for a number for its visitor (``reserve_number``); he keeps it while he
stays (each renewal pushes ``expires_at`` on by the reservation time, ``HUB_NUMBER_RESERVATION_S``)
and for that long after he leaves, which is when he is likely to call. A free number is one no
live reservation holds; the one idle longest is given, so a number is reused as late as possible.
When every number is held the visitor sees the pool's default number and the miss is recorded:
numbers are never shared while held, so an attribution is never a guess between two visits.

A call comes in on a number at a time (the calls channel asks ``attribution_for_call``): the
visit that held the number then is the call's source. A held number is never given again, in
any pool, until its hold ends, so reservations do not overlap; should two ever cover one moment
(rows written by other means, an audit's replay), the newest wins, as the visit most likely to
have dialled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.models import WidgetVisitor
from hub.context import HubContext
from hub.crm_sync.number_models import (
    NumberPool,
    NumberPoolMiss,
    NumberReservation,
    PoolNumber,
)
from hub.db import utcnow
from hub.errors import InvalidInput
from hub.events import NumberPoolRanOut, Recipients
from hub.inbox.models import Contact
from hub.phones import normalize_phone

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
#: Merged contacts point at their winner; a chain longer than this is not followed further.
MERGE_HOPS = 5


@dataclass(frozen=True, slots=True)
class VisitAttribution:
    """The visit a call came from: who (if he is a contact yet), the advert, where he was."""

    visitor_contact_id: int | None
    utm: dict[str, str]  # utm_source, utm_medium, utm_campaign, utm_term, utm_content present ones
    referrer: str | None
    page: str | None


async def attribution_for_call(
    session: AsyncSession, tracking_number: str, at: datetime
) -> VisitAttribution | None:
    """The visit that held ``tracking_number`` at ``at`` (a reservation with
    ``reserved_at <= at <= expires_at``; of overlapping ones the newest), or None.

    ``tracking_number`` may be in any spelling ``normalize_phone`` reads; a naive ``at`` is
    taken as UTC. The page is the one the visitor was on last; the contact is his visitor's
    contact now (he may have written in the chat after he got the number), else the one he
    had then, followed through merges."""
    try:
        number = normalize_phone(tracking_number)
    except InvalidInput:
        return None
    when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    row = (
        await session.execute(
            select(NumberReservation, WidgetVisitor.contact_id)
            .outerjoin(WidgetVisitor, WidgetVisitor.id == NumberReservation.visitor_id)
            .where(
                NumberReservation.number == number,
                NumberReservation.reserved_at <= when,
                NumberReservation.expires_at >= when,
            )
            .order_by(NumberReservation.reserved_at.desc(), NumberReservation.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    held, visitor_contact = row[0], row[1]
    contact_id = await _current_contact(session, visitor_contact or held.contact_id)
    return VisitAttribution(
        visitor_contact_id=contact_id,
        utm={k: str(v) for k, v in held.utm.items() if k in UTM_KEYS and v},
        referrer=held.referrer or None,
        page=held.page or held.landing_page or None,
    )


async def _current_contact(session: AsyncSession, contact_id: int | None) -> int | None:
    """The contact a merge kept for ``contact_id``."""
    for _ in range(MERGE_HOPS):
        if contact_id is None:
            return None
        winner = await session.scalar(
            select(Contact.merged_into_id).where(Contact.id == contact_id)
        )
        if winner is None:
            return contact_id
        contact_id = winner
    return contact_id


@dataclass(frozen=True, slots=True)
class Visit:
    """What the site's script says of the visitor asking for a number."""

    visitor_id: int
    contact_id: int | None
    page: str
    referrer: str
    utm: dict[str, str]


@dataclass(frozen=True, slots=True)
class ShownNumber:
    """The number the page shows: a held ``pool`` number (until ``expires_at``), the pool's
    ``default``, or ``none`` (the channel has no pool, or no default when it ran out: the page
    keeps its own)."""

    number: str | None
    kind: Literal["pool", "default", "none"]
    expires_at: datetime | None = None


def utm_of(params: dict[str, str]) -> dict[str, str]:
    """The UTM tags among a page's query parameters, cut to a sane length."""
    return {k: params[k][:300] for k in UTM_KEYS if params.get(k)}


async def reserve_number(ctx: HubContext, channel_id: int, visit: Visit) -> ShownNumber:
    """Renew the visitor's live reservation, or hold the free number idle longest for him, or
    record a miss and show the default. Written as one unit with the pool row locked (and
    in one write lane per pool), so two visitors never get the same free number. The first
    miss after a number was given out tells staff the pool ran out (``number_pool.ran_out``)."""
    ttl = int(ctx.settings.number_reservation_s)

    async def unit(session: AsyncSession) -> tuple[ShownNumber, int | None]:
        pool = await session.scalar(
            select(NumberPool).where(NumberPool.channel_id == channel_id).with_for_update()
        )
        if pool is None:
            return ShownNumber(None, "none"), None
        now = utcnow()
        expires = now + timedelta(seconds=ttl)
        held = await _live_reservation(session, channel_id, visit.visitor_id, now)
        if held is not None:
            held.last_seen_at = now
            held.expires_at = expires
            held.page = visit.page[:2000] or held.page
            held.contact_id = visit.contact_id or held.contact_id
            return ShownNumber(held.number, "pool", expires), None
        free = await _idle_longest(session, channel_id, now)
        if free is None:
            shown = ShownNumber(pool.default_number, "default" if pool.default_number else "none")
            size = await session.scalar(
                select(func.count(PoolNumber.id)).where(PoolNumber.channel_id == channel_id)
            )
            if not size:
                return shown, None  # a default and no numbers yet: nothing ran out
            ran_out_now = await _first_miss_of_run(session, channel_id)
            session.add(NumberPoolMiss(channel_id=channel_id, visitor_id=visit.visitor_id, at=now))
            return shown, size if ran_out_now else None
        session.add(
            NumberReservation(
                channel_id=channel_id,
                number=free.number,
                pool_number_id=free.id,
                visitor_id=visit.visitor_id,
                contact_id=visit.contact_id,
                utm=dict(visit.utm),
                referrer=visit.referrer[:2000] or None,
                landing_page=visit.page[:2000] or None,
                page=visit.page[:2000] or None,
                ttl_seconds=ttl,
                reserved_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )
        return ShownNumber(free.number, "pool", expires), None

    shown, ran_out_size = await ctx.write(unit, key=("number_pool", channel_id))
    if ran_out_size is not None:
        await ctx.publish(
            NumberPoolRanOut(
                recipients=Recipients(staff=True), channel_id=channel_id, pool_size=ran_out_size
            )
        )
    return shown


async def _first_miss_of_run(session: AsyncSession, channel_id: int) -> bool:
    """No miss was recorded since the pool last gave out a number (or ever)."""
    last_miss = await session.scalar(
        select(func.max(NumberPoolMiss.at)).where(NumberPoolMiss.channel_id == channel_id)
    )
    if last_miss is None:
        return True
    last_given = await session.scalar(
        select(func.max(NumberReservation.reserved_at)).where(
            NumberReservation.channel_id == channel_id
        )
    )
    return last_given is not None and last_given > last_miss


async def _live_reservation(
    session: AsyncSession, channel_id: int, visitor_id: int, now: datetime
) -> NumberReservation | None:
    """The visitor's reservation still running, of a number still in the pool."""
    return await session.scalar(
        select(NumberReservation)
        .join(PoolNumber, PoolNumber.id == NumberReservation.pool_number_id)
        .where(
            NumberReservation.channel_id == channel_id,
            NumberReservation.visitor_id == visitor_id,
            NumberReservation.expires_at > now,
            PoolNumber.channel_id == channel_id,
        )
        .order_by(NumberReservation.reserved_at.desc())
        .limit(1)
    )


async def _idle_longest(session: AsyncSession, channel_id: int, now: datetime) -> PoolNumber | None:
    """The pool's number no live reservation holds whose last one ended longest ago (a number
    never held first). Any reservation of the number counts, from whatever pool it was in."""
    last_end: Any = (
        select(func.max(NumberReservation.expires_at))
        .where(NumberReservation.number == PoolNumber.number)
        .correlate(PoolNumber)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(PoolNumber, last_end)
            .where(PoolNumber.channel_id == channel_id)
            .order_by(PoolNumber.id)
        )
    ).all()
    free: list[tuple[datetime | None, PoolNumber]] = [
        (end, number) for number, end in rows if end is None or end <= now
    ]
    if not free:
        return None
    never = [number for end, number in free if end is None]
    if never:
        return never[0]
    return min(free, key=lambda pair: pair[0] or now)[1]
