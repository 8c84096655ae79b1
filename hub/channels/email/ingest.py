"""One incoming mail, raw bytes from a mailbox or the SMTP receiver, into the inbox.

Parsed (``parse``), its thread found (``threads``), its quoted history folded away (``quotes``,
kept in the message's ``meta.email``), its files put in the media store, then stored by
``inbox.actions.receive_message`` like any channel's message. The provider id is the mail's
Message-ID (its SHA-256 when it has none), so a mail fetched twice (a crash between storing it
and saving the mailbox's progress, a changed UIDVALIDITY, the same mail forwarded to the
receiver too) is stored once.

Mail from machines: an automatic reply (``Auto-Submitted`` and the like) is stored, with its
reason in ``meta.auto_reply``, so an operator sees it and no automation answers it; a delivery
report (a bounce) is not a customer's message and is handed to the bounce handlers the sending
side registers (``on_bounce``: mark the message failed, suppress the address), as Zammad and
FreeScout do; the hub's own mail coming back (its signed Message-ID from its own address) is
skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundAttachment, InboundContact, InboundEmail, InboundMessage
from hub.channels.email import tokens
from hub.channels.email.parse import DeliveryReport, ParsedMail, Unusable, parse_mail
from hub.channels.email.quotes import fold
from hub.channels.email.threads import Thread, needs_lookup, new_thread_key, thread_of
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import PayloadTooLarge
from hub.inbox.actions import receive_message
from hub.inbox.attachments import inbound_file

log = logging.getLogger(__name__)

#: Handed a delivery report of a mailbox: the channel's id, the report, and the parsed mail.
BounceHandler = Callable[[int, DeliveryReport, ParsedMail], Awaitable[None]]
_MAX_FOLDED_CHARS = 100_000
_PROVIDER_ID_CHARS = 200
#: Thread look-ups of one process at once: a mailbox stores many mails side by side, and each
#: look-up holds a pooled connection the operators' requests need too.
_LOOKUPS_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class MailChannel:
    """What ingesting needs of an email channel: its id, its own address, and the website
    chats whose visitors it answers (``linked_widget_channel_ids``)."""

    id: int
    address: str
    linked: frozenset[int] = frozenset()

    @classmethod
    def of(cls, channel_id: int, config: dict[str, Any] | None) -> MailChannel:
        config = config or {}
        linked = config.get("linked_widget_channel_ids") or ()
        address = str(config.get("address", "")).lower()
        return cls(channel_id, address, frozenset(int(i) for i in linked))


@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of a mail: ``stored``, ``duplicate``, ``bounce``, ``own`` (the hub's own
    mail come back) or ``unusable`` (with its ``reason``)."""

    outcome: str
    reason: str = ""
    message_id: int | None = None
    conversation_id: int | None = None


def provider_id(mail: ParsedMail | Unusable, raw: bytes) -> str:
    """The id that makes a second delivery of the same mail a no-op."""
    mid = mail.message_id
    if mid and len(mid) <= _PROVIDER_ID_CHARS:
        return mid
    return "sha256:" + hashlib.sha256(mid.encode() if mid else raw).hexdigest()


class MailIngest:
    """Stores the mail of email channels; one per process, shared by its mailboxes and its
    SMTP receiver."""

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._bounce_handlers: list[BounceHandler] = []
        self._lookups = asyncio.Semaphore(_LOOKUPS_AT_ONCE)

    def on_bounce(self, handler: BounceHandler) -> None:
        """Register what to do with a delivery report (the sending side's: mark the message
        failed and suppress the address). Called once per report; a report fetched again is
        handed over again, so a handler must be idempotent."""
        self._bounce_handlers.append(handler)

    async def ingest(self, channel: MailChannel, raw: bytes) -> Ingested:
        """Store one mail; raises only what should stop and retry (the database away)."""
        settings = self._ctx.settings
        mail = parse_mail(raw, settings.email_max_message_bytes)
        if isinstance(mail, Unusable):
            log.warning(
                "email channel %s: mail %r skipped: %s", channel.id, mail.message_id, mail.reason
            )
            return Ingested("unusable", mail.reason)
        key = settings.resolved_secret_key()
        if mail.report is not None:
            await self._bounce(channel, mail.report, mail)
            return Ingested("bounce", _report_line(mail.report))
        if (
            mail.sender.address == channel.address.lower()
            and tokens.conversation_of_message_id(key, mail.message_id) is not None
        ):
            return Ingested("own", "the hub's own mail")
        digest = hashlib.sha256(raw).hexdigest()
        window = timedelta(days=settings.email_thread_window_days)

        async def find(session: AsyncSession) -> Thread:
            return await thread_of(
                session,
                key=key,
                channel_id=channel.id,
                mail=mail,
                raw_digest=digest,
                window=window,
                now=utcnow(),
                linked=channel.linked,
            )

        if not needs_lookup(key, mail):
            thread = Thread(new_thread_key(mail, digest), "new")
        else:
            async with self._lookups:
                thread = await self._ctx.read(find)
        inbound = await self._inbound(channel, mail, raw, thread)
        # A mailbox reader answers nobody; the SMTP receiver answers 250 once it is stored.
        result = await receive_message(self._ctx, inbound, answers_someone=False)
        return Ingested(
            "duplicate" if result.duplicate else "stored",
            message_id=int(result.message["id"]),
            conversation_id=int(result.conversation["id"]),
        )

    async def _bounce(self, channel: MailChannel, report: DeliveryReport, mail: ParsedMail) -> None:
        line = _report_line(report)
        if not self._bounce_handlers:
            log.warning("email channel %s: a delivery report nothing handles: %s", channel.id, line)
            return
        log.info("email channel %s: delivery report: %s", channel.id, line)
        for handler in self._bounce_handlers:
            try:
                await handler(channel.id, report, mail)
            except Exception:
                log.exception("email channel %s: a bounce handler failed", channel.id)
                raise

    async def _inbound(
        self, channel: MailChannel, mail: ParsedMail, raw: bytes, thread: Thread
    ) -> InboundMessage:
        folded = fold(mail.text)
        files, skipped = await self._store_files(mail)
        body = folded.text or mail.subject.strip() or "(no text)"
        if mail.too_large:
            body = (
                f"[This email is {len(raw)} bytes, larger than the hub reads "
                f"({self._ctx.settings.email_max_message_bytes}); it stays in the mailbox.]"
            )
        if skipped:
            body = body + "\n\n" + "\n".join(skipped)
        limit = self._ctx.settings.max_message_chars
        if len(body) > limit:
            body = body[: limit - 40].rstrip() + "\n[… the rest is in the email's HTML]"
        meta: dict[str, Any] = {
            "email": {
                "quoted": folded.quoted[:_MAX_FOLDED_CHARS],
                "signature": folded.signature[:_MAX_FOLDED_CHARS],
                "thread": thread.via,
                "reply_to": [a.address for a in mail.reply_to],
                "problems": list(mail.problems),
                "too_large": mail.too_large,
            }
        }
        if mail.auto_submitted:
            meta["auto_reply"] = mail.auto_submitted
        sender = mail.sender
        return InboundMessage(
            channel_id=channel.id,
            contact=InboundContact(
                external_id=sender.address, name=sender.name, email=sender.address
            ),
            body=body,
            provider_message_id=provider_id(mail, raw),
            meta=meta,
            attachments=tuple(files),
            reply_to_provider_id=mail.in_reply_to[0] if mail.in_reply_to else None,
            thread_key=thread.key,
            conversation_id=thread.conversation_id if thread.proven else None,
            email=InboundEmail(
                subject=mail.subject,
                from_address=sender.address,
                to=tuple(a.address for a in mail.to),
                cc=tuple(a.address for a in mail.cc),
                html=mail.html,
                message_id=mail.message_id,
            ),
        )

    async def _store_files(self, mail: ParsedMail) -> tuple[list[InboundAttachment], list[str]]:
        files: list[InboundAttachment] = []
        skipped: list[str] = []
        for att in mail.attachments:
            try:
                stored = await self._ctx.media.save_bytes(att.data)
            except PayloadTooLarge:
                skipped.append(
                    f"[file not saved: {att.filename}, {len(att.data)} bytes is too large]"
                )
                continue
            meta: dict[str, Any] = {"inline": att.inline}
            if att.content_id:
                meta["content_id"] = att.content_id
            files.append(
                await inbound_file(self._ctx, stored, att.filename, att.content_type, meta)
            )
        return files, skipped


def _report_line(report: DeliveryReport) -> str:
    who = ", ".join(f"{r.address} {r.action} {r.status}" for r in report.recipients)
    return f"about {report.original_message_id or 'an unknown mail'}: {who or 'no recipients'}"
