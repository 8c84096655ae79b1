"""The hub's own SMTP receiver, driven by a real SMTP client (aiosmtplib): 250 only after the
mail is stored, 550 for an address of no email channel, 552 past the size limit, 451 while the
database cannot take the mail."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import func, select

from hub.app import create_app
from hub.channels.email.ingest import MailIngest
from hub.channels.email.receiver import SmtpReceiver, base_address
from hub.context import HubContext
from hub.http import CTX
from hub.inbox.models import Message
from tests.conftest import base_settings
from tests.email_servers import add_email_channel, fixture, mail


async def messages(ctx: HubContext) -> int:
    return int(await ctx.read(lambda s: s.scalar(select(func.count(Message.id)))) or 0)


@pytest.fixture
async def receiver(client: Any) -> AsyncIterator[SmtpReceiver]:
    ctx: HubContext = client.app[CTX]
    ctx.settings.email_max_message_bytes = 64 * 1024
    await add_email_channel(ctx)
    smtp = SmtpReceiver(ctx, MailIngest(ctx), "127.0.0.1", 0)
    await smtp.start()
    yield smtp
    await smtp.close()


async def send(smtp: SmtpReceiver, raw: bytes, to: str = "sales@company.ru") -> Any:
    return await aiosmtplib.send(
        raw, sender="ivan.petrov@gmail.com", recipients=[to],
        hostname="127.0.0.1", port=smtp.port, start_tls=False, timeout=10,
    )  # fmt: skip


async def test_a_mail_is_stored_before_the_250(receiver: SmtpReceiver) -> None:
    errors, answer = await send(receiver, fixture("gmail_first.eml"))
    assert errors == {} and answer.startswith("2.0.0 Message accepted")
    assert await messages(receiver.ctx) == 1  # stored when the 250 came
    token = "sales+c1.014e334e4530e402@company.ru"  # a plus address of the channel
    await send(receiver, fixture("outlook_reply.eml"), to=token)
    await send(receiver, fixture("gmail_first.eml"))  # the sender's retry: stored once
    assert await messages(receiver.ctx) == 2


async def test_an_address_of_no_channel_is_refused(receiver: SmtpReceiver) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(receiver, mail(), to="someone@elsewhere.org")
    [error] = refused.value.recipients
    assert error.code == 550
    assert await messages(receiver.ctx) == 0


async def test_a_mail_past_the_size_limit_is_refused(receiver: SmtpReceiver) -> None:
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(receiver, mail(body="x" * 70 * 1024))
    assert refused.value.code == 552
    assert await messages(receiver.ctx) == 0


def test_plus_addresses_reduce_to_the_channels_address() -> None:
    assert base_address("<Sales+c1.abc@Company.RU>") == "sales@company.ru"
    assert base_address("sales@company.ru") == "sales@company.ru"


async def test_a_database_that_cannot_write_gets_451_and_the_retry_stores(
    aiohttp_client: Any, tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    settings = base_settings(
        database_url=f"sqlite+aiosqlite:///{db}", media_dir=tmp_path / "media", db_timeout_s=0.5
    )
    client = await aiohttp_client(create_app(settings))
    ctx: HubContext = client.app[CTX]
    await add_email_channel(ctx)
    smtp = SmtpReceiver(ctx, MailIngest(ctx), "127.0.0.1", 0)
    await smtp.start()
    raw = fixture("yandex_koi8r.eml")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
            await send(smtp, raw)
        assert deferred.value.code == 451
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    errors, _ = await send(smtp, raw)  # the sending server's retry
    assert errors == {}
    assert await messages(ctx) == 1
    await smtp.close()
