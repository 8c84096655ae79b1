"""An operator edits a contact card: name, phones, emails, company and notes.

Phones are stored as E.164 whatever way they are typed, emails lower-cased, so the duplicate
search of the CRM finds the same person again. The lists given replace the stored ones; an
invalid entry refuses the whole edit, so a half-saved card never exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.outbox import record_change
from hub.db import utcnow
from hub.errors import InvalidInput, NotFound
from hub.events import ContactUpdated, Event, Recipients
from hub.inbox.access import can_see
from hub.inbox.auth import Principal
from hub.inbox.contacts import phones_and_emails, refresh_contact_search
from hub.inbox.models import Contact, ContactEmail, ContactPhone, Conversation
from hub.inbox.serialize import contact_dict
from hub.inbox.staff import normalize_email
from hub.phones import normalize_phone

#: Free-text fields of the card kept in ``contact.attributes``, with their length limits.
TEXT_FIELDS = {"company": 200, "notes": 5000}
MAX_PHONES = 10
MAX_EMAILS = 10


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """What the operator changed; ``None`` leaves a field as it is."""

    name: str | None = None
    phones: list[str] | None = None
    emails: list[str] | None = None
    company: str | None = None
    notes: str | None = None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def clean_edit(edit: ContactEdit) -> ContactEdit:
    """Validate and normalise an edit before any write: phones to E.164, emails lower-cased."""
    name = edit.name.strip() if edit.name is not None else None
    if name is not None and len(name) > 200:
        raise InvalidInput("name must be at most 200 characters", code="invalid_name")
    phones = None
    if edit.phones is not None:
        if len(edit.phones) > MAX_PHONES:
            raise InvalidInput(f"at most {MAX_PHONES} phones", code="too_many_phones")
        phones = _unique([normalize_phone(p) for p in edit.phones if p.strip()])
    emails = None
    if edit.emails is not None:
        if len(edit.emails) > MAX_EMAILS:
            raise InvalidInput(f"at most {MAX_EMAILS} emails", code="too_many_emails")
        emails = _unique([normalize_email(e) for e in edit.emails if e.strip()])
    texts: dict[str, str | None] = {}
    for field_name, limit in TEXT_FIELDS.items():
        value = getattr(edit, field_name)
        if value is not None:
            value = value.strip()
            if len(value) > limit:
                raise InvalidInput(
                    f"{field_name} must be at most {limit} characters", code=f"invalid_{field_name}"
                )
        texts[field_name] = value
    return ContactEdit(name, phones, emails, texts["company"], texts["notes"])


async def _replace_phones(session: AsyncSession, contact_id: int, wanted: list[str]) -> None:
    await session.execute(delete(ContactPhone).where(ContactPhone.contact_id == contact_id))
    session.add_all(ContactPhone(contact_id=contact_id, e164=value) for value in wanted)


async def _replace_emails(session: AsyncSession, contact_id: int, wanted: list[str]) -> None:
    await session.execute(delete(ContactEmail).where(ContactEmail.contact_id == contact_id))
    session.add_all(ContactEmail(contact_id=contact_id, email=value) for value in wanted)


async def edit_contact(
    ctx: HubContext, principal: Principal, contact_id: int, edit: ContactEdit
) -> dict[str, Any]:
    """Apply ``edit`` to a contact the operator may see (one of its conversations, or staff)."""
    edit = clean_edit(edit)
    events: list[Event] = []

    async def unit(session: AsyncSession) -> dict[str, Any]:
        events.clear()
        contact = await session.get(Contact, contact_id)
        convs = []
        if contact is not None:
            convs = list(
                (
                    await session.scalars(
                        select(Conversation).where(Conversation.contact_id == contact_id)
                    )
                ).all()
            )
        visible = contact is not None and (
            principal.is_staff or any(can_see(principal, c) for c in convs)
        )
        if contact is None or not visible:
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        if edit.name is not None:
            contact.name = edit.name
        if edit.phones is not None:
            await _replace_phones(session, contact.id, edit.phones)
        if edit.emails is not None:
            await _replace_emails(session, contact.id, edit.emails)
        attributes = dict(contact.attributes)
        for field_name in TEXT_FIELDS:
            value = getattr(edit, field_name)
            if value is not None:
                if value:
                    attributes[field_name] = value
                else:
                    attributes.pop(field_name, None)
        contact.attributes = attributes
        contact.updated_at = utcnow()
        await session.flush()
        await refresh_contact_search(session, contact)
        phones, emails = await phones_and_emails(session, contact.id)
        data = contact_dict(contact, phones, emails, [])
        del data["identities"]
        record_change(
            session, event="contact.updated", entity="contact", entity_id=contact.id, payload=data
        )
        teams = frozenset(c.team_id for c in convs if c.team_id is not None)
        operators = frozenset(c.assignee_id for c in convs if c.assignee_id is not None)
        events.append(ContactUpdated(Recipients(True, teams, operators), data))
        return data

    data = await ctx.write(unit, key=("contact", contact_id))
    await ctx.publish(*events)
    return data
