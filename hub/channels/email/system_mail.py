"""System mail from a mailbox: the hub's own emails (an operator's invitation, a password link)
sent from the one mailbox an admin chose (``system_mail`` in its settings).

The email is composed and sent with the channel's own code (``compose``, ``send``: TLS as set,
DKIM when the channel signs, the refusal put in words); it is not an operator's reply, so it is
not stored in a conversation, not tracked, and no thread token goes in its Reply-To. The
settings check (``check_settings``) keeps the choice to one mailbox. Imports no mail library:
``send`` comes with the adapter's first send.
"""

from __future__ import annotations

import secrets
from types import ModuleType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import SystemMail, SystemMailFailed
from hub.channels.email import tokens
from hub.channels.email.compose import Letter, compose, render
from hub.channels.email.config import TYPE, parse_config
from hub.channels.email.credentials import load_secrets
from hub.channels.email.linked_chats import check_linked_chats
from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict
from hub.inbox.models import Channel

#: The longest a system email may take (connecting, TLS, logging in, sending): the admin who
#: invited someone is answered within it, whatever the server does.
SEND_S = 10.0


async def check_settings(session: AsyncSession, config: dict[str, Any]) -> None:
    """A mailbox's settings that need the database: its linked website chats, and that no
    other mailbox sends system mail already (the admin turns that one off first)."""
    await check_linked_chats(session, config)
    if not config.get("system_mail"):
        return
    rows = await session.execute(select(Channel.id, Channel.config).where(Channel.type == TYPE))
    for other_id, other in rows.all():
        other = other or {}
        if other.get("system_mail") and other.get("address") != config.get("address"):
            raise Conflict(
                f"{other.get('address')} (channel {other_id}) sends the hub's mail already; "
                "turn it off there first",
                code="system_mail_sender_taken",
            )


async def send_system_mail(
    ctx: HubContext,
    send: ModuleType,
    channel_id: int,
    channel_config: dict[str, Any],
    mail: SystemMail,
) -> str:
    """Send ``mail`` from the mailbox; the address it went from, or ``SystemMailFailed``."""
    config = parse_config(channel_config)
    stored = await ctx.read(lambda s: load_secrets(s, channel_id))
    if stored is None:
        raise SystemMailFailed("the mailbox has no password stored; connect it again")
    domain = tokens.domain_of(config.address)
    letter = Letter(
        from_address=config.address,
        display_name=config.display_name,
        to=mail.to,
        subject=mail.subject,
        body=mail.body,
        message_id=f"hub-system.{secrets.token_hex(12)}@{domain}",
        date=utcnow(),
    )
    data = render(compose(letter))
    wait_s = min(ctx.settings.delivery_timeout_s, SEND_S)
    try:
        if config.dkim is not None and stored.dkim_private_key:
            data = send.sign(
                data, config.dkim.selector, config.dkim.domain, stored.dkim_private_key
            )
        await send.deliver(
            config.smtp, stored.smtp_password, config.address, mail.to, data, wait_s=wait_s
        )
    except send.SendFailed as failed:
        raise SystemMailFailed(failed.reason) from None
    return config.address
