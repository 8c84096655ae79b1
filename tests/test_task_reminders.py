"""A task that falls due tells its owner once, live, however many processes look."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.app import REMINDER, create_app
from hub.crm_sync.models import Task
from hub.http import CTX
from hub.settings import Settings
from tests.helpers import customer_says, make_api_channel, make_operator
from tests.test_operator_socket import connect, names, recv_until


def _at(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_a_due_task_is_announced_once_to_its_owner(
    client: TestClient,  # type: ignore[type-arg]
    aiohttp_client: Any,
    settings: Settings,
) -> None:
    admin = await make_operator(client, role="admin")
    oleg = await make_operator(client, name="Oleg")
    channel = await make_api_channel(client, admin)
    contact = (await customer_says(client, channel, "hi"))["conversation"]["contact_id"]

    async def task(title: str, due: str, assignee: int | None) -> int:
        body: dict[str, Any] = {"title": title, "due_at": due, "contact_id": contact}
        if assignee is not None:
            body["assignee_id"] = assignee
        resp = await client.post("/api/v1/tasks", json=body, headers=admin.headers)
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])

    due = await task("Call back", _at(-1), oleg.id)
    later = await task("Send the proposal", _at(60), oleg.id)
    done = await task("Already done", _at(-2), oleg.id)
    assert (await client.post(f"/api/v1/tasks/{done}/complete", headers=admin.headers)).ok
    unowned = await task("Nobody's", _at(-1), None)
    # Without an assignee, as a callback request of an unassigned conversation is.
    await client.app[CTX].write(lambda s: _unassign(s, unowned))
    oleg_ws, _ = await connect(client, oleg.token)
    admin_ws, _ = await connect(client, admin.token)

    # Two processes look at once: each task is claimed by one of them.
    other = await aiohttp_client(create_app(settings))
    assert client.app[REMINDER].interval_s == other.app[REMINDER].interval_s == 3600.0
    told = await asyncio.gather(client.app[REMINDER].run_once(), other.app[REMINDER].run_once())
    assert sorted(told) in ([0, 2], [1, 1])
    assert await client.app[REMINDER].run_once() == 0
    assert await other.app[REMINDER].run_once() == 0

    # The marker that everything before it arrived: a task.updated both receive.
    await task("Marker", _at(120), oleg.id)
    heard = await recv_until(oleg_ws, lambda f: f["event"] == "task.updated")
    dues = [f["data"]["task"] for f in heard if f["event"] == "task.due"]
    assert [t["id"] for t in dues] == [due], names(heard)
    assert dues[0]["title"] == "Call back" and dues[0]["overdue"] is True
    heard = await recv_until(admin_ws, lambda f: f["event"] == "task.updated")
    # Staff hear the ownerless one; the admin, as staff, is not told of Oleg's.
    assert [f["data"]["task"]["id"] for f in heard if f["event"] == "task.due"] == [unowned]

    reminded = dict(
        (
            await client.app[CTX].read(
                lambda s: s.execute(select(Task.id, Task.reminded_at).order_by(Task.id))
            )
        ).all()
    )
    assert reminded[due] is not None and reminded[unowned] is not None
    assert reminded[later] is None and reminded[done] is None

    # The inbox's list: open tasks due by a time, soonest first.
    resp = await client.get(
        f"/api/v1/tasks?assignee=me&due_before={_at(5).replace('+00:00', 'Z')}",
        headers=oleg.headers,
    )
    assert resp.status == 200, await resp.text()
    assert [t["id"] for t in (await resp.json())["items"]] == [due]
    resp = await client.get("/api/v1/tasks?due_before=tomorrow", headers=oleg.headers)
    assert resp.status == 422
    await oleg_ws.close()
    await admin_ws.close()


async def _unassign(session: Any, task_id: int) -> None:
    task = await session.get(Task, task_id)
    task.assignee_id = None
