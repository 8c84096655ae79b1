"""The baseline for the write-path benchmark: the least a server can do for the same job.

``POST /inbound`` with a JSON body inserts one row into SQLite (WAL, ``synchronous=NORMAL``)
and answers 201 only after the commit that holds it, then every operator socket on ``/ws``
gets a ``message.created`` frame shaped like the hub's. Commits are grouped: one writer task
takes everything pending, inserts it and commits once (in a worker thread, so the event loop
keeps serving). No ORM, no validation model, no contacts or conversations, no bus: what the
hub does on top of this is what the benchmark's ratio prices.

Run: ``python -m bench.baseline_relay --port 8100 --db /tmp/relay.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    external_id TEXT UNIQUE,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""
SOCKET_QUEUE = 1000


@dataclass(slots=True)
class _Insert:
    conversation: str
    external_id: str | None
    body: str
    answer: asyncio.Future[int]


class GroupWriter:
    """One task commits every batch of pending inserts; each caller waits for its commit."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._queue: asyncio.Queue[_Insert] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._db.close()

    async def insert(self, conversation: str, external_id: str | None, body: str) -> int:
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Insert(conversation, external_id, body, answer))
        return await answer

    def _commit(self, batch: list[_Insert]) -> list[int]:
        now = time.time()
        ids = []
        self._db.execute("BEGIN")
        for item in batch:
            cur = self._db.execute(
                "INSERT INTO messages (conversation, external_id, body, created_at)"
                " VALUES (?, ?, ?, ?)",
                (item.conversation, item.external_id, item.body, now),
            )
            ids.append(int(cur.lastrowid or 0))
        self._db.execute("COMMIT")
        return ids

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                ids = await asyncio.to_thread(self._commit, batch)
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                for item in batch:
                    item.answer.set_exception(exc)
                continue
            for item, row_id in zip(batch, ids, strict=True):
                if not item.answer.done():
                    item.answer.set_result(row_id)


WRITER = web.AppKey("writer", GroupWriter)
SOCKETS: web.AppKey[set[asyncio.Queue[str | None]]] = web.AppKey("sockets")


def _broadcast(app: web.Application, frame: dict[str, Any]) -> None:
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    sockets = app[SOCKETS]
    for queue in list(sockets):
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(text)


async def inbound(request: web.Request) -> web.Response:
    try:
        data = json.loads(await request.read())
        conversation = str(data["contact"]["external_id"])
        body = str(data["body"])
        external_id = data.get("external_message_id")
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": {"code": "bad_request"}}, status=400)
    row_id = await request.app[WRITER].insert(conversation, external_id, body)
    message = {"id": row_id, "conversation_id": conversation, "body": body}
    _broadcast(
        request.app,
        {
            "type": "event",
            "id": f"{row_id}-0",
            "event": "message.created",
            "data": {"conversation_id": conversation, "message": message},
        },
    )
    return web.json_response({"message": message}, status=201)


async def operator_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20, compress=False)  # as the hub's operator socket
    await ws.prepare(request)
    queue: asyncio.Queue[str | None] = asyncio.Queue(SOCKET_QUEUE)
    request.app[SOCKETS].add(queue)

    async def sender() -> None:
        while (text := await queue.get()) is not None:
            await ws.send_str(text)

    task = asyncio.create_task(sender())
    try:
        await ws.send_str(json.dumps({"type": "ready"}))
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        request.app[SOCKETS].discard(queue)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return ws


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(db_path: str) -> web.Application:
    app = web.Application()
    app[SOCKETS] = set()
    app[WRITER] = GroupWriter(db_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[WRITER].start()
        yield
        await app[WRITER].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/inbound", inbound)
    app.router.add_get("/ws", operator_socket)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file to write")
    args = parser.parse_args()
    web.run_app(make_app(args.db), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
