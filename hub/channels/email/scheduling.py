"""Scheduling an email for later, editing it, cancelling it: the operator's named writes.

A scheduled email is checked when it is written as the email itself would be when sent (the
conversation or contact is the operator's to write to, the mailbox is an email channel, the
address is not suppressed), so most mistakes show at once instead of at 3 a.m.; the sender
(``scheduled_sender``) checks again when it goes. Its author and staff (managers, admins) see,
edit and cancel it; anyone else gets a 404, as for other operators' resources.

Edits and cancels are conditional updates on "still scheduled and not claimed": a worker that
claimed the email meanwhile (its lease) or turned it into a message wins, and the operator gets
a 409 that says which. Nothing here sends: at its time the sender does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import suppression
from hub.channels.email.config import TYPE
from hub.channels.email.new_email import (
    MAX_SUBJECT,
    NewEmail,
    check_email,
    contact_address,
    email_channel,
    identity_conflict,
    visible_contact,
)
from hub.channels.email.schedule_time import send_time, wall_clock
from hub.channels.email.scheduled_models import ScheduledEmail, ScheduleKind, ScheduleStatus
from hub.channels.email.scheduled_queries import (
    MAX_PENDING,
    author_name,
    leased,
    own_scheduled,
    recipients,
    scheduled_dict,
)
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput
from hub.events import ScheduledEmailCreated, ScheduledEmailUpdated
from hub.inbox.access import get_visible_conversation
from hub.inbox.actions import check_body
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Message


@dataclass(frozen=True, slots=True)
class Edit:
    """What an operator changes; None leaves a field as it is."""

    body: str | None = None
    subject: str | None = None
    send_at: str | None = None
    time_zone: str | None = None


async def _room_for_more(session: AsyncSession, actor: Principal) -> None:
    pending = await session.scalar(
        select(func.count())
        .select_from(ScheduledEmail)
        .where(
            ScheduledEmail.operator_id == actor.operator_id,
            ScheduledEmail.status == ScheduleStatus.SCHEDULED.value,
        )
    )
    if (pending or 0) >= MAX_PENDING:
        raise InvalidInput(
            f"you have {MAX_PENDING} emails scheduled already; send or cancel some first",
            code="too_many_scheduled",
        )


async def _reply_target(
    session: AsyncSession, actor: Principal, conversation_id: int, reply_to_id: int | None
) -> tuple[int, int]:
    """The conversation's (channel id, contact id), if it is an email conversation the actor
    may answer."""
    conv = await get_visible_conversation(session, actor, conversation_id)
    channel = await session.get(Channel, conv.channel_id)
    if channel is None or channel.type != TYPE or not channel.is_active:
        raise InvalidInput(
            "only a reply in an email conversation can be scheduled", code="not_email_channel"
        )
    if reply_to_id is not None:
        target = await session.get(Message, reply_to_id)
        if target is None or target.conversation_id != conv.id:
            raise InvalidInput(
                f"message {reply_to_id} is not in this conversation", code="invalid_reply_to"
            )
    return channel.id, conv.contact_id


async def _created(
    ctx: HubContext,
    actor: Principal,
    make: Callable[[AsyncSession], Awaitable[ScheduledEmail]],
) -> dict[str, Any]:
    """Check and store the row ``make`` builds, in one unit; publish its event."""
    events: list[ScheduledEmailCreated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        await _room_for_more(session, actor)
        row = await make(session)
        session.add(row)
        await session.flush()
        data = scheduled_dict(row, actor.name)
        events.append(ScheduledEmailCreated(recipients(row), data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    return data


async def schedule_reply(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    body: str,
    send_at: str,
    time_zone: str | None = None,
    reply_to_id: int | None = None,
    tracking: bool = True,
) -> dict[str, Any]:
    """A reply in an email conversation, to go at ``send_at`` (read in ``time_zone``, the
    company's by default); ``tracking`` is the composer's switch, kept until it goes."""
    body = check_body(ctx, body)
    zone_name = time_zone or ctx.company.timezone
    moment = send_time(send_at, zone_name, utcnow())

    async def check(session: AsyncSession) -> ScheduledEmail:
        channel_id, contact_id = await _reply_target(session, actor, conversation_id, reply_to_id)
        return ScheduledEmail(
            kind=ScheduleKind.REPLY.value,
            operator_id=actor.operator_id,
            channel_id=channel_id,
            contact_id=contact_id,
            conversation_id=conversation_id,
            body=body,
            reply_to_id=reply_to_id,
            tracking=tracking,
            send_at=moment,
            time_zone=zone_name,
        )

    return await _created(ctx, actor, check)


async def schedule_new_email(
    ctx: HubContext,
    actor: Principal,
    contact_id: int,
    email: NewEmail,
    send_at: str,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """A new email to a contact (its own conversation when it goes), to go at ``send_at``."""
    if email.attachment_ids:
        raise InvalidInput(
            "a scheduled email cannot carry files yet; send it now", code="invalid_attachments"
        )
    subject, body = check_email(ctx, email)
    zone_name = time_zone or ctx.company.timezone
    moment = send_time(send_at, zone_name, utcnow())

    async def check(session: AsyncSession) -> ScheduledEmail:
        contact = await visible_contact(session, actor, contact_id)
        channel = await email_channel(session, actor, email.channel_id)
        address = await contact_address(session, contact, email.to)
        entry = await suppression.suppressed(session, address)
        if entry is not None:
            raise InvalidInput(suppression.refusal(entry), code="address_suppressed")
        await identity_conflict(session, contact, channel.id, address)
        return ScheduledEmail(
            kind=ScheduleKind.NEW_EMAIL.value,
            operator_id=actor.operator_id,
            channel_id=channel.id,
            contact_id=contact.id,
            to_address=address,
            subject=subject,
            body=body,
            tracking=email.tracking,
            send_at=moment,
            time_zone=zone_name,
        )

    return await _created(ctx, actor, check)


def _refusal(row: ScheduledEmail) -> Conflict:
    """Why a scheduled email can no longer be changed."""
    if row.status == ScheduleStatus.SENT.value:
        return Conflict("the email has been sent already", code="scheduled_email_sent")
    if row.status == ScheduleStatus.CANCELLED.value:
        return Conflict("the email was cancelled", code="scheduled_email_cancelled")
    if row.status == ScheduleStatus.FAILED.value:
        return Conflict("the email could not be sent", code="scheduled_email_failed")
    return Conflict("the email is being sent right now", code="scheduled_email_sending")


async def _change(
    ctx: HubContext, actor: Principal, scheduled_id: int, values: Any
) -> dict[str, Any]:
    """Apply ``values(row)`` (the new column values, checked) to a row still scheduled and not
    claimed, in one conditional update; 409 otherwise."""
    events: list[ScheduledEmailUpdated] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        row = await own_scheduled(session, actor, scheduled_id)
        if row.status != ScheduleStatus.SCHEDULED.value or leased(row):
            raise _refusal(row)
        now = utcnow()
        changed = await session.execute(
            update(ScheduledEmail)
            .where(
                ScheduledEmail.id == scheduled_id,
                ScheduledEmail.status == ScheduleStatus.SCHEDULED.value,
                or_(ScheduledEmail.lease_until.is_(None), ScheduledEmail.lease_until <= now),
            )
            .values(**values(row), updated_at=now)
            .returning(ScheduledEmail.id)
            .execution_options(synchronize_session=False)
        )
        row = await own_scheduled(session, actor, scheduled_id)
        if changed.scalar() is None:
            raise _refusal(row)
        data = scheduled_dict(row, await author_name(session, row.operator_id))
        events.append(ScheduledEmailUpdated(recipients(row), data))
        return data

    data = await ctx.write(unit)
    await ctx.publish(*events)
    return data


async def edit_scheduled(
    ctx: HubContext, actor: Principal, scheduled_id: int, edit: Edit
) -> dict[str, Any]:
    """Change the text, the subject (a new email's) or the time of a scheduled email."""
    if edit.body is not None:
        check_body(ctx, edit.body)
    subject = None
    if edit.subject is not None:
        subject = " ".join(edit.subject.split())
        if not subject or len(subject) > MAX_SUBJECT:
            raise InvalidInput(
                f"the subject must be 1 to {MAX_SUBJECT} characters", code="invalid_subject"
            )
    now = utcnow()

    def values(row: ScheduledEmail) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if edit.body is not None:
            out["body"] = edit.body
        if subject is not None:
            if row.kind != ScheduleKind.NEW_EMAIL.value:
                raise InvalidInput(
                    "a reply takes its thread's subject", code="subject_not_editable"
                )
            out["subject"] = subject
        if edit.send_at is not None or edit.time_zone is not None:
            zone_name = edit.time_zone or row.time_zone
            raw = edit.send_at
            if raw is None:  # the same clock reading, in the zone now named
                raw = wall_clock(row.send_at, row.time_zone)
            out["send_at"] = send_time(raw, zone_name, now)
            out["time_zone"] = zone_name
        return out

    return await _change(ctx, actor, scheduled_id, values)


async def cancel_scheduled(ctx: HubContext, actor: Principal, scheduled_id: int) -> dict[str, Any]:
    """Cancel a scheduled email: it never goes; the row stays, ``cancelled``."""
    return await _change(
        ctx, actor, scheduled_id, lambda row: {"status": ScheduleStatus.CANCELLED.value}
    )
