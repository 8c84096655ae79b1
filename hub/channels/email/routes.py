"""The email channel's own route: ``POST /api/v1/contacts/{contact_id}/emails``, an operator's
new email to a contact (``new_email``). Importing it imports no mail library."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.email.new_email import MAX_SUBJECT, NewEmail, send_new_email
from hub.http import CTX, int_param, json, principal, read_json
from hub.inbox.schemas import Id

routes = web.RouteTableDef()


class NewEmailIn(BaseModel):
    """A new email: from which email channel, to which of the contact's addresses (his first
    when left out), its subject, its text and the operator's uploaded files."""

    model_config = ConfigDict(extra="forbid")
    channel_id: Id
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(default="", max_length=100_000)
    to: str | None = Field(default=None, max_length=320)
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)
    #: Open and click tracking of this email (when the channel tracks at all).
    tracking: bool = True


@routes.post("/api/v1/contacts/{contact_id}/emails")
async def new_email(request: web.Request) -> web.Response:
    who = await principal(request)
    contact_id = int_param(request, "contact_id")
    body = await read_json(request, NewEmailIn)
    data = await send_new_email(
        request.app[CTX],
        who,
        contact_id,
        NewEmail(
            channel_id=body.channel_id,
            subject=body.subject,
            body=body.body,
            to=body.to,
            attachment_ids=list(body.attachment_ids),
            tracking=body.tracking,
        ),
    )
    return json(data, status=201)
