"""Two processes assign at once on one PostgreSQL database: no conversation is assigned twice,
none is lost, and no operator is given more than his capacity.

Three teams share three operators; three racer processes route all three teams, in different
orders and each seeing its own operators online (presence is per process and lags): the first
sees operators 1 and 2, the second operator 3, the third all of them. The first two start on
the same team and share no operator, so only the team's lock and the conditional UPDATE of each
conversation keep them from taking the same conversation; the third shares operators with both,
on other teams at the same moment, so only the operators' row locks (counting after the
other's commit) keep it from overfilling them. Served backend only: SQLite has one process (its
single writer is tested by ``test_routing.py``'s two routers at once).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.models import (
    Channel,
    Contact,
    Conversation,
    Message,
    MessageKind,
    Operator,
    Team,
    TeamMember,
)
from hub.inbox.router import route_team
from hub.inbox.routing_models import TeamRouting
from tests.conftest import ServedServices, base_settings, require_served, truncate_all

ROOT = Path(__file__).resolve().parents[1]
#: The last resort of a wait for a racer, never the expected time (a loaded machine took over
#: 30 s to start a Python process that imports the hub).
CAP_S = 240.0
TEAMS, PER_TEAM, CAPACITY = 3, 40, 20
pytestmark = pytest.mark.timeout(600)


async def _seed(ctx: HubContext) -> tuple[list[int], list[int]]:
    """Three operators in three routed teams, each team with its channel and waiting
    conversations; their ids."""

    async def unit(session: object) -> tuple[list[int], list[int]]:
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        ops = [
            Operator(email=f"r{i}@example.com", name=f"R{i}", password_hash="x") for i in range(3)
        ]
        teams = [Team(name=f"Race {i}") for i in range(TEAMS)]
        session.add_all([*ops, *teams])
        await session.flush()
        for team in teams:
            session.add(
                TeamRouting(team_id=team.id, enabled=True, capacity=CAPACITY, accept_timeout_s=0)
            )
            session.add_all(TeamMember(team_id=team.id, operator_id=op.id) for op in ops)
            channel = Channel(type="api", name=f"race {team.id}", team_id=team.id, secret="s")
            session.add(channel)
            await session.flush()
            for n in range(PER_TEAM):
                contact = Contact(name=f"c{team.id}-{n}")
                session.add(contact)
                await session.flush()
                session.add(
                    Conversation(channel_id=channel.id, contact_id=contact.id, team_id=team.id)
                )
        return [t.id for t in teams], [o.id for o in ops]

    return await ctx.write(unit)  # type: ignore[arg-type]


async def _racer(database_url: str, teams: list[int], ops: list[int]) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.routing_racer", database_url,
        ",".join(map(str, teams)), ",".join(map(str, ops)),
        env=env, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_two_processes_never_assign_twice_lose_none_or_exceed_capacity(
    served_services: ServedServices | str,
) -> None:
    served = require_served(served_services)
    await truncate_all(served)
    ctx = HubContext.build(base_settings(database_url=served.database_url, redis_url=None))
    await ctx.start()
    try:
        teams, ops = await _seed(ctx)
        racers = [
            await _racer(served.database_url, teams, ops[:2]),
            await _racer(served.database_url, [teams[0], teams[2], teams[1]], ops[2:]),
            await _racer(served.database_url, [teams[1], teams[2], teams[0]], ops),
        ]
        for proc in racers:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), CAP_S)
            assert line.strip() == b"ready", line
        for proc in racers:  # go
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        placed = []
        for proc in racers:
            out, _ = await asyncio.wait_for(proc.communicate(), CAP_S)
            assert proc.returncode == 0
            placed.append(json.loads(out.decode().strip().splitlines()[-1])["assigned"])
        # A racer skips what another holds at that moment (``FOR UPDATE SKIP LOCKED``) and may
        # stop before all is placed; the next pass places the rest, as the interval's does.
        while True:
            later = sum(
                [(await route_team(ctx, t, frozenset(ops), utcnow())).assigned for t in teams]
            )
            placed.append(later)
            if not later:
                break

        async def query(session: object) -> tuple[dict[int, int], dict[int, int], int]:
            from sqlalchemy.ext.asyncio import AsyncSession

            assert isinstance(session, AsyncSession)
            per_op = dict(
                (
                    await session.execute(
                        select(Conversation.assignee_id, func.count(Conversation.id))
                        .where(Conversation.assignee_id.is_not(None))
                        .group_by(Conversation.assignee_id)
                    )
                ).all()
            )
            activities = dict(
                (
                    await session.execute(
                        select(Message.conversation_id, func.count(Message.id))
                        .where(Message.kind == MessageKind.ACTIVITY.value)
                        .group_by(Message.conversation_id)
                    )
                ).all()
            )
            waiting = await session.scalar(
                select(func.count(Conversation.id)).where(Conversation.assignee_id.is_(None))
            )
            return per_op, activities, int(waiting or 0)

        per_op, activities, waiting = await ctx.read(query)  # type: ignore[arg-type]
    finally:
        await ctx.close()
    # Every operator is full, never over; each placed conversation was placed once (one
    # decision each, and the racers' counts add up); the rest wait, none lost.
    assert per_op == {op: CAPACITY for op in ops}
    assert sum(placed) == len(ops) * CAPACITY
    assert len(activities) == sum(placed) and set(activities.values()) == {1}
    assert waiting == TEAMS * PER_TEAM - sum(placed)
