"""Finding a customer: ``GET /api/v1/contacts?q=``, for «+ Deal» and any client.

The text is matched in the contact's name, emails and phones (``Contact.search_text``,
case-blind in every script). A phone written any local way (``8 (916) 123-45-67``) is
normalised to E.164 (``hub.phones``) and found by its stored number; a part of a number (five
digits or more) by its digits. Only contacts the operator may see (``access.contact_visible``),
never a merged one; the most recently changed first, ``limit`` at a time, with a cursor.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import contact_visible
from hub.errors import InvalidInput
from hub.inbox.auth import Principal
from hub.inbox.models import Contact, ContactEmail, ContactPhone
from hub.inbox.queries import MAX_PAGE, casefold_like, decode_cursor, encode_cursor
from hub.inbox.serialize import iso
from hub.phones import normalize_phone


def _matches(q: str, dialect: str) -> ColumnElement[bool]:
    text = q.strip()
    if len(text) > 200:
        raise InvalidInput("the search text is too long", code="invalid_query")
    conditions = [casefold_like(Contact.search_text, text, dialect)]
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 5:
        conditions.append(Contact.search_text.like(f"%{digits[-10:]}%"))
        try:
            e164 = normalize_phone(text)
        except InvalidInput:
            e164 = None
        if e164 is not None:
            conditions.append(
                exists(
                    select(ContactPhone.id).where(
                        ContactPhone.contact_id == Contact.id, ContactPhone.e164 == e164
                    )
                )
            )
    return or_(*conditions)


async def _details(
    session: AsyncSession, ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    phones: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[str]] = defaultdict(list)
    if ids:
        for contact_id, e164 in await session.execute(
            select(ContactPhone.contact_id, ContactPhone.e164)
            .where(ContactPhone.contact_id.in_(ids))
            .order_by(ContactPhone.id)
        ):
            phones[contact_id].append(e164)
        for contact_id, email in await session.execute(
            select(ContactEmail.contact_id, ContactEmail.email)
            .where(ContactEmail.contact_id.in_(ids))
            .order_by(ContactEmail.id)
        ):
            emails[contact_id].append(email)
    return phones, emails


async def search_contacts(
    ctx: HubContext,
    actor: Principal,
    *,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_PAGE))
    conds: list[ColumnElement[bool]] = [
        Contact.merged_into_id.is_(None),
        contact_visible(actor, Contact.id),
    ]
    if q and q.strip():
        conds.append(_matches(q, ctx.engine.dialect.name))
    if cursor:
        ts, row_id = decode_cursor(cursor)
        conds.append(
            or_(Contact.updated_at < ts, and_(Contact.updated_at == ts, Contact.id < row_id))
        )

    async def query(session: AsyncSession) -> dict[str, Any]:
        rows = list(
            (
                await session.scalars(
                    select(Contact)
                    .where(*conds)
                    .order_by(Contact.updated_at.desc(), Contact.id.desc())
                    .limit(limit + 1)
                )
            ).all()
        )
        page = rows[:limit]
        phones, emails = await _details(session, [c.id for c in page])
        items = [
            {
                "id": c.id,
                "name": c.name,
                "phones": phones[c.id],
                "emails": emails[c.id],
                "company": (c.attributes or {}).get("company"),
                "updated_at": iso(c.updated_at),
            }
            for c in page
        ]
        next_cursor = None
        if len(rows) > limit:
            last = page[-1]
            next_cursor = encode_cursor(last.updated_at, last.id)
        return {"items": items, "next_cursor": next_cursor}

    return await ctx.read(query)
