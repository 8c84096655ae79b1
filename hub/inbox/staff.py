"""Operators, teams and sessions: the named writes an admin and a login make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hub.events import OperatorUpdated, Recipients, SessionEnded
from hub.inbox.auth import Principal, generate_password, hash_token, issue_token, load_principal
from hub.inbox.models import Operator, OperatorLink, OperatorToken, Role, Team, TeamMember
from hub.inbox.serialize import operator_dict, team_dict

MIN_PASSWORD = 10


def normalize_email(raw: str) -> str:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"not an email address: {raw[:80]!r}", code="invalid_email") from exc


def check_role(role: str) -> str:
    roles = {r.value for r in Role}
    if role not in roles:
        raise InvalidInput(f"role must be one of {sorted(roles)}", code="invalid_role")
    return role


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("only an admin may do this", code="admin_required")


@dataclass(frozen=True, slots=True)
class CreatedOperator:
    operator: dict[str, Any]
    #: The generated password, shown once; None when the caller chose one.
    password: str | None


async def set_teams(session: AsyncSession, operator_id: int, team_ids: list[int]) -> None:
    wanted = set(team_ids)
    if wanted:
        found = set((await session.scalars(select(Team.id).where(Team.id.in_(wanted)))).all())
        missing = wanted - found
        if missing:
            raise InvalidInput(f"no such teams: {sorted(missing)}", code="team_not_found")
    await session.execute(delete(TeamMember).where(TeamMember.operator_id == operator_id))
    for team_id in sorted(wanted):
        session.add(TeamMember(team_id=team_id, operator_id=operator_id))


async def create_operator(
    ctx: HubContext,
    *,
    email: str,
    name: str,
    role: str = Role.OPERATOR.value,
    password: str | None = None,
    team_ids: list[int] | None = None,
) -> CreatedOperator:
    """Create an operator; without a password one is generated and returned once."""
    email = normalize_email(email)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    check_role(role)
    generated = None
    if password is None:
        password = generated = generate_password()
    elif len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD} characters", code="weak_password"
        )
    password_hash = await ctx.hasher.hash(password)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        if await session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
            raise Conflict(f"an operator with email {email} exists", code="email_taken")
        op = Operator(email=email, name=name, role=role, password_hash=password_hash)
        session.add(op)
        await session.flush()
        await set_teams(session, op.id, team_ids or [])
        await session.flush()
        return operator_dict(op, list(team_ids or []))

    try:
        data = await ctx.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"an operator with email {email} exists", code="email_taken") from exc
    return CreatedOperator(data, generated)


async def update_operator(
    ctx: HubContext,
    actor: Principal,
    operator_id: int,
    *,
    name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    team_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Change an operator; deactivating him ends his sessions at once."""
    require_admin(actor)
    if role is not None:
        check_role(role)
    if name is not None and (not name.strip() or len(name) > 200):
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    if operator_id == actor.operator_id and (active is False or (role and role != actor.role)):
        raise InvalidInput("an admin cannot deactivate or demote himself", code="self_lockout")

    async def unit(session: AsyncSession) -> dict[str, Any]:
        op = await session.get(Operator, operator_id)
        if op is None:
            raise NotFound(f"operator {operator_id} not found", code="operator_not_found")
        if name is not None:
            op.name = name.strip()
        if role is not None:
            op.role = role
        if active is not None:
            op.is_active = active
            if not active:
                await session.execute(
                    update(OperatorToken)
                    .where(OperatorToken.operator_id == op.id, OperatorToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                # His invitation or password link stops working too.
                await session.execute(
                    update(OperatorLink)
                    .where(
                        OperatorLink.operator_id == op.id,
                        OperatorLink.used_at.is_(None),
                        OperatorLink.revoked_at.is_(None),
                    )
                    .values(revoked_at=utcnow())
                )
        if team_ids is not None:
            await set_teams(session, op.id, team_ids)
        await session.flush()
        teams = (
            await session.scalars(select(TeamMember.team_id).where(TeamMember.operator_id == op.id))
        ).all()
        return operator_dict(op, list(teams))

    data = await ctx.write(unit)
    await ctx.publish(
        OperatorUpdated(Recipients(True, frozenset(), frozenset({operator_id})), data)
    )
    return data


async def create_team(
    ctx: HubContext, actor: Principal | None, name: str, operator_ids: list[int] | None = None
) -> dict[str, Any]:
    if actor is not None:
        require_admin(actor)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")

    async def unit(session: AsyncSession) -> dict[str, Any]:
        if await session.scalar(select(Team.id).where(Team.name == name)) is not None:
            raise Conflict(f"a team named {name!r} exists", code="team_exists")
        team = Team(name=name)
        session.add(team)
        await session.flush()
        ids = sorted(set(operator_ids or []))
        if ids:
            found = set(
                (await session.scalars(select(Operator.id).where(Operator.id.in_(ids)))).all()
            )
            if set(ids) - found:
                raise InvalidInput(
                    f"no such operators: {sorted(set(ids) - found)}", code="operator_not_found"
                )
            for op_id in ids:
                session.add(TeamMember(team_id=team.id, operator_id=op_id))
        await session.flush()
        return team_dict(team, ids)

    try:
        data = await ctx.write(unit)
    except IntegrityError as exc:  # another process made a team of that name just now
        raise Conflict(f"a team named {name!r} exists", code="team_exists") from exc
    for op_id in data["operator_ids"]:
        await ctx.publish(
            OperatorUpdated(Recipients(False, frozenset(), frozenset({op_id})), {"id": op_id})
        )
    return data


async def login(ctx: HubContext, email: str, password: str) -> tuple[str, dict[str, Any]]:
    """Check an email and password; return a new bearer token and the operator."""
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = ""

    async def find(session: AsyncSession) -> Operator | None:
        if not email:
            return None
        return await session.scalar(select(Operator).where(Operator.email == email))

    op = await ctx.read(find)
    ok = await ctx.hasher.verify(op.password_hash if op else None, password)
    # An invited operator has no password of his own until he follows his link.
    if op is None or not ok or not op.is_active or op.invited:
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    rehash = await ctx.hasher.hash(password) if ctx.hasher.needs_rehash(op.password_hash) else None
    ttl = timedelta(hours=ctx.settings.token_ttl_hours)

    async def unit(session: AsyncSession) -> tuple[str, dict[str, Any]]:
        fresh = await session.get(Operator, op.id)
        if fresh is None or not fresh.is_active:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        if rehash:
            fresh.password_hash = rehash
        token = await issue_token(session, fresh.id, ttl)
        principal = await load_principal(session, fresh)
        return token, operator_dict(fresh, list(principal.team_ids))

    return await ctx.write(unit)


async def logout(ctx: HubContext, token: str) -> None:
    """End the session of ``token``; its open sockets close on every process (``SessionEnded``)."""

    async def unit(session: AsyncSession) -> tuple[int, int] | None:
        ended = await session.execute(
            update(OperatorToken)
            .where(
                OperatorToken.token_hash == hash_token(token), OperatorToken.revoked_at.is_(None)
            )
            .values(revoked_at=utcnow())
            .returning(OperatorToken.id, OperatorToken.operator_id)
        )
        row = ended.first()
        return None if row is None else (row.id, row.operator_id)

    ended = await ctx.write(unit)
    if ended is not None:
        session_id, operator_id = ended
        await ctx.publish(
            SessionEnded(
                Recipients(False, frozenset(), frozenset({operator_id})),
                operator_id=operator_id,
                session_id=session_id,
            )
        )
