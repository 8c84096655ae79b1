"""Input the OpenAPI document forbids is refused, as the document says (found by the
conformance run, tests/test_api_conformance.py): a boolean is not a number, a string of digits
is not an integer, a number is not a date."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.crm_sync.models import Deal, Task
from hub.http import CTX
from tests.crm_helpers import make_deal
from tests.helpers import Op, make_api_channel, make_operator


async def _rows(client: TestClient) -> tuple[int, int, Any]:  # type: ignore[type-arg]
    async def query(session: Any) -> tuple[int, int, Any]:
        deals = await session.scalar(select(func.count(Deal.id)))
        tasks = await session.scalar(select(func.count(Task.id)))
        amounts = (await session.execute(select(Deal.id, Deal.amount_minor))).all()
        return deals, tasks, sorted(amounts)

    return await client.app[CTX].read(query)


async def _refused(client: TestClient, op: Op, method: str, url: str, body: Any) -> None:  # type: ignore[type-arg]
    resp = await client.request(method, url, json=body, headers=op.headers)
    assert resp.status == 422, (url, body, await resp.text())
    assert (await resp.json())["error"]["code"] == "validation_error", body


async def test_booleans_strings_and_numbers_are_not_what_the_document_says(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    deal = await make_deal(client, channel, admin, "strict-1")
    conv = f"/api/v1/conversations/{deal['conversation_id']}"
    before = await _rows(client)
    for body in ({"amount": False}, {"amount": True}, {"owner_id": True}, {"owner_id": "1"}):
        await _refused(client, admin, "PATCH", f"/api/v1/deals/{deal['id']}", body)
    contact = deal["contact_id"]
    for body in (
        {"contact_id": contact, "amount": False},
        {"contact_id": True},
        {"contact_id": str(contact)},
        {"contact_id": float(contact)},
    ):
        await _refused(client, admin, "POST", "/api/v1/deals", body)
    for body in (
        {"title": "Call", "deal_id": True},
        {"title": "Call", "contact_id": True},
        {"title": "Call", "due_at": 1_900_000_000},
    ):
        await _refused(client, admin, "POST", "/api/v1/tasks", body)
    for body in ({"team_id": True}, {"operator_id": True}, {"operator_id": str(admin.id)}):
        await _refused(client, admin, "POST", f"{conv}/assign", body)
    await _refused(client, admin, "POST", f"{conv}/messages", {"body": "x", "private": 1})
    await _refused(
        client, admin, "POST", f"{conv}/status", {"status": "snoozed", "snoozed_until": 1}
    )
    await _refused(client, admin, "PATCH", f"/api/v1/operators/{admin.id}", {"active": 0})
    assert await _rows(client) == before
    # What the document allows still passes: amounts as decimal strings or numbers, dates as
    # ISO strings.
    resp = await client.patch(
        f"/api/v1/deals/{deal['id']}", json={"amount": 1500}, headers=admin.headers
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["amount"] == "1500.00"
    resp = await client.post(
        "/api/v1/tasks",
        json={"title": "Call", "deal_id": deal["id"], "due_at": "2030-01-02T10:00:00+03:00"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()


async def _status(client: TestClient, op: Op, method: str, url: str) -> tuple[int, str]:  # type: ignore[type-arg]
    resp = await client.request(method, url, headers=op.headers)
    data = await resp.json()
    return resp.status, data["error"]["code"] if resp.status >= 400 else "ok"


async def test_query_values_are_given_once_and_not_empty(client: TestClient) -> None:  # type: ignore[type-arg]
    """``limit=`` or ``status=`` is not "the default"; ``limit=1&limit=2`` is not 1; a digit
    that is not ASCII ("²") is not a number (it was a 500)."""
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    deal = await make_deal(client, channel, admin, "strict-2")
    conv = f"/api/v1/conversations/{deal['conversation_id']}"
    refused = [
        "/api/v1/conversations?limit=",
        "/api/v1/conversations?status=",
        "/api/v1/conversations?channel=",
        "/api/v1/conversations?assignee=",
        "/api/v1/conversations?limit=1&limit=2",
        "/api/v1/conversations?status=open&status=resolved",
        f"{conv}/messages?before=",
        f"{conv}/messages?limit=%C2%B2",
        "/api/v1/leads?limit=",
        "/api/v1/leads?status=",
        "/api/v1/deals?stage_id=",
        "/api/v1/deals?status=",
        "/api/v1/deals?owner=",
        "/api/v1/deals?contact_id=1&contact_id=2",
        "/api/v1/tasks?contact_id=",
        "/api/v1/tasks?overdue=",
        "/api/v1/tasks?overdue=1",
        "/api/v1/tasks?status=",
        "/api/v1/reports/funnel?pipeline_id=",
        "/api/v1/reports/sources?pipeline_id=1&pipeline_id=2",
        "/api/v1/canned_responses?q=a&q=b",
    ]
    for url in refused:
        assert await _status(client, admin, "GET", url) == (400, "invalid_query"), url
    for url in (
        "/api/v1/conversations?assignee=%C2%B9",
        "/api/v1/deals?owner=%C2%B2",
        "/api/v1/tasks?assignee=%C2%B2",
    ):
        assert (await _status(client, admin, "GET", url))[0] == 422, url
    for method, url in (
        ("PATCH", "/api/v1/operators/%C2%B2"),
        ("POST", "/api/v1/webhooks/deliveries/%C2%B9/retry"),
        ("GET", "/api/v1/conversations/%C2%B3"),
    ):
        assert await _status(client, admin, method, url) == (400, "invalid_id"), url
    # Free text may be empty; ids beyond the id columns match nothing (no overflow).
    for url in (
        "/api/v1/conversations?q=&cursor=",
        "/api/v1/deals?source=",
        "/api/v1/canned_responses?q=",
        "/api/v1/reports/funnel?from=&to=",
        "/api/v1/tasks?overdue=false",
        "/api/v1/conversations?assignee=99999999999999",
        "/api/v1/deals?owner=9999999999",
        "/api/v1/tasks?assignee=9999999999",
    ):
        assert await _status(client, admin, "GET", url) == (200, "ok"), url
