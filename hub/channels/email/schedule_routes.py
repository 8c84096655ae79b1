"""The routes of scheduled emails (``scheduling``): schedule a reply or a new email, list,
read, edit and cancel them. Importing it imports no mail library."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.email.new_email import MAX_SUBJECT, NewEmail
from hub.channels.email.scheduled_models import ScheduleStatus
from hub.channels.email.scheduled_queries import MAX_PENDING, get_scheduled, list_scheduled
from hub.channels.email.scheduling import (
    Edit,
    cancel_scheduled,
    edit_scheduled,
    schedule_new_email,
    schedule_reply,
)
from hub.errors import DomainError
from hub.http import CTX, int_param, json, principal, query_int, query_value, read_json
from hub.inbox.schemas import Id

routes = web.RouteTableDef()

SEND_AT = Field(
    min_length=16,
    max_length=40,
    description="YYYY-MM-DDTHH:MM, the wall clock in time_zone; or a moment with its offset",
)
TIME_ZONE = Field(
    default=None,
    min_length=1,
    max_length=64,
    description="An IANA time zone (Europe/Moscow); the company's when left out",
)
STATUSES = tuple(s.value for s in ScheduleStatus)


class ScheduleReplyIn(BaseModel):
    """A reply in an email conversation, to go at ``send_at``."""

    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)
    send_at: str = SEND_AT
    time_zone: str | None = TIME_ZONE
    reply_to_id: Id | None = None
    #: Open and click tracking of the reply when it goes (when the channel tracks at all).
    tracking: bool = True


class ScheduleNewEmailIn(BaseModel):
    """A new email to a contact (its own conversation when it goes), to go at ``send_at``."""

    model_config = ConfigDict(extra="forbid")
    channel_id: Id
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=100_000)
    to: str | None = Field(default=None, max_length=320)
    send_at: str = SEND_AT
    time_zone: str | None = TIME_ZONE
    #: Open and click tracking of the email when it goes (when the channel tracks at all).
    tracking: bool = True


class ScheduledEditIn(BaseModel):
    """What changes; a field left out stays. A time zone alone keeps the clock reading."""

    model_config = ConfigDict(extra="forbid")
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, min_length=1, max_length=MAX_SUBJECT)
    send_at: str | None = Field(default=None, min_length=16, max_length=40)
    time_zone: str | None = TIME_ZONE


@routes.post("/api/v1/conversations/{conversation_id}/scheduled_emails")
async def schedule_a_reply(request: web.Request) -> web.Response:
    who = await principal(request)
    conversation_id = int_param(request, "conversation_id")
    body = await read_json(request, ScheduleReplyIn)
    data = await schedule_reply(
        request.app[CTX],
        who,
        conversation_id,
        body.body,
        body.send_at,
        body.time_zone,
        body.reply_to_id,
        body.tracking,
    )
    return json(data, status=201)


@routes.get("/api/v1/conversations/{conversation_id}/scheduled_emails")
async def conversation_scheduled(request: web.Request) -> web.Response:
    who = await principal(request)
    conversation_id = int_param(request, "conversation_id")
    data = await list_scheduled(
        request.app[CTX], who, status=_status(request), conversation_id=conversation_id
    )
    return json(data)


@routes.post("/api/v1/contacts/{contact_id}/scheduled_emails")
async def schedule_an_email(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    body = await read_json(request, ScheduleNewEmailIn)
    email = NewEmail(
        channel_id=body.channel_id,
        subject=body.subject,
        body=body.body,
        to=body.to,
        tracking=body.tracking,
    )
    data = await schedule_new_email(
        request.app[CTX], who, contact_id, email, body.send_at, body.time_zone
    )
    return json(data, status=201)


def _status(request: web.Request) -> str | None:
    raw = query_value(request, "status") or ScheduleStatus.SCHEDULED.value
    if raw == "all":
        return None
    if raw not in STATUSES:
        raise DomainError(
            f"status must be one of {', '.join(STATUSES)} or all", code="invalid_query"
        )
    return raw


@routes.get("/api/v1/scheduled_emails")
async def all_scheduled(request: web.Request) -> web.Response:
    who = await principal(request)
    operator = query_value(request, "operator")
    operator_id = who.operator_id if operator == "me" else None
    if operator not in (None, "me"):
        operator_id = query_int(request, "operator")
    limit = query_int(request, "limit", MAX_PENDING) or MAX_PENDING
    data = await list_scheduled(
        request.app[CTX],
        who,
        status=_status(request),
        operator_id=operator_id,
        limit=min(limit, MAX_PENDING),
    )
    return json(data)


@routes.get("/api/v1/scheduled_emails/{scheduled_id}")
async def one_scheduled(request: web.Request) -> web.Response:
    who = await principal(request)
    return json(await get_scheduled(request.app[CTX], who, int_param(request, "scheduled_id")))


@routes.patch("/api/v1/scheduled_emails/{scheduled_id}")
async def edit(request: web.Request) -> web.Response:
    who = await principal(request)
    scheduled_id = int_param(request, "scheduled_id")
    body = await read_json(request, ScheduledEditIn)
    change = Edit(
        body=body.body, subject=body.subject, send_at=body.send_at, time_zone=body.time_zone
    )
    return json(await edit_scheduled(request.app[CTX], who, scheduled_id, change))


@routes.post("/api/v1/scheduled_emails/{scheduled_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    who = await principal(request)
    scheduled_id = int_param(request, "scheduled_id")
    return json(await cancel_scheduled(request.app[CTX], who, scheduled_id))
