"""Every answer a test's hub sends, checked against the OpenAPI document.

``conftest.aiohttp_client`` hooks each hub app a test starts in its own process (``hook``); the
app records, as each answer is prepared, its route's documented path and method, the status, the
content type and a JSON body. When the test ends, every recorded answer must be one the document
lists (the status, the content type, or no content for an answer without a body) and a JSON body
must match its schema (JSON Schema 2020-12, formats included). So the whole suite checks the
document, and a field a route starts sending without a model saying so fails the test that saw it.

Answers of no route of the app (404 for an unknown path, 405 for an unknown method) are left out:
no operation describes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema_rs
from aiohttp import web

from hub.channels import registry
from hub.channels.spec import ChannelSpec
from hub.http import CTX
from hub.http.openapi import openapi_document

#: What a failing test prints at most: the first problems are enough to find the drift.
SHOWN = 10


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    path: str
    status: int
    content_type: str
    body: Any = None
    #: The channel types of the hub that sent it: its document has their routes too.
    channels: tuple[str, ...] = tuple(spec.type for spec in registry.BUILT_IN)


#: Each hub's document, by its channel types (a test may register a type of its own).
_SPECS: dict[tuple[str, ...], tuple[ChannelSpec, ...]] = {}


@cache
def _document(channels: tuple[str, ...]) -> dict[str, Any]:
    specs = _SPECS.get(channels, registry.BUILT_IN)
    doc: dict[str, Any] = json.loads(json.dumps(openapi_document("http://hub.test", specs)))
    return doc


@cache
def _validator(channels: tuple[str, ...], method: str, path: str, status: int, kind: str) -> Any:
    doc = _document(channels)
    schema = _response(doc, method, path, status)["content"][kind]["schema"]
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    root["components"] = doc["components"]
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def _response(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    operation = doc["paths"].get(path, {}).get(method, {})
    answer: dict[str, Any] | None = operation.get("responses", {}).get(str(status))
    if answer is None:
        return {}
    ref = answer.get("$ref")
    if isinstance(ref, str):
        found: dict[str, Any] = doc["components"]["responses"][ref.rsplit("/", 1)[-1]]
        return found
    return answer


def problems_of(answer: Answer) -> list[str]:
    """What is wrong with one answer: an undocumented status or content type, or a body that
    does not match the schema (each error with where it is)."""
    where = f"{answer.method.upper()} {answer.path} -> {answer.status}"
    doc = _document(answer.channels)
    if answer.method not in doc["paths"].get(answer.path, {}):
        return [f"{where}: the document has no such operation"]
    documented = _response(doc, answer.method, answer.path, answer.status)
    if not documented:
        return [f"{where}: status not in the document"]
    types: dict[str, Any] = documented.get("content", {})
    kind = answer.content_type
    if not types:
        return [f"{where}: content type {kind}, but the document says no content"] if kind else []
    if not kind:
        return [f"{where}: no content, but the document says {list(types)}"]
    listed = kind if kind in types else f"{kind.split('/')[0]}/*"
    if listed not in types:
        return [f"{where}: content type {kind} not in the document ({list(types)})"]
    if kind != "application/json":
        return []
    validator = _validator(answer.channels, answer.method, answer.path, answer.status, kind)
    return [
        f"{where}: at {'/'.join(map(str, error.instance_path)) or 'the body'}: {error.message}"
        for error in validator.iter_errors(answer.body)
    ]


@dataclass
class AnswerBook:
    """The answers of the hub apps of one test."""

    answers: list[Answer] = field(default_factory=list)

    def hook(self, app: web.Application) -> None:
        """Record ``app``'s answers, if it is a hub (the fakes of providers are not)."""
        if CTX in app:
            specs = app[registry.SPECS]
            _SPECS.setdefault(tuple(spec.type for spec in specs), specs)
            app.on_response_prepare.append(self._record)

    async def _record(self, request: web.Request, response: web.StreamResponse) -> None:
        resource = request.match_info.route.resource
        if resource is None or request.method == "HEAD":
            return
        kind = response.content_type if "Content-Type" in response.headers else ""
        body = None
        if kind == "application/json" and isinstance(response, web.Response):
            raw = response.body
            body = json.loads(raw) if isinstance(raw, bytes | bytearray) else None
        method = request.method.lower()
        channels = tuple(spec.type for spec in request.app[registry.SPECS])
        self.answers.append(
            Answer(method, resource.canonical, response.status, kind, body, channels)
        )

    def problems(self) -> Iterator[str]:
        for answer in self.answers:
            yield from problems_of(answer)

    def check(self) -> None:
        found = list(dict.fromkeys(self.problems()))
        if found:
            shown = "\n".join(found[:SHOWN])
            more = f"\n… and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            raise AssertionError(f"answers the OpenAPI document does not describe:\n{shown}{more}")
