"""Every reader of the company's hours and zone uses what an admin saved, at once, with no
restart: the widget's session and ``ready`` frame, automatic assignment's off-hours queue, report
periods and first response times, scheduled emails' default zone and call-back times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.app import ROUTER, create_app
from hub.crm_sync.report_period import DAYS
from hub.db import utcnow
from hub.settings import Settings
from tests.email_smtp import (
    TlsFiles,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import Op, make_operator
from tests.test_email_outbound import Mailbox, open_mailbox
from tests.test_email_schedule import email_conversation, scheduled, tomorrow_at, z
from tests.test_routing import Team, assignees
from tests.test_routing import team as team
from tests.test_widget_api import ORIGIN, make_widget_channel, open_visitor, start_session
from tests.test_working_hours_api import week

Client = TestClient  # type: ignore[type-arg]
PATH = "/api/v1/settings/working-hours"
TOKYO = "Asia/Tokyo"


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    # The environment says nothing of hours: whatever a reader says of them below, it read
    # from what the admin saved.
    return create_app(settings.model_copy(update={"routing": False}))


async def save(client: Client, admin: Op, timezone: str, days: list[dict[str, Any]]) -> None:
    resp = await client.put(PATH, json={"timezone": timezone, "days": days}, headers=admin.headers)
    assert resp.status == 200, await resp.text()


def tomorrow_only(zone: str) -> list[dict[str, Any]]:
    """Open all of tomorrow (in ``zone``), closed today: closed now."""
    today = utcnow().astimezone(ZoneInfo(zone)).weekday()
    return week(**{DAYS[(today + 1) % 7]: [("00:00", "24:00")]})


async def test_the_widget_says_the_saved_hours(client: Client) -> None:
    admin = await make_operator(client, role="admin")
    site = await make_widget_channel(client, admin)
    before = await start_session(client, site)
    assert before["working_hours"] is None  # none set: it answers any time

    await save(client, admin, TOKYO, tomorrow_only(TOKYO))
    session = await start_session(client, site)
    told = {"open_now": False, "opens": {"day": "tomorrow", "time": "00:00"}}
    assert session["working_hours"] == told
    ws, ready = await open_visitor(client, session["visitor_token"])
    assert ready["type"] == "ready" and ready["working_hours"] == told
    await ws.close()

    every_day = week(**{d: [("00:00", "24:00")] for d in DAYS})
    await save(client, admin, TOKYO, every_day)
    ws, ready = await open_visitor(client, session["visitor_token"])
    assert ready["working_hours"] == {"open_now": True, "opens": None}
    await ws.close()


async def test_outside_the_saved_hours_the_queue_waits(client: Client, team: Team) -> None:
    await team.routing(enabled=True)
    await team.online(*team.ops)
    conv = await team.customer()
    router = client.app[ROUTER]
    await save(client, team.admin, TOKYO, tomorrow_only(TOKYO))
    assert await router.run_once() == 0
    assert await assignees(client, [conv]) == [None]
    assert (await team.state())["queued"] == 1

    await save(client, team.admin, TOKYO, [])  # no hours: always open
    assert await router.run_once() == 1
    assert (await assignees(client, [conv]))[0] in {op.id for op in team.ops}


async def test_report_periods_are_days_of_the_saved_zone(client: Client) -> None:
    admin = await make_operator(client, role="admin")
    url = "/api/v1/reports/funnel?from=2026-11-01&to=2026-11-01"
    resp = await client.get(url, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    moscow = await resp.json()
    assert moscow["period"] == {"from": "2026-10-31T21:00:00Z", "to": "2026-11-01T21:00:00Z"}
    assert moscow["first_response"]["working_hours"] is False

    await save(client, admin, TOKYO, week(mon=[("09:00", "18:00")]))
    tokyo = await (await client.get(url, headers=admin.headers)).json()
    assert tokyo["period"] == {"from": "2026-10-31T15:00:00Z", "to": "2026-11-01T15:00:00Z"}
    assert tokyo["first_response"]["working_hours"] is True


@pytest.fixture
async def box(client: Client, trust: TlsFiles) -> AsyncIterator[Mailbox]:  # noqa: F811
    mailbox = await open_mailbox(client, trust)
    yield mailbox
    await mailbox.smtp.close()


async def test_scheduled_emails_default_to_the_saved_zone(box: Mailbox) -> None:
    conv_id = await email_conversation(box)
    await save(box.client, box.admin, "Asia/Vladivostok", [])
    local, moment = tomorrow_at(9, 30, ZoneInfo("Asia/Vladivostok"))
    item = await scheduled(box, conv_id, local)  # no time_zone: the company's
    assert item["time_zone"] == "Asia/Vladivostok" and item["send_at"] == z(moment)
    listed = await box.client.get("/api/v1/scheduled_emails", headers=box.admin.headers)
    assert (await listed.json())["time_zone"] == "Asia/Vladivostok"


async def test_a_call_back_as_soon_as_possible_waits_for_the_saved_opening(
    client: Client,
) -> None:
    admin = await make_operator(client, role="admin")
    site = await make_widget_channel(client, admin)
    session = await start_session(client, site)
    await save(client, admin, TOKYO, tomorrow_only(TOKYO))
    resp = await client.post(
        "/api/widget/v1/callback",
        json={"visitor_token": session["visitor_token"], "phone": "8 (916) 123-45-67"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 201, await resp.text()
    due = (await resp.json())["message"]["callback"]["due_at"]
    midnight = utcnow().astimezone(ZoneInfo(TOKYO)).replace(hour=0, minute=0, second=0)
    opening = (midnight + timedelta(days=1)).replace(microsecond=0).astimezone(UTC)
    assert due == z(opening)
