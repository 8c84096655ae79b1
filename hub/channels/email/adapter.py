"""The email channel's adapter: an operator's reply leaves as an email from the mailbox.

The delivery worker (``hub.inbox.delivery``) hands it operator replies only, so an internal note
never gets here. For each reply: the recipient is the address the conversation's identity was
made from (the customer who wrote, never another address of his contact); a suppressed address
fails at once; the email gets its signed Message-ID and reply address (``tokens``), the thread's
subject and headers (``reply_context``), its files, a DKIM signature when the channel has a key;
its record is stored; then it is sent (``send``), and a refusal becomes the outbox's retry or
failure (``DeliveryError``), a refused address also a suppression. When the channel tracks
and the operator left tracking on, the record's write also keeps the email's tracking token
and links, and the HTML part gets the pixel and the hub's links (``tracking_links``) before
DKIM signs the bytes; the copy the inbox shows stays the one without them.

Nothing here imports a mail library: ``send`` is imported on the first reply, in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import (
    DeliveryError,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    SystemMail,
)
from hub.channels.email import suppression, system_mail, tokens
from hub.channels.email.compose import (
    FilePart,
    Letter,
    compose,
    references_for,
    render,
    text_to_html,
)
from hub.channels.email.config import TYPE, EmailConfig, parse_config
from hub.channels.email.reply_context import record_sent, reply_context
from hub.channels.email.tracking_links import new_token, track_html
from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.items import sanitize_html
from hub.inbox.tracking_models import EmailTracking


def recipient_of(external_id: str | None) -> str | None:
    """The customer's address (an email identity's external id), if it is one."""
    if not external_id:
        return None
    try:
        return validate_email(external_id, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _read_files(files: tuple[OutboundAttachment, ...]) -> tuple[FilePart, ...]:
    parts = []
    for f in files:
        try:
            data = Path(f.path).read_bytes()
        except OSError:
            raise DeliveryError(
                f"the file {f.filename!r} is no longer in the media store", retryable=False
            ) from None
        parts.append(FilePart(f.filename, f.content_type, data))
    return tuple(parts)


class EmailAdapter:
    type = TYPE

    def __init__(self, ctx: HubContext) -> None:
        self._ctx = ctx
        self._send: ModuleType | None = None

    async def _sender(self) -> ModuleType:
        if self._send is None:
            self._send = await asyncio.to_thread(importlib.import_module, "hub.channels.email.send")
        return self._send

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        ctx = self._ctx
        config = parse_config(channel_config)
        to = recipient_of(out.contact_external_id)
        if to is None:
            raise DeliveryError("the customer has no email address here", retryable=False)
        thread = await ctx.read(
            lambda s: reply_context(
                s, out.channel_id, out.conversation_id, out.message_id, to, out.subject
            )
        )
        if thread.secrets is None:
            raise DeliveryError(
                "the channel has no mailbox password stored; connect the mailbox again",
                retryable=False,
            )
        if thread.refusal is not None:
            raise DeliveryError(thread.refusal, retryable=False)
        key = ctx.settings.resolved_secret_key()
        message_id = tokens.message_id(
            key, out.message_id, out.conversation_id, tokens.domain_of(config.address)
        )
        letter = Letter(
            from_address=config.address,
            display_name=config.display_name,
            to=to,
            subject=thread.subject,
            body=out.body,
            message_id=message_id,
            date=utcnow(),
            reply_to=(
                tokens.reply_address(key, config.address, out.conversation_id)
                if config.plus_addressing
                else None
            ),
            in_reply_to=thread.in_reply_to,
            references=references_for(thread.earlier_ids, thread.in_reply_to),
            files=await asyncio.to_thread(_read_files, out.attachments),
        )
        send = await self._sender()
        tracked = await self._record(
            out.message_id, letter, config, config.tracking and out.tracking
        )
        data = render(compose(dataclasses.replace(letter, html=tracked)))
        try:
            if config.dkim is not None and thread.secrets.dkim_private_key:
                data = send.sign(
                    data, config.dkim.selector, config.dkim.domain, thread.secrets.dkim_private_key
                )
            sent = await send.deliver(
                config.smtp,
                thread.secrets.smtp_password,
                config.address,
                to,
                data,
                wait_s=ctx.settings.delivery_timeout_s,
            )
        except send.SendFailed as failed:
            if failed.address_refused:
                await suppression.suppress(ctx, to, failed.reason, "smtp")
            raise DeliveryError(failed.reason, retryable=failed.temporary) from None
        return SendResult(message_id, {"message_id": message_id, "smtp_answer": sent.answer})

    async def _record(
        self, message_id: int, letter: Letter, config: EmailConfig, track: bool
    ) -> str | None:
        """Store what is sent; the tracked HTML part when ``track`` (None: the plain one).
        A retry keeps the email's token, so the pixel of an earlier attempt still counts."""
        document = text_to_html(letter.body)
        html = sanitize_html(document)
        settings = self._ctx.settings
        key = settings.resolved_secret_key()

        async def unit(session: AsyncSession) -> str | None:
            tracked = None
            if track:
                row = await session.get(EmailTracking, message_id)
                if row is None:
                    row = EmailTracking(message_id=message_id, token=new_token())
                    session.add(row)
                result = track_html(document, settings.public_url, key, row.token)
                row.links, row.sent_at, tracked = result.links, utcnow(), result.html
            await record_sent(
                session,
                message_id,
                subject=letter.subject,
                html=html,
                from_address=config.address,
                to=letter.to,
                message_id_header=letter.message_id,
            )
            return tracked

        return await self._ctx.write(unit)

    async def send_system_mail(
        self, channel_id: int, channel_config: dict[str, Any], mail: SystemMail
    ) -> str:
        """The hub's own mail (an invitation, a password link) from this mailbox."""
        send = await self._sender()
        return await system_mail.send_system_mail(self._ctx, send, channel_id, channel_config, mail)

    async def close(self) -> None:
        return None
