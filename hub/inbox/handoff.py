"""Handoffs and statuses: assign, transfer, pend, snooze, resolve, reopen.

Each also writes a system activity into the conversation ("Anna transferred to Oleg: customer
wants a discount"), visible to operators only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput
from hub.events import (
    ConversationAssigned,
    ConversationUpdated,
    Event,
    MessageCreated,
    Recipients,
)
from hub.inbox.access import get_visible_conversation
from hub.inbox.actions import add_activity, operator_names, recipients_of
from hub.inbox.auth import Principal
from hub.inbox.models import (
    Conversation,
    ConversationStatus,
    Operator,
    Team,
)
from hub.inbox.routing_models import RoutingState
from hub.inbox.serialize import conversation_dict, message_dict
from hub.worker import PeriodicWorker

#: Conversations one pass of the snooze waker reopens at most (the next pass takes the rest).
WAKE_BATCH = 500


def _assignment_text(
    actor: Principal,
    previous: Operator | None,
    target: Operator | None,
    team: Team | None,
    note: str,
) -> tuple[str, str]:
    """The activity line operators read, e.g. "Anna transferred to Oleg: wants a discount"."""
    if target is None and team is None and previous is not None:
        action, text = "unassigned", f"{actor.name} unassigned {previous.name}"
    elif target is not None and target.id == actor.operator_id and previous is None:
        action, text = "assigned", f"{actor.name} took the conversation"
    else:
        if target is not None:
            who = f"{target.name} ({team.name})" if team is not None else target.name
        else:
            who = f"team {team.name}" if team is not None else "nobody"
        action = "transferred" if previous is not None else "assigned"
        text = f"{actor.name} {action} to {who}"
    if note:
        text = f"{text}: {note}"
    return action, text


async def assign(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    *,
    operator_id: int | None,
    team_id: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Assign or transfer a conversation to an operator and/or a team, with a handoff note.

    ``operator_id=None`` leaves the conversation with no operator (its team still sees it);
    ``team_id=None`` keeps the team it has.
    """
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput("the handoff note is longer than 2000 characters", code="note_too_long")
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        conv = await get_visible_conversation(session, actor, conversation_id)
        target = None
        if operator_id is not None:
            target = await session.get(Operator, operator_id)
            if target is None or not target.is_active:
                raise InvalidInput(f"operator {operator_id} not found", code="operator_not_found")
        team = None
        if team_id is not None:
            team = await session.get(Team, team_id)
            if team is None:
                raise InvalidInput(f"team {team_id} not found", code="team_not_found")
        previous = await session.get(Operator, conv.assignee_id) if conv.assignee_id else None
        previous_team_id = conv.team_id
        new_team_id = team.id if team is not None else conv.team_id
        new_assignee_id = target.id if target is not None else None
        if new_assignee_id == conv.assignee_id and new_team_id == conv.team_id:
            raise Conflict("the conversation is already assigned so", code="nothing_to_change")
        changed_team = team if new_team_id != previous_team_id else None
        action, text = _assignment_text(actor, previous, target, changed_team, note)
        conv.assignee_id = new_assignee_id
        conv.team_id = new_team_id
        # A person decided: automatic assignment leaves the conversation alone from now on.
        conv.routing = RoutingState.MANUAL.value
        conv.offered_at = None
        meta = {
            "action": action,
            "from_operator_id": previous.id if previous else None,
            "to_operator_id": conv.assignee_id,
            "from_team_id": previous_team_id,
            "to_team_id": conv.team_id,
            "note": note,
        }
        activity = await add_activity(session, conv, actor, text, meta)
        conv_data = conversation_dict(conv)
        recipients = recipients_of(conv)
        departing = Recipients.for_conversation(previous_team_id, previous.id if previous else None)
        events.append(
            ConversationAssigned(
                Recipients(
                    True,
                    recipients.team_ids | departing.team_ids,
                    recipients.operator_ids | departing.operator_ids,
                ),
                conv_data,
                previous.id if previous else None,
                previous_team_id,
                note,
            )
        )
        events.append(
            MessageCreated(recipients, conv.id, message_dict(activity, operator_names(actor)))
        )
        return conv_data

    data = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*events)
    ctx.routing_wakeup.set()  # the previous assignee may have room for another now
    return data


_STATUS_TEXT = {
    ConversationStatus.OPEN.value: "reopened the conversation",
    ConversationStatus.PENDING.value: "marked the conversation as pending",
    ConversationStatus.RESOLVED.value: "resolved the conversation",
}


async def set_status(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    status: str,
    snoozed_until: datetime | None = None,
) -> dict[str, Any]:
    """Open, pend, snooze (until a time) or resolve a conversation; a resolve is announced to
    the resolution listeners too (``HubContext.resolution_listeners``)."""
    valid = {s.value for s in ConversationStatus}
    if status not in valid:
        raise InvalidInput(f"status must be one of {sorted(valid)}", code="invalid_status")
    if snoozed_until is not None:
        snoozed_until = snoozed_until.astimezone(UTC)  # answered and written in UTC, as all times
    if status == ConversationStatus.SNOOZED.value:
        if snoozed_until is None:
            raise InvalidInput("snoozing needs snoozed_until", code="snooze_time_required")
        if snoozed_until <= utcnow():
            raise InvalidInput("snoozed_until must be in the future", code="snooze_time_past")
    elif snoozed_until is not None:
        raise InvalidInput("snoozed_until is only for status snoozed", code="invalid_status")
    events: list[Event] = []
    resolutions: list[int] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        resolutions.clear()
        conv = await get_visible_conversation(session, actor, conversation_id)
        if conv.status == status and conv.snoozed_until == snoozed_until:
            return conversation_dict(conv)
        conv.status = status
        conv.snoozed_until = snoozed_until
        if snoozed_until is not None:
            text = f"{actor.name} snoozed the conversation until {snoozed_until.isoformat()}"
        else:
            text = f"{actor.name} {_STATUS_TEXT[status]}"
        meta = {
            "action": "status",
            "status": status,
            "snoozed_until": snoozed_until.isoformat() if snoozed_until else None,
        }
        activity = await add_activity(session, conv, actor, text, meta)
        if status == ConversationStatus.RESOLVED.value:
            resolutions.append(activity.id)
        data = conversation_dict(conv)
        recipients = recipients_of(conv)
        events.append(ConversationUpdated(recipients, data))
        events.append(
            MessageCreated(recipients, conv.id, message_dict(activity, operator_names(actor)))
        )
        return data

    data = await ctx.write(unit, key=conversation_id)
    await ctx.publish(*events)
    ctx.routing_wakeup.set()  # an operator's open conversations changed: he may have room
    for resolution_id in resolutions:
        await ctx.conversation_resolved(conversation_id, resolution_id)
    return data


async def wake_snoozed(ctx: HubContext) -> int:
    """Reopen conversations whose snooze time has passed; returns how many."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> int:
        events.clear()
        now = utcnow()
        due = (
            await session.scalars(
                select(Conversation)
                .where(
                    Conversation.status == ConversationStatus.SNOOZED.value,
                    Conversation.snoozed_until <= now,
                )
                .limit(WAKE_BATCH)
            )
        ).all()
        woken = 0
        for conv in due:
            changed = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conv.id,
                    Conversation.status == ConversationStatus.SNOOZED.value,
                )
                .values(status=ConversationStatus.OPEN.value, snoozed_until=None)
                .execution_options(synchronize_session="fetch")
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                continue
            woken += 1
            activity = await add_activity(
                session,
                conv,
                None,
                "The snooze ended; the conversation is open again",
                {"action": "status", "status": "open", "reason": "snooze_ended"},
            )
            recipients = recipients_of(conv)
            events.append(ConversationUpdated(recipients, conversation_dict(conv)))
            events.append(MessageCreated(recipients, conv.id, message_dict(activity)))
        return woken

    count = await ctx.write(unit)
    await ctx.publish(*events)
    return count


class SnoozeWaker(PeriodicWorker):
    """Reopens the snoozed conversations whose time has come, every
    ``HUB_SNOOZE_CHECK_INTERVAL_S``."""

    name = "snooze-waker"
    #: Snoozes end in minutes or days: a write unit at every start-up would be for nothing.
    pass_at_start = False

    def __init__(self, ctx: HubContext) -> None:
        super().__init__(
            interval_s=ctx.settings.snooze_check_interval_s,
            backoff_s=ctx.settings.worker_backoff_s,
        )
        self._ctx = ctx

    def busy(self, done: int) -> bool:
        return done >= WAKE_BATCH  # a full batch may have left more

    async def run_once(self) -> int:
        return await wake_snoozed(self._ctx)
