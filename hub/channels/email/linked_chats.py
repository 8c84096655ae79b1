"""The website chats a mailbox answers (``linked_widget_channel_ids``) must be website chats.

Checked when a mailbox is connected (``connect``) and when an admin edits its settings
(``ChannelSpec.check_settings``); imports no mail library.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import InvalidInput
from hub.inbox.models import Channel


async def check_linked_chats(session: AsyncSession, config: dict[str, Any]) -> None:
    """Each linked id must be a channel that pages embed (the widget's type)."""
    from hub.channels.registry import channel_spec  # the registry lists the email spec

    ids = config.get("linked_widget_channel_ids") or []
    if not ids:
        return
    rows = await session.execute(select(Channel.id, Channel.type).where(Channel.id.in_(ids)))
    found = {row.id: row.type for row in rows}
    for chat in ids:
        kind = found.get(chat)
        if kind is None or not channel_spec(kind).public_token:
            raise InvalidInput(
                f"channel {chat} is not a website chat", code="invalid_email_settings"
            )
