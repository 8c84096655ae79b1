"""The call benchmark's baseline: the least a server can do for the same job.

``POST /calls`` takes a Twilio status callback (form-encoded), checks its
``X-Twilio-Signature`` (HMAC-SHA1 over the URL and the sorted parameters) and folds it into one
row per ``CallSid`` (an upsert keeping the strongest status and the longest duration); it
answers only after the commit that holds it. Commits are grouped: one writer task takes every
pending event, writes them and commits once. SQLite (in a worker thread) or PostgreSQL
(asyncpg). No contacts, conversations, messages, events or bus: what the hub does on top of
this is what the benchmark's ratio prices.

Run: ``python -m bench.calls_bare --port 8100 --db sqlite:/tmp/calls.db`` (or ``--db
postgresql://…``), ``--token`` the auth token, ``--public-url`` the URL the senders sign.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from aiohttp import web

RANK = {"queued": 0, "ringing": 0, "in-progress": 2, "completed": 3, "no-answer": 1, "busy": 1}
SQLITE_UPSERT = (
    "INSERT INTO calls (call_sid, caller, status, rank, duration) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (call_sid) DO UPDATE SET"
    " status = CASE WHEN excluded.rank > calls.rank THEN excluded.status ELSE calls.status END,"
    " rank = max(calls.rank, excluded.rank), duration = max(calls.duration, excluded.duration)"
)
PG_UPSERT = (
    "INSERT INTO calls (call_sid, caller, status, rank, duration) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (call_sid) DO UPDATE SET"
    " status = CASE WHEN excluded.rank > calls.rank THEN excluded.status ELSE calls.status END,"
    " rank = greatest(calls.rank, excluded.rank),"
    " duration = greatest(calls.duration, excluded.duration)"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS calls (call_sid TEXT PRIMARY KEY, caller TEXT NOT NULL,"
    " status TEXT NOT NULL, rank INTEGER NOT NULL, duration INTEGER NOT NULL)"
)


@dataclass(slots=True)
class _Event:
    row: tuple[str, str, str, int, int]
    answer: asyncio.Future[None]


class GroupWriter:
    def __init__(self, db: str) -> None:
        self._db = db
        self._queue: asyncio.Queue[_Event] = asyncio.Queue()
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._db.startswith("sqlite:"):
            self._sqlite = sqlite3.connect(
                self._db.removeprefix("sqlite:"), isolation_level=None, check_same_thread=False
            )
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
            self._sqlite.execute(SCHEMA)
        else:
            self._pg = await asyncpg.connect(self._db)
            await self._pg.execute(SCHEMA)
        self._task = asyncio.create_task(self._loop())

    def _write_sqlite(self, rows: list[tuple[str, str, str, int, int]]) -> None:
        assert self._sqlite is not None
        self._sqlite.execute("BEGIN")
        self._sqlite.executemany(SQLITE_UPSERT, rows)
        self._sqlite.execute("COMMIT")

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            rows = sorted((e.row for e in batch), key=lambda r: r[0])  # one lock order
            try:
                if self._sqlite is not None:
                    await asyncio.to_thread(self._write_sqlite, rows)
                else:
                    async with self._pg.transaction():
                        await self._pg.executemany(PG_UPSERT, rows)
            except Exception as exc:
                for e in batch:
                    e.answer.set_exception(exc)
                continue
            for e in batch:
                e.answer.set_result(None)

    async def write(self, row: tuple[str, str, str, int, int]) -> None:
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Event(row, answer))
        await answer


def signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    text = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def make_app(writer: GroupWriter, token: str, public_url: str) -> web.Application:
    async def calls(request: web.Request) -> web.Response:
        params = parse_qsl((await request.read()).decode(), keep_blank_values=True)
        expected = signature(token, public_url + request.path_qs, params)
        if not hmac.compare_digest(request.headers.get("X-Twilio-Signature", ""), expected):
            return web.json_response({"error": "bad signature"}, status=401)
        p = dict(params)
        status = p["CallStatus"]
        row = (p["CallSid"], p["From"], status, RANK.get(status, 0), int(p.get("CallDuration", 0)))
        await writer.write(row)
        return web.Response(body=b"<Response/>", content_type="text/xml")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/calls", calls)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(args: argparse.Namespace) -> None:
    writer = GroupWriter(args.db)
    await writer.start()
    runner = web.AppRunner(make_app(writer, args.token, args.public_url), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="sqlite:/path or postgresql://…")
    parser.add_argument("--token", required=True)
    parser.add_argument("--public-url", required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
