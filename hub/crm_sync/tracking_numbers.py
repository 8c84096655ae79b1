"""Tracking numbers: the phone numbers a company prints in its adverts, each labelled by an
admin with the advert's source and campaign, so a call to one becomes a lead with that source.

A small table read on every call: ``TrackingLabels`` keeps it per process for a few seconds,
as the channel cache keeps channels, so a call costs no query for it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.context import HubContext
from hub.db import Base, utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.inbox.auth import Principal
from hub.inbox.serialize import iso
from hub.inbox.staff import require_admin
from hub.phones import normalize_phone

TTL_S = 5.0
MAX_LABEL = 100


class TrackingNumber(Base):
    __tablename__ = "tracking_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: E.164, unique.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: The advert's source (``utm_source``: yandex, billboard…) and campaign.
    source: Mapped[str] = mapped_column(String(MAX_LABEL))
    medium: Mapped[str] = mapped_column(String(MAX_LABEL), default="")
    campaign: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def number_dict(row: TrackingNumber) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "source": row.source,
        "medium": row.medium,
        "campaign": row.campaign,
        "created_at": iso(row.created_at),
    }


def _label(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise InvalidInput(
            f"{name} must be text of at most {limit} characters", code="invalid_label"
        )
    if required and not value.strip():
        raise InvalidInput(f"{name} is required", code="invalid_label")
    return value.strip()


async def add_tracking_number(
    ctx: HubContext,
    actor: Principal | None,
    *,
    number: str,
    source: str,
    medium: str = "",
    campaign: str = "",
) -> dict[str, Any]:
    """Label a number (any local spelling, stored E.164) with its advert's source."""
    if actor is not None:
        require_admin(actor)
    e164 = normalize_phone(number) if isinstance(number, str) else normalize_phone("")
    row = TrackingNumber(
        number=e164,
        source=_label(source, "source", MAX_LABEL, required=True),
        medium=_label(medium, "medium", MAX_LABEL),
        campaign=_label(campaign, "campaign", 200),
    )

    async def unit(session: AsyncSession) -> dict[str, Any]:
        if await session.scalar(select(TrackingNumber.id).where(TrackingNumber.number == e164)):
            raise Conflict(f"{e164} is labelled already", code="tracking_number_exists")
        session.add(row)
        await session.flush()
        return number_dict(row)

    try:
        data = await ctx.write(unit)
    except IntegrityError as exc:  # the same number added at the same moment
        raise Conflict(f"{e164} is labelled already", code="tracking_number_exists") from exc
    labels(ctx).forget()
    return data


async def list_tracking_numbers(ctx: HubContext, actor: Principal | None) -> list[dict[str, Any]]:
    """Every labelled number (``actor`` None: the command line)."""
    if actor is not None:
        require_admin(actor)

    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.scalars(select(TrackingNumber).order_by(TrackingNumber.number))
        return [number_dict(r) for r in rows]

    return await ctx.read(query)


async def remove_tracking_number(ctx: HubContext, actor: Principal, number_id: int) -> None:
    require_admin(actor)

    async def unit(session: AsyncSession) -> None:
        result = await session.execute(delete(TrackingNumber).where(TrackingNumber.id == number_id))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(f"tracking number {number_id} not found", code="not_found")

    await ctx.write(unit)
    labels(ctx).forget()


def _label_of(row: TrackingNumber) -> dict[str, str]:
    """A number's label as lead-source attributes."""
    pairs = (("utm_source", row.source), ("utm_medium", row.medium), ("utm_campaign", row.campaign))
    return {k: v for k, v in pairs if v}


class TrackingLabels:
    """Every number's label, read at most every ``TTL_S`` per process."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._read_at = -TTL_S
        self._labels: dict[str, dict[str, str]] = {}
        self._loading: asyncio.Future[None] | None = None

    def forget(self) -> None:
        self._read_at = -TTL_S

    async def get(self, number: str | None) -> dict[str, str] | None:
        """The label of ``number`` as lead-source attributes (``utm_source``…), or None."""
        if number is None:
            return None
        if time.monotonic() - self._read_at >= TTL_S:
            # Requests that miss at once share one read.
            if self._loading is None or self._loading.done():
                self._loading = asyncio.ensure_future(self._load())
            await asyncio.shield(self._loading)
        return self._labels.get(number)

    async def _load(self) -> None:
        started = time.monotonic()

        async def query(session: AsyncSession) -> dict[str, dict[str, str]]:
            rows = await session.scalars(select(TrackingNumber))
            return {r.number: _label_of(r) for r in rows}

        self._labels = await self._ctx.read(query)
        self._read_at = started


def labels(ctx: HubContext) -> TrackingLabels:
    """The context's one cache."""
    found = ctx.caches.get("tracking_labels")
    if not isinstance(found, TrackingLabels):
        found = ctx.caches["tracking_labels"] = TrackingLabels(ctx)
    return found
