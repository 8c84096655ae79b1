"""A fast generator of a CRM data set for the report benchmark: 100,000 deals and 1,000,000
messages by default, spread over the last year, written with the database's bulk paths
(``executemany`` on a plain sqlite3 connection, ``COPY`` through asyncpg on PostgreSQL).

Distributions are meant to look like a small sales team's year, not to be uniform:

* conversations start at random times over the year, busier on weekdays and in office hours;
  each has 2 to 18 messages: the customer first, then operators' replies (first reply after a
  log-normal delay, median about 4 minutes, a tenth never answered), the customer's answers,
  some internal notes and system activities;
* every conversation makes a lead with a source (widget, Telegram, email, API; UTM sources and
  campaigns skewed towards the big ones); 70 % of leads become deals, and 30,000 more deals are
  made directly;
* deals walk a five-stage B2B pipeline or a three-stage retail one: at each stage about half go
  on, a quarter are lost there with a reason from a list, the rest stay; after the last stage 70 %
  are won; owners are 20 operators, a few of whom own most deals.

Rows get explicit ids; PostgreSQL's sequences are moved past them afterwards.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

import hub.models  # noqa: F401 - registers every table on Base.metadata
from hub.crm_sync import report_columns
from hub.db import Base

CHUNK = 50_000
CHANNELS = [("widget", 0.45), ("telegram", 0.30), ("email", 0.10), ("api", 0.15)]
UTM_SOURCES = [("yandex", 0.4), ("google", 0.25), ("vk", 0.1), (None, 0.25)]
CAMPAIGNS = [("winter_sale", 0.35), ("brand", 0.3), ("retargeting", 0.15), (None, 0.2)]
LOST_REASONS = ["Дорого", "Выбрали конкурента", "Нет бюджета", "Не отвечает", "Спам", "Другое"]
B2B = ["Новая", "Квалифицирована", "КП отправлено", "Переговоры", "Договор"]
RETAIL = ["Заявка", "Предложение", "Оплата"]


def _pick(options: list[tuple[Any, float]], rnd: random.Random) -> Any:
    return rnd.choices([o for o, _ in options], [w for _, w in options])[0]


@dataclass
class Sizes:
    deals: int = 100_000
    messages: int = 1_000_000
    operators: int = 20
    days: int = 365

    @property
    def conversations(self) -> int:
        return max(1, self.messages // 10)


class Generator:
    """Yields (table name, list of row dicts) chunks in an order the foreign keys accept."""

    def __init__(self, sizes: Sizes, now: datetime, seed: int = 42) -> None:
        self.sizes = sizes
        self.now = now
        self.rnd = random.Random(seed)
        self.start = now - timedelta(days=sizes.days)
        weights = [1 / (i + 1) for i in range(sizes.operators)]
        self.owner_weights = weights
        self.stage_ids: dict[str, list[int]] = {}
        self.won_lost: dict[str, tuple[int, int]] = {}

    def _moment(self) -> datetime:
        """A time in the year, busier in office hours and on weekdays."""
        rnd = self.rnd
        while True:
            t = self.start + timedelta(seconds=rnd.random() * self.sizes.days * 86400)
            local_hour = (t.hour + 3) % 24
            weekday = t.weekday() < 5
            if rnd.random() < (0.9 if 9 <= local_hour < 19 else 0.15) * (1 if weekday else 0.4):
                return t

    def _owner(self) -> int:
        return self.rnd.choices(range(1, self.sizes.operators + 1), self.owner_weights)[0]

    def static(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        ops = [
            {"id": i, "email": f"bench-op{i}@example.com", "name": f"Оператор {i}",
             "role": "operator", "password_hash": "-"}
            for i in range(1, self.sizes.operators + 1)
        ]  # fmt: skip
        yield "operators", ops
        yield (
            "channels",
            [
                {"id": i, "type": name, "name": name, "secret": "-"}
                for i, (name, _) in enumerate(CHANNELS, start=1)
            ],
        )
        yield (
            "lost_reasons",
            [{"id": i, "name": name, "position": i} for i, name in enumerate(LOST_REASONS, 1)],
        )
        yield (
            "pipelines",
            [
                {"id": 1, "name": "B2B", "is_default": True},
                {"id": 2, "name": "Розница", "is_default": False},
            ],
        )
        stages, sid = [], 0
        for pid, names in ((1, B2B), (2, RETAIL)):
            key = str(pid)
            self.stage_ids[key] = []
            for pos, name in enumerate([*names, "Успешно", "Проиграна"], start=1):
                sid += 1
                kind = "won" if name == "Успешно" else "lost" if name == "Проиграна" else "open"
                stages.append(
                    {"id": sid, "pipeline_id": pid, "name": name, "position": pos, "kind": kind}
                )
                if kind == "open":
                    self.stage_ids[key].append(sid)
            self.won_lost[key] = (sid - 1, sid)
        yield "stages", stages

    def conversations(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Contacts, conversations, their messages and one lead each."""
        rnd, n_conv = self.rnd, self.sizes.conversations
        per_conv = self.sizes.messages / n_conv
        msg_id = 0
        self.conv_info: list[tuple[int, datetime, int, tuple[Any, ...]]] = []
        for base in range(0, n_conv, CHUNK // 10):
            contacts, convs, msgs, leads = [], [], [], []
            for cid in range(base + 1, min(n_conv, base + CHUNK // 10) + 1):
                t = self._moment()
                channel = rnd.choices(range(1, 5), [w for _, w in CHANNELS])[0]
                owner = self._owner()
                source = (CHANNELS[channel - 1][0], _pick(UTM_SOURCES, rnd), _pick(CAMPAIGNS, rnd))
                contacts.append({"id": cid, "name": f"Клиент {cid}", "created_at": t})
                convs.append(
                    {"id": cid, "channel_id": channel, "contact_id": cid, "assignee_id": owner,
                     "status": "resolved", "created_at": t, "last_activity_at": t}
                )  # fmt: skip
                leads.append(
                    {"id": cid, "contact_id": cid, "conversation_id": cid, "channel_id": channel,
                     "status": "incoming", "source_channel": source[0], "utm_source": source[1],
                     "utm_campaign": source[2], "created_at": t}
                )  # fmt: skip
                self.conv_info.append((cid, t, owner, source))
                count = max(1, min(18, round(rnd.gauss(per_conv, 3))))
                answered = rnd.random() > 0.1
                kind = "incoming"
                for i in range(count):
                    msg_id += 1
                    if i > 0:
                        if kind == "incoming" and answered:
                            kind = "outgoing"
                            t += timedelta(seconds=min(86400 * 3, rnd.lognormvariate(5.5, 1.3)))
                        else:
                            kind = (
                                rnd.choices(["incoming", "note", "activity"], [0.8, 0.12, 0.08])[0]
                                if answered
                                else "incoming"
                            )
                            t += timedelta(seconds=rnd.uniform(30, 1800))
                    msgs.append(
                        {"id": msg_id, "conversation_id": cid, "channel_id": channel,
                         "kind": kind, "body": "…",
                         "sender_operator_id": owner if kind in ("outgoing", "note") else None,
                         "sender_contact_id": cid if kind == "incoming" else None,
                         "created_at": t}
                    )  # fmt: skip
                    if kind in ("note", "activity"):
                        kind = "incoming"  # the customer goes on
            yield "contacts", contacts
            yield "conversations", convs
            yield "messages", msgs
            yield "leads", leads

    def deals(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        rnd = self.rnd
        n_deals = self.sizes.deals
        from_leads = min(len(self.conv_info), int(n_deals * 0.7))
        chosen = rnd.sample(self.conv_info, from_leads)
        change_id = 0
        lead_links: list[tuple[int, int]] = []
        for base in range(0, n_deals, CHUNK // 5):
            deals, changes = [], []
            for did in range(base + 1, min(n_deals, base + CHUNK // 5) + 1):
                if did <= from_leads:
                    cid, t, owner, source = chosen[did - 1]
                    contact, conv = cid, cid
                    t += timedelta(minutes=rnd.uniform(5, 600))
                    lead_links.append((cid, did))
                else:
                    contact = rnd.randint(1, len(self.conv_info))
                    conv, t, owner = None, self._moment(), self._owner()
                    source = (None, None, None)
                pkey = "1" if rnd.random() < 0.7 else "2"
                open_stages = self.stage_ids[pkey]
                won_id, lost_id = self.won_lost[pkey]
                created, previous, status, lost_at = t, None, "open", None
                for index, stage in enumerate(open_stages):
                    if t > self.now:
                        break
                    change_id += 1
                    changes.append(
                        {"id": change_id, "deal_id": did, "from_stage_id": previous,
                         "to_stage_id": stage, "direction": "initial" if index == 0 else "forward",
                         "operator_id": owner, "created_at": t}
                    )  # fmt: skip
                    previous = stage
                    r = rnd.random()
                    t += timedelta(seconds=rnd.uniform(3600, 5 * 86400))
                    if r < 0.5:
                        continue
                    if r < 0.75 and t <= self.now:
                        status, lost_at = "lost", stage
                    break
                else:
                    if t <= self.now and rnd.random() < 0.9:
                        status = "won" if rnd.random() < 0.78 else "lost"
                        lost_at = previous if status == "lost" else None
                closed = t if status != "open" else None
                if closed is not None:
                    change_id += 1
                    changes.append(
                        {"id": change_id, "deal_id": did, "from_stage_id": previous,
                         "to_stage_id": won_id if status == "won" else lost_id,
                         "direction": status, "operator_id": owner, "created_at": closed}
                    )  # fmt: skip
                amount = int(math.exp(rnd.gauss(11.5, 1.0))) * 100
                deals.append(
                    {"id": did, "title": f"Сделка {did}", "amount_minor": amount,
                     "currency": "RUB", "contact_id": contact, "owner_id": owner,
                     "pipeline_id": int(pkey),
                     "stage_id": won_id if status == "won" else lost_id if status == "lost"
                     else previous or open_stages[0],
                     "status": status, "conversation_id": conv, "source_channel": source[0],
                     "utm_source": source[1], "utm_campaign": source[2],
                     "lost_reason": rnd.choice(LOST_REASONS) if status == "lost" else None,
                     "lost_stage_id": lost_at, "created_by_id": owner, "created_at": created,
                     "updated_at": closed or created, "closed_at": closed}
                )  # fmt: skip
            yield "deals", deals
            yield "stage_changes", changes
        self.lead_links = lead_links

    def all(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        yield from self.static()
        yield from self.conversations()
        yield from self.deals()


def _defaults(table: str) -> tuple[list[str], list[Any]]:
    cols = list(Base.metadata.tables[table].columns)
    return [c.name for c in cols], [c.default for c in cols]


def _fill(default: Any, now: datetime) -> Any:
    """A column's Python-side default: SQLAlchemy wraps callables to take a context."""
    if default is None:
        return None
    if default.is_callable:
        value = default.arg(None)
        return now if isinstance(value, datetime) else value
    return default.arg


def _rows(
    table: str, dicts: list[dict[str, Any]], sqlite: bool, now: datetime
) -> list[tuple[Any, ...]]:
    names, defaults = _defaults(table)
    fill = [_fill(default, now) for default in defaults]
    out = []
    for d in dicts:
        row = []
        for name, base in zip(names, fill, strict=True):
            value = d.get(name, base)
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            elif sqlite and isinstance(value, datetime):
                value = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            elif sqlite and isinstance(value, bool):
                value = int(value)
            row.append(value)
        out.append(tuple(row))
    return out


def write_sqlite(path: str, gen: Generator) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for table, dicts in _with_lead_links(gen):
            if table == "leads#link":
                conn.executemany(
                    "UPDATE leads SET deal_id = ?, status = 'qualified' WHERE id = ?",
                    [(d["deal_id"], d["id"]) for d in dicts],
                )
                continue
            names, _ = _defaults(table)
            marks = ", ".join("?" * len(names))
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
            conn.executemany(sql, _rows(table, dicts, True, gen.now))
            counts[table] = counts.get(table, 0) + len(dicts)
        # The report columns the write path keeps, computed from the rows just written.
        for sql, _ in report_columns.statements():
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return counts


async def write_postgres(dsn: str, gen: Generator) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn = await asyncpg.connect(dsn)
    try:
        for table, dicts in _with_lead_links(gen):
            if table == "leads#link":
                await conn.executemany(
                    "UPDATE leads SET deal_id = $1, status = 'qualified' WHERE id = $2",
                    [(d["deal_id"], d["id"]) for d in dicts],
                )
                continue
            names, _ = _defaults(table)
            await conn.copy_records_to_table(
                table, records=_rows(table, dicts, False, gen.now), columns=names
            )
            counts[table] = counts.get(table, 0) + len(dicts)
        for table in counts:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        for sql, _ in report_columns.statements():
            await conn.execute(sql)
        # As autovacuum would soon on a live database: statistics, and the visibility map that
        # lets index-only scans skip the table.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return counts


def _with_lead_links(gen: Generator) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield from gen.all()
    links = [{"id": lead, "deal_id": deal} for lead, deal in gen.lead_links]
    for base in range(0, len(links), CHUNK):
        yield "leads#link", links[base : base + CHUNK]
