"""The company's time zone and working hours: read, saved by an admin, followed by every process.

``save_working_hours`` writes the one row of ``company_settings`` (``hub.inbox.company_models``),
keeps the new value in this process (``ctx.company``) before it answers, and publishes
``working_hours.updated``; ``HoursFollower`` makes every process keep the value of that event,
and reads the row again when the bus says it lost events. ``hours_view`` is what the API shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.bus import follow, stop
from hub.company_hours import CompanyHours, CompanyTime
from hub.context import HubContext
from hub.crm_sync.report_period import DAYS
from hub.db import utcnow
from hub.events import WORKING_HOURS_TOPIC, Recipients, WorkingHoursUpdated
from hub.inbox.auth import Principal
from hub.inbox.company_models import COMPANY_ROW, CompanySettings
from hub.inbox.models import Operator
from hub.inbox.staff import require_admin

log = logging.getLogger(__name__)
COMPANY_KEY = "company_settings"
#: A day's open intervals as seconds after local midnight, ``(opens, closes)``.
Spans = Sequence[tuple[int, int]]


def clock(seconds: int) -> str:
    """``HH:MM``; the end of the day is ``24:00``."""
    return "24:00" if seconds >= 86400 else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def spec_of(days: Sequence[Spans]) -> str:
    """The seven weekdays' intervals as ``HUB_WORKING_HOURS`` reads them (``mon 09:00-18:00;
    …``); empty when no day has any."""
    groups = [
        f"{name} {clock(a)}-{clock(b)}"
        for name, spans in zip(DAYS, days, strict=True)
        for a, b in sorted(spans)
    ]
    return "; ".join(groups)


def hours_view(company: CompanyHours) -> dict[str, Any]:
    """The hours as every reader of them sees them now."""
    now = company.current()
    days = []
    if now.hours is not None:
        for name, spans in zip(DAYS, now.hours.days, strict=True):
            listed = [{"opens": clock(a), "closes": clock(b)} for a, b in sorted(spans)]
            days.append({"day": name, "hours": listed})
    return {
        "timezone": now.timezone,
        "spec": now.spec,
        "days": days,
        "open_now": None if now.hours is None else now.hours.is_open(utcnow()),
        "source": "admin" if company.stored else "environment",
        "settings": ["HUB_WORKING_HOURS", "HUB_TIMEZONE"],
    }


async def load_working_hours(ctx: HubContext) -> None:
    """Keep the stored value, if an admin ever saved one."""

    async def query(session: AsyncSession) -> tuple[str, str, int] | None:
        row = await session.get(CompanySettings, COMPANY_ROW)
        return None if row is None else (row.timezone, row.working_hours, row.version)

    found = await ctx.read(query)
    if found is not None:
        ctx.company.keep(*found)


async def save_working_hours(
    ctx: HubContext, actor: Principal, timezone: str, days: Sequence[Spans]
) -> dict[str, Any]:
    """Store the zone and the seven weekdays' hours (no day with any: the company answers any
    time); ``InvalidInput`` for a zone or hours that do not read, and nothing is written."""
    require_admin(actor)
    spec = spec_of(days)
    CompanyTime.of(timezone, spec)  # the same reading every process will make of it

    async def unit(session: AsyncSession) -> tuple[int, frozenset[int]]:
        row = await session.get(CompanySettings, COMPANY_ROW, with_for_update=True)
        if row is None:
            row = CompanySettings(id=COMPANY_ROW, version=0)
            session.add(row)
        row.timezone, row.working_hours = timezone, spec
        row.version = (row.version or 0) + 1
        row.updated_at = utcnow()
        row.updated_by_id = actor.operator_id
        await session.flush()
        everyone = await session.scalars(select(Operator.id).where(Operator.is_active.is_(True)))
        return row.version, frozenset(everyone)

    try:
        # One key: one lane, so two saves of this process take turns.
        version, everyone = await ctx.write(unit, key=COMPANY_KEY)
    except IntegrityError:  # another process made the row first: it is there to update now
        version, everyone = await ctx.write(unit, key=COMPANY_KEY)
    ctx.company.keep(timezone, spec, version)
    view = hours_view(ctx.company)
    wire = {**view, "version": version}
    # To everyone: the pages write dates in the company's zone (locale.js follows it).
    to = Recipients(True, frozenset(), everyone)
    await ctx.publish(WorkingHoursUpdated(recipients=to, working_hours=wire))
    return view


class HoursFollower:
    """Keeps ``ctx.company`` in step with the other processes' saves, from the bus's small
    working-hours topic: the whole event stream (every message, a few thousand a second at a
    burst) is read by the operators' fan-out already."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._task: asyncio.Task[None] | None = None
        #: Notified whenever the follower looked at the hours (an event, a reading again).
        self._seen = asyncio.Condition()

    async def start(self) -> None:
        """Read the stored value, then follow the bus from before that read (an event seen
        twice changes nothing: versions only go up)."""
        if self._task is not None:
            return
        after = await self._ctx.bus.last_id(WORKING_HOURS_TOPIC)
        await load_working_hours(self._ctx)
        self._task = asyncio.create_task(
            follow(self._ctx.bus, WORKING_HOURS_TOPIC, after, self._handle, self._reload),
            name="working-hours-follower",
        )

    async def close(self) -> None:
        if self._task is not None:
            await stop(self._task)
            self._task = None

    async def wait_for(self, version: int) -> None:
        """Return once this process keeps ``version`` of the hours or a newer one."""
        async with self._seen:
            await self._seen.wait_for(lambda: self._ctx.company.version >= version)

    async def _handle(self, _event_id: str, payload: dict[str, Any]) -> None:
        if payload.get("event") != WorkingHoursUpdated.name:
            return
        data = payload.get("data", {}).get("working_hours", {})
        try:
            self._ctx.company.keep(str(data["timezone"]), str(data["spec"]), int(data["version"]))
        except (KeyError, TypeError, ValueError):
            log.warning("a working_hours.updated event without its hours; reading them again")
            await self._reload("")
        async with self._seen:
            self._seen.notify_all()

    async def _reload(self, _after: str) -> None:
        """After the bus lost events: the stored value may have changed meanwhile. A database
        that does not answer now leaves the kept value until the next save."""
        try:
            await load_working_hours(self._ctx)
        except Exception:
            log.exception("reading the working hours again failed")
        async with self._seen:
            self._seen.notify_all()
