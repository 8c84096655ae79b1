"""Telegram out: operator replies through the fake Bot API; split, quoted, with files, retried
on 429 and 5xx, failed with a readable reason on 403, retried by the operator; notes never."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update

from hub.app import DELIVERY
from hub.channels.telegram.adapter import TEXT_LIMIT, split_text, utf16_len
from hub.db import utcnow
from hub.inbox.models import Message
from hub.settings import Settings
from tests.telegram_fake import Telegram, start_telegram
from tests.test_api_channel import wait_for


@pytest.fixture
async def tg(aiohttp_server: Any, aiohttp_client: Any, settings: Settings) -> Telegram:
    tg = await start_telegram(aiohttp_server, aiohttp_client, settings)
    await tg.fed("text")
    return tg


async def conv_id(tg: Telegram) -> int:
    [conv] = await tg.conversations()
    return int(conv["id"])


async def post(tg: Telegram, body: str, **extra: Any) -> dict[str, Any]:
    resp = await tg.client.post(
        f"/api/v1/conversations/{await conv_id(tg)}/messages",
        json={"body": body, **extra},
        headers=tg.admin.headers,
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def message(tg: Telegram, msg_id: int) -> dict[str, Any]:
    return next(m for m in await tg.messages(await conv_id(tg)) if m["id"] == msg_id)


async def settled(tg: Telegram, msg_id: int, status: str) -> dict[str, Any]:
    async def done() -> bool:
        delivery = (await message(tg, msg_id))["delivery"]
        return bool(delivery and delivery["status"] == status)

    await wait_for(done)
    return await message(tg, msg_id)


async def due_now(tg: Telegram, msg_id: int) -> None:
    """Let a reply waiting for its retry go now (instead of waiting out the backoff), and wait
    until that attempt is recorded (by this pass, or by the app's own worker if it was first)."""
    before = int((await message(tg, msg_id))["delivery"]["attempts"])

    async def unit(session: Any) -> None:
        await session.execute(
            update(Message).where(Message.id == msg_id).values(next_attempt_at=utcnow())
        )

    await tg.ctx.write(unit)
    await tg.client.app[DELIVERY].run_once()

    async def recorded() -> bool:
        return int((await message(tg, msg_id))["delivery"]["attempts"]) > before

    await wait_for(recorded)


async def test_a_reply_is_sent_and_a_note_never(tg: Telegram) -> None:
    note = await post(tg, "Постоянный клиент, скидка 5%", private=True)
    reply = await post(tg, "Доставка в Казань — 900 ₽ 🚚")
    sent = await settled(tg, reply["id"], "sent")
    [call] = tg.api.sends
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == "424242"
    assert call.params["text"] == "Доставка в Казань — 900 ₽ 🚚"
    assert "parse_mode" not in call.params  # plain text: nothing the operator types is markup
    assert sent["meta"]["provider"]["message_ids"] == [tg.api.next_message_id]
    assert (await message(tg, note["id"]))["delivery"] is None
    await tg.client.app[DELIVERY].run_once()
    assert all("Постоянный" not in json.dumps(c.params) for c in tg.api.calls)


async def test_a_reply_to_a_specific_message_quotes_it(tg: Telegram) -> None:
    [incoming] = await tg.messages(await conv_id(tg))
    first = await post(tg, "Отвечаю на ваш вопрос", reply_to_id=incoming["id"])
    await settled(tg, first["id"], "sent")
    quoted = json.loads(tg.api.sends[0].params["reply_parameters"])
    assert quoted["message_id"] == 11  # the customer's Telegram message
    # A reply to the operator's own earlier reply quotes the Telegram message it became.
    first_sent = await message(tg, first["id"])
    second = await post(tg, "И ещё", reply_to_id=first["id"])
    await settled(tg, second["id"], "sent")
    own = json.loads(tg.api.sends[1].params["reply_parameters"])
    assert own["message_id"] == first_sent["meta"]["provider"]["message_ids"][0]
    # The customer quotes the operator's reply in Telegram: the inbox links it the same way.
    quoting = {
        "update_id": 500000050,
        "message": {
            "message_id": 60,
            "from": {"id": 424242, "is_bot": False, "first_name": "Ivan"},
            "chat": {"id": 424242, "first_name": "Ivan", "type": "private"},
            "date": 1795920200,
            "text": "Спасибо!",
            "reply_to_message": {
                "message_id": own["message_id"],
                "date": 1795920100,
                "chat": {"id": 424242, "type": "private"},
                "text": "Отвечаю на ваш вопрос",
            },
        },
    }
    await tg.fed(quoting)
    answer = (await tg.messages(await conv_id(tg)))[-1]
    assert answer["body"] == "Спасибо!" and answer["reply_to_id"] == first["id"]
    plain = await post(tg, "Без цитаты")
    await settled(tg, plain["id"], "sent")
    assert "reply_parameters" not in tg.api.sends[2].params


async def test_a_long_text_is_split_at_the_limit(tg: Telegram) -> None:
    paragraph = "Печь «Теплодар» 🔥 — подробное описание. " * 40
    body = "\n\n".join([paragraph] * 6)  # about 10,000 characters
    reply = await post(tg, body)
    await settled(tg, reply["id"], "sent")
    texts = [c.params["text"] for c in tg.api.sends]
    assert len(texts) == 3
    assert all(utf16_len(t) <= TEXT_LIMIT for t in texts)
    assert "".join(t.replace("\n", "").replace(" ", "") for t in texts) == body.replace(
        "\n", ""
    ).replace(" ", "")
    assert len((await message(tg, reply["id"]))["meta"]["provider"]["message_ids"]) == 3


def test_split_text_never_breaks_an_emoji_and_prefers_boundaries() -> None:
    text = "😀" * 5000  # 10,000 UTF-16 units, no spaces
    parts = split_text(text)
    assert "".join(parts) == text and all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    words = ("слово " * 1000).strip()
    assert all(not p.endswith("сло") for p in split_text(words))
    assert split_text("short") == ["short"]


async def test_429_waits_retry_after_and_5xx_backs_off_then_sends(tg: Telegram) -> None:
    tg.api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    reply = await post(tg, "Минутку")

    await wait_for(lambda: _attempted(tg, reply["id"]))
    msg = await message(tg, reply["id"])
    assert msg["delivery"]["status"] == "pending"
    assert "wait 7 s" in msg["delivery"]["error"]

    async def next_at(session: Any) -> Any:
        return await session.get(Message, reply["id"])

    row = await tg.ctx.read(next_at)
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 5 < wait <= 7.5
    tg.api.fail("sendMessage", 502, "Bad Gateway")
    await due_now(tg, reply["id"])
    msg = await message(tg, reply["id"])
    assert msg["delivery"]["status"] == "pending" and msg["delivery"]["attempts"] == 2
    await due_now(tg, reply["id"])
    sent = await settled(tg, reply["id"], "sent")
    assert sent["delivery"]["attempts"] == 3
    assert len(tg.api.sends) == 3


async def test_a_network_error_is_retried(tg: Telegram) -> None:
    tg.api.drop("sendMessage")
    reply = await post(tg, "Проверка")
    await wait_for(lambda: _sent_count(tg, 1))
    await wait_for(lambda: _attempted(tg, reply["id"]))
    pending = await message(tg, reply["id"])
    assert pending["delivery"]["status"] == "pending"
    assert pending["delivery"]["error"].startswith("Telegram unreachable")
    await due_now(tg, reply["id"])
    await settled(tg, reply["id"], "sent")


async def _sent_count(tg: Telegram, n: int) -> bool:
    return len(tg.api.sends) >= n


async def test_a_blocked_bot_fails_the_reply_readably_and_the_operator_retries(
    tg: Telegram,
) -> None:
    tg.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    reply = await post(tg, "Вы здесь?")
    failed = await settled(tg, reply["id"], "failed")
    assert failed["delivery"]["error"] == "the customer blocked the bot"
    retried = await tg.client.post(
        f"/api/v1/messages/{reply['id']}/retry", headers=tg.admin.headers
    )
    assert retried.status == 200
    await settled(tg, reply["id"], "sent")


async def test_a_reply_sent_in_parts_resumes_where_it_stopped(tg: Telegram) -> None:
    body = ("а" * 4000) + "\n\n" + ("б" * 100)
    tg.api.fail_nth("sendMessage", 2, 503, "Service Unavailable")  # the second part, once
    reply = await post(tg, body)
    await wait_for(lambda: _sent_count(tg, 2))
    await wait_for(lambda: _attempted(tg, reply["id"]))
    pending = await message(tg, reply["id"])
    assert pending["delivery"]["status"] == "pending"
    assert len(pending["meta"]["provider"]["message_ids"]) == 1
    await due_now(tg, reply["id"])
    sent = await settled(tg, reply["id"], "sent")
    texts = [c.params["text"] for c in tg.api.sends]
    assert texts == ["а" * 4000, "б" * 100, "б" * 100]  # the first part was not sent twice
    assert len(sent["meta"]["provider"]["message_ids"]) == 2


async def test_files_go_as_photo_with_caption_or_document(tg: Telegram) -> None:
    cid = await conv_id(tg)

    async def upload(data: bytes, name: str, ctype: str) -> int:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type=ctype)
        resp = await tg.client.post(
            f"/api/v1/conversations/{cid}/attachments", data=form, headers=tg.admin.headers
        )
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])

    photo = await upload(b"\xff\xd8\xff\xe0jpeg-bytes", "печь.jpg", "image/jpeg")
    first = await post(tg, "Вот фото", attachment_ids=[photo])
    await settled(tg, first["id"], "sent")
    [call] = tg.api.sends
    assert call.method == "sendPhoto" and call.params["caption"] == "Вот фото"
    assert call.files["photo"] == b"\xff\xd8\xff\xe0jpeg-bytes"

    doc = await upload(b"%PDF-1.7 price list", "прайс.pdf", "application/pdf")
    second = await post(tg, "", attachment_ids=[doc])
    await settled(tg, second["id"], "sent")
    last = tg.api.sends[-1]
    assert last.method == "sendDocument" and last.files["document"] == b"%PDF-1.7 price list"
    assert "caption" not in last.params


async def test_retry_after_pushes_the_next_attempt(tg: Telegram) -> None:
    """The delivery worker honours retry_after over its own backoff."""
    tg.api.fail("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    reply = await post(tg, "Ждём")
    await wait_for(lambda: _sent_count(tg, 1))

    async def row(session: Any) -> Any:
        return await session.get(Message, reply["id"])

    await wait_for(lambda: _attempted(tg, reply["id"]))
    msg = await tg.ctx.read(row)
    assert msg.next_attempt_at - utcnow() > timedelta(seconds=25)


async def _attempted(tg: Telegram, msg_id: int) -> bool:
    return int((await message(tg, msg_id))["delivery"]["attempts"]) >= 1


async def test_a_reply_in_a_group_goes_to_the_group(tg: Telegram) -> None:
    await tg.fed("group")
    [group] = [c for c in await tg.conversations() if c["contact"]["name"] == "Стройка на Лесной"]
    resp = await tg.client.post(
        f"/api/v1/conversations/{group['id']}/messages",
        json={"body": "Кирпич привезут завтра"},
        headers=tg.admin.headers,
    )
    reply = await resp.json()

    async def sent() -> bool:
        msgs = await tg.messages(group["id"])
        delivery = next(m for m in msgs if m["id"] == reply["id"])["delivery"]
        return bool(delivery and delivery["status"] == "sent")

    await wait_for(sent)
    [call] = tg.api.sends
    assert call.params["chat_id"] == "-1001234567890"
