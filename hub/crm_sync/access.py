"""Who may see and act on leads, deals and tasks, and who hears of their changes.

* Managers and admins: everything.
* Operators: a deal they own, or of a contact one of whose conversations they can see (their
  team's or assigned to them); a lead whose contact has such a conversation. A contact they
  may see: one with such a conversation, or one of whose deals they own (a customer made by
  hand with his deal, «+ Deal», has no conversation yet). Acting follows seeing: an operator
  may change every deal he may see.
* Tasks: operators see the tasks assigned to them or made by them; managers see all.

Something one may not see answers 404, so ids cannot be probed. Events go to staff, the deal's
owner, and the teams and assignees of the contact's conversations: exactly those who may see it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.models import Deal, Lead, Task
from hub.errors import NotFound
from hub.events import Recipients
from hub.inbox.access import visible_conversations
from hub.inbox.auth import Principal
from hub.inbox.models import Contact, Conversation


def contact_visible(principal: Principal, contact_id: Any) -> ColumnElement[bool]:
    if principal.is_staff:
        return true()
    return or_(
        exists(
            select(Conversation.id).where(
                Conversation.contact_id == contact_id, visible_conversations(principal)
            )
        ),
        exists(
            select(Deal.id).where(
                Deal.contact_id == contact_id, Deal.owner_id == principal.operator_id
            )
        ),
    )


def visible_deals(principal: Principal) -> ColumnElement[bool]:
    if principal.is_staff:
        return true()
    return or_(Deal.owner_id == principal.operator_id, contact_visible(principal, Deal.contact_id))


def visible_leads(principal: Principal) -> ColumnElement[bool]:
    return contact_visible(principal, Lead.contact_id)


def visible_tasks(principal: Principal) -> ColumnElement[bool]:
    if principal.is_staff:
        return true()
    return or_(
        Task.assignee_id == principal.operator_id, Task.created_by_id == principal.operator_id
    )


async def get_visible_deal(
    session: AsyncSession, principal: Principal, deal_id: int, *, lock: bool = False
) -> Deal:
    """The deal if the principal may see it; ``lock`` holds its row until the transaction ends
    (on PostgreSQL), so two moves of one deal on two processes apply one after the other."""
    stmt = select(Deal).where(Deal.id == deal_id, visible_deals(principal))
    if lock:
        stmt = stmt.with_for_update(of=Deal)
    deal = await session.scalar(stmt)
    if deal is None:
        raise NotFound(f"deal {deal_id} not found", code="deal_not_found")
    return deal


async def get_visible_lead(session: AsyncSession, principal: Principal, lead_id: int) -> Lead:
    lead = await session.scalar(select(Lead).where(Lead.id == lead_id, visible_leads(principal)))
    if lead is None:
        raise NotFound(f"lead {lead_id} not found", code="lead_not_found")
    return lead


async def get_visible_contact(
    session: AsyncSession, principal: Principal, contact_id: int
) -> Contact:
    contact: Contact | None = await session.scalar(
        select(Contact).where(Contact.id == contact_id, contact_visible(principal, Contact.id))
    )
    if contact is None:
        raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
    return contact


async def contact_recipients(
    session: AsyncSession, contact_id: int, *operators: int | None
) -> Recipients:
    """Staff, plus the teams and assignees of the contact's conversations, plus ``operators``."""
    rows = (
        await session.execute(
            select(Conversation.team_id, Conversation.assignee_id).where(
                Conversation.contact_id == contact_id
            )
        )
    ).all()
    teams = frozenset(t for t, _ in rows if t is not None)
    ops = {a for _, a in rows if a is not None} | {o for o in operators if o is not None}
    return Recipients(True, teams, frozenset(ops))
