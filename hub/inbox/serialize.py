"""The JSON shapes of inbox objects, shared by REST answers and socket events.

One place decides what leaves the hub, so a secret column can never slip into a response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from hub.inbox.models import Channel, Contact, MessageKind, Operator, Team


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def operator_dict(op: Operator, team_ids: list[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": op.id,
        "email": op.email,
        "name": op.name,
        "role": op.role,
        "active": op.is_active,
        "invited": op.invited,
        "created_at": iso(op.created_at),
    }
    if team_ids is not None:
        out["team_ids"] = sorted(team_ids)
    return out


def team_dict(team: Team, member_ids: list[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": team.id, "name": team.name, "created_at": iso(team.created_at)}
    if member_ids is not None:
        out["operator_ids"] = sorted(member_ids)
    return out


def channel_dict(ch: Channel) -> dict[str, Any]:
    """A channel without its secret, which is shown once at creation and never again."""
    out: dict[str, Any] = {
        "id": ch.id,
        "type": ch.type,
        "name": ch.name,
        "team_id": ch.team_id,
        "active": ch.is_active,
        "config": dict(ch.config),
        "created_at": iso(ch.created_at),
    }
    if ch.public_token is not None:
        out["website_token"] = ch.public_token
    return out


class MessageLike(Protocol):
    """What ``message_dict`` reads: an ORM ``Message`` or a row built without the ORM."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def private(self) -> bool: ...
    @property
    def body(self) -> str: ...
    @property
    def sender_contact_id(self) -> int | None: ...
    @property
    def sender_operator_id(self) -> int | None: ...
    @property
    def meta(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def delivery_status(self) -> str | None: ...
    @property
    def delivery_error(self) -> str | None: ...
    @property
    def delivery_attempts(self) -> int: ...
    @property
    def reply_to_id(self) -> int | None: ...


class ConversationLike(Protocol):
    """What ``conversation_dict`` reads: an ORM ``Conversation`` or a plain row."""

    @property
    def id(self) -> int: ...
    @property
    def channel_id(self) -> int: ...
    @property
    def contact_id(self) -> int: ...
    @property
    def team_id(self) -> int | None: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def snoozed_until(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_activity_at(self) -> datetime: ...
    @property
    def last_message_preview(self) -> str: ...
    @property
    def unread_count(self) -> int: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


class NamedLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


class ChannelLike(NamedLike, Protocol):
    @property
    def type(self) -> str: ...


class AttachmentLike(Protocol):
    """What ``attachment_dict`` reads: an ORM ``Attachment`` or an outbound file."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...


def attachment_dict(att: AttachmentLike) -> dict[str, Any]:
    """An attachment as operators see it; ``url`` downloads it with their token or session."""
    return {
        "id": att.id,
        "kind": att.kind,
        "filename": att.filename,
        "content_type": att.content_type,
        "size": att.size,
        "url": f"/api/v1/attachments/{att.id}",
    }


def sender_dict(
    msg: MessageLike, operator_names: dict[int, str], contact_names: dict[int, str]
) -> dict[str, Any]:
    if msg.kind == MessageKind.INCOMING.value:
        cid = msg.sender_contact_id
        author = msg.meta.get("author")
        if isinstance(author, dict):
            # A member of a group chat: the contact is the group, the author says who wrote.
            return {"type": "contact", "id": cid, "name": author.get("name", ""), "author": author}
        return {"type": "contact", "id": cid, "name": contact_names.get(cid or 0, "")}
    if msg.sender_operator_id is not None:
        oid = msg.sender_operator_id
        return {"type": "operator", "id": oid, "name": operator_names.get(oid, "")}
    return {"type": "system", "id": None, "name": ""}


def message_dict(
    msg: MessageLike,
    operator_names: dict[int, str] | None = None,
    contact_names: dict[int, str] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    item: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message; ``attachments`` are its files' dicts and ``item`` its call or email
    (``items.items_of``), which the caller loads only for messages that may have some (the
    customer-message batch path has none)."""
    item = item or {}
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "kind": msg.kind,
        "private": msg.private,
        "body": msg.body,
        "sender": sender_dict(msg, operator_names or {}, contact_names or {}),
        "meta": dict(msg.meta),
        "attachments": attachments or [],
        "call": item.get("call"),
        "email": item.get("email"),
        "reply_to_id": msg.reply_to_id,
        "created_at": iso(msg.created_at),
        "delivery": (
            None
            if msg.delivery_status is None
            else {
                "status": msg.delivery_status,
                "error": msg.delivery_error,
                "attempts": msg.delivery_attempts,
            }
        ),
    }


def conversation_dict(
    conv: ConversationLike, contact: NamedLike | None = None, channel: ChannelLike | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": conv.id,
        "channel_id": conv.channel_id,
        "contact_id": conv.contact_id,
        "team_id": conv.team_id,
        "assignee_id": conv.assignee_id,
        "status": conv.status,
        "snoozed_until": iso(conv.snoozed_until),
        "created_at": iso(conv.created_at),
        "last_activity_at": iso(conv.last_activity_at),
        "last_message_preview": conv.last_message_preview,
        "unread_count": conv.unread_count,
        "attributes": dict(conv.attributes),
    }
    if contact is not None:
        out["contact"] = {"id": contact.id, "name": contact.name}
    if channel is not None:
        out["channel"] = {"id": channel.id, "type": channel.type, "name": channel.name}
    return out


def contact_dict(
    contact: Contact,
    phones: list[str],
    emails: list[str],
    identities: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "phones": phones,
        "emails": emails,
        "identities": identities,
        "attributes": dict(contact.attributes),
        "merged_into_id": contact.merged_into_id,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }
