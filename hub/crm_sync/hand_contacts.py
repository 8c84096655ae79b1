"""A customer made by hand («+ Deal» on the board, for someone the hub has not met yet): a name
and a phone or an email, checked and stored as everywhere (phones as E.164, emails lower-cased:
``contact_edit.clean_edit``), and never a second card for someone the hub knows.

Before anything is written, the duplicate rules of the CRM (``rules.match_contacts``: the same
phone or email is the same person) are asked: such a contact makes the request a 409
``contact_exists``, which names him when the operator may see him (the page then picks him) and
says only that he exists otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.access import contact_visible
from hub.crm_sync.duplicates import candidate_ids
from hub.crm_sync.outbox import record_change
from hub.crm_sync.rules import ContactKeys
from hub.errors import Conflict, InvalidInput
from hub.inbox.auth import Principal
from hub.inbox.contact_edit import ContactEdit, clean_edit
from hub.inbox.contacts import refresh_contact_search
from hub.inbox.models import Contact, ContactEmail, ContactPhone
from hub.inbox.serialize import contact_dict


@dataclass(frozen=True, slots=True)
class NewContact:
    name: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]


def clean_new_contact(name: str, phones: list[str], emails: list[str]) -> NewContact:
    """Validated and normalised, or ``InvalidInput`` (nothing written yet)."""
    edit = clean_edit(ContactEdit(name=name, phones=phones, emails=emails))
    if not edit.name:
        raise InvalidInput("the customer needs a name", code="invalid_name")
    if not edit.phones and not edit.emails:
        raise InvalidInput(
            "give a phone or an email of the customer", code="contact_details_required"
        )
    return NewContact(edit.name, tuple(edit.phones or ()), tuple(edit.emails or ()))


async def make_contact(
    session: AsyncSession, actor: Principal, new: NewContact, dialect: str
) -> Contact:
    """Store the customer, unless the same phone or email is someone's already (409)."""
    keys = ContactKeys(
        0, new.name, frozenset(new.phones), frozenset(e.casefold() for e in new.emails)
    )
    found = await candidate_ids(session, keys, dialect, exact_only=True)
    if found:
        live = select(Contact.id, Contact.name).where(
            Contact.id.in_(found), Contact.merged_into_id.is_(None)
        )
        seen = (
            await session.execute(
                live.where(contact_visible(actor, Contact.id)).order_by(Contact.id).limit(1)
            )
        ).first()
        if seen is not None:
            raise Conflict(
                f"contact {seen.id} ({seen.name or 'no name'}) has this phone or email: choose him",
                code="contact_exists",
            )
        if (await session.execute(live.limit(1))).first() is not None:
            raise Conflict(
                "a contact with this phone or email exists, one you may not see: ask a manager",
                code="contact_exists",
            )
    contact = Contact(name=new.name)
    session.add(contact)
    await session.flush()
    session.add_all(ContactPhone(contact_id=contact.id, e164=p) for p in new.phones)
    session.add_all(ContactEmail(contact_id=contact.id, email=e) for e in new.emails)
    await session.flush()
    await refresh_contact_search(session, contact)
    data = contact_dict(contact, list(new.phones), list(new.emails), [])
    del data["identities"]
    # Systems that sync contacts learn of him as of any contact whose details changed.
    record_change(
        session, event="contact.updated", entity="contact", entity_id=contact.id, payload=data
    )
    return contact
