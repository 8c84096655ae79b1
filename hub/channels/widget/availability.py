"""Who can answer a visitor, and when the company answers: what the widget says about both.

A visitor is told operators are online only when someone who may see his conversation has the
inbox open (``hub.presence``): its team (his channel's, for a visitor who has not written yet)
and its assignee, besides managers and admins. When nobody answers within the channel's
``reply_wait_s``, or nobody is online, the widget offers to leave a phone or email and says when
the company answers, from its working hours as an admin set them (``ctx.company``; until one
saves, ``HUB_WORKING_HOURS`` in ``HUB_TIMEZONE``): ``working_hours`` in the session answer and
the socket's ``ready`` frame.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.widget.visitors import Visitor, own_identity
from hub.context import HubContext
from hub.crm_sync.report_period import DAYS, WorkingHours
from hub.db import utcnow
from hub.inbox.models import Channel, Conversation
from hub.presence import Audience

#: Each audience once: the idle sockets of one team's visitors share it (two frozensets and the
#: record cost 480 bytes a socket). As many as there are (team, assignee) pairs in use.
_AUDIENCES: dict[Audience, Audience] = {}


async def audience_of(ctx: HubContext, visitor: Visitor, channel: Channel) -> Audience:
    """The teams and operators who may see the visitor's newest conversation (``Audience``)."""

    async def query(session: AsyncSession) -> tuple[int | None, int | None] | None:
        row = (
            await session.execute(
                select(Conversation.team_id, Conversation.assignee_id)
                .where(Conversation.identity_id == own_identity(visitor))
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        ).first()
        return (row[0], row[1]) if row else None

    found = await ctx.read(query)
    teams = {channel.team_id} if channel.team_id is not None else set()
    operators: set[int] = set()
    if found is not None:
        team_id, assignee_id = found
        teams = {team_id} if team_id is not None else set()
        operators = {assignee_id} if assignee_id is not None else set()
    audience = Audience(frozenset(teams), frozenset(operators))
    return _AUDIENCES.setdefault(audience, audience)


def working_hours(hours: WorkingHours | None, now: datetime | None = None) -> dict[str, Any] | None:
    """``None`` when the company's hours are not set (it answers any time); else whether it is
    open now and, when it is not, when it opens: ``{"day": "today" | "tomorrow" | "mon"…,
    "time": "09:00"}`` in its own zone, for the widget's "we answer tomorrow from 09:00"."""
    if hours is None:
        return None
    now = now or utcnow()
    if hours.is_open(now):
        return {"open_now": True, "opens": None}
    opens = hours.next_opening(now)
    if opens is None:
        return {"open_now": False, "opens": None}
    days = (opens.date() - now.astimezone(hours.tz).date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else DAYS[opens.weekday()]
    return {"open_now": False, "opens": {"day": day, "time": opens.strftime("%H:%M")}}
