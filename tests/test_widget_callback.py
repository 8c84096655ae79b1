""" "Call me back" with a time: the choice made a due time in the company's hours
(``hub.crm_sync.callback_time``), the request in the visitor's language with a callback the
widget and the inbox can show, the "call back" task due when he asked (from the lead intake
and from a later request), and every malformed choice refused with 422 and nothing written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.crm_sync.callback_time import (
    Asap,
    At,
    TodayAfter,
    TomorrowMorning,
    due_time,
)
from hub.crm_sync.models import Task
from hub.errors import InvalidInput
from hub.http import CTX
from tests.crm_helpers import run_intake
from tests.test_widget_api import (
    ORIGIN,
    expect_error,
    fetch_messages,
    new_visitor,
    open_operator,
    recv_event,
    table_counts,
)

MSK = ZoneInfo("Europe/Moscow")
HOURS = "mon-fri 09:00-18:00; sat 10:00-14:00"


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of May 2026 in Moscow (the 4th is a Monday, the 8th a Friday)."""
    return datetime(2026, 5, day, hour, minute, tzinfo=MSK)


def due(choice: Any, now: datetime, *, tz: str | None = None, hours: str = HOURS) -> datetime:
    return due_time(
        choice, customer_tz=tz, company_tz="Europe/Moscow", working_hours=hours, now=now
    )


def test_as_soon_as_possible_is_now_while_open_else_the_next_opening() -> None:
    asap = Asap(kind="asap")
    assert due(asap, msk(4, 11, 30)) == msk(4, 11, 30)
    assert due(asap, msk(4, 7, 15)) == msk(4, 9)  # before opening: today at 9
    assert due(asap, msk(8, 19)) == msk(9, 10)  # Friday evening: Saturday's hours
    assert due(asap, msk(9, 15)) == msk(11, 9)  # Saturday after 14:00: Monday
    assert due(asap, msk(9, 15), hours="") == msk(9, 15)  # no hours: the clock never stops


def test_tomorrow_morning_is_the_first_opening_of_the_next_day() -> None:
    morning = TomorrowMorning(kind="tomorrow_morning")
    assert due(morning, msk(4, 23, 50)) == msk(5, 9)
    assert due(morning, msk(9, 0, 30)) == msk(11, 9)  # Saturday: no hours on Sunday
    assert due(morning, msk(9, 12), hours="") == msk(10, 9)  # no hours: 09:00 the next day


def test_the_times_he_types_are_his_own_clock() -> None:
    after = TodayAfter(kind="today_after", time="18:00")
    assert due(after, msk(4, 11)) == msk(4, 18)
    # In Vladivostok (UTC+10) it is 18:00 there: 11:00 in Moscow, whatever the hours.
    assert due(after, msk(4, 3), tz="Asia/Vladivostok") == msk(4, 11)
    assert due(after, msk(4, 19, 5)) == msk(4, 19, 5)  # already past: now
    at = At(kind="at", at="2026-05-06T15:30")
    assert due(at, msk(4, 11)) == msk(6, 15, 30)
    assert due(at, msk(4, 11), tz="Europe/London") == msk(6, 17, 30)
    assert due(At(kind="at", at="2026-05-04T10:58"), msk(4, 11)) == msk(4, 11)  # just past
    assert due(at, msk(4, 11)).tzinfo == UTC


@pytest.mark.parametrize(
    ("at", "code"),
    [
        ("2026-05-04T10:50", "time_in_past"),
        ("2026-07-04T11:00", "time_too_far"),
        ("2026-02-31T10:00", "invalid_time"),
    ],
)
def test_a_time_out_of_range_is_refused(at: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        due(At(kind="at", at=at), msk(4, 11))
    assert refused.value.code == code


async def _ask(
    client: TestClient,  # type: ignore[type-arg]
    token: str,
    **fields: Any,
) -> Any:
    return await client.post(
        "/api/widget/v1/callback",
        json={"visitor_token": token, "phone": "8 (916) 123-45-67", **fields},
        headers={"Origin": ORIGIN},
    )


async def _tasks(client: TestClient) -> list[Task]:  # type: ignore[type-arg]
    return list((await client.app[CTX].read(lambda s: s.scalars(select(Task)))).all())


async def test_a_request_in_his_language_and_its_task_due_when_he_asked(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin, _channel, token = await new_visitor(client)
    op_ws = await open_operator(client, admin)
    wanted = datetime.now(UTC).astimezone(MSK).replace(second=0, microsecond=0)
    wanted = wanted + timedelta(days=2)
    at = wanted.strftime("%Y-%m-%dT%H:%M")
    resp = await _ask(
        client, token, when={"kind": "at", "at": at}, time_zone="Europe/Moscow", lang="en"
    )
    assert resp.status == 201, await resp.text()
    item = (await resp.json())["message"]
    day, clock = at.split("T")
    assert item["body"] == f"Please call me back: +79161234567, on {day} at {clock}"
    due_at = wanted.astimezone(UTC).isoformat().replace("+00:00", "Z")
    callback = {"phone": "+79161234567", "when": {"kind": "at", "at": at}, "due_at": due_at}
    assert item["callback"] == callback
    data = await recv_event(op_ws, "message.created", lambda d: d["message"]["id"] == item["id"])
    meta = data["message"]["meta"]
    assert (meta["type"], meta["due_at"], meta["time_zone"]) == (
        "callback_request",
        due_at,
        "Europe/Moscow",
    )
    (seen,) = await fetch_messages(client, token)
    assert seen["callback"] == callback and seen["body"] == item["body"]

    # The lead intake makes the task of the request that opened the conversation: due then.
    await run_intake(client)
    (task,) = await _tasks(client)
    assert (task.kind, task.due_at) == ("callback", wanted.astimezone(UTC))

    # A later request, another number, in Russian: a second task, due when that one asks.
    resp = await _ask(client, token, phone="+7 912 000 11 22", when={"kind": "tomorrow_morning"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["message"]["body"] == ("Перезвоните мне: +79120001122, завтра утром")
    tasks = {t.title: t for t in await _tasks(client)}
    later = tasks["Call back +79120001122"].due_at
    assert later is not None and later.astimezone(MSK).hour == 9
    assert later.astimezone(MSK).date() == datetime.now(UTC).astimezone(MSK).date() + timedelta(1)
    await op_ws.close()


async def test_bad_choices_are_422_and_change_nothing(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _admin, _channel, token = await new_visitor(client)
    before = await table_counts(client)
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    far = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M")
    for fields, code in (
        ({"when": {"kind": "someday"}}, "validation_error"),
        ({"when": {"kind": "asap", "time": "18:00"}}, "validation_error"),
        ({"when": {"kind": "today_after"}}, "validation_error"),
        ({"when": {"kind": "today_after", "time": "25:00"}}, "validation_error"),
        ({"when": {"kind": "today_after", "time": "6 pm"}}, "validation_error"),
        ({"when": {"kind": "at", "at": "tomorrow"}}, "validation_error"),
        ({"when": "tomorrow morning"}, "validation_error"),
        ({"preferred_time": "после 18:00"}, "validation_error"),
        ({"time_zone": "Mars/Olympus"}, "validation_error"),
        ({"time_zone": "../../etc/passwd"}, "validation_error"),
        ({"lang": "de"}, "validation_error"),
        ({"when": {"kind": "at", "at": past}, "time_zone": "UTC"}, "time_in_past"),
        ({"when": {"kind": "at", "at": far}, "time_zone": "UTC"}, "time_too_far"),
        ({"when": {"kind": "at", "at": "2026-02-30T10:00"}}, "invalid_time"),
    ):
        await expect_error(await _ask(client, token, **fields), 422, code)
    assert await table_counts(client) == before
    assert await _tasks(client) == []
