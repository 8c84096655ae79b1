"""Routes that change pipelines, their stages and the lost reasons (``hub.crm_sync.pipeline_edit``),
with their part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub.crm_sync import pipeline_edit
from hub.crm_sync.responses import LostReasonOut, PipelineOut
from hub.http import CTX, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox.schemas import Strict

routes = web.RouteTableDef()

_POSITION = "Its place among the pipeline's open stages, 0 first"


class PipelinePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_default: bool | None = Field(
        default=None, description="true: new deals go to this pipeline (false is refused)"
    )


class StageNewIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=100, description=_POSITION)


class StagePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=100, description=_POSITION)


class LostReasonPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = Field(
        default=None, description="false: it leaves the list (deals lost for it keep it)"
    )


class EditedLostReasonOut(LostReasonOut):
    active: bool


@routes.patch("/api/v1/pipelines/{pipeline_id}")
async def update_pipeline(request: web.Request) -> web.Response:
    who = await principal(request)
    pipeline_id = int_param(request, "pipeline_id")
    body = await read_json(request, PipelinePatch)
    data = await pipeline_edit.update_pipeline(
        request.app[CTX], who, pipeline_id, name=body.name, is_default=body.is_default
    )
    return json(data)


@routes.post("/api/v1/pipelines/{pipeline_id}/stages")
async def add_stage(request: web.Request) -> web.Response:
    who = await principal(request)
    pipeline_id = int_param(request, "pipeline_id")
    body = await read_json(request, StageNewIn)
    data = await pipeline_edit.add_stage(
        request.app[CTX], who, pipeline_id, body.name, body.position
    )
    return json(data, status=201)


@routes.patch("/api/v1/stages/{stage_id}")
async def update_stage(request: web.Request) -> web.Response:
    who = await principal(request)
    stage_id = int_param(request, "stage_id")
    body = await read_json(request, StagePatch)
    data = await pipeline_edit.update_stage(
        request.app[CTX], who, stage_id, name=body.name, position=body.position
    )
    return json(data)


@routes.delete("/api/v1/stages/{stage_id}")
async def remove_stage(request: web.Request) -> web.Response:
    who = await principal(request)
    stage_id = int_param(request, "stage_id")
    return json(await pipeline_edit.remove_stage(request.app[CTX], who, stage_id))


@routes.patch("/api/v1/lost-reasons/{reason_id}")
async def update_lost_reason(request: web.Request) -> web.Response:
    who = await principal(request)
    reason_id = int_param(request, "reason_id")
    body = await read_json(request, LostReasonPatch)
    data = await pipeline_edit.update_lost_reason(
        request.app[CTX], who, reason_id, name=body.name, active=body.active
    )
    return json(data)


_ERRORS = (400, 401, 403, 404, 409, 413, 422)
#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
PIPELINE_EDIT_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/pipelines/{pipeline_id}": {
        "patch": op(
            "Rename a pipeline or make it the default (managers, admins); pipeline.updated",
            body=PipelinePatch,
            answer=PipelineOut,
            auth=OPERATOR,
            params=[path_id("pipeline_id")],
            errors=_ERRORS,
        ),
    },
    "/api/v1/pipelines/{pipeline_id}/stages": {
        "post": op(
            "Add an open stage (managers, admins), at position among the open stages or after "
            "them; answers the pipeline. A name the pipeline has is 409 stage_exists",
            body=StageNewIn,
            answer=PipelineOut,
            ok=201,
            auth=OPERATOR,
            params=[path_id("pipeline_id")],
            errors=_ERRORS,
        ),
    },
    "/api/v1/stages/{stage_id}": {
        "patch": op(
            "Rename a stage, or move an open one among the open stages (managers, admins); "
            "won and lost stay last (422 closing_stage_fixed); answers the pipeline",
            body=StagePatch,
            answer=PipelineOut,
            auth=OPERATOR,
            params=[path_id("stage_id")],
            errors=_ERRORS,
        ),
        "delete": op(
            "Remove an open stage (managers, admins) that no deal is on or passed through "
            "(else 409 stage_in_use); the last open stage stays; answers the pipeline",
            answer=PipelineOut,
            auth=OPERATOR,
            params=[path_id("stage_id")],
            errors=_ERRORS,
        ),
    },
    "/api/v1/lost-reasons/{reason_id}": {
        "patch": op(
            "Rename a lost reason or retire it (active: false) or bring it back (managers, "
            "admins); lost_reasons.updated",
            body=LostReasonPatch,
            answer=EditedLostReasonOut,
            auth=OPERATOR,
            params=[path_id("reason_id")],
            errors=_ERRORS,
        ),
    },
}
PIPELINE_EDIT_MODELS: tuple[type[BaseModel], ...] = (
    PipelinePatch,
    StageNewIn,
    StagePatch,
    LostReasonPatch,
    EditedLostReasonOut,
)
