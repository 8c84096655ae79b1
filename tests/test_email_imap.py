"""The mailbox runner against a real Dovecot (tests/email_servers.py), on both backends: mail
appended over IMAP is stored once, progress survives a restart and a changed UIDVALIDITY, a
wrong password shows on the channel's status, one process reads a mailbox at a time, IDLE
brings new mail in without a poll, and a dropped connection is followed by a reconnect."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from hub.app import create_app
from hub.channels.email.imap import ImapFailure, ImapLogin, ImapSession, imap_utf7
from hub.channels.email.imap_runner import Mailboxes, mailbox_status
from hub.channels.email.ingest import MailChannel, MailIngest
from hub.channels.email.models import EmailMailbox
from hub.context import HubContext
from hub.http import CTX
from hub.inbox.models import Message
from hub.settings import Settings
from hub.worker import PassFailed
from tests import email_servers
from tests.email_servers import Mailbox, add_email_channel, fixture, mail
from tests.test_api_channel import wait_for

dovecot_server = email_servers.dovecot_server
dovecot = email_servers.dovecot


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    """The hub without its own mailbox readers: each test here runs the readers it examines."""
    settings.imap_readers = False
    return create_app(settings)


async def messages(ctx: HubContext) -> int:
    return int(await ctx.read(lambda s: s.scalar(select(func.count(Message.id)))) or 0)


async def setup(
    client: Any, box: Mailbox, **login: Any
) -> tuple[HubContext, Mailboxes, MailChannel]:
    ctx: HubContext = client.app[CTX]
    channel = await add_email_channel(ctx, config=box.config(**login))
    runner = Mailboxes(ctx, MailIngest(ctx), tls_context=box.server.tls_context())
    return ctx, runner, channel


async def test_appended_mail_is_stored_once_and_progress_survives_a_restart(
    client: Any, dovecot: Mailbox
) -> None:
    ctx, runner, channel = await setup(client, dovecot)
    await dovecot.append(fixture("gmail_first.eml"), fixture("yandex_koi8r.eml"))
    assert await runner.take_lease(channel.id)
    reader = runner.reader(channel.id)
    try:
        assert await reader.run_once() == 2
        assert await reader.run_once() == 0
        await dovecot.append(fixture("gmail_reply.eml"))
        assert await reader.run_once() == 1
    finally:
        await reader.close()
        await runner.close()  # gives the lease back
    assert await messages(ctx) == 3
    status = await mailbox_status(ctx, channel.id)
    assert status is not None and status.last_ok_at is not None and status.last_error is None

    again = Mailboxes(ctx, MailIngest(ctx), tls_context=dovecot.server.tls_context())
    assert await again.take_lease(channel.id)
    reader = again.reader(channel.id)
    try:
        assert await reader.run_once() == 0  # nothing read twice
        await dovecot.append(mail(subject="after the restart"))
        assert await reader.run_once() == 1
    finally:
        await reader.close()
        await again.close()
    assert await messages(ctx) == 4


async def test_implicit_tls_and_a_folder_with_a_russian_name(client: Any, dovecot: Mailbox) -> None:
    await dovecot.command("CREATE", imap_utf7("Заказы"))
    await dovecot.append(mail(subject="в папке"), folder=imap_utf7("Заказы"))
    _, runner, channel = await setup(client, dovecot, security="tls", folder="Заказы")
    assert await runner.take_lease(channel.id)
    reader = runner.reader(channel.id)
    try:
        assert await reader.run_once() == 1
    finally:
        await reader.close()
        await runner.close()


async def test_a_changed_uidvalidity_stores_only_what_is_new(client: Any, dovecot: Mailbox) -> None:
    first, second = mail(subject="one"), mail(subject="two")
    await dovecot.command("CREATE", "Orders")
    await dovecot.append(first, second, folder="Orders")
    ctx, runner, channel = await setup(client, dovecot, folder="Orders")
    assert await runner.take_lease(channel.id)
    reader = runner.reader(channel.id)
    try:
        assert await reader.run_once() == 2
        before = await ctx.read(lambda s: s.get(EmailMailbox, channel.id))
        # The folder is rebuilt (a server migration): new UIDVALIDITY, the same mail again.
        await dovecot.command("DELETE", "Orders")
        await dovecot.command("CREATE", "Orders")
        await dovecot.append(first, second, mail(subject="three"), folder="Orders")
        assert await reader.run_once() == 1
    finally:
        await reader.close()
        await runner.close()
    after = await ctx.read(lambda s: s.get(EmailMailbox, channel.id))
    assert before is not None and after is not None
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 3
    assert await messages(ctx) == 3


async def test_a_wrong_password_shows_on_the_status(client: Any, dovecot: Mailbox) -> None:
    ctx, runner, channel = await setup(client, dovecot, password="wrong")
    assert await runner.take_lease(channel.id)
    reader = runner.reader(channel.id)
    with pytest.raises(PassFailed):
        await reader.run_once()
    status = await mailbox_status(ctx, channel.id)
    assert status is not None and status.last_error is not None
    assert status.last_error == "login refused: [AUTHENTICATIONFAILED] Authentication failed."
    assert "wrong" not in status.last_error
    assert status.last_ok_at is None
    first_backoff = reader.backoff_s
    reader.failures = 1  # as the loop counts it after the first failed pass
    with pytest.raises(PassFailed):
        await reader.run_once()
    assert reader.backoff_s == 2 * first_backoff  # doubled, up to HUB_IMAP_MAX_BACKOFF_S
    await reader.close()
    await runner.close()


async def test_an_untrusted_certificate_is_refused(dovecot: Mailbox) -> None:
    login = dovecot.login(security="tls")
    with pytest.raises(ImapFailure, match="certificate"):
        await ImapSession.open(login, timeout_s=5)  # the system's CAs do not know it
    wrong_port = ImapLogin("127.0.0.1", 1, "tls", dovecot.user, dovecot.password)
    with pytest.raises(ImapFailure, match="could not connect"):
        await ImapSession.open(wrong_port, timeout_s=5)


async def test_a_second_process_does_not_read_while_the_lease_is_held(
    client: Any, dovecot: Mailbox
) -> None:
    ctx, first, channel = await setup(client, dovecot)
    second = Mailboxes(ctx, MailIngest(ctx), tls_context=dovecot.server.tls_context())
    assert await first.take_lease(channel.id)
    assert not await second.take_lease(channel.id)
    assert await second.run_once() == 0 and second.readers == {}
    await first.close()  # gives the lease back
    assert await second.take_lease(channel.id)
    await second.close()


async def test_idle_brings_new_mail_in_and_a_dropped_connection_reconnects(
    client: Any, dovecot: Mailbox
) -> None:
    ctx, runner, channel = await setup(client, dovecot)
    ctx.settings.imap_backoff_s = 0.05
    assert await runner.run_once() == 1  # started the mailbox's reader
    reader = runner.readers[channel.id]
    try:
        await reader.passed(1)
        assert reader.session is not None and reader.session.idle
        await dovecot.append(mail(subject="pushed"))
        # Within 10 s: IDLE's news started a pass, not the poll (every 60 s).
        await wait_for(lambda: _count_is(ctx, 1), within=10)
        await reader.passed(2)
        assert reader.failures == 0
        doveadm = shutil.which("doveadm") or "doveadm"
        conf = str(dovecot.server.root / "dovecot.conf")
        kick = await asyncio.create_subprocess_exec(doveadm, "-c", conf, "kick", dovecot.user)
        assert await kick.wait() == 0  # the server drops the reader's connection
        await dovecot.append(mail(subject="after the drop"))
        await wait_for(lambda: _count_is(ctx, 2), within=15)
    finally:
        await runner.close()
    status = await mailbox_status(ctx, channel.id)
    assert status is not None and status.last_error is not None


async def _count_is(ctx: HubContext, n: int) -> bool:
    return await messages(ctx) == n
