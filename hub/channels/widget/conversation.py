"""What a visitor writes into the inbox: messages (once per client_id), callback requests and
his contact details; each goes through the inbox's own actions, so operators see it at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundAttachment, InboundContact, InboundMessage
from hub.channels.widget.callback import CallbackIn, callback_view, request_meta, request_text
from hub.channels.widget.config import WidgetConfig
from hub.channels.widget.models import WidgetVisitor
from hub.channels.widget.visitor_writes import VisitorMessage, visitor_writes
from hub.channels.widget.visitors import (
    Visitor,
    contact_summary,
    external_id,
    record_touch_on_contact,
    reload_visitor,
    to_visitor,
    visitor_file,
)
from hub.context import HubContext
from hub.crm_sync.callback_time import due_time
from hub.crm_sync.tasks import callback_task
from hub.db import utcnow
from hub.errors import InvalidInput
from hub.inbox.actions import store_inbound
from hub.inbox.contacts import find_or_create_contact, update_contact_details
from hub.inbox.inbound_batch import ReceiveResult
from hub.inbox.models import (
    Channel,
)


async def _prechat_missing(ctx: HubContext, channel: Channel, visitor: Visitor) -> list[str]:
    """Required pre-chat fields the visitor has not given (looked up only if the form is on)."""
    prechat = channel.config.get("prechat") or {}
    if not prechat.get("enabled"):
        return []
    cfg = WidgetConfig.model_validate(channel.config)
    contact = await contact_summary(ctx, visitor)
    return [
        f for f, mode in cfg.prechat.fields.items() if mode == "required" and not contact.get(f)
    ]


async def link_contact(ctx: HubContext, visitor: Visitor, channel: Channel) -> Visitor:
    """Give a visitor who has none his contact (found by his identity, else made). His open
    tabs listen for his identity, not his contact, so they need not be told."""
    if visitor.contact_id is not None:
        return visitor
    inbound = InboundMessage(channel.id, _inbound_contact(visitor), "")

    async def unit(session: AsyncSession) -> Visitor:
        contact = await find_or_create_contact(session, inbound)
        row = await session.get(WidgetVisitor, visitor.id)
        assert row is not None
        row.contact_id = contact.id
        await session.flush()
        return to_visitor(row)

    linked = await ctx.write(unit, key=(channel.id, inbound.contact.external_id))
    await record_touch_on_contact(ctx, linked)
    return linked


def _inbound_contact(visitor: Visitor) -> InboundContact:
    p = visitor.profile
    return InboundContact(
        external_id=external_id(visitor),
        name=p.get("name", ""),
        phone=p.get("phone"),
        email=p.get("email"),
    )


def _touches(visitor: Visitor) -> dict[str, Any]:
    """The ``InboundMessage`` fields that carry the visitor's touches: his first and last go
    on a conversation that has none (a new one) and on his contact likewise; the last
    replaces his contact's when he gets his contact with this message (``start_session``
    keeps it current after that)."""
    touches = {"first_touch": visitor.first_touch, "last_touch": visitor.last_touch}
    return {
        "contact_attributes": {"last_touch": visitor.last_touch}
        if visitor.contact_id is None
        else {},
        "contact_attribute_defaults": touches,
        "conversation_attribute_defaults": touches,
    }


async def _store(
    ctx: HubContext, visitor: Visitor, build: Callable[[Visitor], InboundMessage]
) -> tuple[ReceiveResult, Visitor]:
    """Store the visitor's message, made by ``build``, with his row linked to its contact
    (``visitor_writes``); returns the result and the visitor as linked."""
    inbound = build(visitor)
    item = VisitorMessage(visitor, inbound, build)
    result = await store_inbound(ctx, visitor_writes(ctx), item, inbound)
    contact_id = result.conversation["contact_id"]
    if visitor.contact_id != contact_id:
        visitor = replace(visitor, contact_id=contact_id)
    return result, visitor


def check_client_id(client_id: str) -> None:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise InvalidInput("client_id must be 1 to 64 characters", code="invalid_client_id")


async def ready_to_write(ctx: HubContext, visitor: Visitor, channel: Channel) -> Visitor:
    """The visitor as he is now, once he may write (``prechat_required`` until the channel's
    required pre-chat fields are given); checked before a file of his is stored, too."""
    if visitor.contact_id is None and (channel.config.get("prechat") or {}).get("enabled"):
        # A socket holds the visitor as he was when it opened: the pre-chat form may have
        # been filled in since. (His message is made from his row in its batch anyway.)
        visitor = await reload_visitor(ctx, visitor.id)
    missing = await _prechat_missing(ctx, channel, visitor)
    if missing:
        raise InvalidInput(f"please fill in: {', '.join(missing)}", code="prechat_required")
    return visitor


async def post_visitor_message(
    ctx: HubContext,
    visitor: Visitor,
    channel: Channel,
    client_id: str,
    body: str,
    files: tuple[InboundAttachment, ...] = (),
) -> tuple[dict[str, Any], bool, Visitor]:
    """Store a visitor's message (with the files he attached, already in the media store) once
    per ``client_id``; returns it, whether it was a repeat, and the visitor (now linked to his
    contact)."""
    check_client_id(client_id)
    visitor = await ready_to_write(ctx, visitor, channel)

    def build(visitor: Visitor) -> InboundMessage:
        return InboundMessage(
            channel.id,
            _inbound_contact(visitor),
            body,
            provider_message_id=f"w{visitor.id}:{client_id}",
            meta={"page": visitor.last_touch.get("url", "")},
            attachments=files,
            **_touches(visitor),
        )

    result, visitor = await _store(ctx, visitor, build)
    msg = {
        "id": result.message["id"],
        "body": result.message["body"],
        "sender": {"type": "contact", "name": ""},
        "created_at": result.message["created_at"],
        "kind": "message",
        "attachments": [visitor_file(a) for a in result.message.get("attachments") or []],
    }
    return msg, result.duplicate, visitor


async def request_callback(
    ctx: HubContext,
    visitor: Visitor,
    channel: Channel,
    phone_e164: str,
    name: str | None,
    ask: CallbackIn,
) -> tuple[dict[str, Any], Visitor]:
    """ "Call me back": a conversation item operators see at once, written in the visitor's
    language, with the phone in E.164 and the moment to call; returns it and the visitor (now
    linked to his contact). A time out of range is refused before anything is written."""
    company = ctx.company.current()
    due = due_time(
        ask.when,
        customer_tz=ask.time_zone,
        company_tz=company.timezone,
        working_hours=company.spec,
        now=utcnow(),
    )
    lang = ask.lang or WidgetConfig.model_validate(channel.config).lang
    body = request_text(lang, phone_e164, ask.when)
    meta = request_meta(
        phone_e164,
        ask.when,
        due,
        ask.time_zone or company.timezone,
        visitor.last_touch.get("url", ""),
    )

    def build(visitor: Visitor) -> InboundMessage:
        who = _inbound_contact(visitor)
        return InboundMessage(
            channel.id,
            InboundContact(who.external_id, name or who.name, phone_e164, who.email),
            body,
            meta=meta,
            **_touches(visitor),
        )

    result, visitor = await _store(ctx, visitor, build)
    if not result.duplicate and not result.created_conversation:
        # A new conversation's request becomes a task in the lead intake; a later one here.
        await callback_task(
            ctx, conversation_id=result.conversation["id"], phone=phone_e164, due_at=due
        )
    message = {
        "id": result.message["id"],
        "body": body,
        "sender": {"type": "contact", "name": ""},
        "created_at": result.message["created_at"],
        "kind": "callback_request",
        "callback": callback_view(meta),
    }
    return message, visitor


async def update_visitor_contact(
    ctx: HubContext, visitor: Visitor, *, name: str | None, email: str | None, phone: str | None
) -> dict[str, Any]:
    """The pre-chat and "leave your email or phone" forms: kept on the visitor until he has a
    contact, then on the contact."""
    given = {k: v for k, v in (("name", name), ("email", email), ("phone", phone)) if v}

    async def unit(session: AsyncSession) -> Visitor:
        row = await session.get(WidgetVisitor, visitor.id)
        assert row is not None
        row.profile = {**row.profile, **given}
        await session.flush()
        return to_visitor(row)

    updated = await ctx.write(unit)
    if updated.contact_id is not None:
        await update_contact_details(ctx, updated.contact_id, name=name, email=email, phone=phone)
    return await contact_summary(ctx, updated)
