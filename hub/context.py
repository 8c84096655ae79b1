"""What every action needs, in one object: the database, the writer, the bus and settings.

Built once per process by ``create_app`` (or a CLI command) and passed explicitly, so the domain
never reaches for globals and tests can build one against any backend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.bus import Bus, MemoryBus
from hub.channels.base import ChannelAdapter, SystemMailer
from hub.channels.capabilities import UNKNOWN, Capabilities
from hub.channels.hooks import ContactRows
from hub.company_hours import CompanyHours
from hub.db import make_engine, make_sessionmaker
from hub.dbhealth import DatabaseHealth
from hub.events import (
    EVENTS_TOPIC,
    NEW_CONVERSATIONS_TOPIC,
    WORKING_HOURS_TOPIC,
    ConversationCreated,
    Event,
    WorkingHoursUpdated,
)
from hub.geoip import GeoIP
from hub.inbox.auth import PasswordHasher
from hub.inbox.token_check import TokenCheck
from hub.media import MediaStore
from hub.settings import Settings
from hub.writes import GroupCommitWriter

T = TypeVar("T")
log = logging.getLogger(__name__)
ResolutionListener = Callable[[int, int], Awaitable[None]]


@dataclass
class HubContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    writer: GroupCommitWriter
    bus: Bus
    hasher: PasswordHasher
    media: MediaStore
    #: Tells database outages from failures and logs them once per interval.
    health: DatabaseHealth
    #: ``/readyz``'s own way to the database, a connection per probe: never queued behind
    #: the pool, which a stuck database may have used up.
    probe_engine: AsyncEngine
    #: Answers who a bearer token belongs to, for every request (``hub.inbox.token_check``).
    tokens: TokenCheck
    #: The company's time zone and working hours, as every reader asks them: an admin's saved
    #: value (kept in step across processes by ``hub.inbox.working_hours``) or the settings'.
    company: CompanyHours
    #: Where a visitor's address is (``HUB_GEOIP_DATABASE``; names nothing when it is unset).
    geoip: GeoIP
    #: Set when a reply waits for delivery, so the delivery worker wakes at once.
    delivery_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when a conversation may be waiting for an operator or an operator may take one (a
    #: new conversation, capacity freed, back from away), so the router wakes at once.
    routing_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    #: Batch handlers of the group-commit writer bound to this context, by name (one each,
    #: so their items share batches).
    batch_handlers: dict[str, Any] = field(default_factory=dict)
    #: Per-process caches of small tables read on hot paths (tracking numbers' labels), by
    #: name, made by their modules on first use.
    caches: dict[str, Any] = field(default_factory=dict)
    #: What each channel type can do (``hub.channels.registry.capabilities``, set by the app).
    channel_capabilities: dict[str, Capabilities] = field(default_factory=dict)

    #: Channels' tables that follow a contact in a merge (``hub.channels.hooks``, set by the app).
    contact_rows: tuple[ContactRows, ...] = ()
    #: Called after a conversation was resolved and the change published, with its id and the
    #: resolution's (the activity's) id: a channel that asks its customers to rate a resolution
    #: (the widget) adds one here when it is installed.
    resolution_listeners: list[ResolutionListener] = field(default_factory=list)
    #: The adapters of channels whose replies go out at commit (``Capabilities.live``).
    live_adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    #: Every channel type's adapter (a channel that hands a reply to another, as the widget
    #: does to the mailbox that answers its visitors who left, finds it here).
    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    #: The adapters that can send the hub's own mail (invitations, password links), by type.
    system_mailers: dict[str, SystemMailer] = field(default_factory=dict)

    def capabilities_of(self, channel_type: str) -> Capabilities:
        return self.channel_capabilities.get(channel_type, UNKNOWN)

    @classmethod
    def build(cls, settings: Settings) -> HubContext:
        engine = make_engine(settings.database_url, timeout_s=settings.db_timeout_s)
        sessionmaker = make_sessionmaker(engine)
        health = DatabaseHealth(settings.db_outage_log_interval_s, settings.db_retry_after_s)
        writer = GroupCommitWriter(
            sessionmaker,
            engine,
            window_s=settings.commit_window_ms / 1000,
            max_batch=settings.commit_max_batch,
            lanes=1 if settings.is_sqlite else settings.write_lanes,
            background=not settings.is_sqlite,
            timeout_s=settings.db_timeout_s,
            health=health,
        )
        bus: Bus = MemoryBus(settings.event_retention)
        if settings.redis_url:
            from hub.redis_bus import RedisBus  # the Redis client only when Redis is used

            bus = RedisBus(settings.redis_url, settings.redis_prefix, settings.event_retention)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            writer=writer,
            bus=bus,
            hasher=PasswordHasher(fast=settings.fast_password_hash),
            media=MediaStore(settings.media_dir, settings.max_attachment_bytes),
            health=health,
            probe_engine=make_engine(
                settings.database_url, timeout_s=settings.ready_timeout_s, pooled=False
            ),
            tokens=TokenCheck(engine, health, settings.db_timeout_s),
            company=CompanyHours(settings),
            geoip=GeoIP(settings.geoip_database),
        )

    async def start(self) -> None:
        await self.bus.start()
        self.writer.start()

    async def close(self) -> None:
        await self.writer.close()
        await self.tokens.close()
        await self.bus.close()
        await self.health.settle(2 * self.settings.db_timeout_s)
        await self.engine.dispose()
        await self.probe_engine.dispose()
        self.geoip.close()

    async def write(
        self,
        unit: Callable[[AsyncSession], Awaitable[T]],
        key: object = None,
        *,
        background: bool = False,
    ) -> T:
        """Run a write unit; it has committed when this returns. Units with one ``key`` (a
        contact, a conversation) keep their order. A background worker's (``background``)
        go on a lane of their own on PostgreSQL, so they hold up no request's write."""
        return await self.writer.run(unit, key, background=background)

    async def read(self, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read-only query in a short session of its own; ``DatabaseUnavailable`` when
        the database does not answer within ``HUB_DB_TIMEOUT_S``."""

        async def run() -> T:
            try:
                async with self.sessionmaker() as session:
                    return await query(session)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            # The pool handed over a connection to a server that went away (a restart): the
            # pool has dropped its connections of that time, and a read is safe to run again.
            async with self.sessionmaker() as session:
                return await query(session)

        return await self.health.call(run, self.settings.db_timeout_s)

    async def probe_database(self) -> None:
        """One round trip on a connection of its own, within ``HUB_READY_TIMEOUT_S``;
        ``DatabaseUnavailable`` if it does not make it."""

        async def ping() -> None:
            async with self.probe_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await self.health.call(ping, self.settings.ready_timeout_s)

    async def publish(self, *events: Event) -> None:
        """Announce committed changes, in order, and return once the bus holds them and
        everything published before (a batch may have published on the caller's behalf).

        So an action answers after operators can be told, not before: with Redis, the
        answer waits for its reply, at most ``redis_bus.FLUSH_WAIT_S``, and the operator's
        frame goes out with the answer instead of after it. The change is stored already,
        so a bus failure is not raised: the bus remembers it and marks the gap on Redis once
        Redis answers, and every operator socket, on every process, gets ``resync`` and
        refetches (``hub.redis_bus``). Direct publishing with gap markers, not an outbox
        table: no extra write on the hot path; README, "Redis outages", says what it covers."""
        self.announce(*events)
        await self.bus.flushed()

    async def conversation_resolved(self, conversation_id: int, resolution_id: int) -> None:
        """Tell the resolution listeners; one that fails is logged, the resolve stands."""
        for listener in self.resolution_listeners:
            try:
                await listener(conversation_id, resolution_id)
            except Exception:
                log.exception("a resolution listener failed for conversation %d", conversation_id)

    def announce(self, *events: Event) -> None:
        """Publish without waiting for the bus: for a write lane, which must not stall on it,
        and for background workers, which answer nobody."""
        if not events:
            return
        try:
            wire = [event.to_wire() for event in events]
            self.bus.publish_nowait(EVENTS_TOPIC, wire)
            created = [e.conversation["id"] for e in events if isinstance(e, ConversationCreated)]
            if created:
                self.bus.publish_nowait(NEW_CONVERSATIONS_TOPIC, [{"conversation_ids": created}])
                self.routing_wakeup.set()
            saved = zip(events, wire, strict=True)
            hours = [w for e, w in saved if isinstance(e, WorkingHoursUpdated)]
            if hours:
                self.bus.publish_nowait(WORKING_HOURS_TOPIC, hours)
        except Exception:
            log.exception("publishing %d events failed", len(events))
