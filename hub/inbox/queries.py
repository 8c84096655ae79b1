"""The read side of the inbox: lists, conversations, messages and contact cards.

Every query takes the principal and shows only what he may see.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import contact_visible
from hub.crm_sync.queries import contact_sales
from hub.db import MAX_ID
from hub.errors import InvalidInput, NotFound
from hub.inbox.access import get_visible_conversation, visible_conversations
from hub.inbox.attachments import attachments_of
from hub.inbox.auth import Principal
from hub.inbox.contacts import phones_and_emails, proven_phones_and_emails
from hub.inbox.items import items_of
from hub.inbox.models import (
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationStatus,
    Message,
    Operator,
)
from hub.inbox.reads import unread_counts
from hub.inbox.serialize import contact_dict, conversation_dict, iso, message_dict
from hub.inbox.tracking_view import hits_in

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    status: str | None = None
    assignee: str | None = None  # "me", "unassigned" or an operator id
    channel_id: int | None = None
    q: str | None = None
    cursor: str | None = None
    limit: int = 25


async def operator_names(session: AsyncSession, messages: list[Message]) -> dict[int, str]:
    """The names of the operators who wrote ``messages``, by id."""
    ids = {m.sender_operator_id for m in messages if m.sender_operator_id}
    if not ids:
        return {}
    rows = await session.execute(select(Operator.id, Operator.name).where(Operator.id.in_(ids)))
    return {op_id: name for op_id, name in rows.all()}


def encode_cursor(ts: datetime, row_id: int) -> str:
    raw = json.dumps([ts.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, row_id = json.loads(raw)
        when, row = datetime.fromisoformat(ts), int(row_id)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidInput(
            "the cursor is not one this API gave out", code="invalid_cursor"
        ) from exc
    # A forged cursor must not reach the database: a naive time or a huge id fails there (500).
    if when.tzinfo is None or not 0 <= row <= MAX_ID:
        raise InvalidInput("the cursor is not one this API gave out", code="invalid_cursor")
    return when, row


def casefold_like(column: Any, needle: str, dialect: str) -> ColumnElement[bool]:
    """Case-blind substring match in any script (SQLite's own lower() knows only ASCII)."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lower = func.hub_lower if dialect == "sqlite" else func.lower
    return lower(column).like(f"%{escaped}%", escape="\\")


def _conversation_filters(
    principal: Principal, flt: ConversationFilter, dialect: str
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [visible_conversations(principal)]
    if flt.status is not None:
        if flt.status not in {s.value for s in ConversationStatus}:
            raise InvalidInput(f"unknown status {flt.status!r}", code="invalid_status")
        conds.append(Conversation.status == flt.status)
    if flt.assignee is not None:
        if flt.assignee == "me":
            conds.append(Conversation.assignee_id == principal.operator_id)
        elif flt.assignee == "unassigned":
            conds.append(Conversation.assignee_id.is_(None))
        elif flt.assignee.isascii() and flt.assignee.isdigit() and len(flt.assignee) <= 18:
            # Beyond the id range no operator has the id (and PostgreSQL would overflow).
            conds.append(Conversation.assignee_id == min(int(flt.assignee), MAX_ID))
        else:
            raise InvalidInput("assignee must be me, unassigned or an id", code="invalid_assignee")
    if flt.channel_id is not None:
        conds.append(Conversation.channel_id == flt.channel_id)
    if flt.q:
        q = flt.q.strip()
        if len(q) > 200:
            raise InvalidInput("the search text is too long", code="invalid_query")
        needle_phone = "".join(ch for ch in q if ch.isdigit())
        # Contact is joined in the list query, so its columns are matched directly.
        contact_match = or_(
            casefold_like(Contact.search_text, q, dialect),
            *(
                [Contact.search_text.like(f"%{needle_phone[-10:]}%")]
                if len(needle_phone) >= 5
                else []
            ),
        )
        message_match = select(Message.id).where(
            Message.conversation_id == Conversation.id,
            casefold_like(Message.body, q, dialect),
        )
        conds.append(or_(contact_match, exists(message_match)))
    return conds


async def list_conversations(
    ctx: HubContext, principal: Principal, flt: ConversationFilter
) -> dict[str, Any]:
    """Newest activity first, ``limit`` at a time; ``next_cursor`` fetches the next page. Each
    carries the principal's own unread count (``reads``)."""
    limit = max(1, min(flt.limit, MAX_PAGE))
    dialect = ctx.engine.dialect.name
    conds = _conversation_filters(principal, flt, dialect)
    if flt.cursor:
        ts, row_id = decode_cursor(flt.cursor)
        conds.append(
            or_(
                Conversation.last_activity_at < ts,
                and_(Conversation.last_activity_at == ts, Conversation.id < row_id),
            )
        )

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = (
            await session.execute(
                select(Conversation, Contact, Channel)
                .join(Contact, Contact.id == Conversation.contact_id)
                .join(Channel, Channel.id == Conversation.channel_id)
                .where(*conds)
                .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                .limit(limit + 1)
            )
        ).all()
        page = rows[:limit]
        mine = await unread_counts(session, principal.operator_id, [c for c, _, _ in page])
        items = [
            {**conversation_dict(c, ct, ch), "my_unread_count": mine[c.id]} for c, ct, ch in page
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1][0]
            next_cursor = encode_cursor(last.last_activity_at, last.id)
        return {"items": items, "next_cursor": next_cursor}

    return await ctx.read(query)


async def get_conversation(
    ctx: HubContext, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    async def query(session: AsyncSession) -> dict[str, Any]:
        conv = await get_visible_conversation(session, principal, conversation_id)
        contact = await session.get(Contact, conv.contact_id)
        channel = await session.get(Channel, conv.channel_id)
        data = conversation_dict(conv, contact, channel)
        mine = await unread_counts(session, principal.operator_id, [conv])
        data["my_unread_count"] = mine[conv.id]
        if conv.assignee_id is not None:
            op = await session.get(Operator, conv.assignee_id)
            data["assignee"] = {"id": op.id, "name": op.name} if op else None
        return data

    return await ctx.read(query)


async def list_messages(
    ctx: HubContext,
    principal: Principal,
    conversation_id: int,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Messages oldest first; ``before_id`` pages back through history, ``after_id`` forward."""
    limit = max(1, min(limit, MAX_PAGE))

    async def query(session: AsyncSession) -> dict[str, Any]:
        conv = await get_visible_conversation(session, principal, conversation_id)
        stmt = select(Message).where(Message.conversation_id == conv.id)
        if after_id is not None:
            stmt = stmt.where(Message.id > after_id).order_by(Message.id.asc())
        else:
            if before_id is not None:
                stmt = stmt.where(Message.id < before_id)
            stmt = stmt.order_by(Message.id.desc())
        msgs = list((await session.scalars(stmt.limit(limit + 1))).all())
        more = len(msgs) > limit
        msgs = msgs[:limit]
        if after_id is None:
            msgs.reverse()
        ops = await operator_names(session, msgs)
        contact = await session.get(Contact, conv.contact_id)
        names = {contact.id: contact.name} if contact else {}
        files = await attachments_of(session, [m.id for m in msgs])
        kinds = await items_of(session, [m.id for m in msgs])
        items = [message_dict(m, ops, names, files.get(m.id), kinds.get(m.id)) for m in msgs]
        return {"items": items, "has_more": more}

    return await ctx.read(query)


async def get_contact(ctx: HubContext, principal: Principal, contact_id: int) -> dict[str, Any]:
    """A contact card: identities, phones, emails, every visible conversation, the contact's
    leads and the deals the principal may see, newest first."""

    async def query(session: AsyncSession) -> dict[str, Any]:
        contact = await session.get(Contact, contact_id)
        convs = []
        if contact is not None:
            convs = list(
                (
                    await session.execute(
                        select(Conversation, Channel)
                        .join(Channel, Channel.id == Conversation.channel_id)
                        .where(
                            Conversation.contact_id == contact.id, visible_conversations(principal)
                        )
                        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                    )
                ).all()
            )
        # Without a conversation he may see, an operator sees the card of a customer whose
        # deal he owns (one made by hand with it has no conversation yet).
        if contact is None or (
            not principal.is_staff
            and not convs
            and await session.scalar(
                select(Contact.id).where(
                    Contact.id == contact_id, contact_visible(principal, Contact.id)
                )
            )
            is None
        ):
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        phones, emails = await phones_and_emails(session, contact.id)
        idents = (
            await session.execute(
                select(ContactIdentity, Channel)
                .join(Channel, Channel.id == ContactIdentity.channel_id)
                .where(ContactIdentity.contact_id == contact.id)
                .order_by(ContactIdentity.id)
            )
        ).all()
        identities = [
            {
                "channel_id": ch.id,
                "channel_type": ch.type,
                "external_id": ident.external_id,
                "created_at": iso(ident.created_at),
            }
            for ident, ch in idents
        ]
        data = contact_dict(contact, phones, emails, identities)
        data["verified_phones"], data["verified_emails"] = await proven_phones_and_emails(
            session, contact.id
        )
        data["conversations"] = [conversation_dict(c, None, ch) for c, ch in convs]
        data.update(await contact_sales(session, principal, contact.id))
        data["email_tracking"] = await hits_in(session, [c.id for c, _ in convs])
        return data

    return await ctx.read(query)
