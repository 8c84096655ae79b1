"""Email channel test helpers: a mailbox channel on the test SMTP server, and customer email
as the receiving side hands it to the inbox.

The channel is stored with its settings checked by the channel's own ``split_settings`` and
its secrets in ``email_credentials``, without the IMAP login check of ``channel add`` (that
check needs a real IMAP server: ``tests/test_email_channel.py`` tests it failing; with Dovecot
it is tested connecting).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import InboundContact, InboundEmail, InboundMessage
from hub.channels.email.config import split_settings
from hub.channels.email.credentials import credentials_row
from hub.context import HubContext
from hub.inbox.actions import receive_message
from hub.inbox.models import Channel
from hub.inbox.serialize import channel_dict
from tests.email_smtp import LOGIN, DkimKey, SmtpServer, closed_port

ADDRESS = LOGIN
CUSTOMER = "ivan.petrov@example.org"


def channel_settings(smtp: SmtpServer, **more: Any) -> dict[str, Any]:
    """What an admin sends for a channel on ``smtp`` (IMAP on a port nobody listens on)."""
    return {
        "address": ADDRESS,
        "display_name": "Отдел продаж",
        "imap": {
            "host": "127.0.0.1",
            "port": closed_port(),
            "password": smtp.settings()["password"],
        },
        "smtp": smtp.settings(),
        **more,
    }


async def seed_email_channel(
    ctx: HubContext,
    smtp: SmtpServer,
    *,
    dkim: DkimKey | None = None,
    team_id: int | None = None,
    **more: Any,
) -> dict[str, Any]:
    settings = channel_settings(smtp, **more)
    if dkim is not None:
        settings["dkim"] = {
            "selector": "hub",
            "domain": "company.ru",
            "private_key": dkim.private_pem,
        }
    public, secrets = split_settings(settings)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        channel = Channel(
            type="email", name="Sales", team_id=team_id, secret="s" * 32, config=public
        )
        session.add(channel)
        await session.flush()
        session.add(credentials_row(channel.id, secrets))
        await session.flush()
        return channel_dict(channel)

    return await ctx.write(unit)


async def customer_emails(
    ctx: HubContext,
    channel_id: int,
    *,
    subject: str = "Доставка в Казань",
    body: str = "Здравствуйте! Сколько стоит доставка?",
    message_id: str = "CAF=abc123@mail.example.org",
    thread: str | None = None,
    sender: str = CUSTOMER,
) -> dict[str, Any]:
    """A customer's email, as the receiving side stores it: the sender's address is his
    identity, the thread's first Message-ID its key."""
    result = await receive_message(
        ctx,
        InboundMessage(
            channel_id,
            InboundContact(sender, "Иван Петров", email=sender),
            body,
            provider_message_id=message_id,
            thread_key=thread or message_id,
            email=InboundEmail(
                subject=subject,
                from_address=sender,
                to=(ADDRESS,),
                html=f"<p>{body}</p>",
                message_id=message_id,
            ),
        ),
    )
    return {"message": result.message, "conversation": result.conversation}
