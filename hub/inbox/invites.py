"""Invitations and password links: an admin invites a person by email, or sends an operator a
link to set a new password; the link sets it once and logs him in.

An invited operator is stored at once (his name, role and teams, ``invited``) with a password
nobody knows, so he cannot log in until he follows his link. A link is a random token of which
only the SHA-256 is stored (``OperatorLink``); it works once, for ``LINK_TTL``, and a newer link
of his, or his deactivation, ends it. The email goes from the mailbox the admin chose for the
hub's own mail (``hub.inbox.system_mail``); when there is none, or it refused, the admin's answer
says so and carries the link to pass on, never nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, Gone, InvalidInput, NotFound
from hub.events import Recipients, SessionEnded
from hub.inbox.auth import Principal, generate_password, hash_token, issue_token, load_principal
from hub.inbox.models import Operator, OperatorLink, OperatorToken, Role, TeamMember
from hub.inbox.serialize import operator_dict
from hub.inbox.staff import MIN_PASSWORD, check_role, normalize_email, require_admin, set_teams
from hub.inbox.system_mail import MailOutcome, link_mail, send_mail

#: How long a link works.
LINK_TTL = timedelta(days=7)
INVITE, RESET = "invite", "reset"
MAX_PASSWORD = 1000


@dataclass(frozen=True, slots=True)
class LinkSent:
    operator: dict[str, Any]
    purpose: str
    expires_at: datetime
    mail: MailOutcome
    #: The link itself, only when the email did not go out (the admin passes it on).
    url: str | None


def link_url(ctx: HubContext, token: str) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/inbox/invite/{token}"


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD} characters", code="weak_password"
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("the password is too long", code="weak_password")


async def _teams_of(session: AsyncSession, operator_id: int) -> list[int]:
    rows = await session.scalars(
        select(TeamMember.team_id).where(TeamMember.operator_id == operator_id)
    )
    return list(rows.all())


async def _issue(session: AsyncSession, operator_id: int, purpose: str) -> tuple[str, datetime]:
    """A new link for the operator; his earlier unused ones stop working."""
    now = utcnow()
    await session.execute(
        update(OperatorLink)
        .where(
            OperatorLink.operator_id == operator_id,
            OperatorLink.used_at.is_(None),
            OperatorLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = "hubl_" + secrets.token_urlsafe(32)
    expires = now + LINK_TTL
    session.add(
        OperatorLink(
            operator_id=operator_id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires,
        )
    )
    await session.flush()
    return token, expires


async def _deliver(
    ctx: HubContext,
    actor: Principal,
    operator: dict[str, Any],
    purpose: str,
    token: str,
    expires: datetime,
) -> LinkSent:
    url = link_url(ctx, token)
    mail = link_mail(
        ctx.settings.language,
        purpose,
        to=operator["email"],
        name=operator["name"],
        role=operator["role"],
        admin=actor.name,
        url=url,
        until=expires,
    )
    outcome = await send_mail(ctx, mail)
    return LinkSent(operator, purpose, expires, outcome, None if outcome.sent else url)


async def invite_operator(
    ctx: HubContext,
    actor: Principal,
    *,
    email: str,
    name: str,
    role: str = Role.OPERATOR.value,
    team_ids: list[int] | None = None,
) -> LinkSent:
    """Store the person as an invited operator and email him his link."""
    require_admin(actor)
    email = normalize_email(email)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    check_role(role)
    unknown = await ctx.hasher.hash(generate_password())  # nobody knows it: he cannot log in

    async def unit(session: AsyncSession) -> tuple[dict[str, Any], str, datetime]:
        if await session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
            raise Conflict(f"an operator with email {email} exists", code="email_taken")
        op = Operator(email=email, name=name, role=role, password_hash=unknown, invited=True)
        session.add(op)
        await session.flush()
        await set_teams(session, op.id, team_ids or [])
        token, expires = await _issue(session, op.id, INVITE)
        return operator_dict(op, list(team_ids or [])), token, expires

    try:
        operator, token, expires = await ctx.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"an operator with email {email} exists", code="email_taken") from exc
    return await _deliver(ctx, actor, operator, INVITE, token, expires)


async def send_link(ctx: HubContext, actor: Principal, operator_id: int, purpose: str) -> LinkSent:
    """A new link for an operator: his invitation again (``invite``, while he has not joined)
    or a link to set a new password (``reset``, once he has)."""
    require_admin(actor)

    async def unit(session: AsyncSession) -> tuple[dict[str, Any], str, datetime]:
        op = await session.get(Operator, operator_id)
        if op is None:
            raise NotFound(f"operator {operator_id} not found", code="operator_not_found")
        if not op.is_active:
            raise Conflict(
                f"operator {operator_id} is deactivated: reactivate him first",
                code="operator_deactivated",
            )
        if purpose == INVITE and not op.invited:
            raise Conflict(
                f"operator {operator_id} has joined already: send a password link instead",
                code="not_invited",
            )
        if purpose == RESET and op.invited:
            raise Conflict(
                f"operator {operator_id} has not joined yet: send his invitation again",
                code="still_invited",
            )
        token, expires = await _issue(session, op.id, purpose)
        return operator_dict(op, await _teams_of(session, op.id)), token, expires

    operator, token, expires = await ctx.write(unit)
    return await _deliver(ctx, actor, operator, purpose, token, expires)


def _check_usable(link: OperatorLink | None, op: Operator | None, now: datetime) -> Operator:
    if link is None or op is None:
        raise NotFound(
            "this link is not valid: ask your admin for a new one", code="link_not_found"
        )
    if link.used_at is not None:
        raise Gone(
            "this link was used already: log in, or ask your admin for a new one", code="link_used"
        )
    if link.revoked_at is not None or not op.is_active:
        raise Gone(
            "this link no longer works (a newer one was sent, or the account was deactivated)",
            code="link_revoked",
        )
    if link.expires_at <= now:
        raise Gone("this link has expired: ask your admin for a new one", code="link_expired")
    return op


async def _find(
    session: AsyncSession, token: str, *, lock: bool = False
) -> tuple[OperatorLink | None, Operator | None]:
    """The link of ``token`` and its operator; ``lock`` holds the link's row (PostgreSQL) until
    the transaction ends, so two tabs sending one link apply one after the other."""
    if not token or len(token) > 200:
        return None, None
    stmt = select(OperatorLink).where(OperatorLink.token_hash == hash_token(token))
    link = await session.scalar(stmt.with_for_update() if lock else stmt)
    op = None if link is None else await session.get(Operator, link.operator_id)
    return link, op


async def link_info(ctx: HubContext, token: str) -> dict[str, Any]:
    """Whose link it is and what it is for, or why it no longer works."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        link, op = await _find(session, token)
        usable = _check_usable(link, op, utcnow())
        assert link is not None
        return {
            "purpose": link.purpose,
            "email": usable.email,
            "name": usable.name,
            "expires_at": link.expires_at,
            "language": ctx.settings.language,
        }

    return await ctx.read(query)


async def use_link(ctx: HubContext, token: str, password: str) -> tuple[str, dict[str, Any]]:
    """Set the operator's password through his link, once; every session he had ends, and
    a new one begins (the answer's token)."""
    check_password(password)
    await link_info(ctx, token)  # a dead link costs no password hash
    password_hash = await ctx.hasher.hash(password)
    ttl = timedelta(hours=ctx.settings.token_ttl_hours)

    async def unit(session: AsyncSession) -> tuple[str, dict[str, Any], list[int]]:
        link, op = await _find(session, token, lock=True)  # a second tab sees it used
        now = utcnow()
        usable = _check_usable(link, op, now)
        assert link is not None
        link.used_at = now
        usable.password_hash = password_hash
        usable.invited = False
        await session.execute(
            update(OperatorLink)
            .where(
                OperatorLink.operator_id == usable.id,
                OperatorLink.used_at.is_(None),
                OperatorLink.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        ended = await session.execute(
            update(OperatorToken)
            .where(OperatorToken.operator_id == usable.id, OperatorToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(OperatorToken.id)
        )
        ended_ids = [row[0] for row in ended.all()]
        session_token = await issue_token(session, usable.id, ttl)
        principal = await load_principal(session, usable)
        return session_token, operator_dict(usable, list(principal.team_ids)), ended_ids

    session_token, operator, ended = await ctx.write(unit)
    mine = Recipients(False, frozenset(), frozenset({operator["id"]}))
    await ctx.publish(
        *[SessionEnded(mine, operator_id=operator["id"], session_id=sid) for sid in ended]
    )
    return session_token, operator
