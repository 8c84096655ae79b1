"""Contact merges and their undo, exactly.

Merging ``merged`` into ``kept`` moves the merged contact's conversations, deals, leads,
identities, phones, emails, tasks and channels' own rows (the widget's visitors: each
channel names them in its spec, ``hub.channels.hooks``) to the kept one, records the id of every
row it moved in ``contact_merges.moved``, and points the merged contact at the kept one
(``merged_into_id``). Phones and emails the kept contact already has stay where they are (two
rows with one number on one contact are not allowed). Undo moves back exactly the recorded
rows that are still on the kept contact, and nothing else. Incoming messages of the moved
conversations follow their conversation's contact both ways.

A merge joins contacts for operators only: each conversation keeps the identity that wrote it
(``Conversation.identity_id``), and customers read and are answered by that identity, so a
merge on an unverified email or phone never shows one customer another's history nor routes his
messages or answers into another's conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.hooks import ContactRows
from hub.context import HubContext
from hub.crm_sync.access import contact_recipients, get_visible_contact
from hub.crm_sync.merge_log import note_undo, sees_moved_conversation
from hub.crm_sync.models import ContactMerge, Deal, Lead, Task
from hub.crm_sync.outbox import record_change
from hub.crm_sync.serialize import merge_dict
from hub.db import utcnow
from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import ContactUpdated, Event, Recipients
from hub.inbox.auth import Principal
from hub.inbox.contacts import refresh_contact_search
from hub.inbox.models import (
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    Message,
    MessageKind,
)

#: What moves, by the key it is recorded under in ``moved``; channels add their own tables
#: (``HubContext.contact_rows``, from each channel's spec).
MOVABLE: dict[str, Any] = {
    "conversations": Conversation,
    "deals": Deal,
    "leads": Lead,
    "identities": ContactIdentity,
    "tasks": Task,
}


def _movable(channel_rows: Sequence[ContactRows]) -> dict[str, Any]:
    return {**MOVABLE, **{rows.key: rows.model for rows in channel_rows}}


async def _ids(session: AsyncSession, model: Any, contact_id: int) -> list[int]:
    rows = await session.scalars(
        select(model.id).where(model.contact_id == contact_id).order_by(model.id)
    )
    return list(rows.all())


async def _move(
    session: AsyncSession, model: Any, ids: list[int], from_id: int, to_id: int
) -> None:
    if ids:
        await session.execute(
            update(model)
            .where(model.id.in_(ids), model.contact_id == from_id)
            .values(contact_id=to_id)
            .execution_options(synchronize_session=False)
        )


async def _senders(session: AsyncSession, conv_ids: list[int], from_id: int, to_id: int) -> None:
    if conv_ids:
        await session.execute(
            update(Message)
            .where(
                Message.conversation_id.in_(conv_ids),
                Message.kind == MessageKind.INCOMING.value,
                Message.sender_contact_id == from_id,
            )
            .values(sender_contact_id=to_id)
            .execution_options(synchronize_session=False)
        )


async def _new_values(
    session: AsyncSession, model: Any, column: Any, kept: int, merged: int
) -> list[int]:
    """Ids of the merged contact's phone or email rows the kept contact does not have."""
    have = select(column).where(model.contact_id == kept)
    rows = await session.scalars(
        select(model.id).where(model.contact_id == merged, column.not_in(have)).order_by(model.id)
    )
    return list(rows.all())


async def merge_in_session(
    session: AsyncSession,
    kept: Contact,
    merged: Contact,
    *,
    operator_id: int | None,
    reason: str,
    channel_rows: Sequence[ContactRows],
) -> ContactMerge:
    """Move everything of ``merged`` to ``kept`` and record it; the caller announces."""
    if kept.id == merged.id:
        raise InvalidInput("a contact cannot be merged into itself", code="same_contact")
    if kept.merged_into_id is not None or merged.merged_into_id is not None:
        raise Conflict("one of the contacts was merged already", code="contact_merged")
    moved: dict[str, list[int]] = {}
    movable = _movable(channel_rows)
    for key, model in movable.items():
        moved[key] = await _ids(session, model, merged.id)
    moved["phones"] = await _new_values(
        session, ContactPhone, ContactPhone.e164, kept.id, merged.id
    )
    moved["emails"] = await _new_values(
        session, ContactEmail, ContactEmail.email, kept.id, merged.id
    )
    for key, model in movable.items():
        await _move(session, model, moved[key], merged.id, kept.id)
    await _move(session, ContactPhone, moved["phones"], merged.id, kept.id)
    await _move(session, ContactEmail, moved["emails"], merged.id, kept.id)
    await _senders(session, moved["conversations"], merged.id, kept.id)
    merged.merged_into_id = kept.id
    if not kept.name and merged.name:
        kept.name = merged.name
    record = ContactMerge(
        kept_id=kept.id,
        merged_id=merged.id,
        reason=reason,
        operator_id=operator_id,
        moved=moved,
        created_at=utcnow(),
    )
    session.add(record)
    await session.flush()
    await refresh_contact_search(session, kept)
    await refresh_contact_search(session, merged)
    return record


async def announce_merge(
    session: AsyncSession, record: ContactMerge, event: str, events: list[Event]
) -> dict[str, Any]:
    data = merge_dict(record)
    record_change(session, event=event, entity="contact", entity_id=record.kept_id, payload=data)
    kept = await contact_recipients(session, record.kept_id)
    merged = await contact_recipients(session, record.merged_id)
    recipients = Recipients(
        True, kept.team_ids | merged.team_ids, kept.operator_ids | merged.operator_ids
    )
    for contact_id in (record.kept_id, record.merged_id):
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        events.append(
            ContactUpdated(
                recipients,
                {"id": contact.id, "name": contact.name, "merged_into_id": contact.merged_into_id},
            )
        )
    return data


async def merge_contacts(
    ctx: HubContext, actor: Principal, kept_id: int, merged_id: int, reason: str = ""
) -> dict[str, Any]:
    """Merge ``merged_id`` into ``kept_id``; the actor must be able to see both."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        kept = await get_visible_contact(session, actor, kept_id)
        merged = await get_visible_contact(session, actor, merged_id)
        record = await merge_in_session(
            session,
            kept,
            merged,
            operator_id=actor.operator_id,
            reason=reason.strip()[:2000],
            channel_rows=ctx.contact_rows,
        )
        return await announce_merge(session, record, "contact.merged", events)

    data = await ctx.write(unit, key=("contact", min(kept_id, merged_id)))
    await ctx.publish(*events)
    return data


async def undo_merge(ctx: HubContext, actor: Principal, merge_id: int) -> dict[str, Any]:
    """Put back exactly what the merge moved. Managers, admins and the operator who merged; an
    automatic merge also whoever may see a conversation it moved (it was shown to him there,
    and its undo is noted there too)."""
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        record = await session.get(ContactMerge, merge_id)
        if record is None:
            raise NotFound(f"merge {merge_id} not found", code="merge_not_found")
        if not (
            actor.is_staff
            or record.operator_id == actor.operator_id
            or (
                record.operator_id is None and await sees_moved_conversation(session, actor, record)
            )
        ):
            raise NotFound(f"merge {merge_id} not found", code="merge_not_found")
        if record.undone_at is not None:
            raise Conflict("the merge was undone already", code="merge_undone")
        merged = await session.get(Contact, record.merged_id)
        kept = await session.get(Contact, record.kept_id)
        if merged is None or kept is None or merged.merged_into_id != kept.id:
            raise Conflict("the contacts changed since; undo is not possible", code="merge_stale")
        moved = dict(record.moved)
        movable = {**_movable(ctx.contact_rows), "phones": ContactPhone, "emails": ContactEmail}
        for key, model in movable.items():
            await _move(session, model, list(moved.get(key, [])), kept.id, merged.id)
        await _senders(session, list(moved.get("conversations", [])), kept.id, merged.id)
        merged.merged_into_id = None
        record.undone_at = utcnow()
        record.undone_by_id = actor.operator_id
        await session.flush()
        await refresh_contact_search(session, kept)
        await refresh_contact_search(session, merged)
        data = await announce_merge(session, record, "contact.unmerged", events)
        if record.operator_id is None:
            await note_undo(session, record, actor, events)
        return data

    data = await ctx.write(unit, key=("merge", merge_id))
    await ctx.publish(*events)
    return data
