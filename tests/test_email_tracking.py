"""Email-open and click tracking: a tracked email leaves with a pixel and the hub's links (the
text part as written, DKIM over the result), and real HTTP requests with recorded real user
agents are stored with the verdict each deserves; a person's open or click reaches the
sender's socket at once, a machine's is counted apart and announces nothing.

The hits' source addresses come in X-Forwarded-For (the hub runs as behind a proxy here); how
long after sending each came is set on the email's tracking row before its request.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dkim
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from hub.app import create_app
from hub.channels.email import suppression
from hub.channels.email.tracking_links import PIXEL_GIF
from hub.db import utcnow
from hub.inbox.tracking_models import EmailTracking, EmailTrackingEvent
from hub.settings import Settings
from tests.email_helpers import CUSTOMER, customer_emails
from tests.email_smtp import (
    TlsFiles,
    make_dkim_key,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.test_email_outbound import Mailbox, open_mailbox
from tests.test_operator_socket import recv_until

HITS = json.loads(
    (Path(__file__).parent / "fixtures" / "email" / "tracking_hits.json").read_text()
)["hits"]
TEXT = "Коммерческое предложение: https://pechipro.ru/kp/42 и прайс https://pechipro.ru/price."
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def app(settings: Settings, port: int) -> web.Application:
    public = f"http://127.0.0.1:{port}"
    return create_app(
        settings.model_copy(
            update={
                "behind_proxy": True,
                "public_url": public,
                "email_tracking_ip_burst": 30,
                "email_tracking_ip_per_s": 0.5,
            }
        )
    )


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application, port: int) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(app, server_kwargs={"port": port})  # type: ignore[no-any-return]


@pytest.fixture
async def box(client: TestClient, trust: TlsFiles, tmp_path: Path) -> AsyncIterator[Mailbox]:  # type: ignore[type-arg]  # noqa: F811
    key = make_dkim_key(tmp_path)
    mailbox = await open_mailbox(client, trust, dkim=key)
    mailbox.dkim = key  # type: ignore[attr-defined]
    yield mailbox
    await mailbox.smtp.close()


def parts(raw: Any) -> tuple[str, str]:
    """The text and HTML parts of a received email."""
    text = raw.get_body(("plain",)).get_content()
    html = raw.get_body(("html",)).get_content()
    return text, html


def tracked_urls(html: str) -> tuple[str, list[str]]:
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+)"', html)
    assert pixel is not None, html
    return pixel[1], re.findall(r'<a href="([^"]+/t/c/[^"]+)"', html)


async def send(box: Mailbox, body: str = TEXT, **extra: Any) -> tuple[int, dict[str, Any], Any]:
    conv_id = (await customer_emails(box.ctx, box.channel["id"]))["conversation"]["id"]
    reply = await box.reply(conv_id, body, **extra)
    await box.settled(conv_id, reply["id"], "sent")
    return conv_id, reply, (await box.smtp.next())


async def sent_ago(box: Mailbox, message_id: int, seconds: float) -> None:
    async def unit(session: Any) -> None:
        await session.execute(
            update(EmailTracking)
            .where(EmailTracking.message_id == message_id)
            .values(sent_at=utcnow() - timedelta(seconds=seconds))
        )

    await box.ctx.write(unit)


async def customer_contact(client: TestClient, box: Mailbox, conv_id: int) -> int:  # type: ignore[type-arg]
    answer = await client.get(f"/api/v1/conversations/{conv_id}", headers=box.admin.headers)
    return int((await answer.json())["contact_id"])


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_a_tracked_reply_tells_its_sender_when_a_person_opens_and_clicks(
    box: Mailbox,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    conv_id, reply, got = await send(box)
    text, html = parts(got.message)
    assert text.strip() == TEXT  # the text part as written
    pixel, links = tracked_urls(html)
    assert len(links) == 2 and 'href="https://pechipro' not in html  # shown, not linked
    key = box.dkim  # type: ignore[attr-defined]
    assert dkim.verify(got.data, dnsfunc=lambda name, timeout=5: key.txt_record) is True
    shown = (await box.message(conv_id, reply["id"]))["email"]
    assert "/t/" not in shown["html"] and "https://pechipro.ru/kp/42" in shown["html"]
    assert shown["tracking"]["opens"] == 0

    await sent_ago(box, reply["id"], 600)
    ws = await client.ws_connect("/ws/operator", headers=box.admin.headers)
    assert (await ws.receive_json())["type"] == "ready"
    # Apple's prefetch first: stored, counted apart, announced to nobody.
    mpp = await client.get(
        path_of(pixel), headers={"User-Agent": "Mozilla/5.0", "X-Forwarded-For": "17.58.1.1"}
    )
    assert mpp.status == 200 and await mpp.read() == PIXEL_GIF
    assert mpp.headers["Content-Type"] == "image/gif" and "no-store" in mpp.headers["Cache-Control"]
    person = {"User-Agent": CHROME, "X-Forwarded-For": "91.77.1.1"}
    opened = await client.get(path_of(pixel), headers=person)
    assert await opened.read() == PIXEL_GIF
    frames = await recv_until(ws, lambda f: f["event"] == "message.opened")
    assert [f["event"] for f in frames] == ["message.opened"]  # nothing for Apple's prefetch
    data = frames[-1]["data"]
    assert data["message_id"] == reply["id"] and data["conversation_id"] == conv_id
    assert data["contact"]["name"] == "Иван Петров" and data["subject"] == "Re: Доставка в Казань"
    assert data["tracking"]["opens"] == 1 and data["tracking"]["machine_opens"] == 1
    assert data["tracking"]["machine_client"] == "Apple Mail" and data["client"] == "Chrome"

    clicked = await client.get(path_of(links[1]), headers=person, allow_redirects=False)
    assert clicked.status == 302 and clicked.headers["Location"] == "https://pechipro.ru/price"
    frame = (await recv_until(ws, lambda f: f["event"] == "message.clicked"))[-1]
    assert frame["data"]["link"] == "https://pechipro.ru/price"
    assert frame["data"]["tracking"]["clicks"] == 1
    summary = (await box.message(conv_id, reply["id"]))["email"]["tracking"]
    assert summary["opens"] == 1 and summary["clicks"] == 1 and summary["machine_opens"] == 1
    assert summary["first_opened_at"] is not None
    contact_id = await customer_contact(client, box, conv_id)
    card = await (
        await client.get(f"/api/v1/contacts/{contact_id}", headers=box.admin.headers)
    ).json()
    assert [(h["kind"], h["verdict"]) for h in card["email_tracking"]] == [
        ("click", "human"),
        ("open", "human"),
        ("open", "machine"),
    ]
    assert card["email_tracking"][0]["link"] == "https://pechipro.ru/price"
    made = await client.post(
        "/api/v1/deals",
        json={"contact_id": contact_id, "conversation_id": conv_id, "title": "Печь"},
        headers=box.admin.headers,
    )
    assert made.status == 201, await made.text()
    deal = await client.get(f"/api/v1/deals/{(await made.json())['id']}", headers=box.admin.headers)
    hits = [e["item"] for e in (await deal.json())["timeline"] if e["type"] == "email_hit"]
    assert sorted((h["kind"], h["verdict"]) for h in hits) == [
        ("click", "human"),
        ("open", "human"),
        ("open", "machine"),
    ]
    report = await client.get("/api/v1/reports/email-tracking", headers=box.admin.headers)
    [row] = (await report.json())["items"]
    assert (row["operator_name"], row["sent"], row["opened"], row["clicked"]) == ("Мария", 1, 1, 1)
    assert (row["open_rate"], row["machine_opens"], row["machine_only"]) == (1.0, 1, 0)
    await ws.close()

    # Anything the hub did not make: the same pixel, the same 404, nothing stored.
    token = pixel.rsplit("/", 1)[1].removesuffix(".gif")
    forged_link = path_of(links[1])[:-3] + "abc"
    other_place = path_of(links[1]).replace(f"{token}.1.", f"{token}.7.")
    for path in (forged_link, other_place, "/t/c/" + token, "/t/c/x"):
        refused = await client.get(path, headers=person, allow_redirects=False)
        assert refused.status == 404 and "Location" not in refused.headers
        assert (await refused.json())["error"]["code"] == "not_found"
    for path in ("/t/o/" + "A" * 32 + ".gif", "/t/o/nothing"):
        answer = await client.get(path, headers=person)
        assert answer.status == 200 and await answer.read() == PIXEL_GIF
    async with box.ctx.sessionmaker() as session:
        stored = list(await session.scalars(select(EmailTrackingEvent.verdict)))
    assert sorted(stored) == ["human", "human", "machine"]


async def test_untracked_when_the_operator_or_the_channel_says_so(
    client: TestClient,  # type: ignore[type-arg]
    trust: TlsFiles,  # noqa: F811
) -> None:
    box = await open_mailbox(client, trust, tracking=False)
    try:
        _, reply, got = await send(box)
        assert "/t/o/" not in parts(got.message)[1] and "/t/c/" not in parts(got.message)[1]
        assert "https://pechipro.ru/kp/42" in parts(got.message)[1]
        conv_id = reply["conversation_id"]
        assert (await box.message(conv_id, reply["id"]))["email"]["tracking"] is None
    finally:
        await box.smtp.close()
    box = await open_mailbox(client, trust)
    try:
        conv_id, reply, got = await send(box, tracking=False)
        assert "/t/o/" not in parts(got.message)[1]
        assert reply["meta"] == {"tracking": False}
        # A suppressed address gets no email, so nothing tracked; a note is never sent.
        await suppression.suppress(box.ctx, CUSTOMER, "550 5.1.1 no such user", "smtp")
        note = await box.reply(conv_id, "https://pechipro.ru/kp/42 — внутреннее", private=True)
        refused = await box.reply(conv_id, TEXT)
        await box.settled(conv_id, refused["id"], "failed")
        assert box.smtp.nothing_received()
        async with box.ctx.sessionmaker() as session:
            tracked = list(await session.scalars(select(EmailTracking.message_id)))
        assert note["id"] not in tracked and refused["id"] not in tracked and tracked == []
    finally:
        await box.smtp.close()


async def test_each_recorded_hit_gets_its_verdict(
    box: Mailbox,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _, reply, got = await send(box)
    pixel, links = tracked_urls(parts(got.message)[1])
    for hit in HITS:
        await sent_ago(box, reply["id"], hit["after_s"])
        url = pixel if hit["kind"] == "open" else links[0]
        answer = await client.request(
            hit["method"],
            path_of(url),
            headers={"User-Agent": hit["user_agent"], "X-Forwarded-For": hit["ip"]},
            allow_redirects=False,
        )
        assert answer.status == (200 if hit["kind"] == "open" else 302), hit["name"]
    async with box.ctx.sessionmaker() as session:
        rows = list(
            await session.execute(
                select(
                    EmailTrackingEvent.verdict,
                    EmailTrackingEvent.client,
                    EmailTrackingEvent.reason,
                    EmailTrackingEvent.ip,
                    EmailTrackingEvent.user_agent,
                ).order_by(EmailTrackingEvent.id)
            )
        )
    assert len(rows) == len(HITS)
    for hit, (verdict, client_name, reason, ip, agent) in zip(HITS, rows, strict=True):
        assert (verdict, client_name) == (hit["verdict"], hit["client"]), (hit["name"], reason)
        assert reason and ip == hit["ip"] and agent == hit["user_agent"]


async def test_every_link_at_once_is_a_scanner_and_the_limit_holds(
    box: Mailbox,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _, reply, got = await send(box)
    _, links = tracked_urls(parts(got.message)[1])
    await sent_ago(box, reply["id"], 120)
    scanner = {"User-Agent": CHROME, "X-Forwarded-For": "91.77.9.9"}
    for link in links:
        answer = await client.get(path_of(link), headers=scanner, allow_redirects=False)
        assert answer.status == 302
    async with box.ctx.sessionmaker() as session:
        verdicts = list(
            await session.execute(
                select(EmailTrackingEvent.verdict, EmailTrackingEvent.reason).order_by(
                    EmailTrackingEvent.id
                )
            )
        )
    assert verdicts[-1][0] == "machine" and "every link" in verdicts[-1][1]
    limited = {"User-Agent": CHROME, "X-Forwarded-For": "91.77.9.10"}
    statuses = []
    for _ in range(int(box.ctx.settings.email_tracking_ip_burst) + 1):
        answer = await client.get(path_of(links[0]), headers=limited, allow_redirects=False)
        statuses.append(answer.status)
    assert statuses[0] == 302 and statuses[-1] == 429
