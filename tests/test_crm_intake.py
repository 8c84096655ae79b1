"""The lead intake: a new contact's conversation makes a lead with its source; a returning
contact's joins his open deal; a channel can turn automatic leads off; one process holds the
cursor's lease; the inbound write path runs no CRM query."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select, update

from hub.app import INTAKE, REMINDER, SYNC, create_app
from hub.crm_sync.intake import LeadIntake
from hub.crm_sync.intake_batch import decide_batch
from hub.crm_sync.intake_facts import read_facts
from hub.crm_sync.models import ContactMerge, DealConversation, Lead, Task
from hub.events import EVENTS_TOPIC
from hub.http import CTX
from hub.inbox.models import Channel, ContactIdentity, Conversation
from hub.settings import Settings
from tests.crm_helpers import make_deal, make_lead, outbox, run_intake
from tests.helpers import (
    after_passes,
    customer_says,
    make_api_channel,
    make_operator,
    recorded_statements,
)


async def test_new_contact_becomes_a_lead_in_incoming(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    lead = await make_lead(client, channel, admin, "c1", name="Анна")
    assert lead["status"] == "incoming"
    assert lead["source"]["channel"] == "api"
    assert lead["contact"]["name"] == "Анна"
    assert ("lead.created", "lead", lead["id"]) in await outbox(client)
    # A second message in the same conversation makes nothing new.
    await customer_says(client, channel, "again", external_id="c1", name="Анна")
    await run_intake(client)
    resp = await client.get("/api/v1/leads", headers=admin.headers)
    assert [item["id"] for item in (await resp.json())["items"]] == [lead["id"]]


async def test_lead_keeps_the_first_touch(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    said = await customer_says(client, channel, "Hi", external_id="utm")
    conv_id = said["conversation"]["id"]
    touch = {
        "url": "https://x.ru/?utm_source=yandex",
        "referrer": "https://ya.ru",
        "utm_source": "yandex",
        "utm_campaign": "winter",
    }

    async def set_touch(session):  # type: ignore[no-untyped-def]
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(attributes={"first_touch": touch, "telegram_start": "promo"})
        )

    await client.app[CTX].write(set_touch)
    await run_intake(client)
    resp = await client.get("/api/v1/leads", headers=admin.headers)
    src = (await resp.json())["items"][0]["source"]
    assert src["utm_source"] == "yandex" and src["utm_campaign"] == "winter"
    assert src["referrer"] == "https://ya.ru"
    assert src["landing_page"] == "https://x.ru/?utm_source=yandex"
    assert src["telegram_start"] == {"payload": "promo"}


async def test_returning_contact_joins_the_open_deal(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    first = await make_api_channel(client, admin)
    second = await make_api_channel(client, admin)
    deal = await make_deal(client, first, admin, "ret")
    # The same person is known on the second channel (as a verified widget user would be).
    ctx = client.app[CTX]

    async def know(session):  # type: ignore[no-untyped-def]
        session.add(
            ContactIdentity(
                contact_id=deal["contact_id"], channel_id=second["id"], external_id="ret2"
            )
        )

    await ctx.write(know)
    said = await customer_says(client, second, "me again", external_id="ret2")
    assert said["conversation"]["contact_id"] == deal["contact_id"]
    await run_intake(client)
    leads = await ctx.read(lambda s: s.scalars(select(Lead.conversation_id)))
    assert said["conversation"]["id"] not in list(leads.all())
    resp = await client.get(f"/api/v1/deals/{deal['id']}", headers=admin.headers)
    body = await resp.json()
    assert [c["id"] for c in body["conversations"]] == [
        deal["conversation_id"],
        said["conversation"]["id"],
    ]
    assert ("deal.updated", "deal", deal["id"]) in await outbox(client)


async def test_auto_leads_off_makes_no_lead(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/channels",
        json={"type": "api", "name": "No leads", "auto_leads": False},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    channel = await resp.json()
    assert channel["config"]["auto_leads"] is False
    await customer_says(client, channel, "Hi", external_id="quiet")
    await run_intake(client)
    assert await client.app[CTX].read(lambda s: s.scalar(select(Lead.id))) is None
    bad = await client.post(
        "/api/v1/channels",
        json={"type": "api", "name": "x", "auto_leads": "no"},
        headers=admin.headers,
    )
    assert bad.status == 422
    assert (await bad.json())["error"]["code"] == "invalid_auto_leads"
    widget = await client.post(
        "/api/v1/channels",
        json={"type": "widget", "name": "w", "auto_leads": 1},
        headers=admin.headers,
    )
    assert widget.status == 422


async def test_two_running_intakes_make_one_lead(
    settings: Settings,
    aiohttp_client: Any,
) -> None:
    """The loop runs by itself, woken by the new conversation; a second process's intake on
    the same database (here a second loop) makes no second lead."""
    client = await aiohttp_client(create_app(settings.model_copy(update={"lead_intake": True})))
    ctx = client.app[CTX]
    mine = client.app[INTAKE]
    other = LeadIntake(ctx)
    await other.start()
    try:
        mark = await ctx.bus.last_id(EVENTS_TOPIC)
        admin = await make_operator(client, role="admin")
        channel = await make_api_channel(client, admin)
        for n in range(3):
            await customer_says(client, channel, "Hi", external_id=f"bg{n}")

        async def leads() -> int:
            return len((await ctx.read(lambda s: s.scalars(select(Lead.id)))).all())

        async def three_leads() -> bool:
            return await leads() >= 3

        await after_passes(three_leads, mine, other)
        # Passes that start now find every conversation decided, and those under way when the
        # third lead appeared have ended: a wrong second lead would be there by now.
        await mine.next_pass()
        await other.next_pass()
        assert await leads() == 3
        events = [p["event"] for _, p in await ctx.bus.read_after(EVENTS_TOPIC, mark)]
        assert events.count("lead.created") == 3
        assert (mine.processed == 0) != (other.processed == 0)
    finally:
        await other.close()


async def test_one_failing_conversation_does_not_stop_the_others(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch whose unit fails is decided again one conversation at a time, each in its own
    savepoint: one that fails leaves the others decided, and is decided itself on a later
    pass."""
    from hub.crm_sync import intake as intake_module

    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    said = [
        await customer_says(client, channel, "Hi", external_id=f"many{n}", name=f"Many {n}")
        for n in range(5)
    ]
    broken = said[2]["conversation"]["id"]
    real_batch, real_one = intake_module.decide_batch, intake_module.take_conversation

    async def failing_batch(session: Any, conv_ids: list[int], *args: Any) -> Any:
        if broken in conv_ids:
            raise RuntimeError("this batch fails")
        return await real_batch(session, conv_ids, *args)

    async def failing_one(session: Any, conv_id: int, *args: Any) -> str:
        if conv_id == broken:
            raise RuntimeError("this one fails")
        return await real_one(session, conv_id, *args)

    monkeypatch.setattr(intake_module, "decide_batch", failing_batch)
    monkeypatch.setattr(intake_module, "take_conversation", failing_one)
    intake = client.app[INTAKE]
    await run_intake(client)
    leads = (await client.app[CTX].read(lambda s: s.scalars(select(Lead.conversation_id)))).all()
    assert sorted(leads) == sorted(x["conversation"]["id"] for x in said if x is not said[2])
    assert intake.processed == 4
    monkeypatch.setattr(intake_module, "decide_batch", real_batch)
    monkeypatch.setattr(intake_module, "take_conversation", real_one)
    await run_intake(client)
    leads = (await client.app[CTX].read(lambda s: s.scalars(select(Lead.conversation_id)))).all()
    assert sorted(leads) == sorted(x["conversation"]["id"] for x in said)
    assert (intake.processed, intake.batched) == (5, 1)


async def test_a_new_conversation_wakes_the_intake(
    settings: Settings,
    aiohttp_client: Any,
) -> None:
    """With polling far away, the lead comes within moments: the intake woke on the
    ``new-conversations`` topic."""
    tuned = settings.model_copy(update={"lead_intake": True, "lead_intake_poll_interval_s": 600.0})
    client = await aiohttp_client(create_app(tuned))
    ctx = client.app[CTX]
    intake = client.app[INTAKE]
    await intake.passed(1)  # the first pass, on start, found nothing; the next is 600 s away
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await customer_says(client, channel, "Hi", external_id="wake")

    async def decided() -> bool:
        return intake.processed > 0

    await after_passes(decided, intake)
    assert intake.processed == 1
    assert len((await ctx.read(lambda s: s.scalars(select(Lead.id)))).all()) == 1


async def test_callback_request_makes_a_task_once(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    resp = await client.post(
        "/api/v1/channels",
        json={"type": "api", "name": "Calls", "auto_leads": False},
        headers=admin.headers,
    )
    channel = await resp.json()
    said = await customer_says(client, channel, "Call me", external_id="cb")
    conv_id = said["conversation"]["id"]

    async def mark(session):  # type: ignore[no-untyped-def]
        from hub.inbox.models import Message

        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv_id)
            .values(meta={"type": "callback_request", "phone": "+79161234567"})
        )

    await client.app[CTX].write(mark)
    await run_intake(client)
    await run_intake(client)  # the row is not settled yet, so it is read again
    tasks = (await client.app[CTX].read(lambda s: s.scalars(select(Task)))).all()
    assert [(t.kind, t.title) for t in tasks] == [("callback", "Call back +79161234567")]


async def test_one_process_holds_the_lease(client: TestClient) -> None:  # type: ignore[type-arg]
    ctx = client.app[CTX]
    mine = client.app[INTAKE]
    other = LeadIntake(ctx)
    assert await mine.acquire() is not None
    assert await other.acquire() is None
    await mine.release()
    assert await other.acquire() is not None
    assert await mine.acquire() is None
    await other.release()


async def test_an_unsettled_conversation_is_decided_once(client: TestClient) -> None:  # type: ignore[type-arg]
    """The cursor waits before passing a young row, but each pass does not decide it again."""
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await make_lead(client, channel, admin, "once")
    intake = client.app[INTAKE]
    decided = intake.processed
    assert decided >= 1
    await intake.run_once()
    await intake.run_once()
    assert intake.processed == decided
    # A new conversation after it is still decided on the next pass.
    await customer_says(client, channel, "Hi", external_id="once-2", name="Second")
    await intake.run_once()
    assert intake.processed == decided + 1


async def test_deciding_twice_changes_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    await make_lead(client, channel, admin, "twice")
    other = LeadIntake(client.app[CTX])
    await client.app[INTAKE].release()
    await other.run_once()  # re-reads the unsettled rows
    await other.release()
    leads = (await client.app[CTX].read(lambda s: s.scalars(select(Lead.id)))).all()
    assert len(leads) == 1
    joined = (
        await client.app[CTX].read(lambda s: s.scalars(select(DealConversation.deal_id)))
    ).all()
    assert joined == []
    channels = (await client.app[CTX].read(lambda s: s.scalars(select(Channel.id)))).all()
    assert channels


async def test_the_inbound_write_path_runs_no_crm_query(client: TestClient) -> None:  # type: ignore[type-arg]
    """Storing a customer's message touches no sales table: leads come later, in the intake."""
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    for worker in (INTAKE, SYNC, REMINDER):  # they read sales tables on their own time
        await client.app[worker].close()
    with recorded_statements(client) as statements:
        for n in range(3):
            await customer_says(client, channel, "Hi", external_id=f"hot{n}")
            await customer_says(client, channel, "again", external_id=f"hot{n}")
    assert any("insert into messages" in s for s in statements)
    crm = ("leads", "deals", "crm_cursors", "stages", "pipelines", "sync_records", "tasks")
    assert [s for s in statements if any(f" {t}" in s or f'"{t}"' in s for t in crm)] == []


async def test_a_batch_costs_the_same_few_statements_whatever_its_size(client: TestClient) -> None:  # type: ignore[type-arg]
    """Twelve new conversations cost the intake the statements one costs: the facts read
    before the unit, then two reads and a few writes in the unit for the whole batch (not ten
    statements for each conversation), every one decided in the batch."""
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)

    async def new_conversations(prefix: str, count: int) -> list[int]:
        said = [
            await customer_says(
                client, channel, "Hi", external_id=f"{prefix}{n}", phone=f"+7916{prefix}555{n:03d}"
            )
            for n in range(count)
        ]
        return [x["conversation"]["id"] for x in said]

    async def statements(conv_ids: list[int]) -> tuple[int, int]:
        """Statements of the facts, and of the unit."""
        counted: list[str] = []

        def seen(*_args: Any) -> None:
            counted.append("")

        async with ctx.sessionmaker() as session:
            conn = await session.connection()
            event.listen(conn.sync_connection, "before_cursor_execute", seen)
            facts = await read_facts(session, conv_ids)
        read = len(counted)
        async with ctx.sessionmaker() as session, session.begin():
            conn = await session.connection()
            event.listen(conn.sync_connection, "before_cursor_execute", seen)
            done = await decide_batch(session, conv_ids, facts, [], ctx.contact_rows)
        assert (done.batched, done.alone) == (len(conv_ids), 0)
        return read, len(counted) - read

    one = await statements(await new_conversations("1", 1))
    many = await statements(await new_conversations("2", 12))
    assert one == many
    assert many[1] <= 6, many
    leads = (await ctx.read(lambda s: s.scalars(select(Lead.id)))).all()
    assert len(leads) == 13


async def test_a_new_contact_with_a_known_phone_joins_the_known_one(client: TestClient) -> None:  # type: ignore[type-arg]
    """Exact match (same E.164 phone): merged automatically, logged without an operator, and
    his conversation joins the known contact's open deal; an operator can undo it."""
    admin = await make_operator(client, role="admin")
    site, telegram = await make_api_channel(client, admin), await make_api_channel(client, admin)
    deal = await make_deal(client, site, admin, "known", name="Ivan")
    await customer_says(client, site, "my phone", external_id="known", phone="+79161234567")
    said = await customer_says(
        client, telegram, "hello again", external_id="tg-1", name="Ваня", phone="+79161234567"
    )
    newcomer = said["conversation"]["contact_id"]
    assert newcomer != deal["contact_id"]
    await run_intake(client)
    card = await (
        await client.get(f"/api/v1/contacts/{deal['contact_id']}", headers=admin.headers)
    ).json()
    assert said["conversation"]["id"] in [c["id"] for c in card["conversations"]]
    full = await (await client.get(f"/api/v1/deals/{deal['id']}", headers=admin.headers)).json()
    assert said["conversation"]["id"] in [c["id"] for c in full["conversations"]]
    leads = (await client.app[CTX].read(lambda s: s.scalars(select(Lead.conversation_id)))).all()
    assert said["conversation"]["id"] not in leads
    merge = await client.app[CTX].read(lambda s: s.scalar(select(ContactMerge)))
    assert (merge.kept_id, merge.merged_id, merge.operator_id) == (
        deal["contact_id"],
        newcomer,
        None,
    )
    assert merge.reason == "automatic: same phone (unverified)"
    assert ("contact.merged", "contact", deal["contact_id"]) in await outbox(client)
    undo = await client.post(f"/api/v1/contacts/merges/{merge.id}/undo", headers=admin.headers)
    assert undo.status == 200
    back = await (await client.get(f"/api/v1/contacts/{newcomer}", headers=admin.headers)).json()
    assert [c["id"] for c in back["conversations"]] == [said["conversation"]["id"]]


async def test_a_weak_match_is_not_merged(client: TestClient) -> None:  # type: ignore[type-arg]
    admin = await make_operator(client, role="admin")
    site, other = await make_api_channel(client, admin), await make_api_channel(client, admin)
    await make_lead(client, site, admin, "w1", name="Ivan Petrov")
    await make_lead(client, other, admin, "w2", name="Ivan Petrov")
    assert await client.app[CTX].read(lambda s: s.scalar(select(ContactMerge.id))) is None
    leads = (await client.app[CTX].read(lambda s: s.scalars(select(Lead.id)))).all()
    assert len(leads) == 2


async def test_a_widget_visitor_becomes_a_lead_with_his_first_touch(client: TestClient) -> None:  # type: ignore[type-arg]
    """The real widget flow: the page's UTM markers and referrer reach the lead's source."""
    from tests.test_widget_api import make_widget_channel, start_session, visitor_headers

    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(client, admin)
    page = {
        "url": "https://shop.example/pechi?utm_source=yandex&utm_medium=cpc&utm_campaign=banya",
        "title": "Печи",
        "referrer": "https://yandex.ru/search/?text=печь",
    }
    token = (await start_session(client, channel, page=page))["visitor_token"]
    resp = await client.post(
        "/api/widget/v1/messages",
        json={"client_id": "m1", "body": "Сколько стоит?"},
        headers=visitor_headers(token),
    )
    assert resp.status in (200, 201), await resp.text()
    await run_intake(client)
    leads = await (await client.get("/api/v1/leads", headers=admin.headers)).json()
    [lead] = leads["items"]
    src = lead["source"]
    assert src["channel"] == "widget"
    assert (src["utm_source"], src["utm_medium"], src["utm_campaign"]) == ("yandex", "cpc", "banya")
    assert src["referrer"] == "https://yandex.ru/search/?text=печь"
    assert src["landing_page"] == page["url"]


async def test_a_telegram_advert_link_becomes_the_leads_source(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings
) -> None:
    """The real Telegram flow: ``/start yandex--winter_sale`` (tests/fixtures/telegram)."""
    from tests.telegram_fake import start_telegram

    tg = await start_telegram(aiohttp_server, aiohttp_client, settings)
    await tg.fed("start_payload")
    await tg.client.app[INTAKE].run_once()
    resp = await tg.client.get("/api/v1/leads", headers=tg.admin.headers)
    [lead] = (await resp.json())["items"]
    src = lead["source"]
    assert src["channel"] == "telegram"
    assert (src["utm_source"], src["utm_campaign"]) == ("yandex", "winter_sale")
    assert src["telegram_start"] == {"payload": "yandex--winter_sale"}
    assert src["telegram_start_kind"] == "advert"
