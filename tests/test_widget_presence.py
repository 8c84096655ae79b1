"""«Операторы на связи» means someone who can answer: an operator with the inbox open who may see
the visitor's conversation (its team, its assignee, or a manager or an admin). And when nobody
answers within the channel's ``reply_wait_s`` the widget says when the company answers, from
the company's working hours: ``working_hours`` in the session and ``ready``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.channels.widget.availability import working_hours
from hub.crm_sync.report_period import parse_working_hours
from hub.presence import Audience, Online
from hub.settings import Settings
from tests.helpers import make_operator, make_team
from tests.test_widget_api import (
    ORIGIN,
    expect_error,
    is_type,
    make_widget_channel,
    only_conversation,
    open_operator,
    open_visitor,
    recv,
    recv_until,
    send_over,
    start_session,
)

Client = TestClient  # type: ignore[type-arg]


async def online_for(client: Client, channel: dict[str, Any], token: str | None = None) -> bool:
    extra = {"visitor_token": token} if token else {}
    return bool((await start_session(client, channel, **extra))["operators_online"])


async def test_only_operators_who_may_see_the_chat_count_as_online(client: Client) -> None:
    stoves, boilers = await make_team(client, "Печи"), await make_team(client, "Котлы")
    admin = await make_operator(client, role="admin")
    anna = await make_operator(client, name="Анна", team_ids=[stoves])
    boris = await make_operator(client, name="Борис", team_ids=[boilers])
    maria = await make_operator(client, role="manager", name="Мария")
    site = await make_widget_channel(client, admin, team_id=stoves)
    session = await start_session(client, site)
    assert session["operators_online"] is False
    visitor, ready = await open_visitor(client, session["visitor_token"])
    assert ready["operators_online"] is False

    # Boris cannot see this site's chats: still nobody online for its visitors.
    boris_ws = await open_operator(client, boris)
    assert await online_for(client, site) is False
    # Anna can: the visitor's next frame says so (nothing was sent for Boris before it).
    anna_ws = await open_operator(client, anna)
    assert await recv(visitor) == {"type": "presence", "operators_online": True}
    assert await online_for(client, site) is True
    await anna_ws.close()
    frame, _ = await recv_until(visitor, is_type("presence"))
    assert frame["operators_online"] is False
    assert await online_for(client, site) is False
    # A manager sees every chat.
    maria_ws = await open_operator(client, maria)
    frame, _ = await recv_until(visitor, is_type("presence"))
    assert frame["operators_online"] is True
    await maria_ws.close()
    frame, _ = await recv_until(visitor, is_type("presence"))
    assert frame["operators_online"] is False
    await boris_ws.close()
    await visitor.close()


async def test_a_conversation_transferred_follows_its_team_and_assignee(client: Client) -> None:
    stoves, boilers = await make_team(client), await make_team(client)
    admin = await make_operator(client, role="admin")
    boris = await make_operator(client, name="Борис", team_ids=[boilers])
    oleg = await make_operator(client, name="Олег")  # in no team
    site = await make_widget_channel(client, admin, team_id=stoves)
    token = (await start_session(client, site))["visitor_token"]
    ws, _ = await open_visitor(client, token)
    await send_over(ws, "m1", "Нужен котёл")
    await ws.close()
    conv = (await only_conversation(client, admin, site))["id"]
    await open_operator(client, boris)
    await open_operator(client, oleg)
    assert await online_for(client, site, token) is False
    moved = await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"operator_id": None, "team_id": boilers},
        headers=admin.headers,
    )
    assert moved.status == 200, await moved.text()
    assert await online_for(client, site, token) is True  # Boris's team has it now
    assert await online_for(client, site) is False  # a new visitor still waits for the stoves
    given = await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"operator_id": oleg.id, "team_id": stoves},
        headers=admin.headers,
    )
    assert given.status == 200, await given.text()
    assert await online_for(client, site, token) is True  # Oleg has it
    ws, ready = await open_visitor(client, token)
    assert ready["operators_online"] is True
    await ws.close()


def test_online_covers_an_audience() -> None:
    nobody = Online()
    assert not nobody.covers(Audience(frozenset({1}), frozenset({7})))
    staff = Online(staff=True)
    assert staff.covers(Audience())
    team = Online(team_ids=frozenset({1, 2}), operator_ids=frozenset({5}))
    assert team.covers(Audience(frozenset({2})))
    assert not team.covers(Audience(frozenset({3})))
    assert team.covers(Audience(frozenset({3}), frozenset({5})))
    assert Online.from_wire(team.to_wire()) == team
    assert Online.from_wire({"staff": "yes", "teams": ["1"], "operators": None}) == nobody
    assert Online.from_wire(None) == nobody


MSK_SPEC = "mon-fri 09:00-18:00; sat 10:00-14:00"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Wednesday 2026-12-02, times in UTC (Moscow is UTC+3).
        ("2026-12-02T08:00:00", {"open_now": True, "opens": None}),
        ("2026-12-02T05:00:00", {"open_now": False, "opens": {"day": "today", "time": "09:00"}}),
        ("2026-12-02T16:30:00", {"open_now": False, "opens": {"day": "tomorrow", "time": "09:00"}}),
        # Friday evening: Saturday opens at 10:00; Saturday afternoon: Monday.
        ("2026-12-04T17:00:00", {"open_now": False, "opens": {"day": "tomorrow", "time": "10:00"}}),
        ("2026-12-05T12:00:00", {"open_now": False, "opens": {"day": "mon", "time": "09:00"}}),
    ],
)
def test_when_the_company_answers(now: str, expected: dict[str, Any]) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert working_hours(parse_working_hours(MSK_SPEC, "Europe/Moscow"), at) == expected


def test_no_hours_say_nothing() -> None:
    assert working_hours(parse_working_hours("", "Europe/Moscow")) is None


async def test_the_session_and_ready_carry_the_hours_and_the_wait(
    aiohttp_client: Any, settings: Settings
) -> None:
    spec = "mon-sun 00:00-00:01"  # one minute a day: closed at almost any moment of a test
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"working_hours": spec, "timezone": "Asia/Tokyo"}))
    )
    admin = await make_operator(client, role="admin")
    site = await make_widget_channel(client, admin, reply_wait_s=30)
    session = await start_session(client, site)
    assert session["channel"]["reply_wait_s"] == 30
    expected = working_hours(parse_working_hours(spec, "Asia/Tokyo"))
    assert session["working_hours"] in (expected, {"open_now": True, "opens": None})
    if not session["working_hours"]["open_now"]:
        assert session["working_hours"]["opens"]["time"] == "00:00"
    ws, ready = await open_visitor(client, session["visitor_token"])
    assert ready["working_hours"] == session["working_hours"] or ready["working_hours"]["open_now"]
    await ws.close()
    plain = await make_widget_channel(client, admin, name="Other")
    assert (await start_session(client, plain))["channel"]["reply_wait_s"] == 120


@pytest.mark.parametrize("wait", [4, 3601, "60", 1.5, True, None])
async def test_a_bad_reply_wait_is_refused_and_makes_no_channel(client: Client, wait: Any) -> None:
    admin = await make_operator(client, role="admin")
    body = {"type": "widget", "name": "Shop", "allowed_origins": [ORIGIN], "reply_wait_s": wait}
    resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
    await expect_error(resp, 422, "invalid_widget_settings")
    listed = await client.get("/api/v1/channels", headers=admin.headers)
    assert (await listed.json())["items"] == []
