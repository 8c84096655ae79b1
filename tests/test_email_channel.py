"""Connecting a mailbox: its settings checked, both logins tried against real servers, a failure
said plainly with nothing created, and no password or key in any answer, output or log.

The SMTP side runs against a real aiosmtpd server over TLS (implicit and STARTTLS); the IMAP side
here only fails (a port nobody listens on): the connecting path is tested with Dovecot.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.channels.email.config import PRESETS, normalize_pem, split_settings
from hub.errors import InvalidInput
from tests.cli_run import REPO
from tests.email_helpers import ADDRESS, channel_settings
from tests.email_smtp import (
    PASSWORD,
    TlsFiles,
    closed_port,
    make_dkim_key,
    start_smtp,
    tls_files,  # noqa: F401 - fixture
    trust,  # noqa: F401 - fixture
)
from tests.helpers import make_operator
from tests.test_telegram_cli import run_hub


async def email_channels(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get("/api/v1/channels", headers=headers)
    assert resp.status == 200
    return [c for c in (await resp.json())["items"] if c["type"] == "email"]


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_a_mailbox_whose_imap_fails_is_not_connected_and_says_why(
    client: TestClient,  # type: ignore[type-arg]
    trust: TlsFiles,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    security: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await make_operator(client, role="admin")
    smtp = await start_smtp(trust, security)
    try:
        body = {"type": "email", "name": "Sales", **channel_settings(smtp)}
        resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
        text = await resp.text()
        assert resp.status == 422, text
        error = (await resp.json())["error"]
        # The SMTP login went through (it is not named); the IMAP server could not be reached.
        assert error["code"] == "imap_check_failed"
        assert error["message"].startswith("the mailbox could not be connected: IMAP: ")
        assert f"could not connect to 127.0.0.1:{body['imap']['port']}" in error["message"]
        assert "SMTP" not in error["message"]
        assert smtp.recorder.logins == [ADDRESS]

        body["smtp"] = {**smtp.settings(), "password": "wrong-password"}
        resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
        error = (await resp.json())["error"]
        assert resp.status == 422 and error["code"] == "mailbox_check_failed"
        assert "IMAP: could not connect" in error["message"]
        assert f"SMTP: localhost:{smtp.port} refused the mailbox's login (535" in error["message"]
        assert "check the channel's SMTP password" in error["message"]
        assert smtp.nothing_received()
    finally:
        await smtp.close()
    assert await email_channels(client, admin.headers) == []
    assert PASSWORD not in text and "wrong-password" not in await resp.text()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be connected" in logged
    assert PASSWORD not in logged and "wrong-password" not in logged


async def test_an_unreachable_smtp_server_and_bad_settings_are_refused(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    imap = {"host": "127.0.0.1", "port": closed_port(), "password": PASSWORD}
    smtp_port = closed_port()
    body: dict[str, Any] = {
        "type": "email",
        "name": "Sales",
        "address": ADDRESS,
        "imap": imap,
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "starttls"},
    }
    resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
    error = (await resp.json())["error"]
    assert resp.status == 422 and error["code"] == "mailbox_check_failed", error
    assert f"SMTP: could not reach 127.0.0.1:{smtp_port}" in error["message"]

    cases: list[tuple[dict[str, Any], str]] = [
        ({"preset": "gmail"}, "unknown_email_preset"),
        ({"smtp": {"host": "127.0.0.1", "security": "none"}}, "invalid_email_settings"),
        ({"address": "not an address"}, "invalid_email_settings"),
        ({"imap": {"host": "127.0.0.1"}}, "invalid_email_settings"),  # no password
        ({"dkim": {"selector": "hub", "domain": "company.ru"}}, "invalid_email_settings"),
        (
            {"dkim": {"selector": "hub", "domain": "company.ru", "private_key": "secret-ish"}},
            "invalid_email_settings",
        ),
        ({"colour": "red"}, "invalid_email_settings"),
    ]
    for change, code in cases:
        resp = await client.post("/api/v1/channels", json={**body, **change}, headers=admin.headers)
        text = await resp.text()
        assert resp.status == 422, (change, text)
        assert (await resp.json())["error"]["code"] == code, (change, text)
        assert PASSWORD not in text and "secret-ish" not in text
    operator = await make_operator(client)
    resp = await client.post("/api/v1/channels", json=body, headers=operator.headers)
    assert resp.status == 403
    assert await email_channels(client, admin.headers) == []


def test_presets_fill_the_servers_and_secrets_stay_out_of_the_config() -> None:
    public, secrets = split_settings(
        {"address": "Sales@Company.ru", "preset": "yandex", "imap.password": "app-pass"}
    )
    assert public["address"] == "sales@company.ru"
    assert public["imap"] == {
        "host": "imap.yandex.ru",
        "port": 993,
        "security": "tls",
        "login": "Sales@Company.ru",
        "folder": "INBOX",
    }
    assert public["smtp"] == {
        "host": "smtp.yandex.ru",
        "port": 465,
        "security": "tls",
        "login": "Sales@Company.ru",
    }
    # One app password serves both (Yandex 360, Mail.ru).
    assert (secrets.imap_password, secrets.smtp_password) == ("app-pass", "app-pass")
    assert "app-pass" not in repr(public) and "app-pass" not in repr(secrets)
    public, _ = split_settings(
        {
            "address": "sales@company.ru",
            "preset": "mailru",
            "imap": {"password": "p"},
            "smtp": {"security": "starttls"},
        }
    )
    assert public["smtp"]["host"] == "smtp.mail.ru"
    # A preset fills what is left out; what the admin gave wins, STARTTLS with its port 587.
    assert (public["smtp"]["security"], public["smtp"]["port"]) == ("starttls", 587)
    assert PRESETS["mailru"]["imap"]["host"] == "imap.mail.ru"
    with pytest.raises(InvalidInput):
        split_settings({"address": "a@b.ru", "imap": {"host": "x", "port": "abc", "password": "p"}})


def test_a_pem_key_survives_one_line_and_escaped_newlines(tmp_path: Path) -> None:
    key = make_dkim_key(tmp_path).private_pem
    assert normalize_pem(" ".join(key.split("\n"))) == key
    assert normalize_pem(key.replace("\n", "\\n")) == key
    assert normalize_pem(key) == key


async def test_channel_add_email_checks_the_logins_and_says_what_failed(
    tmp_path: Path,
    tls_files: TlsFiles,  # noqa: F811
) -> None:
    smtp = await start_smtp(tls_files, "starttls")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        SSL_CERT_FILE=str(tls_files.cert),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    imap_port = closed_port()
    try:
        assert (await run_hub(tmp_path, env, "migrate"))[0] == 0
        code, out, err = await run_hub(tmp_path, env, "channel", "add", "email", "--help")
        assert code == 0
        for flag in ("--preset", "--imap-password-stdin", "--smtp-security", "--folder"):
            assert flag in out
        args = [
            "channel", "add", "email", "--name", "Sales", "--address", ADDRESS,
            "--imap-host", "127.0.0.1", "--imap-port", str(imap_port),
            "--imap-password-stdin", "--smtp-host", "localhost", "--smtp-port", str(smtp.port),
            "--smtp-security", "starttls",
        ]  # fmt: skip
        code, out, err = await run_hub(tmp_path, env, *args, stdin=PASSWORD + "\n")
        assert code == 2, (out, err)
        said = "error: the mailbox could not be connected: IMAP: could not connect to "
        assert f"{said}127.0.0.1:{imap_port}" in err
        assert "SMTP" not in err  # its login was checked and went through
        assert smtp.recorder.logins == [ADDRESS]
        assert PASSWORD not in out + err
        code, out, err = await run_hub(tmp_path, env, "channel", "add", "email", "--name", "X")
        assert code == 2 and "email channel setting address: Field required" in err
    finally:
        await smtp.close()


async def test_servers_that_never_answer_are_refused_within_the_check_bound(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both servers accept the connection and then say nothing (frozen): the admin gets a 422
    naming them within the check's bound, not a request that hangs, and nothing is made."""
    import asyncio

    from hub.channels.email import connect

    monkeypatch.setattr(connect, "CHECK_S", 1.0)
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    admin = await make_operator(client, role="admin")
    body = {
        "type": "email",
        "name": "Sales",
        "address": ADDRESS,
        "imap": {"host": "127.0.0.1", "port": port, "password": "p"},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "starttls", "password": "p"},
    }
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        resp = await client.post("/api/v1/channels", json=body, headers=admin.headers)
        assert loop.time() - started < 10
        error = (await resp.json())["error"]
        assert resp.status == 422 and error["code"] == "mailbox_check_failed", error
        assert f"IMAP: 127.0.0.1:{port} did not answer within 1 s" in error["message"]
        assert f"SMTP: 127.0.0.1:{port} did not answer within 1 s" in error["message"]
    finally:
        for writer in held:
            writer.close()
        server.close()
    assert await email_channels(client, admin.headers) == []
