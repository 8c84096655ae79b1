"""Operator sockets: who gets which event, in order, with resume after a cut.

One task per process follows the bus and fans each event out to the local sockets whose
operator is among the event's recipients. Each socket has a bounded queue and its own sender,
so one slow browser never stalls the others; a socket whose queue overflows is closed (code
4008) and its client resumes from the last id it saw. A session that ends (its operator is
deactivated, or logs out of it) has its sockets closed with 4003 on every process, as the event
that says so reaches each. The transport is behind ``Connection``, so this module knows nothing
of aiohttp.

When the bus says events were lost (the follower fell behind, or Redis lost events: a publish
failed, Redis restarted, see ``hub.redis_bus``), every socket gets ``resync`` and refetches
over REST; a resume under way when that happens ends in ``resync`` too, never in ``resumed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.bus import BadEventId, Bus, BusUnavailable, GapError, follow, parse_event_id, stop
from hub.errors import DomainError
from hub.events import EVENTS_TOPIC, OperatorUpdated, SessionEnded
from hub.inbox.auth import Principal

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_DEACTIVATED = 4003
#: The same code as deactivation: this session may not come back.
CLOSE_LOGGED_OUT = 4003
CLOSE_GOING_AWAY = 1001
#: Ended sessions remembered, for a socket that joins after its session's end went by.
ENDED_SESSIONS_KEPT = 10_000
CLOSE_TRY_AGAIN = 1013
#: A bus that does not answer is logged at most this often, not once per socket.
LOG_EVERY_S = 60.0


class Connection(Protocol):
    async def send_json(self, frame: dict[str, Any]) -> None: ...

    async def close(self, code: int, message: str) -> None: ...


def may_receive(principal: Principal, recipients: dict[str, Any]) -> bool:
    if recipients.get("staff") and principal.is_staff:
        return True
    if principal.operator_id in recipients.get("operators", ()):
        return True
    return any(team in principal.team_ids for team in recipients.get("teams", ()))


def event_frame(event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "id": event_id, "event": payload["event"], "data": payload["data"]}


@dataclass(eq=False)
class OperatorSocket:
    """One operator socket: its principal, its queue and where it is in the event stream."""

    conn: Connection
    principal: Principal
    queue_size: int
    #: The session (token) the socket was opened with; logging out of it closes the socket.
    session_id: int | None = None
    queue: asyncio.Queue[dict[str, Any] | None] = field(init=False)
    last_id: tuple[int, int] = (0, 0)
    resuming: bool = False
    held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: bool = False
    #: The first event this socket got live; a later resume does not send it and its
    #: successors again.
    first_live_id: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def offer(self, frame: dict[str, Any]) -> bool:
        """Queue a frame; False if the socket is too far behind."""
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True


PrincipalLoader = Callable[[int], Awaitable[Principal | None]]
#: Called with the number of local sockets whenever one opens or closes (presence).
SocketsChanged = Callable[[int], Awaitable[None]]
#: Called for a client frame of another type than ping/resume, e.g. "typing" from the widget
#: channel; returns an error frame or None.
FrameHandler = Callable[[Principal, dict[str, Any]], Awaitable[dict[str, Any] | None]]


class RealtimeHub:
    def __init__(self, bus: Bus, queue_size: int, load_principal: PrincipalLoader) -> None:
        self._bus = bus
        self._queue_size = queue_size
        self._load_principal = load_principal
        self.on_sockets_changed: list[SocketsChanged] = []
        self.frame_handlers: dict[str, FrameHandler] = {}
        self._sockets: set[OperatorSocket] = set()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._ended_sessions: OrderedDict[int, None] = OrderedDict()
        self.delivered = 0
        #: How many times the bus lost events: a resume that saw this change ends in resync.
        self.gaps = 0
        self._unavailable_logged = -LOG_EVERY_S

    @property
    def socket_count(self) -> int:
        return len(self._sockets)

    def principals(self) -> list[Principal]:
        """Whose sockets are open on this process (presence: who is online)."""
        return [sock.principal for sock in self._sockets if not sock.closed]

    def _in_background(self, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` without waiting for it, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        if self._task is None:
            start_id = await self._bus.last_id(EVENTS_TOPIC)
            self._task = asyncio.create_task(self._follow(start_id), name="realtime-fanout")

    async def close(self) -> None:
        """Close every socket with 1001 (going away), then stop following the bus."""
        for sock in list(self._sockets):
            await self._close_socket(sock, CLOSE_GOING_AWAY, "server shutting down")
        if self._task is not None:
            await stop(self._task)
            self._task = None

    async def _follow(self, after: str) -> None:
        await follow(self._bus, EVENTS_TOPIC, after, self._dispatch, self._resync_all)

    async def _resync_all(self, after: str) -> None:
        """Events before ``after`` may be lost to every socket: each is told to refetch, and
        gets the events after ``after`` live. A socket that is resuming is left to its resume,
        which sees ``gaps`` change and ends in resync."""
        self.gaps += 1
        last = parse_event_id(after)
        for sock in list(self._sockets):
            if not sock.resuming:
                _restart(sock, last)

    async def _dispatch(self, event_id: str, payload: dict[str, Any]) -> None:
        if payload.get("event") == OperatorUpdated.name:
            await self._refresh_operator(payload)
        elif payload.get("event") == SessionEnded.name:
            self._end_session(payload.get("data", {}).get("session_id"))
        recipients = payload.get("recipients", {})
        frame: dict[str, Any] | None = None
        for sock in list(self._sockets):
            if sock.closed or not may_receive(sock.principal, recipients):
                continue
            if sock.resuming:
                sock.held.append((event_id, payload))
                continue
            if frame is None:
                frame = event_frame(event_id, payload)
            self._deliver(sock, event_id, frame)

    def _deliver(
        self, sock: OperatorSocket, event_id: str, frame: dict[str, Any], *, replay: bool = False
    ) -> None:
        eid = parse_event_id(event_id)
        if eid <= sock.last_id:
            return
        if not replay and sock.first_live_id is None:
            sock.first_live_id = eid
        if not sock.offer(frame):
            self._in_background(
                self._close_socket(sock, CLOSE_TOO_SLOW, "too slow; resume from your last id")
            )
            return
        sock.last_id = eid
        self.delivered += 1

    async def _refresh_operator(self, payload: dict[str, Any]) -> None:
        op_id = payload.get("data", {}).get("operator", {}).get("id")
        if op_id is None:
            return
        targets = [s for s in self._sockets if s.principal.operator_id == op_id]
        if not targets:
            return
        principal = await self._load_principal(op_id)
        for sock in targets:
            if principal is None:
                # Detached now, closed in the background: a stuck client must not hold up
                # the fan-out of everyone else.
                if self._detach(sock):
                    self._in_background(
                        self._close_conn(sock, CLOSE_DEACTIVATED, "operator deactivated")
                    )
            else:
                sock.principal = principal

    def _end_session(self, session_id: Any) -> None:
        """Close the sockets of a session that was logged out of, in the background."""
        if not isinstance(session_id, int):
            return
        self._ended_sessions[session_id] = None
        while len(self._ended_sessions) > ENDED_SESSIONS_KEPT:
            self._ended_sessions.popitem(last=False)
        for sock in [s for s in self._sockets if s.session_id == session_id]:
            if self._detach(sock):
                self._in_background(self._close_conn(sock, CLOSE_LOGGED_OUT, "logged out"))

    def _detach(self, sock: OperatorSocket) -> bool:
        """Stop giving ``sock`` events at once; False if it was already detached."""
        if sock.closed:
            return False
        sock.closed = True
        self._sockets.discard(sock)
        with contextlib.suppress(asyncio.QueueFull):
            sock.queue.put_nowait(None)
        return True

    async def _close_socket(self, sock: OperatorSocket, code: int, message: str) -> None:
        if self._detach(sock):
            with contextlib.suppress(Exception):
                await sock.conn.close(code, message)

    async def _close_conn(self, sock: OperatorSocket, code: int, message: str) -> None:
        with contextlib.suppress(Exception):
            await sock.conn.close(code, message)

    async def serve(
        self, conn: Connection, principal: Principal, frames: Any, after: str | None = None
    ) -> None:
        """Run one operator socket until it closes; ``frames`` yields the client's JSON frames.

        With ``after`` (the last event id the client saw, given when it connects) the socket
        first replays what was missed, in order, and only then goes live: the exact way back
        after a cut. The ``resume`` frame does the same later on an open socket."""
        if principal.session_id in self._ended_sessions:
            # Logged out after the token was checked, and the news went by before the socket
            # joined the fan-out: it would never hear of it.
            with contextlib.suppress(Exception):
                await conn.close(CLOSE_LOGGED_OUT, "logged out")
            return
        sock = OperatorSocket(conn, principal, self._queue_size, principal.session_id)
        # Join the fan-out before asking where the stream is, holding what arrives meanwhile:
        # an event fanned out between the two would otherwise be lost to this socket.
        sock.resuming = True
        self._sockets.add(sock)
        sender = asyncio.create_task(self._send_loop(sock))
        gaps = self.gaps
        try:
            sock.last_id = parse_event_id(await self._bus.last_id(EVENTS_TOPIC))
            # Queued first, so nothing can overtake it.
            sock.offer(
                {
                    "type": "ready",
                    "last_event_id": format_id(sock.last_id),
                    "operator_id": principal.operator_id,
                }
            )
            if after is not None:
                await self._resume(sock, after, gaps)
            else:
                # A gap before ``ready`` needs no resync: the client loads its lists after it.
                for event_id, payload in sock.held:
                    self._deliver(sock, event_id, event_frame(event_id, payload))  # newer only
                sock.held.clear()
                sock.resuming = False
            await self._sockets_changed()
            async for frame in frames:
                await self._on_client_frame(sock, frame)
        except BusUnavailable as exc:
            # Redis is away: the client comes back later and resumes from its last id.
            self._log_unavailable(exc)
            with contextlib.suppress(Exception):
                await conn.close(CLOSE_TRY_AGAIN, "the event bus is unavailable; resume later")
        finally:
            sock.closed = True
            self._sockets.discard(sock)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await self._sockets_changed()

    def _log_unavailable(self, exc: BusUnavailable) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._unavailable_logged >= LOG_EVERY_S:
            self._unavailable_logged = now
            log.warning("operator sockets closed with %d: %s", CLOSE_TRY_AGAIN, exc)

    async def _sockets_changed(self) -> None:
        for listener in self.on_sockets_changed:
            try:
                await listener(len(self._sockets))
            except Exception:
                log.exception("a socket-count listener failed")

    async def _send_loop(self, sock: OperatorSocket) -> None:
        while True:
            frame = await sock.queue.get()
            if frame is None:
                return
            try:
                await sock.conn.send_json(frame)
            except Exception:
                sock.closed = True
                self._sockets.discard(sock)
                return

    async def _on_client_frame(self, sock: OperatorSocket, frame: Any) -> None:
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            sock.offer(_error("bad_frame", "a frame is a JSON object with a type"))
            return
        kind = frame["type"]
        if kind == "ping":
            sock.offer({"type": "pong"})
        elif kind == "resume":
            await self._resume(sock, frame.get("after"))
        elif kind in self.frame_handlers:
            try:
                reply = await self.frame_handlers[kind](sock.principal, frame)
            except DomainError as exc:  # the database away, say: the socket stays open
                reply = _error(exc.code, exc.message)
            if reply is not None:
                sock.offer(reply)
        else:
            sock.offer(_error("unknown_frame", f"unknown frame type {kind[:40]!r}"))

    async def _resume(self, sock: OperatorSocket, after: Any, gaps: int | None = None) -> None:
        """Send what the client missed after ``after``, in order, then carry on live; or
        ``resync`` if some of it is lost, or if the bus lost events while this ran (since
        ``gaps`` was read)."""
        if not isinstance(after, str):
            sock.offer(_error("bad_frame", "resume needs after: the last event id you saw"))
            return
        try:
            after_id = parse_event_id(after)
        except BadEventId:
            sock.offer(_error("bad_event_id", "after is not an event id"))
            return
        if gaps is None:
            gaps = self.gaps
        sock.resuming = True
        sock.held.clear()
        try:
            missed: list[tuple[str, dict[str, Any]]] = []
            cursor = after
            while True:
                page = await self._bus.read_after(EVENTS_TOPIC, cursor, 1000)
                missed.extend(page)
                if len(page) < 1000:
                    break
                cursor = page[-1][0]
        except GapError:
            await self._resync(sock)
            return
        if self.gaps != gaps:
            await self._resync(sock)
            return
        # Events this socket already got live (from its first live one up to now) are not sent
        # again; the rest go out in order.
        live_from, live_to = sock.first_live_id, sock.last_id
        sock.last_id = after_id
        for event_id, payload in [*missed, *sock.held]:
            eid = parse_event_id(event_id)
            if live_from is not None and live_from <= eid <= live_to:
                continue
            if may_receive(sock.principal, payload.get("recipients", {})):
                self._deliver(sock, event_id, event_frame(event_id, payload), replay=True)
            else:
                sock.last_id = max(sock.last_id, eid)
        sock.last_id = max(sock.last_id, live_to)
        sock.held.clear()
        sock.resuming = False
        sock.offer({"type": "resumed", "last_event_id": format_id(sock.last_id)})

    async def _resync(self, sock: OperatorSocket) -> None:
        """Tell one socket to refetch, and carry on live from the bus's newest event."""
        sock.resuming = False
        sock.held.clear()
        _restart(sock, parse_event_id(await self._bus.last_id(EVENTS_TOPIC)))


def _restart(sock: OperatorSocket, last: tuple[int, int]) -> None:
    """Send ``resync``: the socket goes on from ``last``, the bus's position after the gap
    (not the larger of the two: a Redis restarted from an older save may give lower ids),
    and its history of live events starts again."""
    sock.last_id = last
    sock.first_live_id = None
    sock.offer({"type": "resync", "last_event_id": format_id(last)})


def format_id(event_id: tuple[int, int]) -> str:
    return f"{event_id[0]}-{event_id[1]}"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
