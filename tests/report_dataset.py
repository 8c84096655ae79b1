"""The hand-computed report data set: two pipelines' deals, stage changes, leads and
conversations with chosen timestamps in November 2026 (and a few just outside it).

``tests/test_reports.py`` states every figure it gives, worked out by hand; the browser test of
the reports page shows the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.crm_seed import Seeder

NOV = "from=2026-11-01&to=2026-11-30"
B2B = [("New", "open"), ("Qualified", "open"), ("Proposal", "open"), ("Negotiation", "open"),
       ("Won", "won"), ("Lost", "lost")]  # fmt: skip
RETAIL = [("Lead", "open"), ("Offer", "open"), ("Won", "won"), ("Lost", "lost")]
TG = ("telegram", "yandex", "winter")
WEB_WINTER = ("widget", "google", "winter")
WEB_SPRING = ("widget", "google", "spring")


@dataclass
class World:
    anna: int
    boris: int
    p1: dict[str, int]
    p2: dict[str, int]


async def seed(s: Seeder) -> World:
    anna = await s.operator("Anna")
    boris = await s.operator("Boris")
    p1 = await s.pipeline("B2B", B2B)
    p2 = await s.pipeline("Retail", RETAIL)
    # B2B deals. Lengths are closed_at - created_at in seconds.
    d1 = await s.deal(  # won after 8 days = 691200 s
        pipeline=p1, owner=anna, amount_minor=15_000_000, source=TG, won="2026-11-10 09:00",
        moves=[("New", "2026-11-02 09:00"), ("Qualified", "2026-11-03 09:00"),
               ("Proposal", "2026-11-05 09:00"), ("Negotiation", "2026-11-06 09:00")],
    )  # fmt: skip
    d2 = await s.deal(  # lost at Qualified after 4 days = 345600 s
        pipeline=p1, owner=anna, amount_minor=5_000_000, source=WEB_WINTER,
        moves=[("New", "2026-11-03 10:00"), ("Qualified", "2026-11-04 10:00")],
        lost=("Qualified", "Дорого", "2026-11-07 10:00"),
    )  # fmt: skip
    d3 = await s.deal(  # skips Qualified, moves back to it, won: 10 days 30 s = 864030 s
        pipeline=p1, owner=boris, amount_minor=9_999_999, source=WEB_SPRING,
        won="2026-11-14 12:00:30",
        moves=[("New", "2026-11-04 12:00"), ("Proposal", "2026-11-06 12:00"),
               ("Qualified", "2026-11-08 12:00")],
    )  # fmt: skip
    d4 = await s.deal(  # still open at New
        pipeline=p1, owner=boris, amount_minor=1_000_000, source=("api", None, None),
        moves=[("New", "2026-11-05 12:00")],
    )  # fmt: skip
    await s.deal(  # lost at New after 12 h = 43200 s
        pipeline=p1, owner=anna, source=TG, moves=[("New", "2026-11-06 08:00")],
        lost=("New", "Спам", "2026-11-06 20:00"),
    )  # fmt: skip
    await s.deal(  # created in October, won in the period after 13 days = 1123200 s, in USD
        pipeline=p1, owner=boris, amount_minor=200_000, currency="USD",
        source=("email", None, None), won="2026-11-02 00:00",
        moves=[("New", "2026-10-20 00:00"), ("Qualified", "2026-10-25 00:00")],
    )  # fmt: skip
    await s.deal(  # reached Qualified only after the period ended: counts at New
        pipeline=p1, owner=anna, source=WEB_WINTER,
        moves=[("New", "2026-11-20 10:00"), ("Qualified", "2026-12-05 10:00")],
    )  # fmt: skip
    await s.deal(  # entirely after the period
        pipeline=p1, owner=None, moves=[("New", "2026-12-02 10:00")],
        lost=("New", "Спам", "2026-12-03 10:00"),
    )  # fmt: skip
    # Retail deals.
    await s.deal(  # won after 2 days = 172800 s
        pipeline=p2, owner=anna, amount_minor=500_000, source=("widget", None, None),
        moves=[("Lead", "2026-11-10 10:00"), ("Offer", "2026-11-11 10:00")],
        won="2026-11-12 10:00",
    )  # fmt: skip
    await s.deal(  # lost at Lead after 6 h = 21600 s
        pipeline=p2, owner=boris, source=TG, moves=[("Lead", "2026-11-11 10:00")],
        lost=("Lead", "Дорого", "2026-11-11 16:00"),
    )  # fmt: skip
    # Conversations: first incoming message -> first operator reply.
    c1, _ = await s.conversation("2026-11-02 08:00")
    await s.message(c1, "incoming", "2026-11-02 08:00")
    await s.message(c1, "incoming", "2026-11-02 08:01")
    await s.message(c1, "note", "2026-11-02 08:02", anna)  # notes do not count
    await s.message(c1, "activity", "2026-11-02 08:02:30")
    await s.message(c1, "outgoing", "2026-11-02 08:05", anna)  # 300 s, Anna
    c2, _ = await s.conversation("2026-11-03 09:00")
    await s.message(c2, "incoming", "2026-11-03 09:00")
    await s.message(c2, "outgoing", "2026-11-03 09:00:01")  # automatic: no operator
    await s.message(c2, "outgoing", "2026-11-03 09:20", boris)  # 1200 s, Boris
    c3, _ = await s.conversation("2026-11-04 10:00")
    await s.message(c3, "outgoing", "2026-11-04 10:00", anna)  # before the customer wrote
    await s.message(c3, "incoming", "2026-11-04 10:10")
    await s.message(c3, "outgoing", "2026-11-04 10:10:45", anna)  # 45 s, Anna
    c4, _ = await s.conversation("2026-11-15 12:00")
    await s.message(c4, "incoming", "2026-11-15 12:00")  # unanswered
    c5, _ = await s.conversation("2026-11-16 13:00")
    await s.message(c5, "incoming", "2026-11-16 13:00")
    await s.message(c5, "outgoing", "2026-11-16 14:00", boris)  # 3600 s, Boris
    c6, _ = await s.conversation("2026-11-20 07:00")  # no lead: source (None, None, None)
    await s.message(c6, "incoming", "2026-11-20 07:00")
    await s.message(c6, "outgoing", "2026-11-20 07:00:10", anna)  # 10 s, Anna
    c7, _ = await s.conversation("2026-10-30 10:00")  # before the period
    await s.message(c7, "incoming", "2026-10-30 10:00")
    await s.message(c7, "outgoing", "2026-10-30 10:01", anna)
    c8, _ = await s.conversation("2026-11-21 10:00")  # no customer message: left out
    await s.message(c8, "note", "2026-11-21 10:00", anna)
    # Leads.
    await s.lead("2026-10-31 21:00", TG, deal=d1, conversation=c1)  # Nov 1 00:00 Moscow: in
    await s.lead("2026-11-03 09:00", WEB_WINTER, deal=d2, conversation=c2)
    await s.lead("2026-11-04 10:00", WEB_SPRING, deal=d3, conversation=c3)
    await s.lead("2026-11-15 12:00", WEB_WINTER, conversation=c4)
    await s.lead("2026-11-16 13:00", TG, conversation=c5, status="rejected")
    await s.lead("2026-11-10 12:00", ("api", None, None), deal=d4)
    await s.lead("2026-11-30 21:00", WEB_WINTER)  # Dec 1 00:00 Moscow: out
    await s.lead("2026-10-31 20:59:59", TG)  # Oct 31 23:59:59 Moscow: out
    return World(anna, boris, p1, p2)
