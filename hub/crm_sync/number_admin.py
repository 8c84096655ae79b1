"""The admin's pool of tracking numbers for a site: add and take out numbers, set the default.

A pool belongs to a channel whose script runs on the site (its type has the
``number_insertion`` capability); it is made with its first number or default. Every number is
stored in E.164 (``hub.phones``), and a number is in one pool only, never also a pool's
default: a call is attributed by the number it came in on, so one number must mean one thing.
Taking a number out deletes it from the pool; the reservations that held it stay, with the
number as text, so calls within them still find their visit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.number_models import NumberPool, NumberReservation, PoolNumber
from hub.crm_sync.number_usage import MAX_DAYS, pool_usage
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import NumberPoolUpdated, Recipients
from hub.inbox.auth import Principal
from hub.inbox.models import Channel
from hub.inbox.serialize import iso
from hub.inbox.staff import require_admin
from hub.phones import normalize_phone

#: More numbers than any site's peak of visitors who might call; a bound on one pool's reads.
MAX_NUMBERS = 1000


def _require_admin(actor: Principal | None) -> None:
    """Admins only; None is the command line, run by whoever runs the hub."""
    if actor is not None:
        require_admin(actor)


async def _site_channel(ctx: HubContext, session: AsyncSession, channel_id: int) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found", code="channel_not_found")
    if not ctx.capabilities_of(channel.type).number_insertion:
        raise InvalidInput(
            "this channel has no script on a site to show tracking numbers",
            code="number_insertion_unsupported",
        )
    return channel


async def pool_dict(session: AsyncSession, channel_id: int) -> dict[str, Any]:
    """The pool as admins see it: its numbers, each with the time its live hold ends."""
    pool = await session.get(NumberPool, channel_id)
    now = utcnow()
    held_until: Any = (
        select(func.max(NumberReservation.expires_at))
        .where(NumberReservation.number == PoolNumber.number)
        .correlate(PoolNumber)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(PoolNumber, held_until)
            .where(PoolNumber.channel_id == channel_id)
            .order_by(PoolNumber.id)
        )
    ).all()
    return {
        "channel_id": channel_id,
        "default_number": pool.default_number if pool else None,
        "numbers": [
            {
                "id": number.id,
                "number": number.number,
                "label": number.label,
                "held_until": iso(until) if until is not None and until > now else None,
                "created_at": iso(number.created_at),
            }
            for number, until in rows
        ],
    }


async def _pool(session: AsyncSession, channel_id: int) -> NumberPool:
    pool = await session.get(NumberPool, channel_id)
    if pool is None:
        pool = NumberPool(channel_id=channel_id)
        session.add(pool)
        await session.flush()
    return pool


async def _check_unused(session: AsyncSession, number: str) -> None:
    """``number`` is neither in a pool nor a pool's default."""
    taken = await session.scalar(select(PoolNumber.id).where(PoolNumber.number == number).limit(1))
    default = await session.scalar(
        select(NumberPool.channel_id).where(NumberPool.default_number == number).limit(1)
    )
    if taken is not None or default is not None:
        raise Conflict(
            f"{number} is in a pool already, as a tracking number or a default",
            code="number_in_pool",
        )


def _clean_label(label: str) -> str:
    label = label.strip()
    if len(label) > 200:
        raise InvalidInput("label must be at most 200 characters", code="invalid_label")
    return label


async def _announce(ctx: HubContext, pool: dict[str, Any]) -> dict[str, Any]:
    await ctx.publish(NumberPoolUpdated(recipients=Recipients(staff=True), pool=pool))
    return pool


async def get_pool(
    ctx: HubContext, actor: Principal | None, channel_id: int, days: int = 14
) -> dict[str, Any]:
    """The pool, the reservation time, and its usage over the last ``days`` days."""
    _require_admin(actor)
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1 to {MAX_DAYS}", code="invalid_query")

    async def query(session: AsyncSession) -> dict[str, Any]:
        await _site_channel(ctx, session, channel_id)
        pool = await pool_dict(session, channel_id)
        pool["reservation_seconds"] = int(ctx.settings.number_reservation_s)
        pool["usage"] = await pool_usage(session, channel_id, ctx.company.timezone, days)
        return pool

    return await ctx.read(query)


async def add_number(
    ctx: HubContext, actor: Principal | None, channel_id: int, raw_number: str, label: str = ""
) -> dict[str, Any]:
    """Put a number into the site's pool (making the pool with its first number)."""
    _require_admin(actor)
    number = normalize_phone(raw_number)
    label = _clean_label(label)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        await _site_channel(ctx, session, channel_id)
        await _pool(session, channel_id)
        await _check_unused(session, number)
        count = await session.scalar(
            select(func.count(PoolNumber.id)).where(PoolNumber.channel_id == channel_id)
        )
        if (count or 0) >= MAX_NUMBERS:
            raise InvalidInput(f"a pool holds at most {MAX_NUMBERS} numbers", code="pool_full")
        session.add(PoolNumber(channel_id=channel_id, number=number, label=label))
        await session.flush()
        return await pool_dict(session, channel_id)

    return await _announce(ctx, await ctx.write(unit, key=("number_pool", channel_id)))


async def remove_number(
    ctx: HubContext, actor: Principal | None, channel_id: int, number_id: int
) -> dict[str, Any]:
    """Take a number out of the pool; a visitor holding it gets another on his next renewal."""
    _require_admin(actor)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        await _site_channel(ctx, session, channel_id)
        number = await session.get(PoolNumber, number_id)
        if number is None or number.channel_id != channel_id:
            raise NotFound(f"number {number_id} is not in this pool", code="number_not_found")
        await session.delete(number)
        await session.flush()
        return await pool_dict(session, channel_id)

    return await _announce(ctx, await ctx.write(unit, key=("number_pool", channel_id)))


async def set_default(
    ctx: HubContext, actor: Principal | None, channel_id: int, raw_number: str | None
) -> dict[str, Any]:
    """Set (or clear, with None) the number shown when every number of the pool is held."""
    _require_admin(actor)
    number = normalize_phone(raw_number) if raw_number is not None else None

    async def unit(session: AsyncSession) -> dict[str, Any]:
        await _site_channel(ctx, session, channel_id)
        pool = await _pool(session, channel_id)
        if number is not None and number != pool.default_number:
            taken = await session.scalar(
                select(PoolNumber.id).where(PoolNumber.number == number).limit(1)
            )
            if taken is not None:
                raise Conflict(
                    f"{number} is a tracking number of a pool; the default must be another",
                    code="number_in_pool",
                )
        pool.default_number = number
        await session.flush()
        return await pool_dict(session, channel_id)

    return await _announce(ctx, await ctx.write(unit, key=("number_pool", channel_id)))
