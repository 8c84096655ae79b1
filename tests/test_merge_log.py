"""Automatic contact merges are visible: the conversation says which contact was merged into
which and why, whoever may see it can undo it, and merges are listed newest first, by page and
by contact."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.crm_helpers import run_intake
from tests.helpers import Op, customer_says, make_api_channel, make_operator, make_team


async def _merges(client: TestClient, op: Op, query: str = "") -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/contacts/merges{query}", headers=op.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _activities(client: TestClient, op: Op, conv: int) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations/{conv}/messages", headers=op.headers)
    return [m for m in (await resp.json())["items"] if m["kind"] == "activity"]


async def test_an_automatic_merge_is_shown_listed_and_undone_by_its_operator(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    team = await make_team(client)
    oleg = await make_operator(client, team_ids=[team], name="Oleg")
    outsider = await make_operator(client, team_ids=[await make_team(client)])
    site = await make_api_channel(client, admin, team_id=team)
    bot = await make_api_channel(client, admin, team_id=team)
    known = await customer_says(
        client, site, "hi", external_id="known", name="Ivan", phone="+79161234567"
    )
    await run_intake(client)
    said = await customer_says(
        client, bot, "again", external_id="tg-1", name="Ваня", phone="8 916 123-45-67"
    )
    await run_intake(client)
    kept, newcomer = known["conversation"]["contact_id"], said["conversation"]["contact_id"]
    conv = said["conversation"]["id"]

    [note] = await _activities(client, oleg, conv)
    merge_id = note["meta"]["merge_id"]
    assert note["meta"] == {
        "action": "merge",
        "merge_id": merge_id,
        "merged_id": newcomer,
        "merged_name": "Ваня",
        "kept_id": kept,
        "kept_name": "Ivan",
        "basis": "phone (unverified)",
    }
    assert note["body"] == (
        f"Contact «Ваня» (#{newcomer}) was merged automatically into «Ivan» (#{kept}): "
        "same phone (unverified)"
    )

    # A manual merge of two other contacts, later: the list is newest first, by page.
    a = await customer_says(client, site, "a", external_id="a", name="Anna")
    b = await customer_says(client, site, "b", external_id="b", name="Anya")
    resp = await client.post(
        f"/api/v1/contacts/{a['conversation']['contact_id']}/merge",
        json={"other_id": b["conversation"]["contact_id"]},
        headers=admin.headers,
    )
    assert resp.status == 201
    manual = (await resp.json())["id"]
    first = await _merges(client, oleg, "?limit=1")
    assert [m["id"] for m in first["items"]] == [manual] and first["next_cursor"]
    second = await _merges(client, oleg, f"?limit=1&cursor={first['next_cursor']}")
    [auto] = second["items"]
    assert second["next_cursor"] is None
    assert auto["id"] == merge_id and auto["automatic"] is True
    assert auto["kept"] == {"id": kept, "name": "Ivan"}
    assert auto["merged"] == {"id": newcomer, "name": "Ваня"}
    assert auto["reason"] == "automatic: same phone (unverified)"
    assert [m["id"] for m in (await _merges(client, oleg, f"?contact_id={newcomer}"))["items"]] == [
        merge_id
    ]
    assert (await _merges(client, outsider))["items"] == []
    assert (
        await client.get("/api/v1/contacts/merges?cursor=x", headers=oleg.headers)
    ).status == 422

    # Undo: not by someone who never saw it; by the operator who was shown it.
    resp = await client.post(f"/api/v1/contacts/merges/{merge_id}/undo", headers=outsider.headers)
    assert resp.status == 404
    resp = await client.post(f"/api/v1/contacts/merges/{merge_id}/undo", headers=oleg.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["undone_by_id"] == oleg.id
    one = await (await client.get(f"/api/v1/conversations/{conv}", headers=oleg.headers)).json()
    assert one["contact_id"] == newcomer
    undone = (await _activities(client, oleg, conv))[-1]
    assert undone["meta"]["action"] == "merge_undone" and undone["meta"]["merge_id"] == merge_id
    listed = await _merges(client, oleg, f"?contact_id={newcomer}")
    assert listed["items"][0]["undone_at"] is not None
    # A manual merge stays the merging operator's (and staff's) to undo.
    resp = await client.post(f"/api/v1/contacts/merges/{manual}/undo", headers=oleg.headers)
    assert resp.status == 404
