"""The OpenAPI document and the app's routes stay in step, both ways."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.http import CTX
from hub.http.openapi import openapi_document
from hub.http.openapi_build import OPERATOR
from hub.http.openapi_build import op as make_op
from tests.conftest import base_settings
from tests.helpers import customer_says, make_api_channel, make_operator

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(base_settings(database_url="sqlite+aiosqlite:///:memory:"))
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        method = route.method.upper()
        if method in ("HEAD", "*"):
            continue
        resource = route.resource
        assert resource is not None
        found.add((resource.canonical, method.lower()))
    return found


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_is_documented_and_nothing_else() -> None:
    routes = _app_routes()
    documented = _documented(openapi_document("http://hub.test"))
    assert len(routes) > 10
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations the app does not serve"


def test_document_is_openapi_3_1_with_resolvable_refs() -> None:
    doc = openapi_document("http://hub.test")
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"] == [{"url": "http://hub.test"}]
    schemas = doc["components"]["schemas"]
    assert "Error" in schemas

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return out + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    all_refs = refs(doc)
    assert all_refs
    for ref in all_refs:
        section, _, name = ref.removeprefix("#/components/").partition("/")
        assert ref.startswith("#/components/") and section in ("schemas", "responses"), ref
        assert name in doc["components"][section], ref
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op.get("responses"), f"{method} {path} has no responses"
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path, (path, param["name"])


async def test_served_at_api_openapi_json(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1.")
    assert _documented(doc) == _app_routes()
    public_url = client.app[CTX].settings.public_url
    assert doc == json.loads(json.dumps(openapi_document(public_url)))


def _documents(doc: dict[str, Any], method: str, path: str, status: int, kind: str) -> bool:
    """Whether the document lists this answer: its status, and its content type (or a range
    such as ``image/*``), or no content for an answer without a body."""
    answer = doc["paths"][path][method]["responses"].get(str(status))
    if answer is None:
        return False
    types = answer.get("content", {})
    main = kind.split("/")[0]
    return (not kind and not types) or kind in types or f"{main}/*" in types


async def test_answers_the_conformance_run_found_undocumented(client: TestClient) -> None:  # type: ignore[type-arg]
    """Each answer here was once missing from the document (tests/test_api_conformance.py)."""
    admin = await make_operator(client, role="admin")
    doc = openapi_document("http://hub.test")
    made = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "hi", "content": "Hi!"},
        headers=admin.headers,
    )
    canned = (await made.json())["id"]
    channel = await make_api_channel(client, admin)
    conv_id = (await customer_says(client, channel, "photo"))["conversation"]["id"]
    form = aiohttp.FormData()
    form.add_field(
        "file", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, filename="a.png", content_type="image/png"
    )
    uploaded = await client.post(
        f"/api/v1/conversations/{conv_id}/attachments", data=form, headers=admin.headers
    )
    attachment = (await uploaded.json())["id"]
    seen = [
        ("delete", "/api/v1/canned_responses/{canned_id}", f"/api/v1/canned_responses/{canned}"),
        ("delete", "/api/v1/canned_responses/{canned_id}", "/api/v1/canned_responses/x"),
        ("get", "/api/v1/reports/funnel", "/api/v1/reports/funnel?pipeline_id=x"),
        ("get", "/api/v1/reports/sources", "/api/v1/reports/sources?pipeline_id="),
        ("get", "/widget.js", "/widget.js"),
        ("get", "/inbox/static/{name}", "/inbox/static/inbox.js"),
        ("get", "/inbox/static/{name}", "/inbox/static/inbox.css"),
        ("get", "/api/v1/attachments/{attachment_id}", f"/api/v1/attachments/{attachment}"),
        ("options", "/api/widget/v1/{tail}", "/api/widget/v1/a%0Ab"),
    ]
    for method, path, url in seen:
        resp = await client.request(method, url, headers=admin.headers)
        kind = resp.content_type if "Content-Type" in resp.headers else ""
        assert _documents(doc, method, path, resp.status, kind), (url, resp.status, kind)


def _json_successes(doc: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    return [
        (method, path, status, answer["content"]["application/json"]["schema"])
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status.startswith("2") and "application/json" in answer.get("content", {})
    ]


def test_every_json_success_answer_has_a_model() -> None:
    """No success answer is a bare ``{"type": "object"}``: each names its model."""
    doc = openapi_document("http://hub.test")
    successes = _json_successes(doc)
    assert len(successes) > 50
    bare = [(m, p, s) for m, p, s, schema in successes if "$ref" not in schema]
    assert bare == [], "JSON success answers without a model"
    for _, _, _, schema in successes:
        assert schema["$ref"].removeprefix("#/components/schemas/") in doc["components"]["schemas"]


def test_an_operation_answering_json_must_name_its_model() -> None:
    with pytest.raises(TypeError, match="answer="):
        make_op("Something", auth=OPERATOR)
    page = make_op("A page", errors=(), content_type="text/html")
    assert page["responses"]["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}


def test_answer_models_allow_no_undeclared_field() -> None:
    """Every object an answer holds lists its fields and forbids others, except the maps whose
    keys are open (a channel's settings, a message's meta), which list no fields at all."""
    doc = openapi_document("http://hub.test")
    schemas = doc["components"]["schemas"]
    seen: set[str] = set()
    loose: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                loose.append(where)
        elif node.get("type") == "object" and "additionalProperties" not in node:
            loose.append(f"{where} (an object of no declared shape)")
        for key, value in node.items():
            if key != "$ref":
                walk(value, f"{where}.{key}" if key == "properties" else where)

    for method, path, status, schema in _json_successes(doc):
        walk(schema, f"{method} {path} {status}")
    assert len(seen) > 60
    assert loose == []
