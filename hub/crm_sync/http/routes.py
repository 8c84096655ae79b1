"""Thin REST handlers of the sales API: parse, call one action or query, answer."""

from __future__ import annotations

from aiohttp import web

from hub.crm_sync import deals, duplicates, leads, merge, pipelines, queries, tasks
from hub.crm_sync.hand_contacts import clean_new_contact
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
from hub.errors import InvalidInput
from hub.http import (
    CTX,
    int_param,
    json,
    principal,
    query_flag,
    query_int,
    query_text,
    query_value,
    read_json,
)

routes = web.RouteTableDef()


def _query_value(request: web.Request, name: str, *, text: bool = False) -> str | None:
    value = query_text(request, name) if text else query_value(request, name)
    if value is not None and len(value) > 100:
        raise InvalidInput(f"{name} is too long", code="invalid_query")
    return value


@routes.get("/api/v1/leads")
async def list_leads(request: web.Request) -> web.Response:
    who = await principal(request)
    status = _query_value(request, "status")
    limit = query_int(request, "limit", 50) or 50
    return json(await queries.list_leads(request.app[CTX], who, status, limit))


@routes.post("/api/v1/leads/{lead_id}/qualify")
async def qualify_lead(request: web.Request) -> web.Response:
    who = await principal(request)
    lead_id = int_param(request, "lead_id")
    return json(await leads.qualify(request.app[CTX], who, lead_id), status=201)


@routes.post("/api/v1/leads/{lead_id}/link")
async def link_lead(request: web.Request) -> web.Response:
    who = await principal(request)
    lead_id = int_param(request, "lead_id")
    body = await read_json(request, LinkIn)
    return json(await leads.link(request.app[CTX], who, lead_id, body.deal_id))


@routes.post("/api/v1/leads/{lead_id}/reject")
async def reject_lead(request: web.Request) -> web.Response:
    who = await principal(request)
    lead_id = int_param(request, "lead_id")
    body = await read_json(request, RejectIn)
    return json(await leads.reject(request.app[CTX], who, lead_id, body.reason))


@routes.get("/api/v1/deals")
async def list_deals(request: web.Request) -> web.Response:
    who = await principal(request)
    flt = queries.DealFilter(
        pipeline_id=query_int(request, "pipeline_id"),
        stage_id=query_int(request, "stage_id"),
        status=_query_value(request, "status"),
        owner=_query_value(request, "owner"),
        source=_query_value(request, "source", text=True),
        contact_id=query_int(request, "contact_id"),
        limit=query_int(request, "limit", 200) or 200,
    )
    return json(await queries.list_deals(request.app[CTX], who, flt))


@routes.post("/api/v1/deals")
async def create_deal(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, DealIn)
    new = body.new_contact
    data = await deals.create_deal(
        request.app[CTX],
        who,
        contact_id=body.contact_id,
        new_contact=None
        if new is None
        else clean_new_contact(
            new.name, [new.phone] if new.phone else [], [new.email] if new.email else []
        ),
        title=body.title,
        amount=None if body.amount is None else str(body.amount),
        currency=body.currency,
        owner_id=body.owner_id,
        pipeline_id=body.pipeline_id,
        stage_id=body.stage_id,
        conversation_id=body.conversation_id,
    )
    return json(data, status=201)


@routes.get("/api/v1/deals/{deal_id}")
async def get_deal(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    return json(await queries.get_deal(request.app[CTX], who, deal_id))


@routes.patch("/api/v1/deals/{deal_id}")
async def update_deal(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    body = await read_json(request, DealPatch)
    fields = body.model_dump(exclude_unset=True)
    if "amount" in fields and fields["amount"] is not None:
        fields["amount"] = str(fields["amount"])
    return json(await deals.update_deal(request.app[CTX], who, deal_id, fields))


@routes.post("/api/v1/deals/{deal_id}/stage")
async def move_stage(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    body = await read_json(request, StageIn)
    data = await deals.move_stage(request.app[CTX], who, deal_id, body.stage_id, body.reason)
    return json(data)


@routes.post("/api/v1/deals/{deal_id}/won")
async def won(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    return json(await deals.close_deal(request.app[CTX], who, deal_id, "won"))


@routes.post("/api/v1/deals/{deal_id}/lost")
async def lost(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    body = await read_json(request, LostIn)
    return json(await deals.close_deal(request.app[CTX], who, deal_id, "lost", body.reason))


@routes.post("/api/v1/deals/{deal_id}/reopen")
async def reopen(request: web.Request) -> web.Response:
    who = await principal(request)
    deal_id = int_param(request, "deal_id")
    body = await read_json(request, ReasonIn)
    return json(await deals.reopen_deal(request.app[CTX], who, deal_id, body.reason))


@routes.get("/api/v1/pipelines")
async def list_pipelines(request: web.Request) -> web.Response:
    await principal(request)
    return json(await pipelines.list_pipelines(request.app[CTX]))


@routes.post("/api/v1/pipelines")
async def create_pipeline(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, PipelineIn)
    data = await pipelines.create_pipeline(
        request.app[CTX],
        who,
        name=body.name,
        stages=body.stages,
        won_name=body.won_name,
        lost_name=body.lost_name,
        is_default=body.is_default,
    )
    return json(data, status=201)


@routes.get("/api/v1/lost-reasons")
async def list_lost_reasons(request: web.Request) -> web.Response:
    await principal(request)
    return json(await pipelines.list_lost_reasons(request.app[CTX]))


@routes.post("/api/v1/lost-reasons")
async def add_lost_reason(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, LostReasonIn)
    return json(await pipelines.add_lost_reason(request.app[CTX], who, body.name), status=201)


@routes.get("/api/v1/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    who = await principal(request)
    status = _query_value(request, "status") or "open"
    flt = tasks.TaskFilter(
        status=None if status == "all" else status[:20],
        assignee=_query_value(request, "assignee"),
        deal_id=query_int(request, "deal_id"),
        contact_id=query_int(request, "contact_id"),
        overdue=query_flag(request, "overdue"),
        due_before=query_text(request, "due_before"),
        limit=query_int(request, "limit", 100) or 100,
    )
    return json(await tasks.list_tasks(request.app[CTX], who, flt))


@routes.post("/api/v1/tasks")
async def create_task(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request, TaskIn)
    data = await tasks.create_task(
        request.app[CTX],
        who,
        title=body.title,
        due_at=body.due_at,
        assignee_id=body.assignee_id,
        deal_id=body.deal_id,
        contact_id=body.contact_id,
    )
    return json(data, status=201)


@routes.post("/api/v1/tasks/{task_id}/complete")
async def complete_task(request: web.Request) -> web.Response:
    who = await principal(request)
    task_id = int_param(request, "task_id")
    return json(await tasks.complete_task(request.app[CTX], who, task_id))


@routes.post("/api/v1/contacts/{contact_id}/merge")
async def merge_contacts(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    body = await read_json(request, MergeIn)
    data = await merge.merge_contacts(request.app[CTX], who, contact_id, body.other_id, body.reason)
    return json(data, status=201)


@routes.post("/api/v1/contacts/merges/{merge_id}/undo")
async def undo_merge(request: web.Request) -> web.Response:
    who = await principal(request)
    merge_id = int_param(request, "merge_id")
    return json(await merge.undo_merge(request.app[CTX], who, merge_id))


@routes.get("/api/v1/contacts/{contact_id}/duplicates")
async def contact_duplicates(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    return json(await duplicates.find_duplicates(request.app[CTX], who, contact_id))
