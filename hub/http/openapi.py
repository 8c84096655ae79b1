"""The OpenAPI 3.1 document of every route, served at ``/api/openapi.json``.

Request bodies come from the same pydantic models the routes validate with, so the document
cannot drift from what is accepted; answers are described by the models of ``hub.responses`` and
each area's ``responses``, and the test suite checks every answer it sees against them
(``tests/answer_check.py``). A test checks that every route of the app is described here and
nothing else is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub import __version__
from hub.channels import registry
from hub.channels.http.openapi import CHANNEL_MODELS, CHANNEL_PATHS
from hub.channels.spec import ChannelSpec
from hub.crm_sync.http.contacts import CONTACT_SEARCH_MODELS, CONTACT_SEARCH_PATHS
from hub.crm_sync.http.merges import MERGE_MODELS, MERGE_PATHS
from hub.crm_sync.http.openapi import CRM_MODELS, CRM_PATHS
from hub.crm_sync.http.openapi_numbers import NUMBER_MODELS, NUMBER_PATHS
from hub.crm_sync.http.openapi_reports import REPORT_MODELS, REPORT_PATHS
from hub.crm_sync.http.pipeline_routes import PIPELINE_EDIT_MODELS, PIPELINE_EDIT_PATHS
from hub.crm_sync.http.tracking import TRACKING_MODELS, TRACKING_PATHS
from hub.http.openapi_build import DATABASE_UNAVAILABLE
from hub.http.openapi_build import op as _op
from hub.inbox.http.admin import ADMIN_MODELS, ADMIN_PATHS
from hub.inbox.http.hours import HOURS_MODELS, HOURS_PATHS
from hub.inbox.http.invites import INVITE_MODELS, INVITE_PATHS
from hub.inbox.http.locale import LOCALE_MODELS, LOCALE_PATHS
from hub.inbox.http.openapi import INBOX_MODELS, INBOX_PATHS
from hub.inbox.http.ratings import RATING_MODELS, RATING_PATHS
from hub.inbox.http.routing import ROUTING_MODELS, ROUTING_PATHS
from hub.inbox.http.unread import UNREAD_MODELS, UNREAD_PATHS
from hub.outbound.openapi import WEBHOOKS
from hub.responses import HealthOut, OkOut, OpenApiOut, ReadyOut

#: The service's own routes; each area's are in its ``http.openapi`` (``INBOX_PATHS``…).
PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _op("The process is up", answer=HealthOut, errors=(), db=False)},
    "/readyz": {
        "get": _op("The database and bus answer", answer=ReadyOut, errors=(503,), db=False)
    },
    "/metrics": {"get": _op("Prometheus metrics", errors=(), content_type="text/plain", db=False)},
    "/api/openapi.json": {"get": _op("This document", answer=OpenApiOut, errors=(), db=False)},
    **INBOX_PATHS,
    **CHANNEL_PATHS,
    **CRM_PATHS,
    **REPORT_PATHS,
    **TRACKING_PATHS,
    **RATING_PATHS,
    **ADMIN_PATHS,
    **HOURS_PATHS,
    **PIPELINE_EDIT_PATHS,
    **NUMBER_PATHS,
    **ROUTING_PATHS,
    **UNREAD_PATHS,
    **MERGE_PATHS,
    **LOCALE_PATHS,
    **INVITE_PATHS,
    **CONTACT_SEARCH_PATHS,
}

MODELS: tuple[type[BaseModel], ...] = (
    HealthOut,
    ReadyOut,
    OpenApiOut,
    OkOut,
    *INBOX_MODELS,
    *CHANNEL_MODELS,
    *CRM_MODELS,
    *REPORT_MODELS,
    *TRACKING_MODELS,
    *RATING_MODELS,
    *ADMIN_MODELS,
    *HOURS_MODELS,
    *PIPELINE_EDIT_MODELS,
    *NUMBER_MODELS,
    *ROUTING_MODELS,
    *UNREAD_MODELS,
    *MERGE_MODELS,
    *LOCALE_MODELS,
    *INVITE_MODELS,
    *CONTACT_SEARCH_MODELS,
)


def component_schemas(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    """Every model's schema under its name: the request bodies, the answers, and the models
    they are made of. Two models of one name would be told apart by pydantic with longer
    names; the document wants the short ones, so a clash fails here."""
    names = [model.__name__ for model in models]
    assert len(set(names)) == len(names), "two models of one name in the document"
    _, top = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    assert set(names) <= set(schemas), "a model was renamed in the document"
    return schemas


def openapi_document(
    public_url: str, channels: Sequence[ChannelSpec] | None = None
) -> dict[str, Any]:
    """The document of the core routes and of every channel type's own (``channels``: the app's
    specs, by default every registered type's)."""
    specs = registry.channel_specs() if channels is None else channels
    paths = dict(PATHS)
    models = list(MODELS)
    for spec in specs:
        paths.update(spec.openapi.paths)
        models.extend(spec.openapi.models)
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    "additionalProperties": False,
                }
            },
            "additionalProperties": False,
        }
    }
    schemas.update(component_schemas(models))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hub API",
            "version": __version__,
            "description": "Omnichannel inbox: operators, conversations, channels.",
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "webhooks": WEBHOOKS,
        "components": {
            "schemas": schemas,
            "responses": {"DatabaseUnavailable": DATABASE_UNAVAILABLE},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An operator token from /api/v1/auth/login",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "hub_session",
                    "description": "The web inbox's session from POST /api/v1/auth/session",
                },
                "telegramSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Telegram-Bot-Api-Secret-Token",
                    "description": "The Telegram channel's secret, set with setWebhook",
                },
                "channelSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The channel's secret, shown once at creation",
                },
            },
        },
    }
