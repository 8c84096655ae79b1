"""Automatic assignment's named writes and reads: a team's rules (set by an admin), an
operator's away, and the acceptance of an offer (``hub.inbox.router`` does the assigning).

An operator counts as online when he has the inbox open (``hub.presence``); the HTTP layer
passes who is online in, so this module asks no process state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Forbidden, InvalidInput, NotFound
from hub.events import (
    ConversationAccepted,
    OperatorAvailability,
    Recipients,
    TeamRoutingUpdated,
)
from hub.inbox.access import get_visible_conversation
from hub.inbox.actions import recipients_of
from hub.inbox.auth import Principal
from hub.inbox.models import Conversation, ConversationStatus, Operator, Team, TeamMember
from hub.inbox.routing_models import (
    DEFAULT_ACCEPT_TIMEOUT_S,
    DEFAULT_CAPACITY,
    RoutingState,
    TeamRouting,
)
from hub.inbox.serialize import iso
from hub.inbox.staff import require_admin

MAX_CAPACITY = 1000
MAX_ACCEPT_TIMEOUT_S = 86_400


@dataclass(frozen=True, slots=True)
class RoutingChange:
    """What an admin changes in a team's rules; None leaves a field as it is. ``members`` maps
    an operator of the team to his own capacity (None: the team's)."""

    enabled: bool | None = None
    capacity: int | None = None
    accept_timeout_s: int | None = None
    members: dict[int, int | None] | None = None


def require_staff(actor: Principal) -> None:
    if not actor.is_staff:
        raise Forbidden("only a manager or an admin may do this", code="staff_required")


def _check(change: RoutingChange) -> None:
    if change.capacity is not None and not 1 <= change.capacity <= MAX_CAPACITY:
        raise InvalidInput(f"capacity is 1 to {MAX_CAPACITY}", code="invalid_capacity")
    for own in (change.members or {}).values():
        if own is not None and not 1 <= own <= MAX_CAPACITY:
            raise InvalidInput(f"capacity is 1 to {MAX_CAPACITY}", code="invalid_capacity")
    timeout = change.accept_timeout_s
    if timeout is not None and not 0 <= timeout <= MAX_ACCEPT_TIMEOUT_S:
        raise InvalidInput(
            f"accept_timeout_s is 0 (never pass on) to {MAX_ACCEPT_TIMEOUT_S}",
            code="invalid_accept_timeout",
        )


async def _routing_dict(
    session: AsyncSession, team_id: int, online: frozenset[int]
) -> dict[str, Any]:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found", code="team_not_found")
    rule = await session.get(TeamRouting, team_id)
    members = (
        await session.execute(
            select(Operator.id, Operator.name, Operator.away, TeamMember.capacity)
            .join(TeamMember, TeamMember.operator_id == Operator.id)
            .where(TeamMember.team_id == team_id, Operator.is_active.is_(True))
            .order_by(Operator.id)
        )
    ).all()
    counts = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count(Conversation.id))
                .where(
                    Conversation.assignee_id.in_([m[0] for m in members]),
                    Conversation.status == ConversationStatus.OPEN.value,
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    capacity = rule.capacity if rule is not None else DEFAULT_CAPACITY
    timeout = rule.accept_timeout_s if rule is not None else DEFAULT_ACCEPT_TIMEOUT_S
    queued = await session.scalar(
        select(func.count(Conversation.id)).where(
            Conversation.team_id == team_id,
            Conversation.assignee_id.is_(None),
            Conversation.status == ConversationStatus.OPEN.value,
            (Conversation.routing.is_(None)) | (Conversation.routing != RoutingState.MANUAL.value),
        )
    )
    return {
        "team_id": team_id,
        "enabled": rule is not None and rule.enabled,
        "capacity": capacity,
        "accept_timeout_s": timeout,
        "queued": int(queued or 0),
        "updated_at": iso(rule.updated_at) if rule is not None else None,
        "members": [
            {
                "operator_id": op_id,
                "name": name,
                "capacity": own,
                "effective_capacity": own if own is not None else capacity,
                "open": int(counts.get(op_id, 0)),
                "away": bool(away),
                "online": op_id in online,
            }
            for op_id, name, away, own in members
        ],
    }


async def team_routing(
    ctx: HubContext, actor: Principal, team_id: int, online: frozenset[int]
) -> dict[str, Any]:
    """A team's automatic assignment as it stands, with its operators' load (managers and
    admins)."""
    require_staff(actor)
    return await ctx.read(lambda session: _routing_dict(session, team_id, online))


async def update_team_routing(
    ctx: HubContext,
    actor: Principal,
    team_id: int,
    change: RoutingChange,
    online: frozenset[int],
) -> dict[str, Any]:
    """Change a team's automatic assignment (admins); answers it as ``team_routing`` does."""
    require_admin(actor)
    _check(change)
    published: list[TeamRoutingUpdated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        published.clear()
        if await session.get(Team, team_id) is None:
            raise NotFound(f"team {team_id} not found", code="team_not_found")
        rule = await session.get(TeamRouting, team_id)
        if rule is None:
            rule = TeamRouting(
                team_id=team_id,
                enabled=False,
                capacity=DEFAULT_CAPACITY,
                accept_timeout_s=DEFAULT_ACCEPT_TIMEOUT_S,
            )
            session.add(rule)
        if change.enabled is not None:
            rule.enabled = change.enabled
        if change.capacity is not None:
            rule.capacity = change.capacity
        if change.accept_timeout_s is not None:
            rule.accept_timeout_s = change.accept_timeout_s
        rule.updated_at = utcnow()
        for operator_id, own in (change.members or {}).items():
            changed = await session.execute(
                update(TeamMember)
                .where(TeamMember.team_id == team_id, TeamMember.operator_id == operator_id)
                .values(capacity=own)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise InvalidInput(
                    f"operator {operator_id} is not in team {team_id}",
                    code="operator_not_in_team",
                )
        await session.flush()
        data = await _routing_dict(session, team_id, online)
        published.append(TeamRoutingUpdated(Recipients(True, frozenset({team_id})), data))
        return data

    data = await ctx.write(unit, key=("routing", team_id))
    await ctx.publish(*published)
    ctx.routing_wakeup.set()
    return data


async def availability(ctx: HubContext, actor: Principal) -> dict[str, Any]:
    """Whether the operator is away, and the conversations offered to him not opened yet."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        away = await session.scalar(select(Operator.away).where(Operator.id == actor.operator_id))
        offered = await session.scalars(
            select(Conversation.id)
            .where(
                Conversation.assignee_id == actor.operator_id,
                Conversation.routing == RoutingState.OFFERED.value,
            )
            .order_by(Conversation.id)
            .limit(500)
        )
        return {"operator_id": actor.operator_id, "away": bool(away), "offered": list(offered)}

    return await ctx.read(query)


async def set_away(ctx: HubContext, actor: Principal, away: bool) -> dict[str, Any]:
    """The operator sets himself away (automatic assignment passes him by) or back."""

    async def unit(session: AsyncSession) -> None:
        await session.execute(
            update(Operator)
            .where(Operator.id == actor.operator_id)
            .values(away=away)
            .execution_options(synchronize_session=False)
        )

    await ctx.write(unit)
    recipients = Recipients(True, frozenset(), frozenset({actor.operator_id}))
    await ctx.publish(OperatorAvailability(recipients, actor.operator_id, away))
    if not away:
        ctx.routing_wakeup.set()
    return await availability(ctx, actor)


async def accept_offer(ctx: HubContext, actor: Principal, conversation_id: int) -> bool:
    """The operator opened a conversation offered to him: it stays his and no longer passes on.
    False (and nothing written) when it is not an offer to him."""

    async def look(session: AsyncSession) -> tuple[int | None, str | None]:
        conv = await get_visible_conversation(session, actor, conversation_id)
        return conv.assignee_id, conv.routing

    assignee, state = await ctx.read(look)
    if assignee != actor.operator_id or state != RoutingState.OFFERED.value:
        return False
    accepted: list[ConversationAccepted] = []

    async def unit(session: AsyncSession) -> bool:
        accepted.clear()
        changed = await session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.assignee_id == actor.operator_id,
                Conversation.routing == RoutingState.OFFERED.value,
            )
            .values(routing=RoutingState.ACCEPTED.value, offered_at=None)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # passed on, or a person reassigned it, meanwhile
        conv = await session.get(Conversation, conversation_id)
        assert conv is not None
        accepted.append(
            ConversationAccepted(recipients_of(conv), conversation_id, actor.operator_id)
        )
        return True

    done = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*accepted)
    return done
