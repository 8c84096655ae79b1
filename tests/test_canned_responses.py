"""Canned responses: every operator reads them, only managers and admins keep them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import make_operator


async def test_managers_keep_and_operators_read(client: TestClient) -> None:  # type: ignore[type-arg]
    manager = await make_operator(client, role="manager")
    operator = await make_operator(client)
    created = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "/Цена", "content": "Печь стоит от 45 000 ₽."},
        headers=manager.headers,
    )
    assert created.status == 201, await created.text()
    item = await created.json()
    assert item["short_code"] == "цена"
    other = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "hello", "content": "Здравствуйте! Чем помочь?"},
        headers=manager.headers,
    )
    assert other.status == 201

    listed = await (await client.get("/api/v1/canned_responses", headers=operator.headers)).json()
    assert [i["short_code"] for i in listed["items"]] == ["hello", "цена"]
    prefixed = await client.get("/api/v1/canned_responses?q=/ЦЕ", headers=operator.headers)
    assert [i["content"] for i in (await prefixed.json())["items"]] == ["Печь стоит от 45 000 ₽."]

    refused = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "mine", "content": "x"},
        headers=operator.headers,
    )
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "manager_required"
    edit_refused = await client.patch(
        f"/api/v1/canned_responses/{item['id']}", json={"content": "x"}, headers=operator.headers
    )
    assert edit_refused.status == 403

    changed = await client.patch(
        f"/api/v1/canned_responses/{item['id']}",
        json={"content": "Печь стоит от 49 000 ₽."},
        headers=manager.headers,
    )
    assert (await changed.json())["content"] == "Печь стоит от 49 000 ₽."

    deleted = await client.delete(f"/api/v1/canned_responses/{item['id']}", headers=manager.headers)
    assert deleted.status == 204
    left = await (await client.get("/api/v1/canned_responses", headers=operator.headers)).json()
    assert [i["short_code"] for i in left["items"]] == ["hello"]


async def test_bad_and_duplicate_codes(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    for code in ("two words", "", "a" * 51, "semi;colon"):
        resp = await client.post(
            "/api/v1/canned_responses",
            json={"short_code": code, "content": "x"},
            headers=admin.headers,
        )
        assert resp.status == 422, code
    first = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "hi", "content": "Hi!"},
        headers=admin.headers,
    )
    assert first.status == 201
    again = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "HI", "content": "Hello"},
        headers=admin.headers,
    )
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "short_code_taken"
    empty = await client.post(
        "/api/v1/canned_responses",
        json={"short_code": "empty", "content": "  "},
        headers=admin.headers,
    )
    assert empty.status == 422
    listed = await (await client.get("/api/v1/canned_responses", headers=admin.headers)).json()
    assert [(i["short_code"], i["content"]) for i in listed["items"]] == [("hi", "Hi!")]
    missing = await client.delete("/api/v1/canned_responses/424242", headers=admin.headers)
    assert missing.status == 404
