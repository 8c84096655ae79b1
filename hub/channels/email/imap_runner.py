"""Reading the email channels' mailboxes: one process per mailbox, progress by UID, a status.

``Mailboxes`` (a ``PeriodicWorker``, every ``HUB_IMAP_SCAN_INTERVAL_S``) looks for active email
channels with IMAP settings, takes each free mailbox's lease (a row of ``email_mailboxes``,
owner and expiry, the same update on SQLite and PostgreSQL) and starts a ``MailboxReader`` for
it; later scans renew the leases, and a reader whose lease another process took stops. A
process that dies lets its leases run out and another one takes over.

A ``MailboxReader`` pass connects if it must, fetches the mail after the last UID stored in
batches, hands each batch's mail to ``MailIngest`` (mails of different senders and threads side
by side, ``MailOrder``) and then saves the new last UID (only while it holds the lease). A crash
between the two fetches the mail again, and ``receive_message`` stores it once (its provider id
is the Message-ID). Between passes it waits in IDLE (or for the poll interval where the server
has no IDLE). A changed UIDVALIDITY (the folder was rebuilt) restarts from the mail of the
day before the last good pass, by date, not from the whole folder; what was stored already is
recognised by its Message-ID. A failure (a wrong password, a server that is down or drops the
connection) is logged, kept as the channel's status (``last_error``), and tried again after a
backoff that doubles up to ``HUB_IMAP_MAX_BACKOFF_S``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import ssl
from collections import deque
from datetime import timedelta
from functools import partial
from typing import Any, NoReturn

import aioimaplib
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email.config import Secrets
from hub.channels.email.credentials import load_secrets
from hub.channels.email.imap import Fetched, ImapFailure, ImapLogin, ImapSession
from hub.channels.email.ingest import MailChannel, MailIngest
from hub.channels.email.mail_order import MailOrder
from hub.channels.email.models import EmailMailbox
from hub.channels.email.status import MailboxStatus, mailbox_status
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import DatabaseUnavailable, DomainError
from hub.inbox.models import Channel
from hub.worker import PassFailed, PeriodicWorker, WorkerDone

log = logging.getLogger(__name__)

__all__ = ["MailboxReader", "MailboxStatus", "Mailboxes", "mailbox_status"]

TYPE = "email"
#: Mails stored at once: enough for them to share commits; their thread look-ups are gated
#: apart (``MailIngest``), so they leave the database's connection pool to the operators.
_MAILS_AT_ONCE = 64


async def _settle(tasks: list[asyncio.Task[Any]]) -> None:
    """Let the work a failed pass leaves under way end (a fetch, so the session's next
    command is answered in step; the mails being stored); it is cancelled only when the pass
    itself is, and its errors are dropped (the pass's own error is the one raised)."""
    if not tasks:
        return
    try:
        await asyncio.wait(tasks)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()


class Mailboxes(PeriodicWorker):
    """Finds the mailboxes to read and reads those whose lease this process holds."""

    name = "email-mailboxes"

    def __init__(
        self, ctx: HubContext, ingest: MailIngest, tls_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(
            interval_s=ctx.settings.imap_scan_interval_s, backoff_s=ctx.settings.worker_backoff_s
        )
        self.ctx = ctx
        self.ingest = ingest
        self.tls_context = tls_context
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_s = max(60.0, 3 * ctx.settings.imap_scan_interval_s)
        self.readers: dict[int, MailboxReader] = {}

    async def close(self) -> None:
        await self.stop()  # first, so it starts no reader meanwhile
        readers, self.readers = list(self.readers.values()), {}
        await asyncio.gather(*(reader.close() for reader in readers))
        await self._give_back()

    async def run_once(self) -> int:
        """Renew the leases of running readers, start readers for mailboxes whose lease it
        takes, stop those of channels gone; how many readers it started."""
        wanted = set(await self.channel_ids())
        for channel_id in list(self.readers):
            if channel_id not in wanted:
                await self.readers.pop(channel_id).close()
        started = 0
        for channel_id in sorted(wanted):
            reader = self.readers.get(channel_id)
            held = await self.take_lease(channel_id)
            if reader is not None and reader.running:
                if not held:
                    await self.readers.pop(channel_id).close()
                continue
            if held:
                self.readers[channel_id] = reader = self.reader(channel_id)
                await reader.start()
                started += 1
        return started

    def reader(self, channel_id: int) -> MailboxReader:
        return MailboxReader(self, channel_id)

    async def channel_ids(self) -> list[int]:
        async def query(session: AsyncSession) -> list[int]:
            rows = await session.execute(
                select(Channel.id, Channel.config).where(
                    Channel.type == TYPE, Channel.is_active.is_(True)
                )
            )
            return [cid for cid, config in rows if isinstance((config or {}).get("imap"), dict)]

        return await self.ctx.read(query)

    async def take_lease(self, channel_id: int) -> bool:
        """Take or renew the mailbox's lease; whether this process holds it now."""
        try:
            return await self.ctx.write(lambda s: self._lease(s, channel_id))
        except IntegrityError:
            return False  # another process made the row at the same moment

    async def _lease(self, session: AsyncSession, channel_id: int) -> bool:
        now = utcnow()
        if await session.get(EmailMailbox, channel_id) is None:
            session.add(EmailMailbox(channel_id=channel_id))
            await session.flush()
        got = await session.execute(
            update(EmailMailbox)
            .where(
                EmailMailbox.channel_id == channel_id,
                or_(
                    EmailMailbox.lease_owner.is_(None),
                    EmailMailbox.lease_owner == self.owner,
                    EmailMailbox.lease_until < now,
                ),
            )
            .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=self.lease_s))
            .returning(EmailMailbox.channel_id)
            .execution_options(synchronize_session=False)
        )
        return got.scalar() is not None

    async def _give_back(self) -> None:
        async def unit(session: AsyncSession) -> None:
            await session.execute(
                update(EmailMailbox)
                .where(EmailMailbox.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

        try:
            await self.ctx.write(unit)
        except Exception as exc:  # the leases run out by themselves
            log.warning("email mailboxes: leases not given back: %s", type(exc).__name__)

    async def save(self, channel_id: int, **values: Any) -> bool:
        """Update the mailbox row while this process holds its lease (renewing it); False
        when another process took it."""
        values["lease_until"] = utcnow() + timedelta(seconds=self.lease_s)

        async def unit(session: AsyncSession) -> bool:
            got = await session.execute(
                update(EmailMailbox)
                .where(
                    EmailMailbox.channel_id == channel_id, EmailMailbox.lease_owner == self.owner
                )
                .values(**values)
                .returning(EmailMailbox.channel_id)
                .execution_options(synchronize_session=False)
            )
            return got.scalar() is not None

        # Bookkeeping that answers no customer: on PostgreSQL it takes the background lane, so
        # the mailbox's progress never waits behind a batch of mails, nor holds one up.
        return await self.ctx.write(unit, background=True)


class MailboxReader(PeriodicWorker):
    """One mailbox: a pass fetches and stores the new mail; between passes it waits for news."""

    def __init__(self, mailboxes: Mailboxes, channel_id: int) -> None:
        settings = mailboxes.ctx.settings
        super().__init__(
            interval_s=settings.imap_poll_interval_s, backoff_s=settings.imap_backoff_s
        )
        self.name = f"email-mailbox-{channel_id}"
        self.mailboxes = mailboxes
        self.channel_id = channel_id
        self.session: ImapSession | None = None

    async def close(self) -> None:
        await self.stop()
        session, self.session = self.session, None
        if session is not None:
            await session.close()

    async def pause(self, seconds: float, *, wakeable: bool) -> None:
        """Between two good passes: IDLE (or the poll interval); after a failure: the backoff."""
        session = self.session
        if session is None or self.failures or not wakeable:
            await super().pause(seconds, wakeable=wakeable)
            return
        settings = self.mailboxes.ctx.settings
        try:
            await session.wait_for_news(
                settings.imap_idle_s if session.idle else seconds, self._wakeup
            )
        except (ImapFailure, TimeoutError, OSError) as exc:
            reason = (
                exc.reason if isinstance(exc, ImapFailure) else f"IDLE failed: {type(exc).__name__}"
            )
            await self._drop(reason)

    async def run_once(self) -> int:
        """Fetch and store what arrived after the last UID; how many mails were stored."""
        ctx = self.mailboxes.ctx
        settings = ctx.settings
        channel, login, row = await self._load()
        try:
            if self.session is None:
                self.session = await ImapSession.open(
                    login, timeout_s=settings.imap_timeout_s, tls_context=self.mailboxes.tls_context
                )
            else:
                await self.session.refresh()
            session = self.session
            last_uid = await self._start_uid(session, row, login)
            stored = await self._read(session, channel, last_uid)
        except ImapFailure as exc:
            await self._failed(exc.reason)
        except (TimeoutError, OSError, aioimaplib.AioImapException) as exc:
            await self._failed(f"the connection failed: {type(exc).__name__}")
        now = utcnow()
        await self.mailboxes.save(self.channel_id, last_ok_at=now, synced_at=now)
        self.backoff_s = settings.imap_backoff_s
        return stored

    async def _load(self) -> tuple[MailChannel, ImapLogin, EmailMailbox]:
        async def query(
            session: AsyncSession,
        ) -> tuple[Channel | None, EmailMailbox | None, Secrets | None]:
            return (
                await session.get(Channel, self.channel_id),
                await session.get(EmailMailbox, self.channel_id),
                await load_secrets(session, self.channel_id),
            )

        channel, row, secrets = await self.mailboxes.ctx.read(query)
        if channel is None or not channel.is_active or row is None:
            raise WorkerDone
        if row.lease_owner != self.mailboxes.owner:
            raise WorkerDone
        if secrets is None:
            await self._failed("the channel has no stored IMAP password; connect it again")
        try:
            login = ImapLogin.from_config(channel.config or {}, secrets.imap_password)
        except ImapFailure as exc:
            await self._failed(exc.reason)
        return MailChannel.of(channel.id, channel.config), login, row

    async def _start_uid(self, session: ImapSession, row: EmailMailbox, login: ImapLogin) -> int:
        """The last UID stored; on first sight of the folder (or a changed UIDVALIDITY), the
        UID before the mail of the days to start with."""
        if row.uidvalidity == session.uidvalidity and row.folder == login.folder:
            return int(row.last_uid)
        settings = self.mailboxes.ctx.settings
        if row.uidvalidity is None or row.folder != login.folder:
            since = utcnow() - timedelta(days=settings.imap_first_fetch_days)
        else:
            log.warning(
                "email channel %s: UIDVALIDITY of %s changed (%s -> %s); reading again from %s",
                self.channel_id, login.folder, row.uidvalidity, session.uidvalidity,
                (row.synced_at or utcnow()).date(),
            )  # fmt: skip
            since = (row.synced_at or utcnow()) - timedelta(days=1)
        recent = await session.uids_since(since.date())
        last_uid = recent[0] - 1 if recent else (session.uidnext or 1) - 1
        saved = await self.mailboxes.save(
            self.channel_id, uidvalidity=session.uidvalidity, folder=login.folder, last_uid=last_uid
        )
        if not saved:
            raise WorkerDone
        row.uidvalidity, row.folder, row.last_uid = session.uidvalidity, login.folder, last_uid
        return last_uid

    async def _read(self, session: ImapSession, channel: MailChannel, last_uid: int) -> int:
        """Fetch the mail after ``last_uid`` in batches and store it; how many were stored.

        Each mail is stored as soon as the mails it follows are (``MailOrder``), across
        batches; the next batch is fetched while this one is stored, so the mailbox's round
        trips and the database's overlap instead of adding up. A batch's last UID is saved
        once it and every batch before it are stored. A failure that stops the pass (the
        database away) is raised once the mails under way have ended."""
        settings = self.mailboxes.ctx.settings
        uids = await session.uids_after(last_uid)
        size = max(1, settings.imap_batch)
        batches = [uids[start : start + size] for start in range(0, len(uids), size)]
        order = MailOrder(_MAILS_AT_ONCE)
        ahead: asyncio.Task[list[Fetched]] | None = None
        under_way: deque[tuple[int, list[asyncio.Task[int]]]] = deque()
        stored = 0
        try:
            for n, batch in enumerate(batches):
                fetched = await (ahead or session.fetch(batch, settings.email_max_message_bytes))
                ahead = None
                if n + 1 < len(batches):
                    ahead = asyncio.create_task(
                        session.fetch(batches[n + 1], settings.email_max_message_bytes)
                    )
                tasks = [
                    order.start(f.raw, partial(self._ingest, channel, f.uid, f.raw))
                    for f in fetched
                ]
                under_way.append((batch[-1], tasks))
                while len(under_way) > 1:  # two batches at most are stored at once
                    stored += await self._saved(*under_way.popleft())
            while under_way:
                stored += await self._saved(*under_way.popleft())
        finally:
            pending: list[asyncio.Task[Any]] = [t for _, tasks in under_way for t in tasks]
            if ahead is not None:
                pending.append(ahead)
            await _settle(pending)
        return stored

    async def _saved(self, last_uid: int, tasks: list[asyncio.Task[int]]) -> int:
        """Wait for a batch's mails, then save its last UID; how many were stored."""
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            failure = task.exception()
            if failure is not None:
                raise failure
        if not await self.mailboxes.save(self.channel_id, last_uid=last_uid):
            raise WorkerDone  # another process reads this mailbox now
        return sum(t.result() for t in tasks)

    async def _ingest(self, channel: MailChannel, uid: int, raw: bytes) -> int:
        """Store one mail; one that cannot be stored is recorded and skipped, never blocking
        the mail after it. The database away stops the pass (the mail is fetched again)."""
        try:
            done = await self.mailboxes.ingest.ingest(channel, raw)
        except DatabaseUnavailable:
            raise
        except DomainError as exc:
            await self._note(f"mail UID {uid} was not stored: {exc.message}")
            return 0
        except Exception as exc:
            log.exception("email channel %s: mail UID %s could not be stored", self.channel_id, uid)
            await self._note(f"mail UID {uid} was not stored: {type(exc).__name__}")
            return 0
        if done.outcome == "unusable":
            await self._note(f"mail UID {uid} was skipped: {done.reason}")
        return 1 if done.outcome == "stored" else 0

    async def _note(self, reason: str) -> None:
        await self.mailboxes.save(self.channel_id, last_error=reason, last_error_at=utcnow())

    async def _failed(self, reason: str) -> NoReturn:
        """Record and log the failure, drop the connection, back off: the pass fails."""
        await self._drop(reason)
        settings = self.mailboxes.ctx.settings
        self.backoff_s = min(
            settings.imap_max_backoff_s, settings.imap_backoff_s * 2**self.failures
        )
        raise PassFailed(reason)

    async def _drop(self, reason: str) -> None:
        log.warning("email channel %s: %s", self.channel_id, reason)
        session, self.session = self.session, None
        if session is not None:
            await session.close()
        try:
            await self._note(reason)
        except Exception as exc:  # the database away as well: the log has it
            log.warning(
                "email channel %s: status not saved: %s", self.channel_id, type(exc).__name__
            )
