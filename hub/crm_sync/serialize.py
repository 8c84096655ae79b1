"""The JSON shapes of leads, deals, pipelines, tasks and merges.

The same dict is the REST answer, the socket event's data and the outbox record's payload, so
an outside system gets exactly what the API shows. Amounts leave as decimal strings
("150000.00") with their currency: exact, whatever the client's number type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from hub.crm_sync.models import (
    ContactMerge,
    Deal,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
    Task,
    TaskStatus,
)
from hub.crm_sync.rules import format_amount
from hub.inbox.serialize import iso


def stage_dict(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "pipeline_id": stage.pipeline_id,
        "name": stage.name,
        "position": stage.position,
        "kind": stage.kind,
    }


def pipeline_dict(pipeline: Pipeline, stages: list[Stage]) -> dict[str, Any]:
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "is_default": pipeline.is_default,
        "created_at": iso(pipeline.created_at),
        "stages": [stage_dict(s) for s in sorted(stages, key=lambda s: (s.position, s.id))],
    }


def lost_reason_dict(reason: LostReason) -> dict[str, Any]:
    return {"id": reason.id, "name": reason.name, "position": reason.position}


class LeadLike(Protocol):
    """What ``lead_dict`` reads: an ORM ``Lead``, or the row of a lead the intake has just
    inserted (``intake_batch``, which makes no ORM object for it)."""

    @property
    def id(self) -> int: ...
    @property
    def contact_id(self) -> int: ...
    @property
    def conversation_id(self) -> int | None: ...
    @property
    def channel_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def source_channel(self) -> str | None: ...
    @property
    def utm_source(self) -> str | None: ...
    @property
    def utm_medium(self) -> str | None: ...
    @property
    def utm_campaign(self) -> str | None: ...
    @property
    def referrer(self) -> str | None: ...
    @property
    def source(self) -> dict[str, Any]: ...
    @property
    def deal_id(self) -> int | None: ...
    @property
    def reject_reason(self) -> str | None: ...
    @property
    def decided_by_id(self) -> int | None: ...
    @property
    def decided_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


def lead_dict(lead: LeadLike, contact_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": lead.id,
        "contact_id": lead.contact_id,
        "conversation_id": lead.conversation_id,
        "channel_id": lead.channel_id,
        "status": lead.status,
        "source": {
            "channel": lead.source_channel,
            "utm_source": lead.utm_source,
            "utm_medium": lead.utm_medium,
            "utm_campaign": lead.utm_campaign,
            "referrer": lead.referrer,
            **dict(lead.source),
        },
        "deal_id": lead.deal_id,
        "reject_reason": lead.reject_reason,
        "decided_by_id": lead.decided_by_id,
        "decided_at": iso(lead.decided_at),
        "created_at": iso(lead.created_at),
    }
    if contact_name is not None:
        out["contact"] = {"id": lead.contact_id, "name": contact_name}
    return out


def deal_dict(
    deal: Deal,
    stage: Stage | None = None,
    *,
    contact_name: str | None = None,
    owner_name: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": deal.id,
        "title": deal.title,
        "amount": format_amount(deal.amount_minor),
        "currency": deal.currency,
        "contact_id": deal.contact_id,
        "owner_id": deal.owner_id,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "status": deal.status,
        "conversation_id": deal.conversation_id,
        "source": {
            "channel": deal.source_channel,
            "utm_source": deal.utm_source,
            "utm_campaign": deal.utm_campaign,
        },
        "lost_reason": deal.lost_reason,
        "lost_stage_id": deal.lost_stage_id,
        "created_by_id": deal.created_by_id,
        "created_at": iso(deal.created_at),
        "updated_at": iso(deal.updated_at),
        "closed_at": iso(deal.closed_at),
    }
    if stage is not None:
        out["stage"] = {"id": stage.id, "name": stage.name, "kind": stage.kind}
    if contact_name is not None:
        out["contact"] = {"id": deal.contact_id, "name": contact_name}
    if owner_name is not None:
        out["owner"] = {"id": deal.owner_id, "name": owner_name}
    return out


def stage_change_dict(change: StageChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "deal_id": change.deal_id,
        "from_stage_id": change.from_stage_id,
        "to_stage_id": change.to_stage_id,
        "direction": change.direction,
        "reason": change.reason,
        "operator_id": change.operator_id,
        "created_at": iso(change.created_at),
    }


def task_dict(task: Task, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "kind": task.kind,
        "due_at": iso(task.due_at),
        "assignee_id": task.assignee_id,
        "deal_id": task.deal_id,
        "contact_id": task.contact_id,
        "status": task.status,
        "overdue": task.status == TaskStatus.OPEN.value
        and task.due_at is not None
        and task.due_at < now,
        "created_by_id": task.created_by_id,
        "created_at": iso(task.created_at),
        "done_at": iso(task.done_at),
    }


def merge_dict(merge: ContactMerge) -> dict[str, Any]:
    return {
        "id": merge.id,
        "kept_id": merge.kept_id,
        "merged_id": merge.merged_id,
        "reason": merge.reason,
        "operator_id": merge.operator_id,
        "moved": dict(merge.moved),
        "created_at": iso(merge.created_at),
        "undone_at": iso(merge.undone_at),
        "undone_by_id": merge.undone_by_id,
    }
