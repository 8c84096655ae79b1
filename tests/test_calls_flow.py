"""What calls lead to: a missed call's "call back" task closed by the next answered call, a
first call's lead with the tracking number's source, the recording kept (or refused), bad
input answered without storing twice or losing what was valid, concurrent deliveries folded
once, and the call live on the operator socket."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import CALL_SWEEP, create_app
from hub.channels.call_event import CallEvent
from hub.channels.calls.keys import CALLS
from hub.channels.widget.models import WidgetVisitor
from hub.crm_sync.call_tracking import CallPolicy, follow_up
from hub.crm_sync.models import ContactMerge
from hub.crm_sync.tasks import callback_task
from hub.http import CTX
from hub.inbox.call_fold import Folded
from hub.inbox.item_models import CallItem, CallPending
from hub.inbox.models import Contact
from hub.settings import Settings
from tests.calls_replay import Channel, Request, build, connect, send
from tests.crm_helpers import run_intake
from tests.helpers import (
    FRAME_CAP_S,
    Op,
    allow_loopback,
    auth,
    customer_says,
    make_api_channel,
    make_operator,
)
from tests.test_number_attribution import _hold, _visitors

CALLER = "+79161234567"


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    """Recordings are served from this machine: the guard must let loopback through."""
    return create_app(allow_loopback(settings))


def sipuni(ch: Channel, event: str, call_id: str, **fields: str) -> Request:
    """A Sipuni event of call ``call_id`` (its recorded hangup's fields, changed)."""
    base = {"call_id": call_id, "event": event}
    name = {"1": "1_start.form", "3": "2_answer.form", "2": "3_hangup.form"}[event]
    return build(ch, name, edit={**base, **fields})


async def tasks(client: TestClient, admin: Op, status: str = "open") -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/tasks?status={status}", headers=admin.headers)
    assert resp.status == 200
    return list((await resp.json())["items"])


async def messages(client: TestClient, admin: Op, ch: Channel) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations?channel={ch.id}", headers=admin.headers)
    out: list[dict[str, Any]] = []
    for conv in (await resp.json())["items"]:
        page = await client.get(
            f"/api/v1/conversations/{conv['id']}/messages", headers=admin.headers
        )
        out += (await page.json())["items"]
    return [m for m in out if m.get("call")]


async def test_a_missed_call_is_a_task_closed_by_the_next_answered_call(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(
        client, admin.headers, "sipuni", callback_due_minutes=30, callback_operator_id=admin.id
    )
    # The caller asked for a callback in a chat too: the widget's flow, the same task title.
    api = await make_api_channel(client, admin)
    chat = await customer_says(client, api, "перезвоните", phone="8 (916) 123-45-67")
    await callback_task(client.app[CTX], conversation_id=chat["conversation"]["id"], phone=CALLER)
    # Missed, in a local spelling; repeated: one task.
    for _ in range(2):
        resp = await send(
            client,
            sipuni(
                ch,
                "2",
                "missed-1",
                status="NOANSWER",
                src_num="8 (916) 123-45-67",
                call_answer_timestamp="0",
            ),
        )
        assert resp.status == 200
    open_tasks = [t for t in await tasks(client, admin) if t["title"] == f"Call back {CALLER}"]
    assert len(open_tasks) == 2  # the chat's request and the missed call's
    missed = next(t for t in open_tasks if t["assignee_id"] == admin.id)
    assert missed["due_at"] is not None
    [call] = await messages(client, admin, ch)
    assert call["call"]["status"] == "missed" and call["call"]["from"] == CALLER
    # The next answered call with the number closes both.
    later = {"call_start_timestamp": "1741959000", "call_answer_timestamp": "1741959009"}
    await send(client, sipuni(ch, "1", "answered-2", timestamp="1741959000"))
    await send(client, sipuni(ch, "2", "answered-2", timestamp="1741959156", **later))
    assert [t for t in await tasks(client, admin) if t["title"] == f"Call back {CALLER}"] == []
    done = [t for t in await tasks(client, admin, "done") if t["title"] == f"Call back {CALLER}"]
    assert len(done) == 2
    # A call left ringing past the channel's limit counts as missed once the sweep passes.
    slow = await connect(client, admin.headers, "sipuni", answer_within_s=5)
    rang = str(int(datetime.now(UTC).timestamp()) - 60)
    await send(client, sipuni(slow, "1", "ringing-3", src_num="+79035550000", timestamp=rang))
    assert await client.app[CALL_SWEEP].run_once() == 1
    [ringing] = await messages(client, admin, slow)
    assert ringing["call"]["status"] == "missed"
    assert [t for t in await tasks(client, admin) if t["title"] == "Call back +79035550000"]
    assert await client.app[CALL_SWEEP].run_once() == 0
    # The calls report: one missed and one answered on the number, called back.
    resp = await client.get("/api/v1/reports/calls?from=2025-01-01", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["by_operator"] == [{"operator": "101", "answered": 1, "missed": 0}]
    [line] = report["by_tracking_number"]
    assert (line["tracking_number"], line["answered"], line["missed"]) == ("+74951234567", 1, 2)
    assert report["callbacks"]["missed"] == 2 and report["callbacks"]["called_back"] == 1
    assert report["callbacks"]["median_s"] is not None


async def test_a_missed_calls_task_goes_to_the_contact_the_caller_was_merged_into(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A new caller with the phone of a known chat customer is merged into him by the intake
    while the call rings. A hangup folded just before that merge names the merged-away contact;
    its task, written after, must be the surviving contact's, on his open deal (seen running:
    the merge came 50 ms after the fold, and the task was left where no card shows it)."""
    admin = await make_operator(client, role="admin")
    api = await make_api_channel(client, admin)
    chat = await customer_says(client, api, "Здравствуйте", phone="8 (916) 123-45-67")
    await run_intake(client)
    kept = chat["conversation"]["contact_id"]
    resp = await client.post("/api/v1/deals", json={"contact_id": kept}, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    deal_id = (await resp.json())["id"]
    ch = await connect(client, admin.headers, "sipuni", callback_operator_id=admin.id)
    assert (await send(client, sipuni(ch, "1", "merged-1", timestamp="1741955405"))).status == 200
    await run_intake(client)  # the caller's new contact is merged into the chat's
    ctx = client.app[CTX]
    [merged] = (
        await ctx.read(
            lambda s: s.scalars(select(ContactMerge.merged_id).where(ContactMerge.kept_id == kept))
        )
    ).all()
    [call] = await messages(client, admin, ch)
    missed = {"from": CALLER, "direction": "inbound", "status": "missed"}
    folded = Folded("changed", call["id"], call["conversation_id"], merged, None, "ringing", missed)
    await follow_up(ctx, CallPolicy(callback_operator_id=admin.id), [folded])
    [task] = [t for t in await tasks(client, admin) if t["title"] == f"Call back {CALLER}"]
    assert (task["contact_id"], task["deal_id"]) == (kept, deal_id)


async def test_a_first_call_is_a_lead_from_its_tracking_number_joined_to_the_chat_contact(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/tracking-numbers",
        json={"number": "8 (495) 123-00-01", "source": "billboard", "campaign": "metro"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["number"] == "+74951230001"
    again = await client.post(
        "/api/v1/tracking-numbers",
        json={"number": "+74951230001", "source": "x"},
        headers=admin.headers,
    )
    assert again.status == 409
    api = await make_api_channel(client, admin)
    chat = await customer_says(client, api, "hello", phone="8 916 123 45 67")
    await run_intake(client)
    ch = await connect(client, admin.headers, "uis")
    for name in ("1_incoming.json", "3_end.json"):
        assert (await send(client, build(ch, name))).status == 200
    await run_intake(client)
    leads = (await (await client.get("/api/v1/leads", headers=admin.headers)).json())["items"]
    call_lead = [lead for lead in leads if lead["source"]["channel"] == "calls"]
    chat_contact = chat["conversation"]["contact_id"]
    # The caller is the chat's contact (same phone): his open lead takes the call, no second.
    assert call_lead == [] and any(lead["contact_id"] == chat_contact for lead in leads)
    [call] = await messages(client, admin, ch)
    assert call["call"]["attribution"]["utm_source"] == "billboard"
    card = await client.get(f"/api/v1/contacts/{chat_contact}", headers=admin.headers)
    assert card.status == 200
    assert {c["channel"]["type"] for c in (await card.json())["conversations"]} >= {"calls", "api"}
    # A caller nobody knew: his first call is a lead with the number's source.
    await send(
        client,
        build(ch, "3_end.json").__class__(
            "POST",
            ch.path,
            {"Content-Type": "application/json"},
            build(ch, "3_end.json")
            .body.replace(b"79161234567", b"79031112233")
            .replace(b"3189462573", b"3189462574"),
        ),
    )
    await run_intake(client)
    leads = (await (await client.get("/api/v1/leads", headers=admin.headers)).json())["items"]
    [new] = [lead for lead in leads if lead["source"]["channel"] == "calls"]
    assert new["source"]["utm_source"] == "billboard"
    assert new["source"]["utm_campaign"] == "metro"


async def test_bad_input_is_answered_and_stores_nothing_twice(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "sipuni")
    missing = sipuni(ch, "2", "")
    resp = await send(client, missing)
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_call_event"
    huge = Request(
        "POST",
        ch.path,
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"event=2&x=" + b"a" * 70_000,
    )
    resp = await send(client, huge)
    assert resp.status == 413
    # A hidden number: the call is kept, of a contact without a phone; no task to call back.
    resp = await send(
        client,
        sipuni(
            ch, "2", "hidden-1", src_num="anonymous", status="NOANSWER", call_answer_timestamp="0"
        ),
    )
    assert resp.status == 200
    [call] = await messages(client, admin, ch)
    assert call["call"]["from"] == "" and call["call"]["status"] == "missed"
    assert [t for t in await tasks(client, admin) if t["title"].startswith("Call back")] == []
    # An event of a call never seen that cannot open it (a recording ready) waits for it.
    twilio = await connect(client, admin.headers, "twilio")
    assert (await send(client, build(twilio, "4_recording.form"))).status == 200
    assert await messages(client, admin, twilio) == []
    # A time that is not an RFC 2822 date is refused, before anything is stored.
    for when in ("yesterday", "Fri, 14 Mar 2025 25:61:05 +0000"):
        resp = await send(
            client,
            build(twilio, "1_ringing.form", edit={"CallSid": "CA" + "7" * 32, "Timestamp": when}),
        )
        assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_call_event"
    assert (await send(client, build(twilio, "1_ringing.form"))).status == 200
    [call] = await messages(client, admin, twilio)
    assert call["call"]["recording_url"].startswith("https://api.twilio.com/")
    assert call["call"]["status"] == "ringing"
    assert call["call"]["started_at"].startswith("2025-03-14T12:30:05")  # the event's Timestamp
    # One parked by another process while this one opened the call (neither saw the other's
    # rows) is folded in by the call's next event.
    sid = "CA11112222333344445555666677778888"
    orphan = CallEvent(twilio.id, sid, "record", recording_ref="RE-orphan")

    async def park(session: AsyncSession) -> None:
        session.add(
            CallPending(
                channel_id=twilio.id,
                provider_call_id=sid,
                kind="record",
                event=orphan.to_json(),
                received_at=datetime.now(UTC),
            )
        )

    await client.app[CTX].write(park)
    assert (await send(client, build(twilio, "2_answered.form"))).status == 200
    ref = await client.app[CTX].read(
        lambda s: s.scalar(select(CallItem.recording_ref).where(CallItem.provider_call_id == sid))
    )
    assert ref == "RE-orphan"
    left = await client.app[CTX].read(
        lambda s: s.scalar(select(func.count()).select_from(CallPending))
    )
    assert left == 0


async def test_a_recording_is_kept_from_the_providers_host_only(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    audio = web.Application()

    async def record(request: web.Request) -> web.Response:
        if request.match_info["name"] == "gone":
            return web.Response(status=404)
        if request.match_info["name"] == "moved":
            raise web.HTTPFound("http://127.0.0.1:1/elsewhere")
        return web.Response(body=b"ID3" + b"\0" * 1000, content_type="audio/mpeg")

    audio.router.add_get("/rec/{name}", record)
    server = TestServer(audio, host="127.0.0.1")
    await server.start_server()
    try:
        admin = await make_operator(client, role="admin")
        ch = await connect(client, admin.headers, "sipuni", recording_hosts=["127.0.0.1"])
        base = f"http://127.0.0.1:{server.port}/rec/"
        links = {
            "good": base + "ok",
            "gone": base + "gone",
            "moved": base + "moved",
            "foreign": f"http://localhost:{server.port}/rec/ok",
        }
        for call_id, link in links.items():
            assert (
                await send(client, sipuni(ch, "2", call_id, call_record_link=link))
            ).status == 200
        await client.app[CALLS].recordings.settled()
        calls = {m["call"]["recording_url"]: m for m in await messages(client, admin, ch)}
        assert len(calls) == 4  # every call kept, whatever its recording did
        kept = [m for m in calls.values() if m["attachments"]]
        assert [m["call"]["recording_url"] for m in kept] == [links["good"]]
        [file] = kept[0]["attachments"]
        assert file["kind"] == "audio" and file["content_type"] == "audio/mpeg"
        got = await client.get(f"/api/v1/attachments/{file['id']}", headers=admin.headers)
        assert got.status == 200 and (await got.read()).startswith(b"ID3")
    finally:
        await server.close()


async def test_concurrent_deliveries_fold_each_call_once_and_live(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "twilio")
    ws = await client.ws_connect("/ws/operator", headers=auth(admin.token))
    assert json.loads((await ws.receive(timeout=FRAME_CAP_S)).data)["type"] == "ready"
    names = ["1_ringing.form", "2_answered.form", "3_completed.form"]

    def event(n: int, name: str) -> Request:
        return build(ch, name, edit={"CallSid": f"CA{n:032d}", "From": f"+7916555{n:04d}"})

    # Every call rings first (so the rest change calls already shown), then all its events
    # come again, twice each, at once from every sender.
    first = await asyncio.gather(*(send(client, event(n, names[0])) for n in range(15)))
    rest = await asyncio.gather(
        *(send(client, event(n, name)) for n in range(15) for name in names * 2)
    )
    assert [a.status for a in (*first, *rest)] == [200] * (15 + 15 * 6)
    calls = await messages(client, admin, ch)
    assert len(calls) == 15
    assert {c["call"]["status"] for c in calls} == {"answered"}
    assert {c["call"]["duration_s"] for c in calls} == {147}
    seen: dict[str, int] = {}
    while seen.get("message.created", 0) < 15 or seen.get("call.updated", 0) < 15:
        msg = await ws.receive(timeout=FRAME_CAP_S)
        assert msg.type == WSMsgType.TEXT
        frame = json.loads(msg.data)
        if frame["type"] == "event":
            seen[frame["event"]] = seen.get(frame["event"], 0) + 1
            if frame["event"] == "call.updated":
                assert set(frame["data"]) == {"conversation_id", "message_id", "call"}
    await ws.close()


async def test_a_call_to_a_reserved_pool_number_carries_the_visit(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Dynamic number insertion: the visit that held the number when the call came goes onto
    the call, its lead and the caller's card; the caller joins the visitor's contact."""
    channel_id, (visitor,) = await _visitors(client, 1)
    now = datetime.now(UTC)
    await _hold(
        client,
        channel_id,
        visitor,
        now - timedelta(minutes=1),
        30,
        utm={"utm_source": "yandex", "utm_campaign": "winter"},
        referrer="https://ya.ru/search",
        page="https://shop.example/contacts",
    )

    async def unit(session: AsyncSession) -> int:
        contact = Contact(name="Visitor")
        session.add(contact)
        await session.flush()
        await session.execute(
            update(WidgetVisitor).where(WidgetVisitor.id == visitor).values(contact_id=contact.id)
        )
        return contact.id

    visitor_contact = await client.app[CTX].write(unit)
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "sipuni")
    stamp = str(int(now.timestamp()))
    answered = {"call_start_timestamp": stamp, "call_answer_timestamp": stamp}
    req = sipuni(ch, "2", "dni-1", dst_num="74951230001", timestamp=stamp, **answered)
    assert (await send(client, req)).status == 200
    await run_intake(client)
    [call] = await messages(client, admin, ch)
    source = call["call"]["attribution"]
    assert source["method"] == "visit" and source["utm_source"] == "yandex"
    assert source["page"] == "https://shop.example/contacts"
    assert call["sender"]["id"] == visitor_contact
    card = await (
        await client.get(f"/api/v1/contacts/{visitor_contact}", headers=admin.headers)
    ).json()
    assert card["attributes"]["last_touch"]["utm_campaign"] == "winter"
    assert card["attributes"]["last_touch"]["referrer"] == "https://ya.ru/search"
    [lead] = [lead for lead in card["leads"] if lead["source"]["channel"] == "calls"]
    assert lead["source"]["utm_source"] == "yandex"
    assert lead["source"]["landing_page"] == "https://shop.example/contacts"
