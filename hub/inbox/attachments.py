"""Attachments: an operator's uploads, the files channels download, and who may read them.

An operator uploads a file into a conversation first (it has no message yet), then sends a
message naming it; only his own unused uploads of that conversation can be named. Files are
read only by operators who may see the conversation; anyone else gets "not found".
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundAttachment
from hub.context import HubContext
from hub.errors import InvalidInput, NotFound
from hub.inbox.access import can_see, get_visible_conversation
from hub.inbox.auth import Principal
from hub.inbox.models import Attachment, AttachmentKind, Conversation
from hub.inbox.serialize import attachment_dict
from hub.inbox.sniff import HEAD_BYTES, checked_type
from hub.inbox.sniff import INLINE_IMAGES as INLINE_IMAGES  # where the routes look for it
from hub.media import StoredFile

MAX_PER_MESSAGE = 10
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """A display name: no folders, no control characters, at most 255 characters. Some
    clients percent-encode a non-ASCII name, so it is decoded first."""
    name = unquote(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:255] or fallback


def clean_content_type(content_type: str | None, filename: str) -> str:
    """The sender's type when it is well formed, else a guess from the name, else bytes."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    if _CONTENT_TYPE.match(value) and value != "application/octet-stream":
        return value
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


async def stored_type(
    ctx: HubContext, stored: StoredFile, filename: str | None, content_type: str | None
) -> tuple[str, str]:
    """An upload's display name and its type: the sender's word, checked against the bytes
    when it claims an image (``hub.inbox.sniff``), so only real images are ever shown inline."""
    name = safe_filename(filename)
    claimed = clean_content_type(content_type, name)
    if claimed not in INLINE_IMAGES:
        return name, claimed
    return name, checked_type(claimed, await ctx.media.head(stored.key, HEAD_BYTES))


def kind_of(content_type: str) -> str:
    if content_type in INLINE_IMAGES:
        return AttachmentKind.IMAGE.value
    if content_type.startswith("video/"):
        return AttachmentKind.VIDEO.value
    if content_type.startswith("audio/"):
        return AttachmentKind.AUDIO.value
    return AttachmentKind.DOCUMENT.value


async def check_conversation(ctx: HubContext, actor: Principal, conversation_id: int) -> None:
    """``NotFound`` unless ``actor`` may see the conversation (checked before an upload is
    read, so nobody fills the disk of a conversation he cannot see)."""

    async def query(session: AsyncSession) -> None:
        await get_visible_conversation(session, actor, conversation_id)

    await ctx.read(query)


async def create_upload(
    ctx: HubContext,
    actor: Principal,
    conversation_id: int,
    stored: StoredFile,
    filename: str | None,
    content_type: str | None,
) -> dict[str, Any]:
    """Record an operator's upload; it waits for the message that will carry it."""
    name, ctype = await stored_type(ctx, stored, filename, content_type)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        conv = await get_visible_conversation(session, actor, conversation_id)
        att = Attachment(
            conversation_id=conv.id,
            uploaded_by_operator_id=actor.operator_id,
            filename=name,
            content_type=ctype,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
            kind=kind_of(ctype),
            meta={},
        )
        session.add(att)
        await session.flush()
        return attachment_dict(att)

    return await ctx.write(unit, key=conversation_id)


async def claim_uploads(
    session: AsyncSession, actor: Principal, conversation_id: int, ids: Sequence[int]
) -> list[Attachment]:
    """The uploads a new message carries: the actor's own, of this conversation, unused."""
    if not ids:
        return []
    if len(ids) > MAX_PER_MESSAGE or len(set(ids)) != len(ids):
        raise InvalidInput(
            f"attachment_ids must be at most {MAX_PER_MESSAGE} distinct ids",
            code="invalid_attachments",
        )
    rows = list(
        (
            await session.scalars(
                select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id)
            )
        ).all()
    )
    usable = [
        a
        for a in rows
        if a.conversation_id == conversation_id
        and a.uploaded_by_operator_id == actor.operator_id
        and a.message_id is None
    ]
    if len(usable) != len(ids):
        raise InvalidInput(
            "attachment_ids must be your own unsent uploads in this conversation",
            code="invalid_attachments",
        )
    by_id = {a.id: a for a in usable}
    return [by_id[i] for i in ids]


async def inbound_file(
    ctx: HubContext,
    stored: StoredFile,
    filename: str | None,
    content_type: str | None,
    meta: dict[str, Any] | None = None,
) -> InboundAttachment:
    """A file a customer sent, in the media store already, ready to go with his message: its
    name made safe and an image's type checked against its bytes (``stored_type``)."""
    name, ctype = await stored_type(ctx, stored, filename, content_type)
    return InboundAttachment(
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        filename=name,
        content_type=ctype,
        kind=kind_of(ctype),
        meta=dict(meta or {}),
    )


def add_inbound(
    session: AsyncSession, conversation_id: int, message_id: int, files: Sequence[InboundAttachment]
) -> list[Attachment]:
    """Rows for the files a channel downloaded for a customer message."""
    rows = [
        Attachment(
            message_id=message_id,
            conversation_id=conversation_id,
            filename=safe_filename(f.filename),
            content_type=f.content_type,
            size=f.size,
            sha256=f.sha256,
            storage_key=f.storage_key,
            kind=f.kind,
            meta=dict(f.meta),
        )
        for f in files
    ]
    session.add_all(rows)
    return rows


async def attachments_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """The attachment dicts of several messages, by message id, in one query."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not message_ids:
        return out
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(list(message_ids)))
        .order_by(Attachment.id)
    )
    for att in rows:
        assert att.message_id is not None
        out[att.message_id].append(attachment_dict(att))
    return out


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    path: Path
    filename: str
    content_type: str
    kind: str
    size: int


async def open_attachment(ctx: HubContext, actor: Principal, attachment_id: int) -> AttachmentFile:
    """The file of an attachment the actor may read: one of a conversation he may see."""

    async def query(session: AsyncSession) -> AttachmentFile:
        att = await session.get(Attachment, attachment_id)
        conv = await session.get(Conversation, att.conversation_id) if att else None
        if att is None or conv is None or not can_see(actor, conv):
            raise NotFound(f"attachment {attachment_id} not found", code="attachment_not_found")
        path = ctx.media.path(att.storage_key)
        return AttachmentFile(path, att.filename, att.content_type, att.kind, att.size)

    found = await ctx.read(query)
    if not found.path.is_file():
        raise NotFound(f"attachment {attachment_id} has no file", code="attachment_not_found")
    return found
