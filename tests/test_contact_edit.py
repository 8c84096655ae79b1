"""Operators edit a contact card: phones in any local spelling become E.164, a bad entry
changes nothing, and another team's contact answers 404."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.crm_sync.models import SyncRecord
from hub.http import CTX
from hub.inbox.models import ContactPhone
from tests.helpers import customer_says, make_api_channel, make_operator, make_team


async def _setup(client: TestClient) -> tuple[Any, Any, Any, int]:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    other_team = await make_team(client)
    alice = await make_operator(client, team_ids=[team])
    stranger = await make_operator(client, team_ids=[other_team])
    channel = await make_api_channel(client, admin, team_id=team)
    sent = await customer_says(client, channel, "Здравствуйте", phone="+79161234567")
    return admin, alice, stranger, int(sent["conversation"]["contact_id"])


async def test_operator_edits_the_card(client: TestClient) -> None:  # type: ignore[type-arg]
    _, alice, _, contact_id = await _setup(client)
    resp = await client.patch(
        f"/api/v1/contacts/{contact_id}",
        json={
            "name": "  Иван Петров ",
            "phones": ["8 (916) 123-45-67", "+7 903 765 43 21", "89161234567"],
            "emails": ["Ivan.Petrov@Example.COM"],
            "company": "ООО Печи",
            "notes": "Звонить после 18:00",
        },
        headers=alice.headers,
    )
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["name"] == "Иван Петров"
    assert data["phones"] == ["+79161234567", "+79037654321"]
    assert data["emails"] == ["ivan.petrov@example.com"]
    assert data["attributes"]["company"] == "ООО Печи"
    assert data["attributes"]["notes"] == "Звонить после 18:00"

    card = await (await client.get(f"/api/v1/contacts/{contact_id}", headers=alice.headers)).json()
    assert card["phones"] == ["+79161234567", "+79037654321"]
    assert card["name"] == "Иван Петров"

    # The conversation list finds the contact by the new phone, typed another local way.
    found = await client.get("/api/v1/conversations?q=9037654321", headers=alice.headers)
    assert [c["contact_id"] for c in (await found.json())["items"]] == [contact_id]

    # Emptying a text field removes it; an omitted field stays.
    resp = await client.patch(
        f"/api/v1/contacts/{contact_id}", json={"company": ""}, headers=alice.headers
    )
    data = await resp.json()
    assert "company" not in data["attributes"]
    assert data["attributes"]["notes"] == "Звонить после 18:00"
    assert data["phones"] == ["+79161234567", "+79037654321"]

    # Each edit is an outbox record for sync out, in the edit's own transaction.
    async with client.app[CTX].sessionmaker() as session:
        events = (
            await session.scalars(
                select(SyncRecord.event).where(
                    SyncRecord.entity == "contact", SyncRecord.entity_id == contact_id
                )
            )
        ).all()
    assert events == ["contact.updated", "contact.updated"]


async def test_a_bad_phone_changes_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    _, alice, _, contact_id = await _setup(client)
    resp = await client.patch(
        f"/api/v1/contacts/{contact_id}",
        json={"name": "Другое имя", "phones": ["+79031112233", "not a phone"]},
        headers=alice.headers,
    )
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "invalid_phone"
    card = await (await client.get(f"/api/v1/contacts/{contact_id}", headers=alice.headers)).json()
    assert card["name"] == "Ivan Petrov"
    async with client.app[CTX].sessionmaker() as session:
        phones = (
            await session.scalars(
                select(ContactPhone.e164).where(ContactPhone.contact_id == contact_id)
            )
        ).all()
    assert phones == ["+79161234567"]

    unknown = await client.patch(
        f"/api/v1/contacts/{contact_id}", json={"nickname": "x"}, headers=alice.headers
    )
    assert unknown.status == 422


async def test_another_teams_contact_is_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    admin, _, stranger, contact_id = await _setup(client)
    resp = await client.patch(
        f"/api/v1/contacts/{contact_id}", json={"name": "Взлом"}, headers=stranger.headers
    )
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "contact_not_found"
    missing = await client.patch(
        "/api/v1/contacts/999999", json={"name": "x"}, headers=admin.headers
    )
    assert missing.status == 404
    card = await (await client.get(f"/api/v1/contacts/{contact_id}", headers=admin.headers)).json()
    assert card["name"] == "Ivan Petrov"
