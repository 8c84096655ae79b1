"""Connecting a mailbox: both logins checked before anything is stored.

``prepare`` splits the admin's settings into the public config and the secrets, then logs in to
the IMAP server and the SMTP server at the same time, with the code the hub reads and sends with
(``imap.ImapSession.open``: log-in and the folder selected, as the mailbox reader does, so a
channel that passes is one the reader can read; ``send.check_login``). If either fails, the
answer says which and why (a 422, or the command line's error and exit code 2) and no channel is
made. ``store`` writes the secrets beside the channel in its commit. Loaded on first use
(``LazyConnector``): it imports the mail libraries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import send
from hub.channels.email.config import (
    TYPE,
    ImapSettings,
    Secrets,
    parse_config,
    split_settings,
)
from hub.channels.email.credentials import credentials_row
from hub.channels.email.imap import ImapFailure, ImapLogin, ImapSession
from hub.channels.email.system_mail import check_settings
from hub.context import HubContext
from hub.errors import Conflict, InvalidInput
from hub.inbox.models import Channel

log = logging.getLogger(__name__)


def _check_dkim_key(selector: str, domain: str, key: str) -> None:
    probe = b"From: a@b.c\r\nTo: d@e.f\r\nSubject: probe\r\n\r\nprobe\r\n"
    try:
        send.sign(probe, selector, domain, key)
    except send.SendFailed:
        raise InvalidInput(
            "dkim.private_key is not a private key DKIM can sign with (PEM, RSA)",
            code="invalid_dkim_key",
        ) from None


async def _check_imap(imap: ImapSettings, password: str, wait_s: float) -> None:
    """Log in and open the folder, as the mailbox reader will, then log out; raises
    ``ImapFailure`` with what went wrong, in words for the admin."""
    login = ImapLogin(imap.host, imap.port, imap.security, imap.login, password, imap.folder)
    session = await ImapSession.open(login, timeout_s=wait_s)
    await session.close()


#: The longest both logins may take together (connecting, TLS, logging in; a host name that
#: does not resolve): the admin's request is answered within it, whatever the servers do.
CHECK_S = 8.0


class EmailConnector:
    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        public, secrets = split_settings(settings)
        config = parse_config(public)
        wait_s = min(ctx.settings.delivery_timeout_s, CHECK_S)
        imap, smtp = await asyncio.gather(
            asyncio.wait_for(_check_imap(config.imap, secrets.imap_password, wait_s), CHECK_S),
            asyncio.wait_for(
                send.check_login(config.smtp, secrets.smtp_password, wait_s=wait_s), CHECK_S
            ),
            return_exceptions=True,
        )
        problems: list[tuple[str, str]] = []
        sides = ((imap, "IMAP", "imap", config.imap), (smtp, "SMTP", "smtp", config.smtp))
        for exc, side, code, server in sides:
            if isinstance(exc, ImapFailure | send.SendFailed):
                problems.append((code, f"{side}: {exc.reason}"))
            elif isinstance(exc, TimeoutError):
                where = f"{server.host}:{server.port}"
                problems.append((code, f"{side}: {where} did not answer within {CHECK_S:g} s"))
            elif isinstance(exc, BaseException):
                raise exc
        if problems:
            code = problems[0][0] if len(problems) == 1 else "mailbox"
            message = "the mailbox could not be connected: " + "; ".join(p for _, p in problems)
            log.info("email channel %s not connected: %s", config.address, message)
            raise InvalidInput(message, code=f"{code}_check_failed")
        if config.dkim is not None:
            _check_dkim_key(config.dkim.selector, config.dkim.domain, secrets.dkim_private_key)
        return public, secrets.model_dump()

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        address = channel.config.get("address")
        others = await session.execute(
            select(Channel.id, Channel.config).where(Channel.type == TYPE, Channel.id != channel.id)
        )
        for other_id, config in others.all():
            if (config or {}).get("address") == address:
                raise Conflict(
                    f"{address} is connected already (channel {other_id})",
                    code="mailbox_already_connected",
                )
        await check_settings(session, channel.config)
        session.add(credentials_row(channel.id, Secrets.model_validate(private)))

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        return None


CONNECTOR = EmailConnector()
