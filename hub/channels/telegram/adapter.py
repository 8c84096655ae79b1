"""Operator replies out through the Bot API.

A reply becomes one or more Telegram messages: its text split at Telegram's 4096-character limit
(at a paragraph, line or word where it can), then each file as a photo or a document (a short
text rides as the caption of a single file). The first part quotes the message the operator
answered. The ids of the parts sent are kept (``SendResult.state``, and in ``DeliveryError``
when a later part fails), so a retry sends only what is missing. A 429 waits ``retry_after``;
5xx and network errors are retried with backoff by the delivery worker; other refusals fail
the reply with a reason an operator can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import FSInputFile, ReplyParameters

from hub.channels.base import DeliveryError, OutboundAttachment, OutboundMessage, SendResult
from hub.channels.telegram.bots import BotNotConnected, BotPool
from hub.channels.telegram.config import TYPE

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PHOTO_MAX_BYTES = 10 * 1024 * 1024

#: Telegram's refusals, in words for the operator who sees the failed reply.
FORBIDDEN_REASONS = (
    ("blocked by the user", "the customer blocked the bot"),
    ("user is deactivated", "the customer's Telegram account was deleted"),
    ("kicked", "the bot was removed from the group"),
    ("not a member", "the bot is not in the group"),
    ("can't initiate", "the customer has not started a chat with the bot"),
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most ``limit`` UTF-16 units (Telegram's measure), cut at the last
    paragraph, line or space in the second half of a part, else hard."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        # The longest prefix within the limit, by code points (a surrogate pair stays whole).
        cut, units = 0, 0
        for i, ch in enumerate(rest):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                break
            cut = i + 1
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at >= cut // 2:
                cut = at + len(sep)
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest.strip() or not parts:
        parts.append(rest)
    return [p for p in parts if p] or [""]


@dataclass(frozen=True, slots=True)
class Part:
    text: str = ""
    file: OutboundAttachment | None = None


def plan(out: OutboundMessage) -> list[Part]:
    """The Telegram messages a reply becomes, in order."""
    body = out.body.strip()
    if not out.attachments:
        return [Part(text=t) for t in split_text(body)]
    if len(out.attachments) == 1 and utf16_len(body) <= CAPTION_LIMIT:
        return [Part(text=body, file=out.attachments[0])]
    texts = [Part(text=t) for t in split_text(body)] if body else []
    return texts + [Part(file=f) for f in out.attachments]


def _reason(exc: TelegramAPIError) -> tuple[str, bool]:
    """A readable reason and whether trying again may help."""
    text = exc.message or ""
    if isinstance(exc, TelegramForbiddenError):
        for needle, reason in FORBIDDEN_REASONS:
            if needle in text.lower():
                return reason, False
        return f"Telegram refused: {text}", False
    if isinstance(exc, TelegramUnauthorizedError):
        return "Telegram no longer accepts the bot's token; connect the bot again", False
    if isinstance(exc, TelegramEntityTooLarge):
        return "a file is too large for Telegram", False
    if isinstance(exc, TelegramMigrateToChat):
        return "the group became a supergroup; the customer must write again", False
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        if "chat not found" in text.lower():
            return "the chat no longer exists", False
        return f"Telegram rejected the message: {text}", False
    if isinstance(exc, TelegramServerError):
        return f"Telegram is unavailable: {text}", True
    return f"Telegram answered: {text}", True


class TelegramAdapter:
    type = TYPE

    def __init__(self, bots: BotPool) -> None:
        self._bots = bots

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        try:
            chat_id = int(out.contact_external_id or "")
        except ValueError:
            raise DeliveryError("the contact has no Telegram chat", retryable=False) from None
        try:
            bot = await self._bots.get(out.channel_id)
        except BotNotConnected:
            raise DeliveryError("the channel has no bot connected", retryable=False) from None
        sent: list[int] = [int(i) for i in out.state.get("message_ids", [])]
        reply_to = _reply_target(out.reply_to_provider_id, chat_id)
        for index, part in enumerate(plan(out)):
            if index < len(sent):
                continue  # sent on an earlier attempt
            quote = reply_to if index == 0 else None
            try:
                sent.append(await _send_part(bot, chat_id, part, quote))
            except TelegramRetryAfter as exc:
                raise DeliveryError(
                    f"Telegram asked to wait {exc.retry_after} s",
                    retry_after=float(exc.retry_after),
                    state=_state(chat_id, sent),
                ) from None
            except (TelegramNetworkError, ClientDecodeError) as exc:
                # A decode error is an answer that is no Bot API JSON (a proxy's error page).
                raise DeliveryError(
                    f"Telegram unreachable: {type(exc.__cause__ or exc).__name__}",
                    state=_state(chat_id, sent),
                ) from None
            except TelegramAPIError as exc:
                reason, retryable = _reason(exc)
                raise DeliveryError(
                    reason, retryable=retryable, state=_state(chat_id, sent)
                ) from None
            except (TimeoutError, OSError) as exc:
                raise DeliveryError(
                    f"Telegram unreachable: {type(exc).__name__}", state=_state(chat_id, sent)
                ) from None
        return SendResult(f"{chat_id}:{sent[0]}" if sent else None, _state(chat_id, sent))

    async def close(self) -> None:
        await self._bots.close()


def _state(chat_id: int, sent: list[int]) -> dict[str, Any]:
    return {"chat_id": chat_id, "message_ids": list(sent)}


def _reply_target(provider_id: str | None, chat_id: int) -> int | None:
    """The Telegram message id of the answered message, if it is in this chat."""
    if not provider_id:
        return None
    chat, _, message = provider_id.partition(":")
    if chat != str(chat_id) or not message.isdigit():
        return None
    return int(message)


async def _send_part(bot: Bot, chat_id: int, part: Part, reply_to: int | None) -> int:
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    caption = part.text or None
    if part.file is None:
        msg = await bot.send_message(chat_id, part.text, reply_parameters=reply)
    elif part.file.content_type in PHOTO_TYPES and part.file.size <= PHOTO_MAX_BYTES:
        photo = FSInputFile(part.file.path, filename=part.file.filename)
        msg = await bot.send_photo(chat_id, photo, caption=caption, reply_parameters=reply)
    else:
        doc = FSInputFile(part.file.path, filename=part.file.filename)
        msg = await bot.send_document(chat_id, doc, caption=caption, reply_parameters=reply)
    return msg.message_id
