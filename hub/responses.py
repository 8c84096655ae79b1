"""The shapes of the hub's JSON answers: pydantic models the OpenAPI document is built from.

Routes answer with the dicts of the ``serialize`` functions; these models say what those dicts
hold, and ``tests/answer_check.py`` holds every answer the test suite sees to them, so the
document cannot drift from what the hub sends. Each area keeps its answers beside it
(``hub.inbox.responses``, ``hub.crm_sync.responses``, ``hub.channels.responses``); this module
has the conventions they share and the answers of no area (health, readiness, "done").

Conventions, so that a model says exactly what is sent:

* every model forbids other fields (``additionalProperties: false``): a new field fails the
  check until its model has it;
* ``x: T`` is always sent and never null, ``x: T | None`` always sent and may be null,
  ``x: Omittable[T] = None`` sent only when there is something to say (never null);
* a closed set of values is an enum (the domain's own ``StrEnum`` or a ``Literal``);
* an open map (a channel's settings, a message's ``meta``) is ``dict[str, Any]``, and its
  field's description says what may be in it.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, TypeVar, Union

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")

#: A key left out of the answer when it has nothing to say: not required, and never null.
Omittable: TypeAlias = Union[T, SkipJsonSchema[None]]  # noqa: UP007 - a generic alias


def _without_defaults(schema: dict[str, Any]) -> None:
    """An answer has no defaults: a left-out key is absent, not "null by default"."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class Out(BaseModel):
    """An answer's shape: the fields it sends and no others."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_without_defaults)


class OkOut(Out):
    """Done, nothing more to say (logging out, deleting a subscription)."""

    ok: Literal[True]


class HealthOut(Out):
    status: Literal["ok"]


class ReadyChecksOut(Out):
    database: Literal["ok"]
    bus: Literal["ok"]


class ReadyOut(Out):
    """Both dependencies answer; otherwise the answer is a 503 ``not_ready`` error."""

    status: Literal["ready"]
    checks: ReadyChecksOut


class OpenApiOut(Out):
    """The OpenAPI 3.1 document (its parts are described by the OpenAPI specification)."""

    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    paths: dict[str, Any]
    webhooks: dict[str, Any]
    components: dict[str, Any]
