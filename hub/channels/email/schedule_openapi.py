"""The OpenAPI description of the scheduled emails' routes (``schedule_routes``)."""

from __future__ import annotations

from typing import Any

from hub.channels.email.responses import ScheduledEmailOut, ScheduledEmailsOut
from hub.channels.email.schedule_routes import (
    STATUSES,
    ScheduledEditIn,
    ScheduleNewEmailIn,
    ScheduleReplyIn,
)
from hub.http.openapi_build import OPERATOR, op, path_id, query

TIME_ERRORS = (
    "422 invalid_send_at, send_at_in_past, send_at_too_far (more than a year ahead), "
    "invalid_timezone"
)
STATUS = query(
    "status",
    "Which to list: scheduled (the default), sent, cancelled, failed, or all",
    enum=(*STATUSES, "all"),
)
CHANGE_ERRORS = (
    "409 scheduled_email_sent, scheduled_email_sending (a worker is sending it right now), "
    "scheduled_email_cancelled, scheduled_email_failed; 404 scheduled_email_not_found (also "
    "another operator's)"
)

SCHEDULE_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/conversations/{conversation_id}/scheduled_emails": {
        "post": op(
            "Schedule a reply in an email conversation for send_at (read in time_zone, the "
            "company's by default). At its time it becomes the conversation's reply, sent "
            "through the outbox like one sent at once. " + TIME_ERRORS + "; 422 "
            "not_email_channel, empty_body, invalid_reply_to, too_many_scheduled (200 waiting)",
            body=ScheduleReplyIn,
            answer=ScheduledEmailOut,
            ok=201,
            auth=OPERATOR,
            params=[path_id("conversation_id")],
        ),
        "get": op(
            "The conversation's scheduled emails you may see (yours; staff: everyone's), "
            "soonest first",
            answer=ScheduledEmailsOut,
            auth=OPERATOR,
            params=[path_id("conversation_id"), STATUS],
            errors=(400, 401, 404),
        ),
    },
    "/api/v1/contacts/{contact_id}/scheduled_emails": {
        "post": op(
            "Schedule a new email to a contact for send_at: at its time it opens its own "
            "conversation as POST /api/v1/contacts/{contact_id}/emails does. Without files. "
            + TIME_ERRORS
            + "; the new email's own errors (not_email_channel, contact_has_no_email, "
            "invalid_to, invalid_subject, empty_body, address_suppressed; 409 "
            "email_of_another_contact)",
            body=ScheduleNewEmailIn,
            answer=ScheduledEmailOut,
            ok=201,
            auth=OPERATOR,
            params=[path_id("contact_id")],
            errors=(400, 401, 404, 409, 413, 422),
        )
    },
    "/api/v1/scheduled_emails": {
        "get": op(
            "Scheduled emails, soonest first: your own; managers and admins see everyone's "
            "(operator=me for their own, or an operator's id)",
            answer=ScheduledEmailsOut,
            auth=OPERATOR,
            params=[
                STATUS,
                query("operator", "me, or an operator's id (staff)"),
                query("limit", "At most this many (1-200, default 200)", "integer"),
            ],
            errors=(400, 401),
        )
    },
    "/api/v1/scheduled_emails/{scheduled_id}": {
        "get": op(
            "One scheduled email (yours; staff: anyone's)",
            answer=ScheduledEmailOut,
            auth=OPERATOR,
            params=[path_id("scheduled_id")],
            errors=(400, 401, 404),
        ),
        "patch": op(
            "Edit a scheduled email before it goes: body, subject (a new email's; 422 "
            "subject_not_editable for a reply), send_at and time_zone. "
            + TIME_ERRORS
            + "; "
            + CHANGE_ERRORS,
            body=ScheduledEditIn,
            answer=ScheduledEmailOut,
            auth=OPERATOR,
            params=[path_id("scheduled_id")],
            errors=(400, 401, 404, 409, 413, 422),
        ),
    },
    "/api/v1/scheduled_emails/{scheduled_id}/cancel": {
        "post": op(
            "Cancel a scheduled email before it goes (it stays listed as cancelled). "
            + CHANGE_ERRORS,
            answer=ScheduledEmailOut,
            auth=OPERATOR,
            params=[path_id("scheduled_id")],
            errors=(400, 401, 404, 409),
        )
    },
}

SCHEDULE_MODELS = (
    ScheduleReplyIn,
    ScheduleNewEmailIn,
    ScheduledEditIn,
    ScheduledEmailOut,
    ScheduledEmailsOut,
)
