"""What operators see of contact merges: the activity an automatic merge writes into the
conversation that caused it (with the merge's id, for «Отменить»), the one its undo writes, and
the list of merges, newest first.

The lead intake merges a brand-new contact into an older one that shares a phone, email or
verified identity (``intake_one.join_known_contact``). Nobody chose that, so it must not pass
unseen: the conversation says which contact was merged into which and why, and anyone who may
see that conversation may undo it (``merge.undo_merge``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import contact_visible
from hub.crm_sync.models import ContactMerge
from hub.crm_sync.serialize import merge_dict
from hub.db import MAX_ID
from hub.errors import InvalidInput
from hub.events import Event, MessageCreated
from hub.inbox.access import can_see
from hub.inbox.actions import add_activity, operator_names, recipients_of
from hub.inbox.auth import Principal
from hub.inbox.models import Contact, Conversation
from hub.inbox.serialize import message_dict

MAX_PAGE = 100
#: Conversations of one merge that get its undo's activity (a merge of a new contact moves one).
NOTED_CONVERSATIONS = 20


def _label(contact: Contact) -> str:
    return f"«{contact.name}» (#{contact.id})" if contact.name else f"#{contact.id}"


async def note_automatic_merge(
    session: AsyncSession,
    conv: Conversation,
    record: ContactMerge,
    merged: Contact,
    kept: Contact,
    basis: str,
    events: list[Event],
) -> None:
    """The activity of an automatic merge in the conversation that caused it."""
    text = f"Contact {_label(merged)} was merged automatically into {_label(kept)}: same {basis}"
    meta = {
        "action": "merge",
        "merge_id": record.id,
        "merged_id": merged.id,
        "merged_name": merged.name,
        "kept_id": kept.id,
        "kept_name": kept.name,
        "basis": basis,
    }
    activity = await add_activity(session, conv, None, text, meta)
    events.append(MessageCreated(recipients_of(conv), conv.id, message_dict(activity)))


async def note_undo(
    session: AsyncSession, record: ContactMerge, actor: Principal, events: list[Event]
) -> None:
    """The activity of an undone automatic merge, in the conversations it had moved."""
    merged = await session.get(Contact, record.merged_id)
    ids = list(record.moved.get("conversations", []))[:NOTED_CONVERSATIONS]
    if merged is None or not ids:
        return
    convs = (await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()
    for conv in convs:
        text = f"{actor.name} undid the automatic merge: {_label(merged)} is a contact of its own"
        meta = {
            "action": "merge_undone",
            "merge_id": record.id,
            "merged_id": merged.id,
            "merged_name": merged.name,
        }
        activity = await add_activity(session, conv, actor, text, meta)
        events.append(
            MessageCreated(
                recipients_of(conv), conv.id, message_dict(activity, operator_names(actor))
            )
        )


async def sees_moved_conversation(
    session: AsyncSession, actor: Principal, record: ContactMerge
) -> bool:
    """Whether the actor may see a conversation the merge moved (who may undo an automatic
    merge besides staff: whoever was shown it)."""
    ids = list(record.moved.get("conversations", []))
    if not ids:
        return False
    convs = (await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()
    return any(can_see(actor, conv) for conv in convs)


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput("the cursor is not one this API gave out", code="invalid_cursor")
    return min(int(raw), MAX_ID + 1)


async def list_merges(
    ctx: HubContext,
    actor: Principal,
    *,
    contact_id: int | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    """Merges newest first, ``limit`` at a time (``next_cursor`` fetches the next page), of
    one contact (kept or merged) if ``contact_id``. Staff see all; an operator the merges he
    made and those of contacts he may see."""
    limit = max(1, min(limit, MAX_PAGE))
    conds: list[Any] = []
    if contact_id is not None:
        conds.append(or_(ContactMerge.kept_id == contact_id, ContactMerge.merged_id == contact_id))
    if not actor.is_staff:
        conds.append(
            or_(
                ContactMerge.operator_id == actor.operator_id,
                contact_visible(actor, ContactMerge.kept_id),
                contact_visible(actor, ContactMerge.merged_id),
            )
        )
    before = _cursor(cursor)
    if before is not None:
        conds.append(ContactMerge.id < before)

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = list(
            (
                await session.scalars(
                    select(ContactMerge)
                    .where(*conds)
                    .order_by(ContactMerge.id.desc())
                    .limit(limit + 1)
                )
            ).all()
        )
        page = rows[:limit]
        ids = {r.kept_id for r in page} | {r.merged_id for r in page}
        names = dict(
            (
                await session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids)))
            ).all()
        )
        items = [
            {
                **merge_dict(r),
                "automatic": r.operator_id is None,
                "kept": {"id": r.kept_id, "name": names.get(r.kept_id, "")},
                "merged": {"id": r.merged_id, "name": names.get(r.merged_id, "")},
            }
            for r in page
        ]
        next_cursor = str(page[-1].id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    return await ctx.read(query)
