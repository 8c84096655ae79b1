"""Contact merges move everything of one contact to another, log why and who, and undo
restores precisely; duplicate suggestions tell exact from weak matches."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.crm_sync.models import ContactMerge, Deal, Lead, Task
from hub.http import CTX
from hub.inbox.models import (
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    Message,
)
from tests.crm_helpers import make_deal, make_lead, outbox
from tests.helpers import customer_says, make_api_channel, make_operator, make_team


async def _snapshot(client: TestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    async def query(session):  # type: ignore[no-untyped-def]
        out: dict[str, Any] = {}
        for name, model, cols in [
            ("conversations", Conversation, ("id", "contact_id")),
            ("deals", Deal, ("id", "contact_id")),
            ("leads", Lead, ("id", "contact_id")),
            ("identities", ContactIdentity, ("id", "contact_id")),
            ("phones", ContactPhone, ("id", "contact_id", "e164")),
            ("emails", ContactEmail, ("id", "contact_id", "email")),
            ("tasks", Task, ("id", "contact_id")),
            ("messages", Message, ("id", "sender_contact_id")),
            ("contacts", Contact, ("id", "name", "merged_into_id", "search_text")),
        ]:
            rows = (await session.scalars(select(model).order_by(model.id))).all()
            out[name] = [tuple(getattr(r, c) for c in cols) for r in rows]
        return out

    return await client.app[CTX].read(query)


async def test_merge_moves_everything_and_undo_restores_exactly(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    second = await make_api_channel(client, admin)
    kept_deal = await make_deal(client, channel, admin, "k", name="Ivan")
    await customer_says(client, channel, "hi", external_id="k", name="Ivan", phone="+79160000001")
    merged_deal = await make_deal(client, second, admin, "m", name="Иван Петров")
    await customer_says(
        client, second, "me", external_id="m", phone="+79160000001", email="ivan@x.ru"
    )
    await customer_says(client, second, "me2", external_id="m", phone="+79160000002")
    await client.post(
        "/api/v1/tasks",
        json={"title": "Call", "contact_id": merged_deal["contact_id"]},
        headers=admin.headers,
    )
    kept, gone = kept_deal["contact_id"], merged_deal["contact_id"]
    before = await _snapshot(client)
    resp = await client.post(
        f"/api/v1/contacts/{kept}/merge",
        json={"other_id": gone, "reason": "same person, two channels"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    merge = await resp.json()
    assert merge["reason"] == "same person, two channels" and merge["operator_id"] == admin.id
    moved = merge["moved"]
    assert moved["deals"] == [merged_deal["id"]]
    assert len(moved["conversations"]) == 1 and len(moved["identities"]) == 1
    assert len(moved["phones"]) == 1  # +79160000002; the kept contact has +79160000001
    assert len(moved["emails"]) == 1 and len(moved["tasks"]) == 1 and len(moved["leads"]) == 1
    card = await (await client.get(f"/api/v1/contacts/{kept}", headers=admin.headers)).json()
    assert len(card["conversations"]) == 2 and len(card["deals"]) == 2
    assert set(card["phones"]) == {"+79160000001", "+79160000002"}
    assert card["emails"] == ["ivan@x.ru"]
    loser = await (await client.get(f"/api/v1/contacts/{gone}", headers=admin.headers)).json()
    assert loser["merged_into_id"] == kept
    senders = (await _snapshot(client))["messages"]
    assert {s for _, s in senders if s is not None} == {kept}
    twice = await client.post(
        f"/api/v1/contacts/{kept}/merge", json={"other_id": gone}, headers=admin.headers
    )
    assert twice.status == 409
    undo = await client.post(f"/api/v1/contacts/merges/{merge['id']}/undo", headers=admin.headers)
    assert undo.status == 200, await undo.text()
    assert (await undo.json())["undone_by_id"] == admin.id
    assert await _snapshot(client) == before
    again = await client.post(f"/api/v1/contacts/merges/{merge['id']}/undo", headers=admin.headers)
    assert again.status == 409
    records = [(e, ent) for e, ent, _ in await outbox(client)]
    assert ("contact.merged", "contact") in records and ("contact.unmerged", "contact") in records
    stored = await client.app[CTX].read(lambda s: s.get(ContactMerge, merge["id"]))
    assert stored.undone_at is not None


async def test_merge_refusals(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    channel = await make_api_channel(client, admin)
    theirs = await make_api_channel(client, admin, team_id=team)
    a = await make_lead(client, channel, admin, "a")
    b = await make_lead(client, theirs, admin, "b")
    op = await make_operator(client, team_ids=[team])
    same = await client.post(
        f"/api/v1/contacts/{a['contact_id']}/merge",
        json={"other_id": a["contact_id"]},
        headers=admin.headers,
    )
    assert same.status == 422
    hidden = await client.post(
        f"/api/v1/contacts/{b['contact_id']}/merge",
        json={"other_id": a["contact_id"]},
        headers=op.headers,
    )
    assert hidden.status == 404  # he cannot see contact a
    merged = await client.post(
        f"/api/v1/contacts/{a['contact_id']}/merge",
        json={"other_id": b["contact_id"]},
        headers=admin.headers,
    )
    merge_id = (await merged.json())["id"]
    # Only staff and the operator who merged may undo.
    assert (
        await client.post(f"/api/v1/contacts/merges/{merge_id}/undo", headers=op.headers)
    ).status == 404


async def test_duplicate_suggestions(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    me = await customer_says(
        client, channel, "a", external_id="d1", name="Ivan Petrov", phone="+79161234567"
    )
    await customer_says(
        client, channel, "b", external_id="d2", name="Someone", phone="+79161234567"
    )
    await customer_says(client, channel, "c", external_id="d3", name="Petrov Ivan")
    await customer_says(client, channel, "d", external_id="d4", name="Oleg", email="o@x.ru")
    contact_id = me["conversation"]["contact_id"]
    resp = await client.get(f"/api/v1/contacts/{contact_id}/duplicates", headers=admin.headers)
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [(i["contact"]["name"], i["strength"], i["reasons"]) for i in items] == [
        ("Someone", "exact", ["phone"]),
    ]
    # Candidates by name are looked up by the same spelling in any case; "Petrov Ivan" is not.
    await customer_says(client, channel, "e", external_id="d5", name="ivan petrov")
    items = (
        await (
            await client.get(f"/api/v1/contacts/{contact_id}/duplicates", headers=admin.headers)
        ).json()
    )["items"]
    assert [(i["contact"]["name"], i["strength"]) for i in items] == [
        ("Someone", "exact"),
        ("ivan petrov", "weak"),
    ]
    oleg = await customer_says(client, channel, "f", external_id="d6", name="O.", email="O@X.RU")
    items = (
        await (
            await client.get(
                f"/api/v1/contacts/{oleg['conversation']['contact_id']}/duplicates",
                headers=admin.headers,
            )
        ).json()
    )["items"]
    assert [(i["contact"]["name"], i["strength"], i["reasons"]) for i in items] == [
        ("Oleg", "exact", ["email"])
    ]


async def test_a_merged_widget_visitor_keeps_hearing_replies(client: TestClient) -> None:  # type: ignore[type-arg]
    """His open chat follows his contact into the merge and back out of it on undo."""
    from tests.test_widget_api import (
        conversations_of,
        is_message_from,
        make_widget_channel,
        open_visitor,
        operator_reply,
        recv_until,
        send_over,
        start_session,
    )

    admin = await make_operator(client, role="admin")
    widget = await make_widget_channel(client, admin)
    api = await make_api_channel(client, admin)
    known = await customer_says(client, api, "by API", external_id="crm-1", name="Ivan")
    token = (await start_session(client, widget))["visitor_token"]
    tab, _ = await open_visitor(client, token)
    await send_over(tab, "m1", "Здравствуйте")
    [conv] = await conversations_of(client, admin, widget)
    kept = known["conversation"]["contact_id"]
    merged = await client.post(
        f"/api/v1/contacts/{kept}/merge",
        json={"other_id": conv["contact_id"]},
        headers=admin.headers,
    )
    assert merged.status == 201
    assert len((await merged.json())["moved"]["widget_visitors"]) == 1
    reply = await operator_reply(client, admin, conv["id"], "после слияния")
    frame, _ = await recv_until(tab, is_message_from("operator"))
    assert frame["message"]["id"] == reply["id"]
    undo = await client.post(
        f"/api/v1/contacts/merges/{(await merged.json())['id']}/undo", headers=admin.headers
    )
    assert undo.status == 200
    again = await operator_reply(client, admin, conv["id"], "после отмены")
    frame, _ = await recv_until(tab, is_message_from("operator"))
    assert frame["message"]["id"] == again["id"]
    await tab.close()
