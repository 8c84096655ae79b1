"""The board's pages and scripts are served like the inbox's: a strict Content-Security-Policy,
no inline script; and every sales change's outbox record carries the JSON the API answered."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.crm_sync.models import SyncRecord
from hub.http import CTX
from tests.crm_helpers import make_deal, stages
from tests.helpers import make_api_channel, make_operator


async def test_board_pages_carry_the_content_security_policy(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/inbox/deals", "/inbox/deals/7"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Content-Type"].startswith("text/html")
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        html = await resp.text()
        assert "<script>" not in html and "/inbox/static/deals.js" in html
    for name in ("deals.js", "sales-panel.js"):
        js = await client.get(f"/inbox/static/{name}")
        assert js.status == 200, name
        assert js.headers["Content-Type"].startswith("application/javascript")
        assert js.headers["X-Content-Type-Options"] == "nosniff"
    assert "/inbox/static/sales-panel.js" in await (await client.get("/inbox")).text()
    assert (await client.get("/inbox/static/deals.html")).status == 404
    assert (await client.get("/inbox/deals/abc")).status == 400


async def test_outbox_records_carry_what_the_api_answered(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    created = await make_deal(client, channel, admin, "ob")
    st = await stages(client, admin)
    resp = await client.post(
        f"/api/v1/deals/{created['id']}/stage",
        json={"stage_id": st[1]["id"]},
        headers=admin.headers,
    )
    moved = await resp.json()
    rows = (
        await client.app[CTX].read(
            lambda s: s.execute(
                select(SyncRecord.event, SyncRecord.ordering_key, SyncRecord.payload)
                .where(SyncRecord.entity == "deal")
                .order_by(SyncRecord.id)
            )
        )
    ).all()
    assert [(e, k) for e, k, _ in rows] == [
        ("deal.created", f"deal:{created['id']}"),
        ("deal.updated", f"deal:{created['id']}"),
    ]
    assert rows[0][2] == created
    assert rows[1][2] == moved
    assert moved["amount"] == "0.00" and moved["stage"]["name"] == "Qualified"
