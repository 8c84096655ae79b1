"""A Telegram update as the inbox sees it: who wrote, what he wrote, which files to fetch.

Pure translation, no I/O: ``parse`` reads an aiogram ``Update`` and answers an ``Incoming`` (or
``None`` for what the inbox does not show: service messages, channel posts). A private chat's
contact is the Telegram user (his id is the chat id); a group's contact is the group, and each
message names its member as its ``author``. Media are described as ``FileRef`` for
``files.download`` to fetch through the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Chat, Message, Update, User

from hub.errors import InvalidInput
from hub.phones import normalize_phone

#: Content a customer sends; anything else in a message (joins, pins, titles) is not shown.
CUSTOMER_CONTENT = frozenset(
    {
        "text",
        "photo",
        "document",
        "voice",
        "video",
        "video_note",
        "audio",
        "animation",
        "sticker",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
        "story",
        "game",
    }
)
GROUP_TYPES = frozenset({"group", "supergroup"})
START = re.compile(r"^/start(?:@\w+)?(?:\s+(\S+))?\s*$")
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class FileRef:
    file_id: str
    kind: str
    filename: str
    content_type: str
    size: int | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incoming:
    chat_id: int
    message_id: int
    edited: bool
    is_group: bool
    #: The contact: the user of a private chat, or the group.
    contact_name: str
    username: str | None
    body: str
    files: tuple[FileRef, ...]
    meta: dict[str, Any]
    #: The sender's own phone, when he shared his contact (E.164).
    phone: str | None = None
    start_payload: str | None = None
    #: ``chat:message`` of the message this one replies to, if any.
    reply_to: str | None = None

    @property
    def external_id(self) -> str:
        return str(self.chat_id)

    @property
    def provider_message_id(self) -> str:
        return provider_id(self.chat_id, self.message_id)


def provider_id(chat_id: int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


def full_name(user: User | Chat) -> str:
    parts = [user.first_name or "", user.last_name or ""]
    return " ".join(p for p in parts if p).strip()[:200]


def _author(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"telegram_id": user.id, "name": full_name(user), "username": user.username}


def _photo(msg: Message) -> FileRef | None:
    if not msg.photo:
        return None
    best = msg.photo[-1]  # sizes come smallest first
    return FileRef(
        best.file_id,
        "image",
        f"photo_{best.file_unique_id}.jpg",
        "image/jpeg",
        best.file_size,
        {"width": best.width, "height": best.height, "telegram_file_id": best.file_id},
    )


def _files(msg: Message) -> list[FileRef]:
    found: list[FileRef] = []
    if photo := _photo(msg):
        found.append(photo)
    if doc := msg.document:
        found.append(
            FileRef(
                doc.file_id,
                "document",
                doc.file_name or f"document_{doc.file_unique_id}",
                doc.mime_type or "application/octet-stream",
                doc.file_size,
                {"telegram_file_id": doc.file_id},
            )
        )
    if voice := msg.voice:
        found.append(
            FileRef(
                voice.file_id,
                "voice",
                f"voice_{voice.file_unique_id}.ogg",
                voice.mime_type or "audio/ogg",
                voice.file_size,
                {"duration": voice.duration, "telegram_file_id": voice.file_id},
            )
        )
    if audio := msg.audio:
        found.append(
            FileRef(
                audio.file_id,
                "audio",
                audio.file_name or f"audio_{audio.file_unique_id}.mp3",
                audio.mime_type or "audio/mpeg",
                audio.file_size,
                {"duration": audio.duration, "telegram_file_id": audio.file_id},
            )
        )
    video = msg.video or msg.animation
    if video is not None:
        found.append(
            FileRef(
                video.file_id,
                "video",
                video.file_name or f"video_{video.file_unique_id}.mp4",
                video.mime_type or "video/mp4",
                video.file_size,
                {
                    "width": video.width,
                    "height": video.height,
                    "duration": video.duration,
                    "telegram_file_id": video.file_id,
                },
            )
        )
    if note := msg.video_note:
        found.append(
            FileRef(
                note.file_id,
                "video",
                f"video_note_{note.file_unique_id}.mp4",
                "video/mp4",
                note.file_size,
                {"duration": note.duration, "telegram_file_id": note.file_id},
            )
        )
    if sticker := msg.sticker:
        if sticker.is_animated:
            ext, ctype = "tgs", "application/x-tgsticker"
        elif sticker.is_video:
            ext, ctype = "webm", "video/webm"
        else:
            ext, ctype = "webp", "image/webp"
        found.append(
            FileRef(
                sticker.file_id,
                "sticker",
                f"sticker_{sticker.file_unique_id}.{ext}",
                ctype,
                sticker.file_size,
                {"emoji": sticker.emoji, "telegram_file_id": sticker.file_id},
            )
        )
    return found


def _own_phone(msg: Message) -> str | None:
    """The phone of a shared contact that is the sender himself (a contact he shares of
    someone else stays in the message, not on his card)."""
    shared = msg.contact
    if shared is None or msg.from_user is None or shared.user_id != msg.from_user.id:
        return None
    raw = shared.phone_number.strip()
    try:
        return normalize_phone(raw if raw.startswith("+") else f"+{raw}")
    except InvalidInput:
        return None


def _body_and_meta(msg: Message, meta: dict[str, Any]) -> str:
    if msg.text is not None:
        return msg.text
    if msg.caption:
        return msg.caption
    if msg.sticker is not None:
        return msg.sticker.emoji or ""
    if (loc := msg.location) is not None:
        meta["location"] = {"latitude": loc.latitude, "longitude": loc.longitude}
        place = f"{msg.venue.title}, {msg.venue.address}\n" if msg.venue else ""
        return f"{place}📍 {loc.latitude:.6f}, {loc.longitude:.6f}"
    if (shared := msg.contact) is not None:
        name = " ".join(p for p in (shared.first_name, shared.last_name or "") if p)
        meta["contact"] = {
            "name": name,
            "phone_number": shared.phone_number,
            "user_id": shared.user_id,
        }
        return f"📇 {name}: {shared.phone_number}"
    if msg.content_type in ("photo", "document", "voice", "audio", "video", "video_note"):
        return ""
    if msg.content_type == "animation":
        return ""
    return f"[{msg.content_type}]"


def parse(update: Update) -> Incoming | None:
    msg = update.message or update.edited_message
    if msg is None or msg.content_type not in CUSTOMER_CONTENT:
        return None
    chat = msg.chat
    is_group = chat.type in GROUP_TYPES
    if chat.type != "private" and not is_group:
        return None
    meta: dict[str, Any] = {"telegram": {"chat_id": chat.id, "message_id": msg.message_id}}
    if is_group:
        author = _author(msg.from_user)
        if author is not None:
            meta["author"] = author
    body = _body_and_meta(msg, meta)
    payload = None
    m = START.match(msg.text.strip()) if msg.text is not None else None
    if m is not None and m.group(1) and PAYLOAD.match(m.group(1)):
        payload = m.group(1)
    reply_to = None
    if msg.reply_to_message is not None:
        reply_to = provider_id(chat.id, msg.reply_to_message.message_id)
        meta["telegram"]["reply_to_message_id"] = msg.reply_to_message.message_id
    if is_group:
        name, username = (chat.title or "")[:200], chat.username
    else:
        user = msg.from_user
        name = full_name(user) if user else full_name(chat)
        username = user.username if user else chat.username
    return Incoming(
        chat_id=chat.id,
        message_id=msg.message_id,
        edited=update.edited_message is not None,
        is_group=is_group,
        contact_name=name,
        username=username,
        body=body,
        files=tuple(_files(msg)),
        meta=meta,
        phone=_own_phone(msg),
        start_payload=payload,
        reply_to=reply_to,
    )
