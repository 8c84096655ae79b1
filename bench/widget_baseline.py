"""The baseline for the widget benchmark: the least a server can do for a visitor chat.

It serves the same paths as the hub, so ``bench.widget`` drives both alike:

* ``POST /api/widget/v1/sessions`` answers a new random visitor token (kept in memory);
* ``/ws/widget?visitor_token=T``: a visitor's ``{"type": "message", "client_id", "body"}`` is
  inserted into SQLite by ``bench.baseline_relay``'s ``GroupWriter`` (grouped commits, WAL), then
  acknowledged (``ack``) and pushed to every operator socket as a hub-shaped ``message.created``;
* ``/ws/operator``: ``bench.baseline_relay``'s operator socket;
* ``POST /api/v1/conversations/{id}/messages`` ``{"body"}`` (the conversation id is the visitor's
  number): inserted the same way, answered 201 after its commit, then pushed as a ``message``
  frame to the visitor's sockets and as ``message.created`` to the operators.

Each visitor socket has a bounded queue and a sender task, like the hub's. No ORM, validation
models, contacts, conversations, auth, rate limits, delivery queue or bus: what the hub does on
top of this is what the benchmark's ratio prices.

Run: ``python -m bench.widget_baseline --port 8101 --db /tmp/widget.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bench.baseline_relay import SOCKETS, WRITER, GroupWriter, healthz, operator_socket

VISITOR_QUEUE = 200


@dataclass(eq=False)
class _VisitorSocket:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(VISITOR_QUEUE))


@dataclass
class _Visitors:
    by_token: dict[str, int] = field(default_factory=dict)
    sockets: dict[int, set[_VisitorSocket]] = field(default_factory=dict)


VISITORS = web.AppKey("visitors", _Visitors)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _to_operators(app: web.Application, conversation: int, message: dict[str, Any]) -> None:
    text = _dumps(
        {
            "type": "event",
            "id": f"{message['id']}-0",
            "event": "message.created",
            "data": {"conversation_id": conversation, "message": message},
        }
    )
    sockets = app[SOCKETS]
    for queue in list(sockets):
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(text)


def _to_visitor(app: web.Application, visitor: int, frame: dict[str, Any]) -> None:
    text = _dumps(frame)
    for sock in list(app[VISITORS].sockets.get(visitor, ())):
        with contextlib.suppress(asyncio.QueueFull):
            sock.queue.put_nowait(text)


async def create_session(request: web.Request) -> web.Response:
    visitors = request.app[VISITORS]
    token = secrets.token_urlsafe(24)
    visitors.by_token[token] = len(visitors.by_token) + 1
    return web.json_response({"visitor_token": token, "messages": []})


def _message(row_id: int, body: str, sender: str) -> dict[str, Any]:
    return {
        "id": row_id,
        "body": body,
        "sender": {"type": sender, "name": "Bench" if sender == "operator" else ""},
        "created_at": time.time(),
    }


async def reply(request: web.Request) -> web.Response:
    try:
        conversation = int(request.match_info["conversation_id"])
        body = str(json.loads(await request.read())["body"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": {"code": "bad_request"}}, status=400)
    row_id = await request.app[WRITER].insert(str(conversation), None, body)
    message = _message(row_id, body, "operator")
    _to_visitor(request.app, conversation, {"type": "message", "message": message})
    _to_operators(request.app, conversation, message)
    return web.json_response(message, status=201)


async def _visitor_message(
    app: web.Application, visitor: int, sock: _VisitorSocket, frame: dict[str, Any]
) -> None:
    client_id, body = frame.get("client_id"), frame.get("body")
    if not isinstance(client_id, str) or not isinstance(body, str):
        sock.queue.put_nowait(_dumps({"type": "error", "code": "bad_frame"}))
        return
    row_id = await app[WRITER].insert(str(visitor), f"{visitor}:{client_id}", body)
    message = _message(row_id, body, "contact")
    with contextlib.suppress(asyncio.QueueFull):
        sock.queue.put_nowait(_dumps({"type": "ack", "client_id": client_id, "message": message}))
    # Like the hub: the visitor's other tabs (this one too) show what he wrote.
    _to_visitor(app, visitor, {"type": "message", "message": message})
    _to_operators(app, visitor, message)


async def visitor_socket(request: web.Request) -> web.WebSocketResponse:
    visitors = request.app[VISITORS]
    visitor = visitors.by_token.get(request.query.get("visitor_token", ""))
    if visitor is None:
        raise web.HTTPUnauthorized()
    ws = web.WebSocketResponse(heartbeat=25, max_msg_size=64 * 1024)
    await ws.prepare(request)
    sock = _VisitorSocket(ws)
    visitors.sockets.setdefault(visitor, set()).add(sock)

    async def sender() -> None:
        while (text := await sock.queue.get()) is not None:
            await ws.send_str(text)

    task = asyncio.create_task(sender())
    sock.queue.put_nowait(_dumps({"type": "ready", "operators_online": True}))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            with contextlib.suppress(ValueError):
                frame = json.loads(msg.data)
                if isinstance(frame, dict) and frame.get("type") == "message":
                    await _visitor_message(request.app, visitor, sock, frame)
    finally:
        visitors.sockets[visitor].discard(sock)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return ws


def make_app(db_path: str) -> web.Application:
    app = web.Application()
    app[SOCKETS] = set()
    app[VISITORS] = _Visitors()
    app[WRITER] = GroupWriter(db_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[WRITER].start()
        yield
        await app[WRITER].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/widget/v1/sessions", create_session)
    app.router.add_get("/ws/widget", visitor_socket)
    app.router.add_get("/ws/operator", operator_socket)
    app.router.add_post("/api/v1/conversations/{conversation_id}/messages", reply)
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
