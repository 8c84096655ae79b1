"""Media of a Telegram message, fetched through the Bot API into the media store.

``getFile`` gives a path, which is downloaded from the Bot API server's file URL and streamed
into ``hub.media`` (hashed, size-limited). A file larger than the hub accepts, or than the Bot
API serves (20 MB on Telegram's own server), is not fetched: the message says so instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from hub.channels.base import InboundAttachment
from hub.channels.telegram.mapping import FileRef
from hub.context import HubContext
from hub.errors import PayloadTooLarge


class DownloadFailed(Exception):
    """The Bot API or its file server did not answer; the update is retried later."""


@dataclass(frozen=True, slots=True)
class Fetched:
    attachments: tuple[InboundAttachment, ...]
    #: Lines for the message body about files that were not fetched.
    skipped: tuple[str, ...]


async def _chunks(bot: Bot, url: str) -> AsyncIterator[bytes]:
    async for chunk in bot.session.stream_content(url, timeout=120, chunk_size=64 * 1024):
        yield chunk


async def fetch(ctx: HubContext, bot: Bot, files: tuple[FileRef, ...]) -> Fetched:
    got: list[InboundAttachment] = []
    skipped: list[str] = []
    limit = ctx.settings.max_attachment_bytes
    for ref in files:
        if ref.size is not None and ref.size > limit:
            skipped.append(f"[{ref.kind} not saved: {ref.filename}, {ref.size} bytes is too large]")
            continue
        try:
            info = await bot.get_file(ref.file_id)
        except TelegramBadRequest as exc:  # "file is too big" on Telegram's own server
            skipped.append(f"[{ref.kind} not saved: {ref.filename}: {exc.message}]")
            continue
        except Exception as exc:
            raise DownloadFailed(f"getFile failed: {type(exc).__name__}") from exc
        if not info.file_path:
            skipped.append(f"[{ref.kind} not saved: {ref.filename}]")
            continue
        url = bot.session.api.file_url(bot.token, info.file_path)
        try:
            stored = await ctx.media.save(_chunks(bot, url))
        except PayloadTooLarge:
            skipped.append(f"[{ref.kind} not saved: {ref.filename} is too large]")
            continue
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # Only the type: the text of a response error names the URL, which holds the token.
            raise DownloadFailed(f"download failed: {type(exc).__name__}") from exc
        got.append(
            InboundAttachment(
                storage_key=stored.key,
                sha256=stored.sha256,
                size=stored.size,
                filename=ref.filename,
                content_type=ref.content_type,
                kind=ref.kind,
                meta=dict(ref.meta),
            )
        )
    return Fetched(tuple(got), tuple(skipped))
