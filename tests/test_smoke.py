from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import customer_says, make_api_channel, make_operator


async def test_customer_message_reaches_operator_list(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    out = await customer_says(
        client,
        channel,
        "Здравствуйте, сколько стоит доставка?",
        phone="8 (916) 123-45-67",
        message_id="m1",
    )
    assert out["duplicate"] is False
    again = await customer_says(
        client, channel, "Здравствуйте, сколько стоит доставка?", message_id="m1"
    )
    assert again["duplicate"] is True
    assert again["message"]["id"] == out["message"]["id"]
    resp = await client.get("/api/v1/conversations", headers=admin.headers)
    data = await resp.json()
    assert [c["id"] for c in data["items"]] == [out["conversation"]["id"]]
    resp = await client.get("/api/v1/conversations?q=доставка", headers=admin.headers)
    assert len((await resp.json())["items"]) == 1
    resp = await client.get("/api/v1/conversations?q=ДОСТАВКА", headers=admin.headers)
    assert len((await resp.json())["items"]) == 1
    resp = await client.get("/api/v1/conversations?q=89161234567", headers=admin.headers)
    assert len((await resp.json())["items"]) == 1
    contact = await (
        await client.get(
            f"/api/v1/contacts/{out['conversation']['contact_id']}", headers=admin.headers
        )
    ).json()
    assert contact["phones"] == ["+79161234567"]
