"""Telegram updates, stored then applied, once per ``update_id``.

The webhook and the long-polling runner both hand every update to ``handle_update``:

1. the raw update is stored under ``(channel_id, update_id)``; one stored and applied before
   answers "duplicate" and changes nothing;
2. it is applied: media fetched, the message received (or an edit applied) through the inbox's
   actions, a ``/start`` link recorded; a phone the customer shared of himself joins him to the
   known customer with that number (``crm_sync.verified_join``);
3. it is marked applied, and only then acknowledged (HTTP 200 / the next polling offset).

When the Bot API fails while media are fetched, ``UpdateNotApplied`` is raised and the update is
left unapplied: Telegram delivers it again (the webhook answers an error), and the message it
makes is still stored once, by its ``chat:message`` id.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundContact, InboundMessage
from hub.channels.telegram import deeplink, files, mapping
from hub.channels.telegram.models import TelegramUpdate
from hub.context import HubContext
from hub.crm_sync.verified_join import join_on_verified_phone
from hub.db import utcnow
from hub.errors import DomainError
from hub.inbox.actions import receive_message
from hub.inbox.edits import edit_incoming

log = logging.getLogger(__name__)


#: The contact attribute holding his name as Telegram gave it last.
NAME_KEY = "telegram_name"


class UpdateNotApplied(Exception):
    """Applying the update needs the Bot API, which failed; deliver it again later."""


async def _store(ctx: HubContext, channel_id: int, payload: dict[str, Any]) -> bool:
    """Store the update; ``True`` if it was applied already."""
    update_id = int(payload["update_id"])

    async def unit(session: AsyncSession) -> bool:
        row = await session.scalar(
            select(TelegramUpdate).where(
                TelegramUpdate.channel_id == channel_id, TelegramUpdate.update_id == update_id
            )
        )
        if row is not None:
            return row.processed_at is not None
        session.add(TelegramUpdate(channel_id=channel_id, update_id=update_id, payload=payload))
        await session.flush()
        return False

    try:
        return await ctx.write(unit, key=("telegram-update", channel_id, update_id))
    except IntegrityError:
        return False  # stored by a concurrent delivery: applying again is harmless


#: Applied updates are kept this long: Telegram redelivers an update for at most a day.
KEEP_APPLIED = timedelta(days=7)


async def prune_updates(ctx: HubContext) -> int:
    """Forget applied updates older than ``KEEP_APPLIED``; their messages stay."""

    async def unit(session: AsyncSession) -> int:
        result = await session.execute(
            delete(TelegramUpdate)
            .where(
                TelegramUpdate.processed_at.is_not(None),
                TelegramUpdate.received_at < utcnow() - KEEP_APPLIED,
            )
            .returning(TelegramUpdate.id)
        )
        return len(result.all())

    return await ctx.write(unit)


async def _mark(ctx: HubContext, channel_id: int, update_id: int, error: str | None) -> None:
    async def unit(session: AsyncSession) -> None:
        await session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.channel_id == channel_id, TelegramUpdate.update_id == update_id)
            .values(processed_at=utcnow(), error=error)
        )

    await ctx.write(unit)


def _inbound(
    ctx: HubContext, channel_id: int, got: mapping.Incoming, fetched: files.Fetched
) -> InboundMessage:
    contact = InboundContact(
        external_id=got.external_id,
        name=got.contact_name,
        phone=None if got.is_group else got.phone,
        # mapping keeps only a contact the sender shared of himself: Telegram proved it his.
        phone_verified=not got.is_group and got.phone is not None,
    )
    contact_attrs: dict[str, Any] = {NAME_KEY: got.contact_name}
    if got.username:
        contact_attrs["telegram_username"] = got.username
    if got.is_group:
        contact_attrs["telegram_chat_type"] = "group"
    link = deeplink.StartLink()
    if got.start_payload is not None and not got.is_group:
        link = deeplink.interpret(ctx.settings, got.start_payload)
        contact_attrs.update(link.contact_attributes)
    body = "\n".join(p for p in (got.body, *fetched.skipped) if p)
    return InboundMessage(
        channel_id=channel_id,
        contact=contact,
        body=body,
        provider_message_id=got.provider_message_id,
        meta=dict(got.meta),
        attachments=fetched.attachments,
        contact_attributes=contact_attrs,
        conversation_attributes=link.conversation_attributes,
        channel_name_key=NAME_KEY,
        join_contact_id=link.join_contact_id,
        reply_to_provider_id=got.reply_to,
    )


async def apply_update(
    ctx: HubContext, channel_id: int, bot: Bot, payload: dict[str, Any]
) -> str | None:
    """Apply one update; answers why it was ignored, if it was."""
    try:
        parsed = Update.model_validate(payload)
    except ValidationError:
        return "not an update the hub can read"
    got = mapping.parse(parsed)
    if got is None:
        return None  # nothing the inbox shows (a join, a pin, a channel post)
    if got.edited:
        done = await edit_incoming(ctx, channel_id, got.provider_message_id, got.body)
        if done is not None:
            return None
        # An edit of a message the hub never saw: it is stored as the message it is now.
    try:
        fetched = await files.fetch(ctx, bot, got.files)
    except files.DownloadFailed as exc:
        raise UpdateNotApplied(str(exc)) from exc
    inbound = _inbound(ctx, channel_id, got, fetched)
    if not inbound.body.strip() and not inbound.attachments:
        inbound = replace(inbound, body=f"[{got.files[0].kind if got.files else 'message'}]")
    result = await receive_message(ctx, inbound)
    if inbound.contact.phone_verified and inbound.contact.phone:
        # Start, then the contact button a second later: he joins the customer with that phone.
        await join_on_verified_phone(ctx, result.conversation["contact_id"], inbound.contact.phone)
    return None


async def handle_update(
    ctx: HubContext, channel_id: int, bot: Bot, payload: dict[str, Any]
) -> bool:
    """Store and apply an update; ``True`` if it was a repeat. Raises ``UpdateNotApplied``."""
    if await _store(ctx, channel_id, payload):
        return True
    update_id = int(payload["update_id"])
    try:
        ignored = await apply_update(ctx, channel_id, bot, payload)
    except DomainError as exc:
        # The update cannot be applied however often it comes (e.g. a text over the limit).
        log.warning("telegram update %s of channel %s refused: %s", update_id, channel_id, exc)
        ignored = exc.message
    await _mark(ctx, channel_id, update_id, ignored)
    return False
