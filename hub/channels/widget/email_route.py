"""The guaranteed answer: an operator's reply to a visitor who has left goes by email.

A visitor who left his email (the pre-chat or "leave your email" form, or the site's signed
user data) and has no widget tab open anywhere (``tabs``) would see the reply only if he came
back. If a mailbox answers this site's visitors (an email channel whose config lists the widget
channel in ``linked_widget_channel_ids``), the reply goes to his address from that mailbox, in
his language, with a link back to the page he chatted on; its signed Reply-To and Message-ID
bring his answer back into this chat (``email.threads``). Nothing is sent while he has a tab
open. The address is his own, as he gave it; an answer from it joins only the conversation the
signed mark names, so an unverified address never opens anyone else's history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import OutboundMessage
from hub.channels.widget.models import WidgetVisitor
from hub.context import HubContext
from hub.inbox.models import Channel

LINK_KEY = "linked_widget_channel_ids"

_TEXTS = {
    "ru": {
        "subject": "{site}: ответ на ваше сообщение в чате",
        "footer": "Это ответ на ваше сообщение в чате на сайте. Ответьте на это письмо",
        "link": "или продолжите в чате: {page}",
    },
    "en": {
        "subject": "{site}: a reply to your message in our chat",
        "footer": "This answers your message in the chat on our website. Reply to this email",
        "link": "or go on in the chat: {page}",
    },
}


@dataclass(frozen=True, slots=True)
class EmailRoute:
    """Where a reply to a visitor who left goes: the linked channel, his address, his page."""

    channel_type: str
    channel_id: int
    config: dict[str, Any]
    to: str
    page: str
    lang: str
    site: str

    def outbound(self, out: OutboundMessage) -> OutboundMessage:
        """The reply as the linked channel sends it: to his address, with the way back."""
        texts = _TEXTS.get(self.lang, _TEXTS["en"])
        footer = texts["footer"]
        if self.page:
            footer += " " + texts["link"].format(page=self.page)
        return replace(
            out,
            channel_id=self.channel_id,
            contact_external_id=self.to,
            body=f"{out.body}\n\n—\n{footer}.",
            subject=texts["subject"].format(site=self.site),
            live=False,
        )


async def _visitor(session: AsyncSession, channel_id: int, key: str) -> WidgetVisitor | None:
    kind, _, value = key.partition(":")
    if kind == "visitor" and value.isdigit():
        row = await session.get(WidgetVisitor, int(value))
        return row if row is not None and row.channel_id == channel_id else None
    if kind == "user" and value:
        found = await session.scalars(
            select(WidgetVisitor)
            .where(WidgetVisitor.channel_id == channel_id, WidgetVisitor.identifier == value)
            .order_by(WidgetVisitor.last_seen_at.desc())
        )
        return next((v for v in found if (v.profile or {}).get("email")), None)
    return None


async def email_route(ctx: HubContext, out: OutboundMessage) -> EmailRoute | None:
    """Where to email this reply, if the visitor left an address and a mailbox answers him."""
    key = out.contact_external_id
    if not key:
        return None

    async def query(session: AsyncSession) -> EmailRoute | None:
        visitor = await _visitor(session, out.channel_id, key)
        address = (visitor.profile or {}).get("email") if visitor is not None else None
        if visitor is None or not isinstance(address, str) or not address:
            return None
        widget = await session.get(Channel, out.channel_id)
        if widget is None:
            return None
        mailboxes = await session.scalars(
            select(Channel).where(Channel.is_active.is_(True)).order_by(Channel.id)
        )
        linked = next(
            (m for m in mailboxes if out.channel_id in ((m.config or {}).get(LINK_KEY) or ())),
            None,
        )
        if linked is None:
            return None
        page = (visitor.last_touch or {}).get("url") or ""
        return EmailRoute(
            linked.type,
            linked.id,
            dict(linked.config),
            address.lower(),
            page if isinstance(page, str) and page.startswith(("https://", "http://")) else "",
            str((widget.config or {}).get("lang") or "ru"),
            widget.name,
        )

    return await ctx.read(query)
