"""The hub's own mail: which mailbox sends it, and the invitation and password emails.

An admin chooses one connected mailbox as the sender of system mail (its ``system_mail``
setting; ``hub.channels.email.system_mail``); its channel's adapter sends (``SystemMailer``),
with the channel's tested SMTP code. Without such a mailbox, or when it refuses, nothing is
hidden: the outcome says so (``MailOutcome``) and the admin is shown the link to pass on.
Texts are in the installation's language (``HUB_LANGUAGE``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.base import SystemMail, SystemMailFailed
from hub.context import HubContext
from hub.inbox.models import Channel

log = logging.getLogger(__name__)

#: The longest the admin's request waits for the mail server, whatever it does.
MAIL_WAIT_S = 15.0

NOT_CONFIGURED = (
    "system mail is not set up: no mailbox sends the hub's mail (Settings → Channels → a "
    "mailbox → Edit → “Send the hub's own mail from this mailbox”). Copy the link and pass it on"
)


@dataclass(frozen=True, slots=True)
class MailOutcome:
    sent: bool
    #: The address it went from (or would have gone from); None without a sender.
    sender: str | None
    #: Why it did not go: ``mail_not_configured`` or ``mail_failed``, and in words.
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "sender": self.sender,
            "code": self.code,
            "message": self.message,
        }


async def _sender(ctx: HubContext) -> tuple[int, str, dict[str, Any]] | None:
    kinds = sorted(ctx.system_mailers)
    if not kinds:
        return None

    async def query(session: AsyncSession) -> tuple[int, str, dict[str, Any]] | None:
        rows = await session.execute(
            select(Channel.id, Channel.type, Channel.config)
            .where(Channel.type.in_(kinds), Channel.is_active.is_(True))
            .order_by(Channel.id)
        )
        for channel_id, kind, config in rows.all():
            if (config or {}).get("system_mail"):
                return channel_id, kind, dict(config)
        return None

    return await ctx.read(query)


async def system_sender(ctx: HubContext) -> str | None:
    """The address system mail goes from; None when no mailbox sends it."""
    found = await _sender(ctx)
    return None if found is None else str(found[2].get("address") or "")


async def send_mail(ctx: HubContext, mail: SystemMail) -> MailOutcome:
    """Send ``mail`` from the chosen mailbox; never raises for the mail's own failures."""
    found = await _sender(ctx)
    if found is None:
        return MailOutcome(False, None, "mail_not_configured", NOT_CONFIGURED)
    channel_id, kind, config = found
    address = str(config.get("address") or "")
    try:
        sent_from = await asyncio.wait_for(
            ctx.system_mailers[kind].send_system_mail(channel_id, config, mail), MAIL_WAIT_S
        )
    except SystemMailFailed as failed:
        log.info("system mail from channel %s not sent: %s", channel_id, failed.reason)
        return MailOutcome(
            False, address, "mail_failed", f"the email was not sent: {failed.reason}"
        )
    except TimeoutError:
        return MailOutcome(
            False,
            address,
            "mail_failed",
            f"the email was not sent: the mail server did not answer within {MAIL_WAIT_S:g} s",
        )
    return MailOutcome(True, sent_from)


_ROLES = {
    "en": {"operator": "an operator", "manager": "a manager", "admin": "an admin"},
    "ru": {"operator": "оператора", "manager": "менеджера", "admin": "администратора"},
}

_TEXTS = {
    "en": {
        "invite_subject": "You are invited to the inbox",
        "invite_body": (
            "Hello, {name}!\n\n"
            "{admin} invited you to the company's inbox as {role}. Your login is {email}.\n"
            "Set your password and log in here:\n\n{url}\n\n"
            "The link works once, until {until} (UTC). If you did not expect this email, "
            "ignore it."
        ),
        "reset_subject": "Set a new password for the inbox",
        "reset_body": (
            "Hello, {name}!\n\n"
            "{admin} asked for a new password for your inbox login {email}.\n"
            "Set it here:\n\n{url}\n\n"
            "The link works once, until {until} (UTC). Your old password works until you set "
            "a new one; then every session you had ends."
        ),
    },
    "ru": {
        "invite_subject": "Приглашение в рабочий чат компании",
        "invite_body": (
            "Здравствуйте, {name}!\n\n"
            "{admin} приглашает вас в рабочий чат компании в роли {role}. Ваш логин: {email}.\n"
            "Задайте пароль и войдите по ссылке:\n\n{url}\n\n"
            "Ссылка одноразовая и действует до {until} (UTC). Если вы не ждали этого письма, "
            "просто не отвечайте на него."
        ),
        "reset_subject": "Новый пароль для рабочего чата",
        "reset_body": (
            "Здравствуйте, {name}!\n\n"
            "{admin} запросил новый пароль для вашего логина {email}.\n"
            "Задайте его по ссылке:\n\n{url}\n\n"
            "Ссылка одноразовая и действует до {until} (UTC). Старый пароль работает, пока вы "
            "не зададите новый; после этого все ваши сеансы завершатся."
        ),
    },
}


def link_mail(
    language: str,
    purpose: str,
    *,
    to: str,
    name: str,
    role: str,
    admin: str,
    url: str,
    until: datetime,
) -> SystemMail:
    """The invitation (``purpose`` ``invite``) or password email, in ``language``."""
    texts = _TEXTS.get(language, _TEXTS["en"])
    roles = _ROLES.get(language, _ROLES["en"])
    body = texts[f"{purpose}_body"].format(
        name=name,
        admin=admin,
        role=roles.get(role, role),
        email=to,
        url=url,
        until=until.strftime("%d.%m.%Y %H:%M" if language == "ru" else "%Y-%m-%d %H:%M"),
    )
    return SystemMail(to=to, subject=texts[f"{purpose}_subject"], body=body)
