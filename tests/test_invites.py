"""Invitations and password links by email: the mail reaches a real SMTP server (aiosmtpd over
TLS) from the mailbox chosen for the hub's mail, its link sets the password once and logs the
person in; a used, expired, superseded or unknown link says so; without a sender the admin
gets the link and the reason, never a silent nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from hub.app import create_app
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.models import OperatorLink
from hub.settings import Settings
from tests.email_helpers import seed_email_channel
from tests.email_smtp import (
    SmtpServer,
    TlsFiles,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import Op, auth, make_operator, make_team

LINK = re.compile(r"https?://\S+/inbox/invite/(\S+)")


@pytest.fixture
async def smtp(trust: TlsFiles) -> AsyncIterator[SmtpServer]:  # noqa: F811
    server = await start_smtp(trust)
    yield server
    await server.close()


def token_in(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found[1]


async def mail_text(smtp: SmtpServer) -> tuple[str, str, str]:
    """The next email's recipient, subject and text."""
    got = await smtp.next()
    mail = got.message
    part = mail.get_body(("plain",))
    assert part is not None
    return got.rcpt_tos[0], str(mail["Subject"]), str(part.get_content())


async def invite(client: TestClient, admin: Op, **body: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.post(
        "/api/v1/invites",
        json={"email": "new.person@example.org", "name": "Анна", **body},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_an_invitation_arrives_by_email_and_its_link_sets_the_password_once(
    client: TestClient,  # type: ignore[type-arg]
    smtp: SmtpServer,
) -> None:
    admin = await make_operator(client, role="admin", name="Мария")
    team = await make_team(client)
    await seed_email_channel(client.app[CTX], smtp, system_mail=True)
    made = await invite(client, admin, role="manager", team_ids=[team])
    assert made["mail"] == {
        "sent": True,
        "sender": "sales@company.ru",
        "code": None,
        "message": None,
    }
    assert made["url"] is None  # it went by email: the link is not shown
    assert made["operator"]["invited"] is True and made["operator"]["team_ids"] == [team]
    to, subject, text = await mail_text(smtp)
    assert to == "new.person@example.org" and subject == "You are invited to the inbox"
    assert "Мария invited you" in text and "as a manager" in text
    token = token_in(text)
    assert text.count("http://127.0.0.1:8080/inbox/invite/") == 1

    # Before he follows it he cannot log in, with any password.
    resp = await client.post(
        "/api/v1/auth/login", json={"email": "new.person@example.org", "password": "x" * 12}
    )
    assert resp.status == 401
    page = await client.get(f"/inbox/invite/{token}")
    assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    info = await (await client.get(f"/api/v1/auth/links/{token}")).json()
    assert info["purpose"] == "invite" and info["name"] == "Анна" and info["language"] == "en"

    resp = await client.post(f"/api/v1/auth/links/{token}", json={"password": "short"})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "weak_password"
    resp = await client.post(f"/api/v1/auth/links/{token}", json={"password": "Анна-пароль-42"})
    assert resp.status == 200, await resp.text()
    joined = await resp.json()
    assert joined["operator"]["invited"] is False and joined["csrf_token"]
    me = await client.get("/api/v1/auth/session")  # logged in by the cookie
    assert me.status == 200 and (await me.json())["operator"]["role"] == "manager"

    resp = await client.post(f"/api/v1/auth/links/{token}", json={"password": "another-one-42"})
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "link_used"
    resp = await client.get(f"/api/v1/auth/links/{token}")
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "link_used"
    resp = await client.post(
        "/api/v1/auth/login",
        json={"email": "new.person@example.org", "password": "Анна-пароль-42"},
    )
    assert resp.status == 200
    ops = await (await client.get("/api/v1/operators", headers=admin.headers)).json()
    anna = next(o for o in ops["items"] if o["email"] == "new.person@example.org")
    assert anna["invited"] is False and anna["active"] is True
    assert smtp.nothing_received()


async def test_without_a_sender_the_admin_gets_the_link_and_why(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    state = await (await client.get("/api/v1/system-mail", headers=admin.headers)).json()
    assert state["sender"] is None and "not set up" in state["message"]
    made = await invite(client, admin)
    assert made["mail"]["sent"] is False and made["mail"]["code"] == "mail_not_configured"
    assert "not set up" in made["mail"]["message"]
    token = token_in(made["url"])
    resp = await client.post(f"/api/v1/auth/links/{token}", json={"password": "a-good-password"})
    assert resp.status == 200
    # A second invitation of the same address is refused, nothing written.
    resp = await client.post(
        "/api/v1/invites",
        json={"email": "NEW.person@example.org", "name": "Другая"},
        headers=admin.headers,
    )
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "email_taken"
    # Only an admin invites.
    operator = await make_operator(client)
    resp = await client.post(
        "/api/v1/invites",
        json={"email": "x@example.org", "name": "X"},
        headers=operator.headers,
    )
    assert resp.status == 403


async def test_a_refusing_mail_server_is_reported_with_the_link(
    client: TestClient,  # type: ignore[type-arg]
    smtp: SmtpServer,
) -> None:
    admin = await make_operator(client, role="admin")
    smtp.recorder.rcpt_answers.append("550 5.1.1 No such user here")
    await seed_email_channel(client.app[CTX], smtp, system_mail=True)
    made = await invite(client, admin)
    assert made["mail"]["sent"] is False and made["mail"]["code"] == "mail_failed"
    assert "550 5.1.1" in made["mail"]["message"] and made["url"]
    token_in(made["url"])


async def test_unknown_expired_superseded_and_revoked_links_say_so(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    made = await invite(client, admin)
    first = token_in(made["url"])
    op_id = made["operator"]["id"]
    resp = await client.get("/api/v1/auth/links/hubl_nothing-like-it")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "link_not_found"

    again = await client.post(f"/api/v1/operators/{op_id}/invite", headers=admin.headers)
    assert again.status == 200, await again.text()
    second = token_in((await again.json())["url"])
    resp = await client.post(f"/api/v1/auth/links/{first}", json={"password": "a-good-password"})
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "link_revoked"

    async def age(session: Any) -> None:
        await session.execute(
            update(OperatorLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )

    await client.app[CTX].write(age)
    resp = await client.post(f"/api/v1/auth/links/{second}", json={"password": "a-good-password"})
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "link_expired"

    third = token_in(
        (
            await (
                await client.post(f"/api/v1/operators/{op_id}/invite", headers=admin.headers)
            ).json()
        )["url"]
    )
    off = await client.patch(
        f"/api/v1/operators/{op_id}", json={"active": False}, headers=admin.headers
    )
    assert off.status == 200
    resp = await client.get(f"/api/v1/auth/links/{third}")
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "link_revoked"
    resp = await client.post(f"/api/v1/operators/{op_id}/invite", headers=admin.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "operator_deactivated"
    # A password link is for operators who joined.
    await client.patch(f"/api/v1/operators/{op_id}", json={"active": True}, headers=admin.headers)
    resp = await client.post(f"/api/v1/operators/{op_id}/password-link", headers=admin.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "still_invited"


@pytest.fixture
async def ru_client(aiohttp_client: Any, settings: Settings) -> TestClient:  # type: ignore[type-arg]
    app: web.Application = create_app(settings.model_copy(update={"language": "ru"}))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def test_a_password_link_in_russian_ends_the_old_sessions(
    ru_client: TestClient,  # type: ignore[type-arg]
    smtp: SmtpServer,
) -> None:
    client = ru_client
    admin = await make_operator(client, role="admin", name="Мария")
    ivan = await make_operator(client, name="Иван")
    await seed_email_channel(client.app[CTX], smtp, system_mail=True)
    resp = await client.post(f"/api/v1/operators/{ivan.id}/password-link", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["mail"]["sent"] is True
    to, subject, text = await mail_text(smtp)
    assert to == ivan.email and subject == "Новый пароль для рабочего чата"
    assert "Здравствуйте, Иван!" in text and "Мария запросил новый пароль" in text
    token = token_in(text)
    # His old password works until he sets the new one.
    assert (await client.get("/api/v1/me", headers=auth(ivan.token))).status == 200
    info = await (await client.get(f"/api/v1/auth/links/{token}")).json()
    assert info["purpose"] == "reset" and info["language"] == "ru"
    resp = await client.post(f"/api/v1/auth/links/{token}", json={"password": "новый-пароль-Ивана"})
    assert resp.status == 200
    assert (await client.get("/api/v1/me", headers=auth(ivan.token))).status == 401
    resp = await client.post(
        "/api/v1/auth/login", json={"email": ivan.email, "password": ivan.password}
    )
    assert resp.status == 401


async def test_one_mailbox_sends_the_hubs_mail(
    client: TestClient,  # type: ignore[type-arg]
    smtp: SmtpServer,
) -> None:
    admin = await make_operator(client, role="admin")
    first = await seed_email_channel(client.app[CTX], smtp, system_mail=True)
    second = await seed_email_channel(client.app[CTX], smtp, address="support@company.ru")
    state = await (await client.get("/api/v1/system-mail", headers=admin.headers)).json()
    assert state == {"sender": "sales@company.ru", "message": None}
    path = f"/api/v1/channels/{second['id']}"
    resp = await client.patch(path, json={"settings": {"system_mail": True}}, headers=admin.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "system_mail_sender_taken"
    resp = await client.patch(
        f"/api/v1/channels/{first['id']}",
        json={"settings": {"system_mail": False}},
        headers=admin.headers,
    )
    assert resp.status == 200
    resp = await client.patch(path, json={"settings": {"system_mail": True}}, headers=admin.headers)
    assert resp.status == 200 and (await resp.json())["config"]["system_mail"] is True
    state = await (await client.get("/api/v1/system-mail", headers=admin.headers)).json()
    assert state["sender"] == "support@company.ru"
    # A mailbox turned off sends nothing: the admin is told mail is not set up.
    await client.patch(path, json={"active": False}, headers=admin.headers)
    made = await invite(client, admin)
    assert made["mail"]["code"] == "mail_not_configured" and made["url"]
