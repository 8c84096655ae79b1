"""Request bodies of the sales API, validated by pydantic; unknown fields are refused.

Amounts are decimal strings ("150000.00"); a JSON number is accepted too and read exactly.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from hub.inbox.schemas import Id, Strict

Amount = str | int | float
Reason = str


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class LinkIn(Strict):
    deal_id: Id


class NewContactIn(Strict):
    """A customer the hub does not know yet: a name and a phone or an email (or both)."""

    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="In any local spelling")
    email: str | None = Field(default=None, max_length=320)


class DealIn(Strict):
    contact_id: Id | None = Field(default=None, description="The customer; or new_contact")
    new_contact: NewContactIn | None = Field(
        default=None,
        description="A customer made with the deal (409 contact_exists when his phone or email "
        "is a known contact's)",
    )
    title: str | None = Field(default=None, max_length=300)
    amount: Amount | None = None
    currency: str | None = Field(default=None, max_length=3)
    owner_id: Id | None = None
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    conversation_id: Id | None = None


class DealPatch(Strict):
    title: str | None = Field(default=None, max_length=300)
    amount: Amount | None = None
    currency: str | None = Field(default=None, max_length=3)
    owner_id: Id | None = None


class StageIn(Strict):
    stage_id: Id
    reason: str | None = Field(default=None, max_length=2000)


class LostIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class ReasonIn(Strict):
    reason: str | None = Field(default=None, max_length=2000)


class PipelineIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    stages: list[str] = Field(min_length=1, max_length=20)
    won_name: str = Field(default="Won", max_length=200)
    lost_name: str = Field(default="Lost", max_length=200)
    is_default: bool = False


class TaskIn(Strict):
    title: str = Field(min_length=1, max_length=300)
    due_at: AwareDatetime | None = None
    assignee_id: Id | None = None
    deal_id: Id | None = None
    contact_id: Id | None = None


class MergeIn(Strict):
    other_id: Id
    reason: str = Field(default="", max_length=2000)


class LostReasonIn(Strict):
    name: str = Field(min_length=1, max_length=200)
