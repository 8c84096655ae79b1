"""Contacts: found or made for an inbound message, and their details kept current."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundMessage
from hub.context import HubContext
from hub.errors import NotFound
from hub.events import (
    ContactUpdated,
    Event,
    Recipients,
)
from hub.inbox.models import (
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
)


async def find_or_create_contact(session: AsyncSession, inbound: InboundMessage) -> Contact:
    contact, _identity = await find_or_create_identity(session, inbound)
    return contact


async def find_or_create_identity(
    session: AsyncSession, inbound: InboundMessage
) -> tuple[Contact, ContactIdentity]:
    """The sender's identity on the channel and its contact, made if new; his details added.

    The identity, not the contact, is what his conversations belong to (``identity_id``)."""
    who = inbound.contact
    identity = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.channel_id == inbound.channel_id,
            ContactIdentity.external_id == who.external_id,
        )
    )
    contact = await session.get(Contact, identity.contact_id) if identity is not None else None
    changed = False
    if identity is None or contact is None:
        changed = True
        contact = await surviving_contact(session, inbound.join_contact_id)
        if contact is None:
            contact = Contact(name=who.name or "", attributes={})
            session.add(contact)
            await session.flush()
        elif who.name and not contact.name:
            contact.name = who.name
        identity = ContactIdentity(
            contact_id=contact.id, channel_id=inbound.channel_id, external_id=who.external_id
        )
        session.add(identity)
    elif who.name and (not contact.name or _follows_channel(contact, inbound)):
        contact.name = who.name
        changed = True
    attributes = inbound.contact_attributes_over(contact.attributes)
    if attributes is not None:
        contact.attributes = attributes
    if who.phone:
        phone = await session.scalar(
            select(ContactPhone).where(
                ContactPhone.contact_id == contact.id, ContactPhone.e164 == who.phone
            )
        )
        if phone is None:
            session.add(
                ContactPhone(contact_id=contact.id, e164=who.phone, verified=who.phone_verified)
            )
            changed = True
        elif who.phone_verified and not phone.verified:
            phone.verified = True
    if who.email:
        known = await session.scalar(
            select(ContactEmail.id).where(
                ContactEmail.contact_id == contact.id, ContactEmail.email == who.email
            )
        )
        if known is None:
            session.add(ContactEmail(contact_id=contact.id, email=who.email))
            changed = True
    if changed:
        await session.flush()
        await refresh_contact_search(session, contact)
    return contact, identity


def _follows_channel(contact: Contact, inbound: InboundMessage) -> bool:
    """Whether the contact still bears the name the channel gave him last (so nobody renamed
    him) and the channel now gives another."""
    key = inbound.channel_name_key
    if key is None or contact.name == inbound.contact.name:
        return False
    return bool(contact.name == (contact.attributes or {}).get(key))


async def surviving_contact(session: AsyncSession, contact_id: int | None) -> Contact | None:
    """The contact ``contact_id`` is now, following merges to the one that survived them: what
    a new identity joins, and what a row made for a contact read before a merge belongs to."""
    seen: set[int] = set()
    while contact_id is not None and contact_id not in seen:
        seen.add(contact_id)
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.merged_into_id is None:
            return contact
        contact_id = contact.merged_into_id
    return None


async def phones_and_emails(session: AsyncSession, contact_id: int) -> tuple[list[str], list[str]]:
    """A contact's phones (E.164) and emails, each in the order they were added."""
    phones = await session.scalars(
        select(ContactPhone.e164)
        .where(ContactPhone.contact_id == contact_id)
        .order_by(ContactPhone.id)
    )
    emails = await session.scalars(
        select(ContactEmail.email)
        .where(ContactEmail.contact_id == contact_id)
        .order_by(ContactEmail.id)
    )
    return list(phones.all()), list(emails.all())


async def proven_phones_and_emails(
    session: AsyncSession, contact_id: int
) -> tuple[list[str], list[str]]:
    """The contact's phones and emails that their owner proved; the rest link contacts for
    operators only, and the card says so."""
    phones = await session.scalars(
        select(ContactPhone.e164)
        .where(ContactPhone.contact_id == contact_id, ContactPhone.verified.is_(True))
        .order_by(ContactPhone.id)
    )
    emails = await session.scalars(
        select(ContactEmail.email)
        .where(ContactEmail.contact_id == contact_id, ContactEmail.verified.is_(True))
        .order_by(ContactEmail.id)
    )
    return list(phones.all()), list(emails.all())


async def refresh_contact_search(session: AsyncSession, contact: Contact) -> None:
    """Keep ``search_text`` in step with the contact's name, phones and emails."""
    phones, emails = await phones_and_emails(session, contact.id)
    text = " ".join([contact.name, *phones, *[p.lstrip("+") for p in phones], *emails]).lower()
    if contact.search_text != text:
        contact.search_text = text


async def update_contact_details(
    ctx: HubContext,
    contact_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    only_missing: bool = False,
) -> dict[str, Any]:
    """Set a contact's name and add a phone (E.164) or email (lower-cased) he gave.

    With ``only_missing`` a name is set only where there is none, so what an operator typed is
    not overwritten by a form the visitor fills in later.
    """
    name = name.strip()[:200] if name else None
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        contact = await session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        if name and not (only_missing and contact.name):
            contact.name = name
        has_phone = select(ContactPhone.id).where(
            ContactPhone.contact_id == contact.id, ContactPhone.e164 == phone
        )
        if phone and await session.scalar(has_phone) is None:
            session.add(ContactPhone(contact_id=contact.id, e164=phone))
        has_email = select(ContactEmail.id).where(
            ContactEmail.contact_id == contact.id, ContactEmail.email == email
        )
        if email and await session.scalar(has_email) is None:
            session.add(ContactEmail(contact_id=contact.id, email=email))
        await session.flush()
        await refresh_contact_search(session, contact)
        convs = (
            await session.scalars(select(Conversation).where(Conversation.contact_id == contact.id))
        ).all()
        teams = frozenset(c.team_id for c in convs if c.team_id is not None)
        operators = frozenset(c.assignee_id for c in convs if c.assignee_id is not None)
        data = {"id": contact.id, "name": contact.name}
        events.append(ContactUpdated(Recipients(True, teams, operators), data))
        return data

    data = await ctx.write(unit, key=("contact", contact_id))
    await ctx.publish(*events)
    return data
