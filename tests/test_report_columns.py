"""The report columns (``conversations.first_*``, ``deals.reach_position`` and
``last_move_at``): the write path keeps them, migration 0005 fills them from the rows, and the
reports read them with the same figures as from ``messages`` and ``stage_changes``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from alembic import command
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.crm_sync import reports
from hub.crm_sync.models import Deal, StageChange
from hub.crm_sync.report_period import parse_period
from hub.crm_sync.response_times import first_response
from hub.db import make_engine
from hub.http import CTX
from hub.inbox.models import Contact, ContactIdentity, Conversation, Message
from hub.migrate import alembic_config, upgrade
from tests.crm_helpers import make_deal, stages
from tests.crm_seed import Seeder
from tests.helpers import Op, customer_says, make_api_channel, make_operator
from tests.report_dataset import seed


async def _columns(client: TestClient, conv_id: int) -> tuple[Any, ...]:  # type: ignore[type-arg]
    conv = await client.app[CTX].read(lambda s: s.get(Conversation, conv_id))
    return (conv.first_incoming_at, conv.first_reply_at, conv.first_replier_id)


async def _times(client: TestClient, conv_id: int) -> list[tuple[str, datetime, int | None]]:  # type: ignore[type-arg]
    rows = await client.app[CTX].read(
        lambda s: s.execute(
            select(Message.kind, Message.created_at, Message.sender_operator_id)
            .where(Message.conversation_id == conv_id)
            .order_by(Message.id)
        )
    )
    return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def _post(client: TestClient, op: Op, conv_id: int, body: str, private: bool) -> None:  # type: ignore[type-arg]
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": body, "private": private},
        headers=op.headers,
    )
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize("phone", [None, "+79991234567"])
async def test_the_first_customer_message_and_operator_reply_are_kept(
    client: TestClient,  # type: ignore[type-arg]
    phone: str | None,
) -> None:
    """Without a phone the message takes the batched path, with one the per-message path."""
    admin = await make_operator(client, role="admin")
    other = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    first = await customer_says(client, channel, "hello", phone=phone)
    conv_id = first["conversation"]["id"]
    t_in = (await _times(client, conv_id))[0][1]
    assert await _columns(client, conv_id) == (t_in, None, None)
    await customer_says(client, channel, "anyone?", phone=phone)
    await _post(client, admin, conv_id, "internal: call him", private=True)  # a note
    assert await _columns(client, conv_id) == (t_in, None, None)
    await _post(client, admin, conv_id, "Hello!", private=False)
    t_out = (await _times(client, conv_id))[-1][1]
    assert await _columns(client, conv_id) == (t_in, t_out, admin.id)
    await _post(client, other, conv_id, "Me too", private=False)  # a second reply
    await customer_says(client, channel, "thanks", phone=phone)
    assert await _columns(client, conv_id) == (t_in, t_out, admin.id)


async def test_a_reply_before_the_customer_wrote_is_not_the_first_response(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)

    async def unit(session: AsyncSession) -> int:
        contact = Contact(name="Early bird")
        session.add(contact)
        await session.flush()
        identity = ContactIdentity(
            contact_id=contact.id, channel_id=channel["id"], external_id="eb"
        )
        session.add(identity)
        await session.flush()
        conv = Conversation(
            channel_id=channel["id"], contact_id=contact.id, identity_id=identity.id
        )
        session.add(conv)
        await session.flush()
        return int(conv.id)

    conv_id = await client.app[CTX].write(unit)
    await _post(client, admin, conv_id, "We called you, write back", private=False)
    assert await _columns(client, conv_id) == (None, None, None)
    said = await customer_says(client, channel, "here I am", external_id="eb")
    assert said["conversation"]["id"] == conv_id
    t_in = (await _times(client, conv_id))[-1][1]
    assert await _columns(client, conv_id) == (t_in, None, None)
    await _post(client, admin, conv_id, "Great", private=False)
    t_out = (await _times(client, conv_id))[-1][1]
    assert await _columns(client, conv_id) == (t_in, t_out, admin.id)


async def test_stage_actions_keep_the_reach_and_the_last_move(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    st = await stages(client, admin)
    deal = await make_deal(client, channel, admin, "r1")
    url = f"/api/v1/deals/{deal['id']}"

    async def state() -> tuple[int | None, datetime | None, datetime]:
        async def unit(s: AsyncSession) -> tuple[int | None, datetime | None, datetime]:
            row = await s.get(Deal, deal["id"], populate_existing=True)
            assert row is not None
            last = await s.scalar(
                select(StageChange.created_at)
                .where(StageChange.deal_id == row.id)
                .order_by(StageChange.id.desc())
                .limit(1)
            )
            assert last is not None
            return row.reach_position, row.last_move_at, last

        return await client.app[CTX].read(unit)

    reach, moved, last = await state()
    assert (reach, moved) == (st[0]["position"], last)
    for body, expected in (
        ({"stage_id": st[2]["id"]}, st[2]["position"]),  # forward, skipping one
        ({"stage_id": st[1]["id"], "reason": "not ready"}, st[2]["position"]),  # back: kept
    ):
        resp = await client.post(f"{url}/stage", json=body, headers=admin.headers)
        assert resp.status == 200, await resp.text()
        reach, moved, last = await state()
        assert (reach, moved) == (expected, last)
    resp = await client.post(f"{url}/lost", json={"reason": "too expensive"}, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    reach, moved, last = await state()
    assert (reach, moved) == (st[2]["position"], last)  # a closed stage is no open stage
    resp = await client.post(f"{url}/reopen", json={"reason": "back"}, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    reach, moved, last = await state()
    assert (reach, moved) == (st[2]["position"], last)


async def test_stage_reach_from_the_columns_equals_the_stage_changes(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """For periods ending before, during and after the data set's moves: the funnel read from
    the deals' columns equals the funnel read from every deal's stage changes."""

    async def unit(session: AsyncSession) -> None:
        await seed(Seeder(session))

    await client.app[CTX].write(unit)
    ends = ["2026-11-03", "2026-11-05", "2026-11-07", "2026-11-09", "2026-11-15", "2026-11-30"]
    for end in ends:
        period = parse_period(
            "2026-11-01", end, "Europe/Moscow", now=datetime(2026, 12, 1, tzinfo=UTC)
        )
        from_columns = await client.app[CTX].read(
            lambda s, period=period: reports._stages(s, period, None)
        )

        async def from_changes(s: AsyncSession, period: Any = period) -> Any:
            # A last move after any end sends every deal to its stage changes.
            await s.execute(update(Deal).values(last_move_at=datetime(2100, 1, 1, tzinfo=UTC)))
            out = await reports._stages(s, period, None)
            await s.rollback()
            return out

        assert from_columns == await client.app[CTX].read(from_changes), end
    reached = [st["reached"] for p in from_columns for st in p["stages"]]
    assert sum(reached) > 0


async def _figures(session: AsyncSession) -> list[Any]:
    period = parse_period(
        "2026-11-01", "2026-11-30", "Europe/Moscow", now=datetime(2026, 12, 1, tzinfo=UTC)
    )
    columns = (
        await session.execute(
            select(
                Conversation.id, Conversation.first_incoming_at, Conversation.first_reply_at,
                Conversation.first_replier_id,
            ).order_by(Conversation.id)
        )
    ).all()  # fmt: skip
    deals = (
        await session.execute(
            select(Deal.id, Deal.reach_position, Deal.last_move_at).order_by(Deal.id)
        )
    ).all()
    return [
        [tuple(r) for r in columns],
        [tuple(r) for r in deals],
        await reports._stages(session, period, None),
        *[await first_response(session, period, group=g) for g in ("all", "operator", "source")],
    ]


async def test_migration_0005_fills_the_columns_of_existing_rows(tmp_path: Path) -> None:
    """Rows written before the columns existed: downgrading to 0004 drops the columns, the
    upgrade fills them again from the messages and stage changes, with the same figures."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        await upgrade(engine)
        async with sessions() as session:
            await seed(Seeder(session))
            await session.commit()
        async with sessions() as session:
            before = await _figures(session)
        assert before[2] and before[3][None]["answered"] == 5

        def downgrade(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")

        migrating = make_engine(
            f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}", foreign_keys=False
        )
        try:
            async with migrating.begin() as conn:
                await conn.run_sync(downgrade)
        finally:
            await migrating.dispose()
        await upgrade(engine)
        async with sessions() as session:
            assert await _figures(session) == before
    finally:
        await engine.dispose()
