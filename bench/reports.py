"""Report speed: the three report endpoints over 100,000 deals and 1,000,000 messages.

    .venv/bin/python -m bench.reports [--deals N] [--messages N] [--runs N] [--backend B]

For each backend it makes its own database (a temporary SQLite file; a PostgreSQL database
``hub_bench_reports_<random>`` on ``BENCH_PG_DSN``), migrates it, fills it with
``bench.crm_data`` and removes it at the end. The hub is served in this process on a real port
(aiohttp's test server) and each report is fetched over HTTP by a manager, for the default
period (the last 30 days) and for the whole year, ``--runs`` times after one warm-up; the
median and the slowest run are reported. The baseline of the same run, on the same database:
``GET /healthz`` over the same HTTP client (the HTTP floor) and a bare
``SELECT count(*) FROM messages`` on the hub's engine (a full pass over the big table). The hub
uses the in-process bus: reports never touch the bus.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bench.crm_data import Generator, Sizes, write_postgres, write_sqlite
from hub.app import create_app
from hub.db import make_engine
from hub.http import CTX
from hub.inbox.staff import create_operator
from hub.migrate import upgrade
from hub.settings import Settings

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REPORTS = ("funnel", "operators", "sources")


async def _migrate(url: str) -> None:
    engine = make_engine(url, foreign_keys=False)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def sqlite_database(sizes: Sizes, now: datetime) -> AsyncIterator[tuple[str, dict[str, int]]]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-reports-") as folder:
        path = str(Path(folder) / "hub.db")
        url = f"sqlite+aiosqlite:///{path}"
        await _migrate(url)
        counts = await asyncio.to_thread(write_sqlite, path, Generator(sizes, now))
        yield url, counts


@asynccontextmanager
async def postgres_database(
    sizes: Sizes, now: datetime
) -> AsyncIterator[tuple[str, dict[str, int]]]:
    name = f"hub_bench_reports_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        await _migrate(url)
        counts = await write_postgres(dsn, Generator(sizes, now))
        yield url, counts
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _timed(fn: Callable[[], Awaitable[None]], runs: int) -> dict[str, float]:
    await fn()  # warm-up: caches, prepared statements, the planner's statistics
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


async def measure(url: str, runs: int, now: datetime) -> dict[str, Any]:
    settings = Settings(
        database_url=url, redis_url=None, secret_key="bench", fast_password_hash=True
    )
    app = create_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        ctx = app[CTX]
        password = "bench-" + secrets.token_urlsafe(12)
        await create_operator(
            ctx, email="bench-manager@example.com", name="Manager", role="manager",
            password=password,
        )  # fmt: skip
        resp = await client.post(
            "/api/v1/auth/login",
            json={"email": "bench-manager@example.com", "password": password},
        )
        headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        year = (now - timedelta(days=365)).isoformat()
        out: dict[str, Any] = {}
        for period, query in (("last 30 days", ""), ("whole year", f"?from={year}")):
            for report in REPORTS:

                async def fetch(path: str = f"/api/v1/reports/{report}{query}") -> None:
                    resp = await client.get(path.replace("+", "%2B"), headers=headers)
                    assert resp.status == 200, await resp.text()
                    await resp.json()

                out[f"{report} ({period})"] = await _timed(fetch, runs)

        async def healthz() -> None:
            resp = await client.get("/healthz")
            await resp.read()

        async def count_messages() -> None:
            async with ctx.engine.connect() as conn:
                await conn.execute(text("SELECT count(*) FROM messages"))

        out["baseline: GET /healthz"] = await _timed(healthz, runs)
        out["baseline: SELECT count(*) FROM messages"] = await _timed(count_messages, runs)
        return out
    finally:
        await client.close()


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | what | median ms | max ms |",
        "|---|---|---|---|",
    ]
    for backend, rows in results["backends"].items():
        for what, figures in rows["timings"].items():
            lines.append(f"| {backend} | {what} | {figures['median_ms']} | {figures['max_ms']} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    sizes = Sizes(deals=args.deals, messages=args.messages)
    now = datetime.now(UTC)
    results: dict[str, Any] = {
        "when": now.isoformat(timespec="seconds"),
        "deals": sizes.deals,
        "messages": sizes.messages,
        "runs": args.runs,
        "load_average": os.getloadavg()[0],
        "backends": {},
    }
    makers = {"SQLite": sqlite_database, "PostgreSQL": postgres_database}
    for name, maker in makers.items():
        if args.backend and not name.lower().startswith(args.backend):
            continue
        started = time.perf_counter()
        async with maker(sizes, now) as (url, counts):
            seeded_s = round(time.perf_counter() - started, 1)
            print(f"{name}: seeded {counts} in {seeded_s} s", flush=True)
            timings = await measure(url, args.runs, now)
        results["backends"][name] = {"rows": counts, "seed_s": seeded_s, "timings": timings}
    print(table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "reports.json")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
