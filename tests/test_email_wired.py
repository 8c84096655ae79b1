"""The email channel as one piece, on both backends, against a real Dovecot (IMAP in) and a real
aiosmtpd (SMTP out): connected through the admin API and the command line with both logins
checked, its mail read by the hub's own mailbox readers into the inbox, a reply sent in the
customer's thread, the customer's answers (by headers, or by the Reply-To token alone) in the
same conversation, a note never sent, a bounce failing the reply and suppressing the address,
the conversation a first contact for leads and in the reports, the mailbox's status for admins.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.channels.email.service import EMAIL
from hub.settings import Settings
from tests import email_servers
from tests.cli_run import REPO
from tests.crm_helpers import run_intake
from tests.email_servers import Mailbox, fixture, mail
from tests.email_smtp import LOGIN, PASSWORD, SmtpServer, TlsFiles, start_smtp
from tests.email_smtp import tls_files as tls_files
from tests.helpers import Op, make_operator
from tests.test_api_channel import wait_for
from tests.test_telegram_cli import run_hub

dovecot_server = email_servers.dovecot_server
dovecot = email_servers.dovecot
CUSTOMER = "ivan.petrov@gmail.com"


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    settings.imap_scan_interval_s = 0.2  # a channel connected is picked up at once
    return create_app(settings)


@pytest.fixture
def trust_both(
    tls_files: TlsFiles,
    dovecot: Mailbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Mailbox:
    """The hub trusts both test servers' certificates, as an admin's company CA bundle."""
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(tls_files.cert.read_bytes() + dovecot.server.cafile.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return dovecot


@pytest.fixture
async def smtp(tls_files: TlsFiles) -> AsyncIterator[SmtpServer]:
    server = await start_smtp(tls_files, "starttls")
    yield server
    await server.close()


def settings_for(box: Mailbox, smtp: SmtpServer) -> dict[str, Any]:
    return {
        "address": LOGIN,
        "display_name": "Отдел продаж",
        "imap": {
            "host": "127.0.0.1",
            "port": box.server.port,
            "security": "starttls",
            "login": box.user,
            "password": box.password,
        },
        "smtp": smtp.settings(),
    }


def html_mail(message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Иван Петров <{CUSTOMER}>"
    msg["To"] = LOGIN
    msg["Subject"] = "Доставка в Казань"
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = "Mon, 30 Nov 2026 10:00:00 +0300"
    msg.set_content("Здравствуйте! Сколько стоит доставка?")
    msg.add_alternative(
        "<p>Здравствуйте! <b>Сколько</b> стоит доставка?</p><script>alert(1)</script>",
        subtype="html",
    )
    return bytes(msg)


class Hub:
    def __init__(self, client: TestClient, admin: Op) -> None:  # type: ignore[type-arg]
        self.client = client
        self.admin = admin

    async def get(self, path: str) -> Any:
        resp = await self.client.get(path, headers=self.admin.headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def conversations(self) -> list[dict[str, Any]]:
        return list((await self.get("/api/v1/conversations"))["items"])

    async def messages(self, conv_id: int) -> list[dict[str, Any]]:
        return list((await self.get(f"/api/v1/conversations/{conv_id}/messages"))["items"])

    async def reply(self, conv_id: int, body: str, **extra: Any) -> dict[str, Any]:
        resp = await self.client.post(
            f"/api/v1/conversations/{conv_id}/messages",
            json={"body": body, **extra},
            headers=self.admin.headers,
        )
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def incoming(self, conv_id: int, n: int) -> list[dict[str, Any]]:
        async def enough() -> bool:
            return len(await self._incoming(conv_id)) >= n

        await wait_for(enough, within=20)
        return await self._incoming(conv_id)

    async def _incoming(self, conv_id: int) -> list[dict[str, Any]]:
        return [m for m in await self.messages(conv_id) if m["kind"] == "incoming"]


async def test_a_mailbox_connected_reads_mail_answers_in_its_thread_and_takes_bounces(
    client: TestClient,  # type: ignore[type-arg]
    trust_both: Mailbox,
    smtp: SmtpServer,
) -> None:
    box = trust_both
    admin = await make_operator(client, role="admin", name="Мария")
    hub = Hub(client, admin)
    body = {"type": "email", "name": "Sales", **settings_for(box, smtp)}
    resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    channel = await resp.json()
    assert smtp.recorder.logins == [LOGIN]  # the SMTP login was checked
    assert box.password not in await resp.text()

    # The customer's mail, delivered into the mailbox, becomes a conversation.
    await box.append(html_mail("first@mail.example.org"))

    async def one_conversation() -> bool:
        return len(await hub.conversations()) == 1

    await wait_for(one_conversation, within=20)
    [conv] = await hub.conversations()
    conv_id = conv["id"]
    assert conv["channel"]["id"] == channel["id"]
    [first] = await hub.incoming(conv_id, 1)
    assert first["body"].startswith("Здравствуйте! Сколько стоит доставка?")
    assert first["email"]["subject"] == "Доставка в Казань"
    assert first["email"]["from"] == CUSTOMER
    html = str(first["email"].get("html", ""))
    assert "<b>Сколько</b>" in html and "<script" not in html
    contact = await hub.get(f"/api/v1/contacts/{conv['contact']['id']}")
    assert CUSTOMER in contact["emails"]

    # A note stays; the reply goes out in the customer's thread.
    await hub.reply(conv_id, "Постоянный клиент", private=True)
    reply = await hub.reply(conv_id, "Доставка — 900 ₽.")
    got = await smtp.next()
    assert smtp.nothing_received()  # the note never reached SMTP
    sent = got.message
    assert parseaddr(str(sent["From"]))[1] == LOGIN
    assert str(sent["Subject"]) == "Re: Доставка в Казань"
    assert str(sent["In-Reply-To"]) == "<first@mail.example.org>"
    reply_mid = str(sent["Message-ID"]).strip("<>")
    assert reply_mid.startswith(f"m.{reply['id']}.{conv_id}.")
    reply_to = parseaddr(str(sent["Reply-To"]))[1]
    assert reply_to.startswith("sales+c") and reply_to.endswith("@company.ru")

    # His answer by the threading headers, then one from a client that kept none.
    await box.append(
        mail(
            sender=f"Ivan Petrov <{CUSTOMER}>",
            subject="Re: Доставка в Казань",
            body="А в Самару?",
            headers=f"In-Reply-To: <{reply_mid}>",
        )
    )
    await hub.incoming(conv_id, 2)
    await box.append(
        mail(sender=f"Ivan Petrov <{CUSTOMER}>", to=reply_to, subject="вопрос", body="И ещё")
    )
    bodies = [m["body"] for m in await hub.incoming(conv_id, 3)]
    assert "А в Самару?" in bodies[1] and "И ещё" in bodies[2]
    assert len(await hub.conversations()) == 1

    # A bounce of the reply fails it and suppresses the address.
    dsn = (
        fixture("dsn_bounce.eml")
        .replace(b"nobody@example.org", CUSTOMER.encode())
        .replace(b"m.9.1.358b260d62cdd5b3@company.ru", reply_mid.encode())
    )
    await box.append(dsn)

    async def failed() -> bool:
        found = [m for m in await hub.messages(conv_id) if m["id"] == reply["id"]]
        return bool(found and (found[0]["delivery"] or {}).get("status") == "failed")

    await wait_for(failed, within=20)
    [bounced] = [m for m in await hub.messages(conv_id) if m["id"] == reply["id"]]
    assert CUSTOMER in bounced["delivery"]["error"]
    again = await hub.reply(conv_id, "Ещё раз")

    async def refused() -> bool:
        found = [m for m in await hub.messages(conv_id) if m["id"] == again["id"]]
        return bool(found and (found[0]["delivery"] or {}).get("status") == "failed")

    await wait_for(refused, within=20)
    assert smtp.nothing_received()  # suppressed: not sent

    # The admin sees the mailbox read well.
    [listed] = [c for c in (await hub.get("/api/v1/channels"))["items"] if c["type"] == "email"]
    status = listed["status"]
    assert status["last_ok_at"] is not None and status["reading"] is True
    assert client.app[EMAIL].mailboxes is not None

    # A first contact for leads, by the email channel.
    await run_intake(client)
    leads = (await hub.get("/api/v1/leads"))["items"]
    assert [lead["source"]["channel"] for lead in leads] == ["email"]


async def test_the_command_line_connects_a_mailbox(
    trust_both: Mailbox, smtp: SmtpServer, tmp_path: Path
) -> None:
    box = trust_both
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )  # SSL_CERT_FILE (both servers' certificates) is inherited
    assert (await run_hub(tmp_path, env, "migrate"))[0] == 0
    site = [
        "channel",
        "add",
        "widget",
        "--name",
        "Shop",
        "--allowed-origin",
        "https://shop.example",
    ]
    code, out, err = await run_hub(tmp_path, env, *site)
    assert code == 0, (out, err)
    found = re.search(r"channel (\d+) created", out)
    assert found is not None, out
    chat = found[1]
    args = [
        "channel", "add", "email", "--name", "Sales", "--address", LOGIN,
        "--imap-host", "127.0.0.1", "--imap-port", str(box.server.port),
        "--imap-security", "starttls", "--imap-login", box.user, "--imap-password-stdin",
        "--smtp-host", "localhost", "--smtp-port", str(smtp.port), "--smtp-security", "starttls",
        "--smtp-password-stdin",
    ]  # fmt: skip
    # A mailbox answers only website chats: another id is refused, and nothing is made.
    code, out, err = await run_hub(
        tmp_path, env, *args, "--answers-chat", "999", stdin=f"{box.password}\n{PASSWORD}\n"
    )
    assert code == 2 and "channel 999 is not a website chat" in err, (out, err)
    smtp.recorder.logins.clear()
    code, out, err = await run_hub(
        tmp_path, env, *args, "--answers-chat", chat, stdin=f"{box.password}\n{PASSWORD}\n"
    )
    assert code == 0, (out, err)
    assert f"answers by email the visitors who left the website chats: {chat}" in out
    assert f"incoming: IMAP 127.0.0.1:{box.server.port} (starttls), folder INBOX" in out
    assert "login checked" in out
    assert smtp.recorder.logins == [LOGIN]
    assert box.password not in out + err and PASSWORD not in out + err
