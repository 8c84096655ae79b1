"""Read side of the staff: operators and teams, for assignment pickers and admin pages."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.inbox.models import Operator, Team, TeamMember
from hub.inbox.serialize import operator_dict, team_dict


async def _memberships(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(select(TeamMember.team_id, TeamMember.operator_id))
    return [(team_id, op_id) for team_id, op_id in rows.all()]


async def list_operators(ctx: HubContext) -> list[dict[str, Any]]:
    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        teams: dict[int, list[int]] = defaultdict(list)
        for team_id, op_id in await _memberships(session):
            teams[op_id].append(team_id)
        ops = await session.scalars(select(Operator).order_by(Operator.id))
        return [operator_dict(op, teams[op.id]) for op in ops]

    return await ctx.read(query)


async def list_teams(ctx: HubContext) -> list[dict[str, Any]]:
    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        members: dict[int, list[int]] = defaultdict(list)
        for team_id, op_id in await _memberships(session):
            members[team_id].append(op_id)
        teams = await session.scalars(select(Team).order_by(Team.id))
        return [team_dict(team, members[team.id]) for team in teams]

    return await ctx.read(query)
