"""Helpers of the sales tests: run the lead intake, make a lead or a deal, read the outbox."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.app import INTAKE
from hub.crm_sync.models import SyncRecord
from hub.http import CTX
from tests.helpers import Op, customer_says


async def run_intake(client: TestClient) -> None:  # type: ignore[type-arg]
    await client.app[INTAKE].run_once()


async def make_lead(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    op: Op,
    external_id: str,
    name: str = "Ivan Petrov",
    **contact: Any,
) -> dict[str, Any]:
    said = await customer_says(
        client, channel, "Hello", external_id=external_id, name=name, **contact
    )
    await run_intake(client)
    resp = await client.get("/api/v1/leads?status=all", headers=op.headers)
    assert resp.status == 200, await resp.text()
    for lead in (await resp.json())["items"]:
        if lead["conversation_id"] == said["conversation"]["id"]:
            return dict(lead)
    raise AssertionError(f"no lead for conversation {said['conversation']['id']}")


async def make_deal(
    client: TestClient,  # type: ignore[type-arg]
    channel: dict[str, Any],
    op: Op,
    external_id: str,
    name: str = "Ivan Petrov",
) -> dict[str, Any]:
    lead = await make_lead(client, channel, op, external_id, name)
    resp = await client.post(f"/api/v1/leads/{lead['id']}/qualify", headers=op.headers)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def outbox(client: TestClient) -> list[tuple[str, str, int]]:  # type: ignore[type-arg]
    rows = await client.app[CTX].read(
        lambda s: s.execute(
            select(SyncRecord.event, SyncRecord.entity, SyncRecord.entity_id).order_by(
                SyncRecord.id
            )
        )
    )
    return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def stages(client: TestClient, op: Op) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get("/api/v1/pipelines", headers=op.headers)
    assert resp.status == 200
    pipeline = next(p for p in (await resp.json())["items"] if p["is_default"])
    return list(pipeline["stages"])
