"""Building blocks of the OpenAPI document (``hub.http.openapi``): operations, parameters, auth.

Kept apart so that the document's parts (the core API in ``hub.http.openapi``, the channels'
routes in ``hub.channels.http.openapi``) describe their routes the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
COOKIE: list[dict[str, list[str]]] = [{"session": []}]
#: An operator's routes take his bearer token or the web inbox's session cookie; with the
#: cookie, a request from another Origin, or one that changes something without the CSRF
#: token, answers 403 (``op`` lists it).
OPERATOR: list[dict[str, list[str]]] = [*BEARER, *COOKIE]
ERROR = {"$ref": "#/components/schemas/Error"}
#: Answers without a body: switching to a WebSocket, and "done, nothing to say".
NO_CONTENT = (101, 204)

#: What every operation that touches the database may answer while it is away.
DATABASE_UNAVAILABLE: dict[str, Any] = {
    "description": "The database did not answer within HUB_DB_TIMEOUT_S, or refused the "
    "connection: code database_unavailable. Nothing is wrong with the request; send it again "
    "after Retry-After seconds. A write that timed out may still have been stored: send it "
    "again with the same idempotency key (external_message_id, client_id).",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again (HUB_DB_RETRY_AFTER_S)",
            "required": True,
            "schema": {"type": "integer"},
        }
    },
    "content": {"application/json": {"schema": ERROR}},
}


def body_of(model: type[BaseModel] | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return {
        "required": True,
        "content": {"application/json": {"schema": schema_ref(model)}},
    }


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _answer_schema(summary: str, kind: str, answer: type[BaseModel] | None) -> dict[str, Any]:
    if kind != "application/json":
        return {"type": "string"}
    if answer is None:
        raise TypeError(f"{summary!r} answers JSON: name its model with answer=")
    return schema_ref(answer)


def op(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    answer: type[BaseModel] | None = None,
    ok: int = 200,
    also_ok: tuple[int, ...] = (),
    auth: list[dict[str, list[str]]] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (400, 401, 404, 413, 422),
    content_type: str | tuple[str, ...] = "application/json",
    db: bool = True,
) -> dict[str, Any]:
    """An operation; ``answer`` is the model of its JSON success answer, ``also_ok`` other
    success statuses with that answer; ``content_type`` is the success answer's type, or each
    type it may have (``image/*`` for any image); ``db=False`` for the few that never touch the
    database (the others may answer 503 ``database_unavailable``)."""
    success: dict[str, Any] = {"description": "OK"}
    if ok not in NO_CONTENT:
        types = (content_type,) if isinstance(content_type, str) else content_type
        success["content"] = {
            kind: {"schema": _answer_schema(summary, kind, answer)} for kind in types
        }
    responses: dict[str, Any] = {str(code): dict(success) for code in (ok, *also_ok)}
    if auth is not None and COOKIE[0] in auth and 403 not in errors:
        errors = tuple(sorted((*errors, 403)))
    for code in errors:
        responses[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": ERROR}},
        }
    if db:
        responses["503"] = {"$ref": "#/components/responses/DatabaseUnavailable"}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if auth is not None:
        op["security"] = auth
    if params:
        op["parameters"] = params
    request_body = body_of(body)
    if request_body:
        op["requestBody"] = request_body
    return op


def path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def query(
    name: str,
    description: str,
    kind: str = "string",
    *,
    enum: Iterable[str] = (),
    pattern: str | None = None,
) -> dict[str, Any]:
    """A query parameter; given, it has a value (an empty one is a 400 unless it is free text)
    and is given once."""
    schema: dict[str, Any] = {"type": kind}
    if enum:
        schema["enum"] = [str(value) for value in enum]
    if pattern is not None:
        schema["pattern"] = pattern
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
