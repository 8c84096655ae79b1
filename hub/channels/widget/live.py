"""Visitor sockets: operator replies, typing and presence pushed to every open tab.

One task per process follows the bus topic ``widget`` and hands each frame to the local sockets
of the identity it is for (a visitor may have several tabs, a verified user several devices):
``visitor:<id>`` or ``user:<the site's id>`` on that channel, the identity that wrote the
conversation, never the contact, which a merge on an unverified email or phone may share with
somebody else.
Each socket has a bounded list of frames to send and its own sender, so a slow phone never
stalls the others; a socket that falls too far behind is closed and its widget catches up over
REST. The sender is a task only while there is something to send: most visitor tabs sit idle
for hours, and a waiting task and queue per tab cost more memory than the tab's socket.
What goes on this topic is built by the adapter from operator replies only: notes and
activities never get here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hub.bus import Bus, follow, stop
from hub.inbox.realtime import Connection
from hub.presence import Audience, Online

log = logging.getLogger(__name__)

WIDGET_TOPIC = "widget"
CLOSE_TOO_SLOW = 4008
#: Frames a socket may have waiting before it counts as too slow.
PENDING_LIMIT = 200


@dataclass(eq=False, slots=True)
class VisitorSocket:
    conn: Connection
    visitor_id: int
    channel_id: int
    #: The identity it listens for (``visitors.external_id``): it changes only when the visitor
    #: logs in on the site.
    key: str
    #: Frames offered and not sent yet, and the task sending them, while there are some (an
    #: empty deque kept per idle socket would cost 600 bytes).
    pending: deque[dict[str, Any]] | None = None
    sender: asyncio.Task[None] | None = None
    closed: bool = False
    #: Who may answer this visitor (``hub.presence``; shared by the sockets of one audience),
    #: and whether he was told someone is online.
    audience: Audience = field(default_factory=Audience)
    told_online: bool | None = None


class WidgetLive:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._sockets: set[VisitorSocket] = set()
        #: Open tabs by (channel, identity key): a frame goes to its identity's sockets, and
        #: whether a visitor is here is answered, without a scan of every socket.
        self._open: dict[tuple[int, str], list[VisitorSocket]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def socket_count(self) -> int:
        return len(self._sockets)

    def has_tab(self, channel_id: int, key: str) -> bool:
        """Whether this process has a tab of that identity open."""
        return (channel_id, key) in self._open

    def open_keys(self) -> list[tuple[int, str]]:
        return list(self._open)

    async def start(self) -> None:
        if self._task is None:
            after = await self._bus.last_id(WIDGET_TOPIC)
            self._task = asyncio.create_task(self._follow(after), name="widget-fanout")

    async def close(self) -> None:
        for sock in list(self._sockets):
            await self._close(sock, 1001, "server shutting down")
        if self._task is not None:
            await stop(self._task)
            self._task = None

    async def push(self, channel_id: int, key: str, frame: dict[str, Any]) -> None:
        """Send ``frame`` to every socket of this identity on this channel, on every process."""
        await self._bus.publish(
            WIDGET_TOPIC, {"key": key, "channel_id": channel_id, "frame": frame}
        )

    async def rekey(self, visitor_id: int, key: str) -> None:
        """The visitor logged in: his open sockets, on every process, listen for his verified
        identity from now on (his conversations moved to it)."""
        await self._bus.publish(WIDGET_TOPIC, {"key": key, "visitor_id": visitor_id})

    async def presence_changed(self, online: Online) -> None:
        """Who is online changed: every process tells each of its visitors whose answer
        changed (someone online may see his conversation, or nobody now)."""
        await self._bus.publish(WIDGET_TOPIC, {"presence": online.to_wire()})

    async def _follow(self, after: str) -> None:
        async def handle(_event_id: str, payload: dict[str, Any]) -> None:
            self._dispatch(payload)

        await follow(self._bus, WIDGET_TOPIC, after, handle)

    def _tell_presence(self, online: Online) -> None:
        for sock in list(self._sockets):
            answer = online.covers(sock.audience)
            if not sock.closed and answer != sock.told_online:
                sock.told_online = answer
                self.offer(sock, {"type": "presence", "operators_online": answer})

    def _dispatch(self, payload: dict[str, Any]) -> None:
        if "presence" in payload:
            self._tell_presence(Online.from_wire(payload["presence"]))
            return
        frame = payload.get("frame")
        key, channel_id = payload.get("key"), payload.get("channel_id")
        if not isinstance(frame, dict):
            visitor_id = payload.get("visitor_id")
            if visitor_id is not None and isinstance(key, str):  # a rekey, no frame
                for sock in [s for s in self._sockets if s.visitor_id == visitor_id]:
                    self._unindex(sock)
                    sock.key = key
                    self._index(sock)
            return
        if not isinstance(key, str) or not isinstance(channel_id, int):
            return
        for sock in list(self._open.get((channel_id, key), ())):
            self.offer(sock, frame)

    def offer(self, sock: VisitorSocket, frame: dict[str, Any]) -> None:
        if sock.closed:
            return
        if sock.pending is None:
            sock.pending = deque()
        elif len(sock.pending) >= PENDING_LIMIT:
            asyncio.get_running_loop().create_task(
                self._close(sock, CLOSE_TOO_SLOW, "too slow; fetch missed messages and reconnect")
            )
            return
        sock.pending.append(frame)
        if sock.sender is None:
            sock.sender = asyncio.get_running_loop().create_task(self._send_pending(sock))

    async def _close(self, sock: VisitorSocket, code: int, message: str) -> None:
        if sock.closed:
            return
        self.remove(sock)
        sock.pending = None
        with contextlib.suppress(Exception):
            await sock.conn.close(code, message)

    def add(self, sock: VisitorSocket) -> None:
        self._sockets.add(sock)
        self._index(sock)

    def remove(self, sock: VisitorSocket) -> None:
        """No more frames are offered to it; those offered already are still sent."""
        sock.closed = True
        if sock in self._sockets:
            self._sockets.discard(sock)
            self._unindex(sock)

    def _index(self, sock: VisitorSocket) -> None:
        self._open.setdefault((sock.channel_id, sock.key), []).append(sock)

    def _unindex(self, sock: VisitorSocket) -> None:
        where = (sock.channel_id, sock.key)
        tabs = self._open.get(where)
        if tabs is not None and sock in tabs:
            tabs.remove(sock)
            if not tabs:
                del self._open[where]

    async def sent(self, sock: VisitorSocket) -> None:
        """Wait until what was offered to ``sock`` has been sent (or its sending failed)."""
        if sock.sender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(sock.sender)

    async def _send_pending(self, sock: VisitorSocket) -> None:
        try:
            while sock.pending:
                await sock.conn.send_json(sock.pending.popleft())
        except Exception:
            self.remove(sock)
        finally:
            sock.sender = None
            sock.pending = None
