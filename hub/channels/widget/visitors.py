"""The visitor's named writes and reads: sessions, messages, callback requests, contact details.

A visitor token is 192 random bits, shown to the browser once per new session and stored only
as a SHA-256; every request and socket looks the visitor up by it, so one visitor can never read
another's conversation. What a visitor reads is only his own identity's conversations (his
browser's, or his verified user's on the site), never the rest of a contact a merge joined him
to, and in them only customer messages and operator replies: internal notes and activities
are filtered out in the query itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import jsoncodec
from hub.channels.widget.agent import describe_agent
from hub.channels.widget.callback import callback_view
from hub.channels.widget.config import TYPE, WidgetConfig, public_settings
from hub.channels.widget.models import WidgetVisitor
from hub.channels.widget.new_visitors import NewVisitor, new_visitor_writes
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from hub.inbox.attachments import attachments_of
from hub.inbox.contacts import update_contact_details
from hub.inbox.models import (
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    MessageKind,
)
from hub.inbox.queries import operator_names
from hub.inbox.serialize import iso

TOUCH_KEYS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "yclid",
)
HISTORY = 50
VISIBLE_KINDS = (MessageKind.INCOMING.value, MessageKind.OUTGOING.value)


def hash_visitor_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def verify_identity(secret: str, identifier: str, identifier_hash: str) -> bool:
    expected = hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, identifier_hash.strip().lower())


def touch_from_page(page: dict[str, str]) -> dict[str, Any]:
    """A touch: the page, its referrer, the advert markers in its URL, and the browser, system
    and device the page was seen on (``agent``). ``start_session`` adds the city and country of
    the visitor's address when a GeoIP database is configured (``hub.geoip``)."""
    url = page.get("url", "")[:2000]
    touch: dict[str, Any] = {
        "url": url,
        "title": page.get("title", "")[:300],
        "referrer": page.get("referrer", "")[:2000],
        "at": iso(utcnow()),
    }
    params = dict(parse_qsl(urlsplit(url).query)) if url else {}
    for key in TOUCH_KEYS:
        if params.get(key):
            touch[key] = params[key][:300]
    touch.update(describe_agent(page.get("user_agent", "")))
    return touch


@dataclass(frozen=True, slots=True)
class Visitor:
    id: int
    channel_id: int
    contact_id: int | None
    identifier: str | None
    profile: dict[str, Any]
    first_touch: dict[str, Any]
    last_touch: dict[str, Any]


def to_visitor(row: WidgetVisitor) -> Visitor:
    return Visitor(
        row.id,
        row.channel_id,
        row.contact_id,
        row.identifier,
        dict(row.profile),
        dict(row.first_touch),
        dict(row.last_touch),
    )


def pack_visitor(visitor: Visitor) -> str:
    """The visitor as one JSON string, for an idle socket to hold between frames: his profile
    and touches decoded cost several times their text (1.9 KiB a socket, measured). A string,
    not orjson's bytes, which keep the whole buffer they were written in (4 KiB here)."""
    v = visitor
    return jsoncodec.dumps(
        [v.id, v.channel_id, v.contact_id, v.identifier, v.profile, v.first_touch, v.last_touch]
    )


def unpack_visitor(packed: str) -> Visitor:
    return Visitor(*jsoncodec.loads(packed))


def visitor_file(att: dict[str, Any]) -> dict[str, Any]:
    """An attachment as the visitor sees it (an ``attachment_dict``): read with his token from
    the widget's own route, which serves only his own conversations' files."""
    return {
        "id": att["id"],
        "kind": att["kind"],
        "filename": att["filename"],
        "content_type": att["content_type"],
        "size": att["size"],
        "url": f"/api/widget/v1/attachments/{att['id']}",
    }


def visitor_message(
    msg: Message, operator_names: dict[int, str], files: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A message as the visitor sees it: no kind beyond message/callback, no internal fields;
    ``files`` are its ``attachment_dict``s."""
    if msg.kind == MessageKind.INCOMING.value:
        sender = {"type": "contact", "name": ""}
    else:
        sender = {"type": "operator", "name": operator_names.get(msg.sender_operator_id or 0, "")}
    kind = "callback_request" if msg.meta.get("type") == "callback_request" else "message"
    out = {
        "id": msg.id,
        "body": msg.body,
        "sender": sender,
        "created_at": iso(msg.created_at),
        "kind": kind,
        "attachments": [visitor_file(a) for a in files or []],
    }
    if kind == "callback_request":
        out["callback"] = callback_view(msg.meta)
    return out


async def channel_by_token(ctx: HubContext, website_token: str) -> Channel:
    async def query(session: AsyncSession) -> Channel | None:
        return await session.scalar(select(Channel).where(Channel.public_token == website_token))

    channel = await ctx.read(query) if website_token and len(website_token) <= 64 else None
    if channel is None or channel.type != TYPE or not channel.is_active:
        raise NotFound("no widget channel has this website token", code="unknown_website_token")
    return channel


async def visitor_by_token(ctx: HubContext, token: str) -> tuple[Visitor, Channel]:
    """The visitor behind a token and his channel; ``Unauthorized`` for anything else."""
    if not token or len(token) > 100:
        raise Unauthorized("missing or malformed visitor token", code="invalid_visitor_token")

    async def query(session: AsyncSession) -> tuple[WidgetVisitor, Channel] | None:
        row = (
            await session.execute(
                select(WidgetVisitor, Channel)
                .join(Channel, Channel.id == WidgetVisitor.channel_id)
                .where(WidgetVisitor.token_hash == hash_visitor_token(token))
            )
        ).first()
        return (row[0], row[1]) if row else None

    found = await ctx.read(query)
    if found is None or not found[1].is_active:
        raise Unauthorized("unknown visitor token", code="invalid_visitor_token")
    return to_visitor(found[0]), found[1]


async def reload_visitor(ctx: HubContext, visitor_id: int) -> Visitor:
    """The visitor as he is now in the database."""

    async def query(session: AsyncSession) -> WidgetVisitor | None:
        return await session.get(WidgetVisitor, visitor_id)

    row = await ctx.read(query)
    if row is None:
        raise Unauthorized("unknown visitor token", code="invalid_visitor_token")
    return to_visitor(row)


@dataclass(frozen=True, slots=True)
class SessionIn:
    website_token: str
    visitor_token: str | None
    page: dict[str, str]
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    identifier: str | None = None
    identifier_hash: str | None = None
    #: Where his address is (``hub.geoip``): ``city``, ``country``, ``country_code`` when known.
    place: dict[str, Any] | None = None


async def start_session(
    ctx: HubContext, channel: Channel, data: SessionIn
) -> tuple[dict[str, Any], Visitor]:
    """Resume the visitor of a known token, or make a new one; record where he is now. Returns
    the answer and the visitor (whose identity his open sockets must listen for)."""
    cfg = WidgetConfig.model_validate(channel.config)
    identifier = None
    if data.identifier is not None or data.identifier_hash is not None:
        if not data.identifier or not data.identifier_hash:
            raise InvalidInput(
                "identifier and identifier_hash go together", code="invalid_identity"
            )
        if not verify_identity(channel.secret, data.identifier, data.identifier_hash):
            raise Forbidden("identifier_hash does not match identifier", code="invalid_identity")
        identifier = data.identifier[:200]
    elif cfg.require_identity:
        raise Forbidden("this site requires a verified identity", code="identity_required")
    touch = touch_from_page(data.page)
    touch.update(data.place or {})
    profile = {
        k: v for k, v in (("name", data.name), ("email", data.email), ("phone", data.phone)) if v
    }
    known = None
    if data.visitor_token:
        try:
            known, known_channel = await visitor_by_token(ctx, data.visitor_token)
            if known_channel.id != channel.id:
                known = None
        except Unauthorized:
            known = None
    if known is not None and identifier is not None and known.identifier not in (None, identifier):
        known = None  # another user logged in on this browser: a fresh visitor
    token = data.visitor_token if known is not None else None
    if token is None:
        token = secrets.token_urlsafe(24)
    if known is None:  # his row is made in the write lane's batch, with the others arriving
        new = NewVisitor(channel.id, hash_visitor_token(token), touch, profile, identifier)
        visitor_id = await ctx.writer.run_item(new_visitor_writes(ctx), new)
        visitor = Visitor(visitor_id, channel.id, None, identifier, profile, touch, dict(touch))
    else:
        visitor = await _resume(ctx, known, touch, profile, identifier)
    logged_in = known is not None and known.identifier is None
    if identifier is not None and (visitor.contact_id is None or logged_in):
        visitor = await _link_verified_contact(ctx, visitor, channel)
    if visitor.contact_id is not None:
        await record_touch_on_contact(ctx, visitor)
        if profile:
            await update_contact_details(
                ctx,
                visitor.contact_id,
                name=profile.get("name"),
                email=profile.get("email"),
                phone=profile.get("phone"),
                only_missing=True,
            )
    return {
        "visitor_token": token,
        "channel": public_settings(channel.name, channel.config),
        "contact": await contact_summary(ctx, visitor),
        "messages": await history(ctx, visitor),
    }, visitor


async def _resume(
    ctx: HubContext,
    known: Visitor,
    touch: dict[str, Any],
    profile: dict[str, Any],
    identifier: str | None,
) -> Visitor:
    """A known visitor's row, told where he is now."""

    async def unit(session: AsyncSession) -> Visitor:
        row = await session.get(WidgetVisitor, known.id)
        assert row is not None
        row.last_touch = touch
        row.last_seen_at = utcnow()
        if profile:
            row.profile = {**row.profile, **profile}
        if identifier is not None:
            row.identifier = identifier
        await session.flush()
        return to_visitor(row)

    return await ctx.write(unit)


def external_id(visitor: Visitor) -> str:
    return f"user:{visitor.identifier}" if visitor.identifier else f"visitor:{visitor.id}"


async def _link_verified_contact(ctx: HubContext, visitor: Visitor, channel: Channel) -> Visitor:
    """A verified visitor joins the contact that already has his identifier, if any; one who
    chatted before he logged in gives his identifier to his contact, and his conversations move
    from his browser's identity to it, so the chat goes on (on his other devices too). Both
    identities are his: the same browser token proved them."""

    async def unit(session: AsyncSession) -> Visitor:
        contact_id = await session.scalar(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.channel_id == channel.id,
                ContactIdentity.external_id == external_id(visitor),
            )
        )
        row = await session.get(WidgetVisitor, visitor.id)
        assert row is not None
        if contact_id is not None:
            row.contact_id = contact_id
        elif row.contact_id is not None:
            verified = ContactIdentity(
                contact_id=row.contact_id,
                channel_id=channel.id,
                external_id=external_id(visitor),
            )
            session.add(verified)
            await session.flush()
            browser = select(ContactIdentity.id).where(
                ContactIdentity.channel_id == channel.id,
                ContactIdentity.external_id == f"visitor:{visitor.id}",
                ContactIdentity.contact_id == row.contact_id,
            )
            await session.execute(
                update(Conversation)
                .where(Conversation.identity_id.in_(browser))
                .values(identity_id=verified.id)
                .execution_options(synchronize_session=False)
            )
        await session.flush()
        return to_visitor(row)

    return await ctx.write(unit)


async def record_touch_on_contact(ctx: HubContext, visitor: Visitor) -> None:
    """First touch is kept, last touch updated: on the contact and his open conversation."""

    async def unit(session: AsyncSession) -> None:
        contact = await session.get(Contact, visitor.contact_id)
        if contact is None:
            return
        attrs = dict(contact.attributes)
        attrs.setdefault("first_touch", visitor.first_touch)
        attrs["last_touch"] = visitor.last_touch
        contact.attributes = attrs
        conv = await session.scalar(
            select(Conversation)
            .where(Conversation.identity_id == own_identity(visitor))
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conv is not None:
            conv_attrs = dict(conv.attributes)
            conv_attrs.setdefault("first_touch", visitor.first_touch)
            conv_attrs["last_touch"] = visitor.last_touch
            conv.attributes = conv_attrs

    await ctx.write(unit, key=("contact", visitor.contact_id))


async def contact_summary(ctx: HubContext, visitor: Visitor) -> dict[str, Any]:
    """What the visitor told us himself (the forms, the site's identify call): never his
    contact's details, which a merge may have joined with another person's."""
    p = visitor.profile
    return {"name": p.get("name", ""), "email": p.get("email"), "phone": p.get("phone")}


def own_identity(visitor: Visitor) -> Any:
    """The id of the visitor's identity on his channel, as a subquery: what his conversations
    belong to (``Conversation.identity_id``)."""
    return (
        select(ContactIdentity.id)
        .where(
            ContactIdentity.channel_id == visitor.channel_id,
            ContactIdentity.external_id == external_id(visitor),
        )
        .scalar_subquery()
    )


async def history(
    ctx: HubContext, visitor: Visitor, after_id: int | None = None
) -> list[dict[str, Any]]:
    """The visitor's own conversations (those of his identity, never the rest of his contact's):
    customer messages and replies only."""
    if visitor.contact_id is None:
        return []

    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        stmt = (
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.identity_id == own_identity(visitor),
                Message.kind.in_(VISIBLE_KINDS),
            )
        )
        if after_id is not None:
            rows = list(
                (
                    await session.scalars(
                        stmt.where(Message.id > after_id).order_by(Message.id).limit(500)
                    )
                ).all()
            )
        else:
            rows = list(
                (await session.scalars(stmt.order_by(Message.id.desc()).limit(HISTORY))).all()
            )
            rows.reverse()
        names = await operator_names(session, rows)
        files = await attachments_of(session, [m.id for m in rows])
        return [visitor_message(m, names, files.get(m.id)) for m in rows]

    return await ctx.read(query)
