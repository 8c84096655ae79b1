"""The OpenAPI paths of the sales reports (managers and admins; operators get 403) and of sync
out (admins), part of the document built by ``hub.http.openapi``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.crm_sync.report_responses import (
    CallReportOut,
    EmailTrackingReportOut,
    FunnelOut,
    OperatorReportOut,
    SourceReportOut,
)
from hub.crm_sync.responses import (
    CreatedSubscriptionOut,
    DeliveriesOut,
    SubscriptionOut,
    SubscriptionsOut,
    WebhookDeliveryOut,
)
from hub.crm_sync.subscriptions import DELIVERY_STATUSES
from hub.crm_sync.sync_schemas import WebhookIn, WebhookPatch
from hub.http.openapi_build import OPERATOR
from hub.http.openapi_build import op as _op
from hub.http.openapi_build import path_id as _path_id
from hub.http.openapi_build import query as _query
from hub.responses import OkOut

REPORT_PARAMS = [
    _query(
        "from",
        "start: an ISO date (a day of the company's time zone) or datetime; default 30 days ago",
    ),
    _query("to", "end: an ISO date (that whole day included) or datetime; default now"),
    _query("pipeline_id", "only this pipeline's deals", "integer"),
]
WEBHOOK = [_path_id("webhook_id")]
ADMIN_ERRORS = (400, 401, 403, 404, 413, 422)

REPORT_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/reports/funnel": {
        "get": _op(
            "The period's funnel: leads in, deals created, stage conversion per pipeline, "
            "won/lost, win rate, won sums, deal length, lost reasons by stage, first "
            "response (median, 90th percentile)",
            answer=FunnelOut,
            auth=OPERATOR,
            params=REPORT_PARAMS,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v1/reports/operators": {
        "get": _op(
            "The funnel's figures per deal owner, first response per replying operator",
            answer=OperatorReportOut,
            auth=OPERATOR,
            params=REPORT_PARAMS,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v1/reports/email-tracking": {
        "get": _op(
            "Tracked emails per operator sent in the period: human open and click rates, "
            "machine opens apart (pipeline_id is ignored)",
            answer=EmailTrackingReportOut,
            auth=OPERATOR,
            params=REPORT_PARAMS,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v1/reports/sources": {
        "get": _op(
            "The funnel's figures per source (channel, UTM source, UTM campaign)",
            answer=SourceReportOut,
            auth=OPERATOR,
            params=REPORT_PARAMS,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v1/reports/calls": {
        "get": _op(
            "Calls for a period: answered and missed inbound calls per operator and per "
            "tracking number, and how long missed calls waited to be called back (the next "
            "answered call with the number). pipeline_id is not used",
            answer=CallReportOut,
            auth=OPERATOR,
            params=REPORT_PARAMS,
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v1/webhooks": {
        "get": _op(
            "List webhook subscriptions (admin; never their secrets)",
            answer=SubscriptionsOut,
            auth=OPERATOR,
            errors=(401, 403),
        ),
        "post": _op(
            "Subscribe a URL to lead, deal and contact changes (admin); the signing "
            "secret is in this answer only. A url whose host is or resolves to a non-public "
            "address (private, loopback, link-local, metadata…) answers 422 "
            "destination_not_allowed unless HUB_WEBHOOK_ALLOWED_NETWORKS allows it",
            body=WebhookIn,
            answer=CreatedSubscriptionOut,
            ok=201,
            auth=OPERATOR,
            errors=ADMIN_ERRORS,
        ),
    },
    "/api/v1/webhooks/{webhook_id}": {
        "patch": _op(
            "Change a subscription's name, url, events or active (admin); a non-public url "
            "answers 422 destination_not_allowed, as on creation",
            body=WebhookPatch,
            answer=SubscriptionOut,
            auth=OPERATOR,
            params=WEBHOOK,
            errors=ADMIN_ERRORS,
        ),
        "delete": _op(
            "Delete a subscription with its pending deliveries and log (admin)",
            answer=OkOut,
            auth=OPERATOR,
            params=WEBHOOK,
            errors=ADMIN_ERRORS,
        ),
    },
    "/api/v1/webhooks/{webhook_id}/deliveries": {
        "get": _op(
            "The delivery log, newest first, each delivery with every attempt (admin)",
            answer=DeliveriesOut,
            auth=OPERATOR,
            params=[
                *WEBHOOK,
                _query("status", "pending, delivered or failed", enum=DELIVERY_STATUSES),
                _query("before", "next_before of the previous page", "integer"),
                _query("limit", "1 to 200, default 50", "integer"),
            ],
            errors=ADMIN_ERRORS,
        ),
    },
    "/api/v1/webhooks/deliveries/{delivery_id}/retry": {
        "post": _op(
            "Send a failed delivery again, with a fresh set of attempts (admin)",
            answer=WebhookDeliveryOut,
            auth=OPERATOR,
            params=[_path_id("delivery_id")],
            errors=(400, 401, 403, 404, 409),
        ),
    },
}

REPORT_MODELS: tuple[type[BaseModel], ...] = (
    WebhookIn,
    WebhookPatch,
    FunnelOut,
    OperatorReportOut,
    SourceReportOut,
    EmailTrackingReportOut,
    CallReportOut,
    SubscriptionsOut,
    CreatedSubscriptionOut,
    SubscriptionOut,
    DeliveriesOut,
    WebhookDeliveryOut,
)
