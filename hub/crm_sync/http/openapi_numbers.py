"""The OpenAPI paths of a site's pool of tracking numbers (admins), part of the document built
by ``hub.http.openapi``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.crm_sync.http.number_pool import POOL, NumberPoolPatch, PoolNumberIn
from hub.crm_sync.number_responses import NumberPoolOut, NumberPoolReportOut
from hub.http.openapi_build import OPERATOR, op, path_id, query

CHANNEL = [path_id("channel_id")]
ERRORS = (400, 401, 403, 404, 413, 422)
WHY = (
    "Admins only (403 admin_required); the channel's type must show numbers on a site "
    "(capability number_insertion, else 422 number_insertion_unsupported)"
)

NUMBER_PATHS: dict[str, dict[str, Any]] = {
    POOL: {
        "get": op(
            "The site's pool of tracking numbers (dynamic number insertion): its numbers, "
            "which are held now, its default number, and its usage per day. " + WHY,
            answer=NumberPoolReportOut,
            auth=OPERATOR,
            params=[
                *CHANNEL,
                query("days", "days of usage, today included: 1 to 90, 14", "integer"),
            ],
            errors=ERRORS,
        ),
        "patch": op(
            "Set or clear the pool's default number, shown when every number is held; "
            "409 number_in_pool for a tracking number. " + WHY,
            body=NumberPoolPatch,
            answer=NumberPoolOut,
            auth=OPERATOR,
            params=CHANNEL,
            errors=(*ERRORS, 409),
        ),
    },
    POOL + "/numbers": {
        "post": op(
            "Put a number into the pool (made with its first number); any spelling, stored in "
            "E.164 (422 invalid_phone); a number in any pool already, or a pool's default, "
            "answers 409 number_in_pool. " + WHY,
            body=PoolNumberIn,
            answer=NumberPoolOut,
            ok=201,
            auth=OPERATOR,
            params=CHANNEL,
            errors=(*ERRORS, 409),
        ),
    },
    POOL + "/numbers/{number_id}": {
        "delete": op(
            "Take a number out of the pool; the visits that held it keep attributing calls "
            "made while they held it. " + WHY,
            answer=NumberPoolOut,
            auth=OPERATOR,
            params=[*CHANNEL, path_id("number_id")],
            errors=ERRORS,
        ),
    },
}

NUMBER_MODELS: tuple[type[BaseModel], ...] = (
    PoolNumberIn,
    NumberPoolPatch,
    NumberPoolOut,
    NumberPoolReportOut,
)
