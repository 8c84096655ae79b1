"""The admin's later writes to operators and teams: a new password, a team's name and members.

Kept beside ``hub.inbox.staff`` (which makes operators and teams) so that module stays small;
the admin area (``/admin``) and the API call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import Event, OperatorUpdated, Recipients, SessionEnded
from hub.inbox.auth import Principal, generate_password
from hub.inbox.models import Operator, OperatorToken, Team, TeamMember
from hub.inbox.serialize import team_dict
from hub.inbox.staff import MIN_PASSWORD, require_admin


@dataclass(frozen=True, slots=True)
class NewPassword:
    operator_id: int
    #: The generated password, shown once; None when the admin chose one.
    password: str | None
    #: How many of his sessions ended with the old password.
    sessions_ended: int


async def reset_password(
    ctx: HubContext, actor: Principal, operator_id: int, password: str | None = None
) -> NewPassword:
    """Give an operator a new password (generated unless the admin chose one) and end every
    session he has: a leaked password or a lost phone stops working at once."""
    require_admin(actor)
    generated = None
    if password is None:
        password = generated = generate_password()
    elif len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD} characters", code="weak_password"
        )
    password_hash = await ctx.hasher.hash(password)

    async def unit(session: AsyncSession) -> list[int]:
        op = await session.get(Operator, operator_id)
        if op is None:
            raise NotFound(f"operator {operator_id} not found", code="operator_not_found")
        op.password_hash = password_hash
        op.invited = False  # invited and given a password by hand: he logs in with it
        ended = await session.execute(
            update(OperatorToken)
            .where(OperatorToken.operator_id == op.id, OperatorToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(OperatorToken.id)
        )
        return [row[0] for row in ended.all()]

    ended = await ctx.write(unit)
    mine = Recipients(False, frozenset(), frozenset({operator_id}))
    await ctx.publish(
        *[SessionEnded(mine, operator_id=operator_id, session_id=sid) for sid in ended]
    )
    return NewPassword(operator_id, generated, len(ended))


async def update_team(
    ctx: HubContext,
    actor: Principal,
    team_id: int,
    *,
    name: str | None = None,
    operator_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Rename a team or set its members; every operator who joined or left re-reads his
    rights on his open sockets (``operator.updated``), so he sees its conversations or stops."""
    require_admin(actor)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        team = await session.get(Team, team_id)
        if team is None:
            raise NotFound(f"team {team_id} not found", code="team_not_found")
        if name is not None and name != team.name:
            taken = await session.scalar(select(Team.id).where(Team.name == name))
            if taken is not None:
                raise Conflict(f"a team named {name!r} exists", code="team_exists")
            team.name = name
        before = set(
            (
                await session.scalars(
                    select(TeamMember.operator_id).where(TeamMember.team_id == team_id)
                )
            ).all()
        )
        members = before
        if operator_ids is not None:
            members = set(operator_ids)
            found = set(
                (await session.scalars(select(Operator.id).where(Operator.id.in_(members)))).all()
            )
            if members - found:
                raise InvalidInput(
                    f"no such operators: {sorted(members - found)}", code="operator_not_found"
                )
            await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
            session.add_all(TeamMember(team_id=team_id, operator_id=op) for op in members)
        await session.flush()
        for op_id in sorted(before ^ members):
            events.append(
                OperatorUpdated(Recipients(False, frozenset(), frozenset({op_id})), {"id": op_id})
            )
        return team_dict(team, sorted(members))

    try:
        data = await ctx.write(unit)
    except IntegrityError as exc:  # another process took that name just now
        raise Conflict(f"a team named {name!r} exists", code="team_exists") from exc
    await ctx.publish(*events)
    return data
