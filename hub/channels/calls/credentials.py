"""Where a calls channel's provider secrets live (Twilio's auth token, Mango's salt…).

Kept out of the channel's ``config``, which admins read back and the channel cache holds: one
row per channel, written in the same commit as the channel and read only by the webhook
route's signature check (``SecretsCache``). Nothing serialises this row.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import ForeignKey, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.channels.calls.dialect import Secrets
from hub.context import HubContext
from hub.db import Base

TTL_S = 5.0


class CallCredentials(Base):
    __tablename__ = "call_credentials"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(Text, default="")
    key: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"CallCredentials(channel_id={self.channel_id})"


class SecretsCache:
    """A channel's provider secrets, read at most every ``TTL_S`` per process (as the
    channel cache reads channels), so a webhook costs no extra query under load."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._entries: dict[int, tuple[float, Secrets]] = {}
        self._loading: dict[int, asyncio.Future[Secrets]] = {}

    async def get(self, channel_id: int) -> Secrets:
        hit = self._entries.get(channel_id)
        if hit is not None and time.monotonic() - hit[0] < TTL_S:
            return hit[1]
        # Requests that miss at once share one read (as ``ChannelCache`` does).
        loading = self._loading.get(channel_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load(channel_id))
            self._loading[channel_id] = loading
            loading.add_done_callback(lambda _done: self._loading.pop(channel_id, None))
        return await asyncio.shield(loading)

    def forget(self, channel_id: int) -> None:
        """Read the channel's secrets anew next time (this process changed them)."""
        self._entries.pop(channel_id, None)

    async def _load(self, channel_id: int) -> Secrets:
        async def query(session: AsyncSession) -> Secrets:
            row = await session.get(CallCredentials, channel_id)
            return Secrets() if row is None else Secrets(secret=row.secret, key=row.key)

        started = time.monotonic()
        secrets = await self._ctx.read(query)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[channel_id] = (started, secrets)
        return secrets
