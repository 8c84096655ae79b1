"""Calls and emails in the timeline: stored beside their message, read back with it.

A channel hands them in on ``InboundMessage.call`` / ``.email``; the receiving action stores
the message and then its item here, in the same write unit. Email HTML is sanitised once, as it
is stored (nh3: no scripts, styles, event handlers or forms, links made ``noopener``), so
nothing that reads it later can forget to; the inbox still shows it in a sandboxed frame.
Images keep their address only as ``data-hub-src``: a remote image would tell the sender when
and where an operator read his email, so the inbox loads them only when the operator asks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundCall, InboundEmail, InboundMessage
from hub.errors import InvalidInput
from hub.inbox.item_models import CallDirection, CallItem, CallStatus, EmailItem
from hub.inbox.serialize import iso
from hub.inbox.tracking_view import summaries_of

_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area"}
#: An image's address, parked where no browser loads it (nh3 writes ``<img src="…"``).
_IMG_SRC = re.compile(r'(<img\b[^>]*?)\ssrc="')
MAX_HTML_CHARS = 1_000_000


def sanitize_html(html: str) -> str:
    """Email HTML made safe to show: only formatting tags and plain links remain."""
    clean = nh3.clean(html[:MAX_HTML_CHARS], tags=_TAGS, link_rel="noopener noreferrer nofollow")
    return _IMG_SRC.sub(r'\1 data-hub-src="', clean)


_PARKED = re.compile(r'(<img\b[^>]*?)\sdata-hub-src="')


def unpark_images(html: str) -> str:
    """Stored email HTML with its images' addresses back in ``src``: for an operator who asked
    to see them (``email_view``)."""
    return _PARKED.sub(r'\1 src="', html)


def check_item(inbound: InboundMessage) -> None:
    """Refuse an item a channel built wrongly, before anything is written."""
    call = inbound.call
    if call is not None:
        if call.direction not in set(CallDirection) or call.status not in set(CallStatus):
            raise InvalidInput("a call needs a known direction and status", code="invalid_call")
        if call.duration_s < 0:
            raise InvalidInput("a call's duration cannot be negative", code="invalid_call")
    if call is not None and inbound.email is not None:
        raise InvalidInput("an item is a call or an email, not both", code="invalid_item")


def add_item(session: AsyncSession, message_id: int, inbound: InboundMessage) -> dict[str, Any]:
    """Store the message's call or email; its dicts for the answer and the event."""
    if inbound.call is not None:
        call = call_row(message_id, inbound.call, inbound.channel_id)
        session.add(call)
        return {"call": call_dict(call)}
    if inbound.email is not None:
        email = email_row(message_id, inbound.email)
        session.add(email)
        return {"email": email_dict(email)}
    return {}


def call_channel_id(call: InboundCall, channel_id: int | None) -> int | None:
    """The channel a call's row names: only a telephony channel's call, which the fold finds
    again by its provider's id in that channel (``hub.inbox.call_fold``)."""
    return channel_id if call.provider_call_id is not None else None


def call_row(message_id: int, call: InboundCall, channel_id: int | None = None) -> CallItem:
    """The row of a call as it came in (the inbound batch's insert writes the same values)."""
    return CallItem(
        message_id=message_id,
        direction=call.direction,
        from_number=call.from_number,
        to_number=call.to_number,
        tracking_number=call.tracking_number,
        status=call.status,
        duration_s=call.duration_s,
        recording_url=call.recording_url,
        channel_id=call_channel_id(call, channel_id),
        provider_call_id=call.provider_call_id,
        operator=call.operator,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        recording_ref=call.recording_ref,
        attribution=dict(call.attribution),
    )


def _call_basics(call: CallItem | InboundCall) -> dict[str, Any]:
    """What a call says of itself, the same on its stored row and as it came in."""
    return {
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "tracking_number": call.tracking_number,
        "status": call.status,
        "duration_s": call.duration_s,
        "recording_url": call.recording_url,
        "recording_ref": call.recording_ref,
    }


def new_call_dict(call: InboundCall) -> dict[str, Any]:
    """``call_dict(call_row(message_id, call))`` without the ORM object (the inbound batch
    writes its rows itself)."""
    return {
        **_call_basics(call),
        "operator": call.operator,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "attribution": dict(call.attribution),
    }


def email_row(message_id: int, email: InboundEmail) -> EmailItem:
    return EmailItem(
        message_id=message_id,
        subject=email.subject[:2000],
        html=sanitize_html(email.html) if email.html else "",
        from_address=email.from_address,
        recipients={"to": list(email.to), "cc": list(email.cc)},
        message_id_header=email.message_id.strip().strip("<>")[:998],
    )


def call_dict(call: CallItem) -> dict[str, Any]:
    return {
        **_call_basics(call),
        "operator": call.operator,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "attribution": dict(call.attribution or {}),
    }


def email_dict(email: EmailItem) -> dict[str, Any]:
    return {
        "subject": email.subject,
        "html": email.html,
        "from": email.from_address,
        "to": list(email.recipients.get("to", [])),
        "cc": list(email.recipients.get("cc", [])),
        "message_id": email.message_id_header,
        #: Opens and clicks of an email the hub sent tracked (``tracking_view``); null else.
        "tracking": None,
    }


def call_preview(
    direction: str, from_number: str, to_number: str, status: str, duration_s: int
) -> str:
    """A call's line in the conversation list, as the call is now: a ringing phone and the
    other party's number (ringing), with the talk's length (answered), or a crossed-out phone
    (missed, busy). The inbox shows it with the status in the operator's language
    (``inbox.js``, ``callPreview``), so this form is a contract."""
    other = from_number if direction == CallDirection.INBOUND else to_number
    if status == CallStatus.RINGING:
        return f"📞 {other}"
    if status != CallStatus.ANSWERED:
        return f"📵 {other}"
    minutes, seconds = divmod(duration_s, 60)
    return f"📞 {other} {minutes}:{seconds:02d}"


def preview_of(inbound: InboundMessage) -> str | None:
    """The conversation list's line for an item; None for plain text (its body)."""
    call = inbound.call
    if call is not None:
        return call_preview(
            call.direction, call.from_number, call.to_number, call.status, call.duration_s
        )
    if inbound.email is not None:
        return f"✉ {inbound.email.subject}" if inbound.email.subject else None
    return None


async def items_of(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The call or email of each of these messages that has one, by message id."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if not message_ids:
        return out
    ids = list(message_ids)
    for call in await session.scalars(select(CallItem).where(CallItem.message_id.in_(ids))):
        out[call.message_id]["call"] = call_dict(call)
    emails = list(await session.scalars(select(EmailItem).where(EmailItem.message_id.in_(ids))))
    for email in emails:
        out[email.message_id]["email"] = email_dict(email)
    tracked = await summaries_of(session, [e.message_id for e in emails])
    for message_id, summary in tracked.items():
        out[message_id]["email"]["tracking"] = summary
    return out
