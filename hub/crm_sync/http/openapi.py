"""The sales part of the OpenAPI document: leads, deals, pipelines, tasks, contact merges.

Kept apart from ``hub.http.openapi`` (like ``hub.channels.http.openapi``) so the sales
routes are described in one place; the document merges these paths and models in.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.crm_sync.models import DealStatus, LeadStatus, TaskStatus
from hub.crm_sync.responses import (
    DealDetailOut,
    DealOut,
    DealsOut,
    DuplicatesOut,
    LeadOut,
    LeadsOut,
    LostReasonOut,
    LostReasonsOut,
    MergeOut,
    PipelineOut,
    PipelinesOut,
    TaskOut,
    TasksOut,
)
from hub.crm_sync.schemas import (
    DealIn,
    DealPatch,
    LinkIn,
    LostIn,
    LostReasonIn,
    MergeIn,
    PipelineIn,
    ReasonIn,
    RejectIn,
    StageIn,
    TaskIn,
)
from hub.http.openapi_build import OPERATOR
from hub.http.openapi_build import op as _op
from hub.http.openapi_build import path_id as _path_id
from hub.http.openapi_build import query as _query

LEAD = [_path_id("lead_id")]
DEAL = [_path_id("deal_id")]
CHANGE_ERRORS = (400, 401, 404, 409, 413, 422)

CRM_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/leads": {
        "get": _op(
            "Leads, newest first: those waiting in incoming unless status says otherwise",
            answer=LeadsOut,
            auth=OPERATOR,
            params=[
                _query(
                    "status",
                    "incoming (default), qualified, linked, rejected or all",
                    enum=[*LeadStatus, "all"],
                ),
                _query("limit", "1 to 200, default 50", "integer"),
            ],
        ),
    },
    "/api/v1/leads/{lead_id}/qualify": {
        "post": _op(
            "Qualify a lead: a deal on the default pipeline's first stage, owned by the caller; "
            "answers the new deal",
            answer=DealOut,
            ok=201,
            auth=OPERATOR,
            params=LEAD,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/leads/{lead_id}/link": {
        "post": _op(
            "Link a lead to an existing deal; its conversation joins the deal",
            body=LinkIn,
            answer=LeadOut,
            auth=OPERATOR,
            params=LEAD,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/leads/{lead_id}/reject": {
        "post": _op(
            "Reject a lead (spam, not a customer) with a reason",
            body=RejectIn,
            answer=LeadOut,
            auth=OPERATOR,
            params=LEAD,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/deals": {
        "get": _op(
            "Deals, last changed first, with per-stage counts and sums of all that match "
            "(stages[])",
            answer=DealsOut,
            auth=OPERATOR,
            params=[
                _query("pipeline_id", "a pipeline id", "integer"),
                _query("stage_id", "a stage id", "integer"),
                _query("status", "open, won or lost", enum=DealStatus),
                _query("owner", "me or an operator id", pattern="^(me|[0-9]+)$"),
                _query("source", "a channel type (widget, api, telegram…)"),
                _query("contact_id", "a contact id", "integer"),
                _query("limit", "1 to 500, default 200", "integer"),
            ],
        ),
        "post": _op(
            "Create a deal directly (amount is a decimal string, currency defaults to RUB) for "
            "a contact (contact_id) or a customer made with it (new_contact: name and a phone "
            "or an email, normalised; 409 contact_exists when that phone or email is a known "
            "contact's, named when the caller may see him; 422 contact_details_required, "
            "invalid_phone, invalid_email, contact_required)",
            body=DealIn,
            answer=DealOut,
            ok=201,
            auth=OPERATOR,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/deals/{deal_id}": {
        "get": _op(
            "A deal with its conversations, stage changes, tasks and their timeline",
            answer=DealDetailOut,
            auth=OPERATOR,
            params=DEAL,
        ),
        "patch": _op(
            "Change a deal's title, amount, currency or owner",
            body=DealPatch,
            answer=DealOut,
            auth=OPERATOR,
            params=DEAL,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/deals/{deal_id}/stage": {
        "post": _op(
            "Move a deal to another open stage; backwards only with a reason",
            body=StageIn,
            answer=DealOut,
            auth=OPERATOR,
            params=DEAL,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/deals/{deal_id}/won": {
        "post": _op(
            "Mark a deal won", answer=DealOut, auth=OPERATOR, params=DEAL, errors=CHANGE_ERRORS
        ),
    },
    "/api/v1/deals/{deal_id}/lost": {
        "post": _op(
            "Mark a deal lost with a reason (a configured one or free text); the stage it was "
            "lost in is kept",
            body=LostIn,
            answer=DealOut,
            auth=OPERATOR,
            params=DEAL,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/deals/{deal_id}/reopen": {
        "post": _op(
            "Reopen a won or lost deal into the stage it was closed from, with a reason",
            body=ReasonIn,
            answer=DealOut,
            auth=OPERATOR,
            params=DEAL,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/pipelines": {
        "get": _op("Pipelines with their stages", answer=PipelinesOut, auth=OPERATOR),
        "post": _op(
            "Create a pipeline (managers, admins): open stages in order, then won and lost",
            body=PipelineIn,
            answer=PipelineOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 413, 422),
        ),
    },
    "/api/v1/lost-reasons": {
        "get": _op("The configured lost reasons", answer=LostReasonsOut, auth=OPERATOR),
        "post": _op(
            "Add a lost reason at the end of the list (managers, admins)",
            body=LostReasonIn,
            answer=LostReasonOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/tasks": {
        "get": _op(
            "Tasks, soonest due first, each with an overdue flag; operators see theirs",
            answer=TasksOut,
            auth=OPERATOR,
            params=[
                _query(
                    "status", "open (default), done, cancelled or all", enum=[*TaskStatus, "all"]
                ),
                _query("assignee", "me or an operator id", pattern="^(me|[0-9]+)$"),
                _query("deal_id", "a deal id", "integer"),
                _query("contact_id", "a contact id", "integer"),
                _query("overdue", "true: only open tasks past their due time", "boolean"),
                _query(
                    "due_before",
                    "only open tasks due before this time (ISO 8601 with offset): the inbox "
                    "lists those due by the end of the day, overdue ones first",
                ),
                _query("limit", "1 to 500, default 100", "integer"),
            ],
        ),
        "post": _op(
            "Create a task on a deal or contact (assigned to the caller unless assignee_id)",
            body=TaskIn,
            answer=TaskOut,
            ok=201,
            auth=OPERATOR,
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/tasks/{task_id}/complete": {
        "post": _op(
            "Complete a task",
            answer=TaskOut,
            auth=OPERATOR,
            params=[_path_id("task_id")],
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/contacts/{contact_id}/merge": {
        "post": _op(
            "Merge contact other_id into this one (conversations, deals, leads, identities, "
            "phones, emails, tasks move); answers the merge record with what moved",
            body=MergeIn,
            answer=MergeOut,
            ok=201,
            auth=OPERATOR,
            params=[_path_id("contact_id")],
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/contacts/merges/{merge_id}/undo": {
        "post": _op(
            "Undo a merge: exactly the rows it moved go back",
            answer=MergeOut,
            auth=OPERATOR,
            params=[_path_id("merge_id")],
            errors=CHANGE_ERRORS,
        ),
    },
    "/api/v1/contacts/{contact_id}/duplicates": {
        "get": _op(
            "Contacts that are (exact: same phone, email or verified identity) or may be "
            "(weak: same name) the same person",
            answer=DuplicatesOut,
            auth=OPERATOR,
            params=[_path_id("contact_id")],
        ),
    },
    "/inbox/deals": {
        "get": _op("The pipeline board page", errors=(), content_type="text/html", db=False),
    },
    "/inbox/deals/{deal_id}": {
        "get": _op(
            "The page of one deal with its timeline",
            errors=(400, 404),
            params=DEAL,
            content_type="text/html",
            db=False,
        ),
    },
}

CRM_MODELS: tuple[type[BaseModel], ...] = (
    RejectIn,
    LinkIn,
    DealIn,
    DealPatch,
    StageIn,
    LostIn,
    LostReasonIn,
    ReasonIn,
    PipelineIn,
    TaskIn,
    MergeIn,
    LeadsOut,
    LeadOut,
    DealsOut,
    DealOut,
    DealDetailOut,
    PipelinesOut,
    PipelineOut,
    LostReasonsOut,
    LostReasonOut,
    TasksOut,
    TaskOut,
    MergeOut,
    DuplicatesOut,
)
