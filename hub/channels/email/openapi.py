"""The OpenAPI description of the email channel's own route (``ChannelSpec.openapi``)."""

from __future__ import annotations

from typing import Any

from hub.channels.email.responses import NewEmailOut
from hub.channels.email.routes import NewEmailIn
from hub.channels.email.schedule_openapi import SCHEDULE_MODELS, SCHEDULE_PATHS
from hub.channels.spec import ChannelOpenApi
from hub.http.openapi_build import OPERATOR, op, path_id

EMAIL_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/contacts/{contact_id}/emails": {
        "post": op(
            "Start a new email to a contact from an email channel: a new conversation (its "
            "thread, assigned to the writer) whose first message is the email, sent through "
            "the outbox with its subject as written. `to` is one of the contact's emails (his "
            "first when left out); attachment_ids are the writer's own unsent uploads. 422 "
            "not_email_channel, contact_has_no_email, invalid_to, invalid_subject, empty_body, "
            "address_suppressed (the address bounced for good), invalid_attachments; 409 "
            "email_of_another_contact when mail from that address arrives as another contact",
            body=NewEmailIn,
            answer=NewEmailOut,
            ok=201,
            auth=OPERATOR,
            params=[path_id("contact_id")],
            errors=(400, 401, 404, 409, 413, 422),
        )
    },
}

EMAIL_OPENAPI = ChannelOpenApi(
    paths={**EMAIL_PATHS, **SCHEDULE_PATHS}, models=(NewEmailIn, NewEmailOut, *SCHEDULE_MODELS)
)
