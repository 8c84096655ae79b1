"""Duplicate suggestions for a contact: the candidates found in the database, judged by
``rules.match_contacts`` (exact: same phone, email or verified identity; weak: same name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.access import contact_visible, get_visible_contact
from hub.crm_sync.rules import ContactKeys, match_contacts, match_reason
from hub.inbox.auth import Principal
from hub.inbox.models import Channel, Contact, ContactEmail, ContactIdentity, ContactPhone

MAX_CANDIDATES = 50
#: Widget identities proven with identifier_hash are "user:<the site's id>".
VERIFIED_PREFIX = "user:"


async def contact_keys(session: AsyncSession, contact: Contact) -> ContactKeys:
    phones = (
        await session.execute(
            select(ContactPhone.e164, ContactPhone.verified).where(
                ContactPhone.contact_id == contact.id
            )
        )
    ).all()
    emails = (
        await session.execute(
            select(ContactEmail.email, ContactEmail.verified).where(
                ContactEmail.contact_id == contact.id
            )
        )
    ).all()
    idents = await session.execute(
        select(Channel.type, ContactIdentity.external_id)
        .join(Channel, Channel.id == ContactIdentity.channel_id)
        .where(ContactIdentity.contact_id == contact.id)
    )
    verified = frozenset(
        f"{kind}:{ext}" for kind, ext in idents.all() if ext.startswith(VERIFIED_PREFIX)
    )
    return ContactKeys(
        contact.id,
        contact.name,
        frozenset(p for p, _ in phones),
        frozenset(e.casefold() for e, _ in emails),
        verified,
        proven_phones=frozenset(p for p, proven in phones if proven),
        proven_emails=frozenset(e.casefold() for e, proven in emails if proven),
    )


async def candidate_ids(
    session: AsyncSession, keys: ContactKeys, dialect: str, *, exact_only: bool = False
) -> set[int]:
    """Contacts worth comparing: the same phone, email or identity (by index), and unless
    ``exact_only`` the same last seven digits of a phone or the same name."""
    found: set[int] = set()
    if keys.phones and exact_only:
        rows = await session.scalars(
            select(ContactPhone.contact_id).where(ContactPhone.e164.in_(keys.phones))
        )
        found |= set(rows.all())
    elif keys.phones:
        tails = [p[-7:] for p in keys.phones]
        rows = await session.scalars(
            select(ContactPhone.contact_id).where(
                or_(*(ContactPhone.e164.like(f"%{tail}") for tail in tails))
            )
        )
        found |= set(rows.all())
    if keys.emails:  # stored lower-cased (normalize_email), so the index serves this
        rows = await session.scalars(
            select(ContactEmail.contact_id).where(ContactEmail.email.in_(keys.emails))
        )
        found |= set(rows.all())
    if keys.verified:
        externals = [v.split(":", 1)[1] for v in keys.verified]
        rows = await session.scalars(
            select(ContactIdentity.contact_id).where(ContactIdentity.external_id.in_(externals))
        )
        found |= set(rows.all())
    if keys.name.strip() and not exact_only:
        lower = func.hub_lower if dialect == "sqlite" else func.lower
        rows = await session.scalars(
            select(Contact.id).where(lower(Contact.name) == keys.name.strip().lower()).limit(100)
        )
        found |= set(rows.all())
    found.discard(keys.id)
    return found


async def exact_duplicates(
    session: AsyncSession, contact: Contact, dialect: str
) -> list[tuple[int, str]]:
    """Unmerged contacts that share a phone, email or verified identity, oldest first, with
    why (``rules.match_reason``: which of the shared keys nobody verified)."""
    keys = await contact_keys(session, contact)
    out = []
    candidates = await candidate_ids(session, keys, dialect, exact_only=True)
    for other in await _load(session, candidates):
        other_keys = await contact_keys(session, other)
        match = match_contacts(keys, other_keys)
        if match is not None and match.strength.value == "exact":
            out.append((other.id, match_reason(keys, other_keys, match.reasons)))
    return sorted(out)


async def _load(session: AsyncSession, ids: set[int]) -> list[Contact]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Contact)
        .where(Contact.id.in_(ids), Contact.merged_into_id.is_(None))
        .order_by(Contact.id)
        .limit(MAX_CANDIDATES)
    )
    return list(rows.all())


async def find_duplicates(ctx: HubContext, actor: Principal, contact_id: int) -> dict[str, Any]:
    dialect = ctx.engine.dialect.name

    async def query(session: AsyncSession) -> dict[str, Any]:
        contact = await get_visible_contact(session, actor, contact_id)
        keys = await contact_keys(session, contact)
        ids = await candidate_ids(session, keys, dialect)
        if ids and not actor.is_staff:
            visible = await session.scalars(
                select(Contact.id).where(Contact.id.in_(ids), contact_visible(actor, Contact.id))
            )
            ids = set(visible.all())
        items: list[dict[str, Any]] = []
        for other in await _load(session, ids):
            match = match_contacts(keys, await contact_keys(session, other))
            if match is not None:
                items.append(
                    {
                        "contact": {"id": other.id, "name": other.name},
                        "strength": match.strength.value,
                        "reasons": list(match.reasons),
                    }
                )
        items.sort(key=lambda i: (i["strength"] != "exact", i["contact"]["id"]))
        return {"items": items}

    return await ctx.read(query)
