"""Incoming mail into conversations: the recorded mails stored through ``MailIngest`` on both
backends, and each way a reply finds (or must not find) its conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import tokens
from hub.channels.email.ingest import Ingested, MailChannel, MailIngest
from hub.channels.email.parse import DeliveryReport, ParsedMail, parse_mail
from hub.channels.email.threads import needs_lookup
from hub.context import HubContext
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.attachments import attachments_of
from hub.inbox.item_models import EmailItem
from hub.inbox.models import Contact, Conversation, Message
from tests.email_servers import add_email_channel, fixture, mail

KEY = "test-secret-key"  # tests.conftest.base_settings


async def setup(client: Any) -> tuple[HubContext, MailIngest, MailChannel]:
    ctx: HubContext = client.app[CTX]
    assert ctx.settings.resolved_secret_key() == KEY
    return ctx, MailIngest(ctx), await add_email_channel(ctx)


async def conv_of(ctx: HubContext, message_id: int | None) -> Conversation:
    async def query(session: AsyncSession) -> Conversation:
        msg = await session.get(Message, message_id)
        assert msg is not None
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        return conv

    return await ctx.read(query)


async def message(ctx: HubContext, message_id: int | None) -> Message:
    msg = await ctx.read(lambda s: s.get(Message, message_id))
    assert msg is not None
    return msg


async def count(ctx: HubContext, model: Any) -> int:
    return int(await ctx.read(lambda s: s.scalar(select(func.count()).select_from(model))) or 0)


async def test_a_gmail_mail_becomes_a_conversation_with_its_file(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    done = await ingest.ingest(channel, fixture("gmail_first.eml"))
    assert done.outcome == "stored"
    msg = await message(ctx, done.message_id)
    assert msg.body.startswith("Добрый день!") and "Иван Петров" not in msg.body
    assert msg.meta["email"]["signature"].startswith("-- \nИван Петров")
    assert msg.meta["email"]["thread"] == "new"
    assert msg.provider_message_id == "CAF1x8QwY7n2ZtQk=Pq9d3@mail.gmail.com"
    conv = await conv_of(ctx, done.message_id)
    assert conv.thread_key == "email:CAF1x8QwY7n2ZtQk=Pq9d3@mail.gmail.com"
    assert conv.last_message_preview == "✉ Коммерческое предложение"
    contact = await ctx.read(lambda s: s.get(Contact, conv.contact_id))
    assert contact is not None and contact.name == "Иван Петров"
    item = await ctx.read(lambda s: s.get(EmailItem, done.message_id))
    assert item is not None and item.from_address == "ivan.petrov@gmail.com"
    assert item.html.startswith("<div><div>Добрый день!</div>")  # sanitised: no attributes
    files = await ctx.read(lambda s: attachments_of(s, [msg.id]))
    [pdf] = files[msg.id]
    assert (pdf["filename"], pdf["content_type"]) == ("Реквизиты.pdf", "application/pdf")
    again = await ingest.ingest(channel, fixture("gmail_first.eml"))
    assert (again.outcome, again.message_id) == ("duplicate", done.message_id)
    assert await count(ctx, Message) == 1


async def test_a_reply_quoting_the_hubs_signed_message_id_joins(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    first = await ingest.ingest(channel, fixture("gmail_first.eml"))
    assert first.conversation_id == 1  # the fixtures' signed ids name conversation 1
    reply = await ingest.ingest(channel, fixture("gmail_reply.eml"))
    assert reply.conversation_id == first.conversation_id
    msg = await message(ctx, reply.message_id)
    assert msg.body == "Спасибо! А можно доставку на пятницу?"
    assert msg.meta["email"]["thread"] == "in_reply_to"
    assert "> Иван, добрый вечер!" in msg.meta["email"]["quoted"]
    item = await ctx.read(lambda s: s.get(EmailItem, reply.message_id))
    assert item is not None and item.recipients["cc"] == ["anna@romashka.ru"]


async def test_a_reply_threads_by_a_stored_reference_when_no_id_is_signed(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    first = await ingest.ingest(channel, fixture("gmail_first.eml"))
    raw = mail(
        subject="Re: something else entirely",
        headers="In-Reply-To: <unknown@elsewhere>\n"
        "References: <CAF1x8QwY7n2ZtQk=Pq9d3@mail.gmail.com> <unknown@elsewhere>",
    )
    reply = await ingest.ingest(channel, raw)
    assert reply.conversation_id == first.conversation_id
    assert (await message(ctx, reply.message_id)).meta["email"]["thread"] == "references"


async def test_an_outlook_reply_without_headers_threads_by_its_token(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    first = await ingest.ingest(channel, fixture("gmail_first.eml"))
    reply = await ingest.ingest(channel, fixture("outlook_reply.eml"))
    assert reply.conversation_id == first.conversation_id
    msg = await message(ctx, reply.message_id)
    assert msg.meta["email"]["thread"] == "token"
    assert msg.body.endswith("Иван Петров") and "От: Отдел продаж" in msg.meta["email"]["quoted"]


async def test_a_token_of_another_channels_conversation_opens_a_new_one(client: Any) -> None:
    ctx, ingest, _ = await setup(client)
    other = await add_email_channel(ctx, address="support@company.ru", name="Support")
    first = await ingest.ingest(other, fixture("gmail_first.eml"))  # conversation 1: Support's
    sales = MailChannel(other.id - 1, "sales@company.ru")
    reply = await ingest.ingest(sales, fixture("outlook_reply.eml"))  # token c1, to Sales
    assert reply.outcome == "stored" and reply.conversation_id != first.conversation_id
    assert (await message(ctx, reply.message_id)).meta["email"]["thread"] == "new"


async def test_a_stranger_with_a_valid_token_never_joins_anothers_conversation(
    client: Any,
) -> None:
    ctx, ingest, channel = await setup(client)
    first = await ingest.ingest(channel, fixture("gmail_first.eml"))
    token = tokens.reply_address(KEY, "sales@company.ru", first.conversation_id or 0)
    stranger = await ingest.ingest(channel, mail(sender="Mallory <m@evil.test>", to=token))
    assert stranger.outcome == "stored"
    assert stranger.conversation_id != first.conversation_id
    a, b = await conv_of(ctx, first.message_id), await conv_of(ctx, stranger.message_id)
    assert a.contact_id != b.contact_id  # and no contact was joined on his address


async def test_subject_and_sender_within_the_window_thread_a_bare_reply(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    first = await ingest.ingest(channel, fixture("yandex_koi8r.eml"))
    olga = "Olga <olga.smirnova@yandex.ru>"
    reply = await ingest.ingest(channel, mail(sender=olga, subject="Ответ: Доставка в  Тверь"))
    assert reply.conversation_id == first.conversation_id
    assert (await message(ctx, reply.message_id)).meta["email"]["thread"] == "subject"
    new_topic = await ingest.ingest(channel, mail(sender=olga, subject="Другой вопрос"))
    no_reply = await ingest.ingest(channel, mail(sender=olga, subject="Доставка в Тверь"))
    other_sender = await ingest.ingest(channel, mail(subject="Re: Доставка в Тверь"))
    ids = {new_topic.conversation_id, no_reply.conversation_id, other_sender.conversation_id}
    assert first.conversation_id not in ids and len(ids) == 3

    async def age(session: AsyncSession) -> None:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == first.conversation_id)
            .values(last_activity_at=utcnow() - timedelta(days=15))
        )

    await ctx.write(age)
    late = await ingest.ingest(channel, mail(sender=olga, subject="Re: Доставка в Тверь"))
    assert late.conversation_id != first.conversation_id


async def test_an_auto_reply_is_stored_flagged(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    done = await ingest.ingest(channel, fixture("auto_reply.eml"))
    assert done.outcome == "stored"
    msg = await message(ctx, done.message_id)
    assert msg.meta["auto_reply"] == "Auto-Submitted: auto-replied"
    assert msg.body.startswith("Здравствуйте! Я в отпуске")


async def test_a_bounce_goes_to_the_handlers_and_stores_nothing(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    seen: list[tuple[int, DeliveryReport]] = []

    async def handler(channel_id: int, report: DeliveryReport, parsed: ParsedMail) -> None:
        seen.append((channel_id, report))

    unhandled = await ingest.ingest(channel, fixture("dsn_bounce.eml"))
    assert unhandled.outcome == "bounce"
    ingest.on_bounce(handler)
    done = await ingest.ingest(channel, fixture("dsn_bounce.eml"))
    assert done == Ingested("bounce", done.reason)
    assert "nobody@example.org failed 5.1.1" in done.reason
    [(channel_id, report)] = seen
    assert channel_id == channel.id
    assert report.original_message_id == "m.9.1.358b260d62cdd5b3@company.ru"
    assert await count(ctx, Message) == 0


async def test_unusable_and_own_mail_store_nothing(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    no_sender = await ingest.ingest(channel, b"Subject: x\r\n\r\nbody\r\n")
    assert no_sender == Ingested("unusable", "the mail has no sender address (From)")
    own_id = tokens.message_id(KEY, 3, 1, "company.ru")
    own = await ingest.ingest(channel, mail(sender="sales@company.ru", message_id=own_id))
    assert own.outcome == "own"
    assert await count(ctx, Message) == 0


async def test_a_mail_without_message_id_is_stored_once(client: Any) -> None:
    ctx, ingest, channel = await setup(client)
    raw = b"From: a@b.ru\r\nSubject: no id\r\n\r\nbody\r\n"
    first = await ingest.ingest(channel, raw)
    again = await ingest.ingest(channel, raw)
    assert (first.outcome, again.outcome) == ("stored", "duplicate")
    assert (await message(ctx, first.message_id)).provider_message_id.startswith("sha256:")  # type: ignore[union-attr]


def test_only_a_mail_that_may_continue_a_thread_reads_the_database() -> None:
    def parsed(**kwargs: Any) -> ParsedMail:
        mail_ = parse_mail(mail(**kwargs), 10_000_000)
        assert isinstance(mail_, ParsedMail)
        return mail_

    assert not needs_lookup(KEY, parsed(subject="Печь на дачу"))
    assert needs_lookup(KEY, parsed(subject="Re: Печь на дачу"))
    assert needs_lookup(KEY, parsed(headers="References: <a@x>"))
    token_to = tokens.reply_address(KEY, "sales@company.ru", 42)
    assert needs_lookup(KEY, parsed(to=token_to))
    assert not needs_lookup("another-key", parsed(to=token_to))  # not the hub's own token
