"""Finding a customer (``GET /api/v1/contacts?q=``) and making one with his deal («+ Deal»):
name, email and a phone written any local way find him; operators find only the contacts they
may see; pages follow the cursor; a new customer is checked, normalised, and never a second
card for a known phone or email.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.crm_helpers import outbox
from tests.helpers import Op, customer_says, make_api_channel, make_operator, make_team


async def find(client: TestClient, op: Op, q: str, **params: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get("/api/v1/contacts", params={"q": q, **params}, headers=op.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def names(page: dict[str, Any]) -> list[str]:
    return [c["name"] for c in page["items"]]


async def new_deal(client: TestClient, op: Op, **contact: Any) -> Any:  # type: ignore[type-arg]
    return await client.post(
        "/api/v1/deals", json={"new_contact": contact, "title": "Печь"}, headers=op.headers
    )


async def test_a_customer_is_found_by_name_email_and_a_phone_in_any_spelling(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    other_team = await make_team(client)
    mine = await make_api_channel(client, admin, team_id=team)
    theirs = await make_api_channel(client, admin, team_id=other_team)
    await customer_says(
        client, mine, "Здравствуйте", external_id="a", name="Иван Петров",
        phone="+79161234567", email="Ivan.Petrov@Example.org",
    )  # fmt: skip
    await customer_says(
        client, theirs, "Hi", external_id="b", name="Иван Сидоров", phone="+74951230001"
    )
    operator = await make_operator(client, team_ids=[team])

    for q in ("ИВАН петров", "ivan.petrov@example", "8 (916) 123-45-67", "+7 916 123 45 67",
              "9161234567", "123-45-67"):  # fmt: skip
        assert names(await find(client, operator, q)) == ["Иван Петров"], q
    found = (await find(client, operator, "8 916 123 45 67"))["items"][0]
    assert found["phones"] == ["+79161234567"] and found["emails"] == ["ivan.petrov@example.org"]
    # The other team's customer: staff find him, the operator does not.
    assert names(await find(client, operator, "Иван")) == ["Иван Петров"]
    assert sorted(names(await find(client, admin, "иван"))) == ["Иван Петров", "Иван Сидоров"]
    assert names(await find(client, operator, "8 (495) 123-00-01")) == []
    assert names(await find(client, admin, "8 (495) 123-00-01")) == ["Иван Сидоров"]
    assert names(await find(client, admin, "nobody-like-this")) == []

    resp = await client.get("/api/v1/contacts", params={"q": "x" * 201}, headers=admin.headers)
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_query"
    resp = await client.get("/api/v1/contacts", params={"cursor": "forged"}, headers=admin.headers)
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_cursor"
    assert (await client.get("/api/v1/contacts")).status == 401


async def test_pages_follow_the_cursor(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    for n in range(5):
        await customer_says(client, channel, "Hi", external_id=f"c{n}", name=f"Клиент {n}")
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await find(client, admin, "клиент", **params)
        seen += names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Клиент {n}" for n in range(5)] and len(seen) == 5
    assert cursor is None


async def test_a_new_customer_is_made_with_his_deal_and_never_twice(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    other_team = await make_team(client)
    theirs = await make_api_channel(client, admin, team_id=other_team)
    await customer_says(client, theirs, "Hi", external_id="s", name="Пётр", phone="+74951230001")
    operator = await make_operator(client, team_ids=[team])

    resp = await new_deal(client, operator, name="Ольга Смирнова", phone="8 (903) 111-22-33")
    assert resp.status == 201, await resp.text()
    deal = await resp.json()
    assert deal["contact"]["name"] == "Ольга Смирнова" and deal["owner_id"] == operator.id
    # He owns her deal, so he finds her and opens her card, though she wrote nowhere yet.
    found = (await find(client, operator, "+7 903 111-22-33"))["items"]
    assert [c["phones"] for c in found] == [["+79031112233"]]
    card = await client.get(f"/api/v1/contacts/{deal['contact_id']}", headers=operator.headers)
    assert card.status == 200
    assert ("contact.updated", "contact", deal["contact_id"]) in await outbox(client)

    # The same phone again, any spelling: the known contact, named, nothing written.
    resp = await new_deal(client, operator, name="Оля", phone="+79031112233")
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "contact_exists" and f"contact {deal['contact_id']}" in error["message"]
    # Another team's customer's phone: he exists, and is not named to this operator.
    resp = await new_deal(client, operator, name="Кто-то", phone="8 495 123-00-01")
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "contact_exists" and "Пётр" not in error["message"]
    # An email known in another case.
    ok = await new_deal(client, admin, name="Анна", email="Anna@Example.org")
    assert ok.status == 201
    resp = await new_deal(client, admin, name="Анна К.", email="anna@example.ORG")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "contact_exists"

    for bad, code in (
        ({"name": "Без контактов"}, "contact_details_required"),
        ({"name": "", "phone": "+79035550000"}, "invalid_name"),
        ({"name": "Телефон", "phone": "12"}, "invalid_phone"),
        ({"name": "Почта", "email": "not-an-email"}, "invalid_email"),
    ):
        resp = await new_deal(client, admin, **bad)
        assert resp.status == 422 and (await resp.json())["error"]["code"] == code, bad
    resp = await client.post(
        "/api/v1/deals",
        json={
            "contact_id": deal["contact_id"],
            "new_contact": {"name": "X", "phone": "+79035550001"},
        },
        headers=admin.headers,
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "contact_required"
    all_contacts = await find(client, admin, "")
    assert sorted(names(all_contacts)) == ["Анна", "Ольга Смирнова", "Пётр"]
