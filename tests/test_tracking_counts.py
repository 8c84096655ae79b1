"""An email's tracking summary read from its count rows agrees with its stored hits: the
summary the events themselves give (``summarize`` over their grouped count, as the hub worked it
out before the count rows) after seeded random hits of every kind, verdict and order in time,
stored in concurrent batches (the write lane's driver path) and one by one (the ORM path of a
batch that failed). Both backends."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.tracking_links import new_token
from hub.channels.email.tracking_store import TrackHit, record_hit, tracking_writes
from hub.channels.email.tracking_verdict import Hit
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.tracking_models import EmailTracking, EmailTrackingEvent, HitKind
from hub.inbox.tracking_view import summaries_of, summarize
from tests.helpers import customer_says, make_api_channel, make_operator

AGENTS = [
    # A desktop browser (a person), Outlook, Gmail's image proxy, a link checker, nothing.
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
    "",
]
ADDRESSES = ["203.0.113.7", "17.58.101.4", "66.249.84.10", "198.51.100.20"]


async def tracked_emails(client: TestClient, count: int) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    """``count`` operator replies made tracked emails with two links: (message id, token)."""
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    out = []
    for n in range(count):
        said = await customer_says(client, channel, "КП?", external_id=f"c-{n}")
        conv_id = said["conversation"]["id"]
        resp = await client.post(
            f"/api/v1/conversations/{conv_id}/messages", json={"body": "КП"}, headers=admin.headers
        )
        assert resp.status == 201, await resp.text()
        out.append((int((await resp.json())["id"]), new_token()))

    async def unit(session: AsyncSession) -> None:
        for message_id, token in out:
            session.add(
                EmailTracking(
                    message_id=message_id,
                    token=token,
                    links=["https://pechipro.ru/kp", "https://pechipro.ru/price"],
                    sent_at=utcnow() - timedelta(hours=1),
                )
            )

    await client.app[CTX].write(unit)
    return out


def random_hits(rng: random.Random, emails: list[tuple[int, str]], count: int) -> list[TrackHit]:
    now = utcnow()
    hits = []
    for _ in range(count):
        _message_id, token = rng.choice(emails)
        click = rng.random() < 0.3
        hit = Hit(
            HitKind.CLICK if click else HitKind.OPEN,
            now - timedelta(seconds=rng.randrange(0, 3000)),  # out of order in time
            rng.choice(ADDRESSES),
            rng.choice(AGENTS),
            rng.choice(["GET", "GET", "GET", "HEAD"]),
        )
        hits.append(TrackHit(token, hit, rng.randrange(2) if click else None))
    return hits


async def from_events(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The summaries the stored hits give when counted one by one."""
    e = EmailTrackingEvent
    rows = await session.execute(
        select(
            e.message_id,
            e.kind,
            e.verdict,
            func.count(),
            func.min(e.at),
            func.max(e.at),
            func.max(e.client),
        )
        .where(e.message_id.in_(ids))
        .group_by(e.message_id, e.kind, e.verdict)
    )
    return summarize(ids, [tuple(r) for r in rows.all()])  # type: ignore[misc]


async def test_count_rows_agree_with_the_stored_hits(client: TestClient) -> None:  # type: ignore[type-arg]
    ctx = client.app[CTX]
    emails = await tracked_emails(client, 3)
    ids = [message_id for message_id, _ in emails]
    rng = random.Random(20261206)
    writes = tracking_writes(ctx)
    for _round in range(4):
        hits = random_hits(rng, emails, 60)
        batched, alone = hits[:50], hits[50:]
        await asyncio.gather(*(record_hit(ctx, item) for item in batched))
        for item in alone:
            await ctx.write(lambda s, item=item: writes.run_one(s, item))

        counted = await ctx.read(lambda s: summaries_of(s, ids))
        expected = await ctx.read(lambda s: from_events(s, ids))
        assert counted == expected
    stored = await ctx.read(
        lambda s: s.scalar(select(func.count()).select_from(EmailTrackingEvent))
    )
    assert stored == 240
    verdicts = await ctx.read(lambda s: s.scalars(select(EmailTrackingEvent.verdict).distinct()))
    assert len(set(verdicts)) >= 2  # people and machines both among them
    assert sum(s["opens"] + s["clicks"] for s in counted.values()) > 0
