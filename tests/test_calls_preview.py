"""The conversation list's line of a call follows the call: ringing, answered with the talk's
length, missed; written in the fold's transaction and sent live as ``conversation.updated``;
a later message keeps its own line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from hub.channels.base import InboundCall
from hub.inbox.call_state import STATE_COLUMNS, CallState
from hub.inbox.item_models import CallItem
from hub.inbox.items import call_dict, call_row, new_call_dict
from tests.calls_replay import Channel, build, connect, send
from tests.helpers import FRAME_CAP_S, Op, auth, make_operator


async def _line(client: TestClient, admin: Op, ch: Channel) -> list[str]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations?channel={ch.id}", headers=admin.headers)
    assert resp.status == 200
    return [c["last_message_preview"] for c in (await resp.json())["items"]]


async def _next(ws: ClientWebSocketResponse, name: str) -> dict[str, Any]:
    """The data of the next ``name`` event (others skipped)."""
    while True:
        msg = await ws.receive(timeout=FRAME_CAP_S)
        assert msg.type == WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        if frame.get("type") == "event" and frame["event"] == name:
            data: dict[str, Any] = frame["data"]
            return data


async def test_a_calls_line_follows_the_call_live(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "twilio")
    ws = await client.ws_connect("/ws/operator", headers=auth(admin.token))
    assert json.loads((await ws.receive(timeout=FRAME_CAP_S)).data)["type"] == "ready"

    assert (await send(client, build(ch, "1_ringing.form"))).status == 200
    created = await _next(ws, "message.created")
    assert created["conversation"]["last_message_preview"] == "📞 +14155550123"
    assert await _line(client, admin, ch) == ["📞 +14155550123"]

    assert (await send(client, build(ch, "2_answered.form"))).status == 200
    updated = await _next(ws, "conversation.updated")
    assert updated["conversation"]["last_message_preview"] == "📞 +14155550123 0:00"
    assert updated["conversation"]["contact"]["id"] == created["conversation"]["contact_id"]

    assert (await send(client, build(ch, "3_completed.form"))).status == 200
    updated = await _next(ws, "conversation.updated")
    assert updated["conversation"]["last_message_preview"] == "📞 +14155550123 2:27"
    assert await _line(client, admin, ch) == ["📞 +14155550123 2:27"]

    # Repeated, an event changes nothing: no line, no event (the next one is the new call's).
    assert (await send(client, build(ch, "3_completed.form"))).status == 200
    missed = build(ch, "1_ringing.form", edit={"CallSid": "CA" + "9" * 32, "From": "+14155550777"})
    assert (await send(client, missed)).status == 200
    assert (await _next(ws, "message.created"))["conversation"]["last_message_preview"] == (
        "📞 +14155550777"
    )
    no_answer = build(
        ch,
        "3_completed.form",
        edit={"CallSid": "CA" + "9" * 32, "From": "+14155550777", "CallStatus": "no-answer"},
    )
    assert (await send(client, no_answer)).status == 200
    updated = await _next(ws, "conversation.updated")
    assert updated["conversation"]["last_message_preview"] == "📵 +14155550777"
    await ws.close()


async def test_a_later_message_keeps_its_line(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A call that ends after a newer message in its conversation (the same caller's next
    call) does not take the line back."""
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "twilio")
    assert (await send(client, build(ch, "1_ringing.form"))).status == 200
    again = build(ch, "1_ringing.form", edit={"CallSid": "CA" + "8" * 32})
    assert (await send(client, again)).status == 200
    assert (await send(client, build(ch, "3_completed.form"))).status == 200
    assert await _line(client, admin, ch) == ["📞 +14155550123"]
    ended = build(ch, "3_completed.form", edit={"CallSid": "CA" + "8" * 32, "CallDuration": "61"})
    assert (await send(client, ended)).status == 200
    assert await _line(client, admin, ch) == ["📞 +14155550123 1:01"]


def test_the_folds_call_is_the_apis_call() -> None:
    """``CallState.data`` (what the fold announces) is ``call_dict`` of the stored row."""
    at = datetime(2025, 3, 14, 12, 30, 5, tzinfo=UTC)
    state = CallState(
        message_id=7,
        direction="inbound",
        from_number="+79161234567",
        to_number="+74951234567",
        tracking_number="+74957654321",
        status="answered",
        duration_s=147,
        recording_url="https://api.twilio.com/rec/1",
        operator="101",
        started_at=at,
        answered_at=at + timedelta(seconds=5),
        ended_at=at + timedelta(seconds=152),
        recording_ref="RE1",
        attribution={"method": "tracking_number"},
    )
    row = CallItem(**{name: getattr(state, name) for name in STATE_COLUMNS})
    assert state.data() == call_dict(row)
    assert CallState().data() == call_dict(
        CallItem(from_number="", to_number="", direction="inbound", status="ringing", duration_s=0)
    )
    # And what the inbound batch answers for a call it stores.
    new = InboundCall("inbound", "+79161234567", "+74951234567", "missed", 0, None, "https://r")
    assert new_call_dict(new) == call_dict(call_row(7, new))
    # A call opened by its provider's events, with what they told so far.
    opened = InboundCall(
        "inbound",
        "+79161234567",
        "+74951234567",
        "answered",
        0,
        provider_call_id="CA1",
        operator="101",
        started_at=at,
        answered_at=at + timedelta(seconds=5),
        recording_ref="RE1",
        attribution={"method": "provider", "utm_source": "yandex"},
    )
    shown = call_dict(call_row(7, opened, 3))
    assert new_call_dict(opened) == shown
    assert (shown["operator"], shown["recording_ref"], shown["attribution"]["utm_source"]) == (
        "101",
        "RE1",
        "yandex",
    )


def test_the_one_statement_merge_reads_each_value_of_the_merge() -> None:
    """PostgreSQL's ``MERGE_AT_ONCE`` is ``MERGE`` with each ``?`` read from its own array:
    every mark taken, and ``merge_columns`` passes each value of ``merge_params`` once (a
    value ``MERGE`` reads twice is the same value both times)."""
    from hub.inbox.call_state import MERGE, MERGE_AT_ONCE, merge_columns, merge_params
    from hub.inbox.inbound_sqlite import SqliteBatchSql

    assert "?" not in MERGE_AT_ONCE and MERGE.count("?") == 17
    at = datetime(2025, 3, 14, 12, 30, 5, tzinfo=UTC)
    states = [
        CallState(message_id=9, status="answered", duration_s=61, started_at=at, operator="101"),
        CallState(message_id=10, status="missed", ended_at=at, recording_ref="RE2"),
    ]
    sql = SqliteBatchSql(None)
    rows = [merge_params(sql, s) for s in states]
    for row in rows:
        assert (row[0], row[2], row[10], row[12], row[14]) == (
            row[1],
            row[3],
            row[11],
            row[13],
            row[15],
        )
    once = (0, 2, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16)
    assert merge_columns(sql, states) == [[row[i] for row in rows] for i in once]
