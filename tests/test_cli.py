"""``python -m hub``: migrate, operator create, channel add and demo, run as a real subprocess
on a SQLite file, the way an admin runs them; and the secret key kept on first run."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.context import HubContext
from hub.errors import Unauthorized
from hub.inbox.models import Channel
from hub.inbox.staff import login
from hub.settings import Settings
from tests.cli_run import Run, migrated_cli

SHOWN_ONCE = re.compile(r"password \(shown once\): (\S+)")
SECRET_ONCE = re.compile(r"secret \(shown once\): (\S+)")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def hub_cli(tmp_path: Path, db_url: str) -> Run:
    return migrated_cli(tmp_path, db_url)


async def _can_log_in(db_url: str, email: str, password: str) -> bool:
    ctx = HubContext.build(Settings(database_url=db_url, fast_password_hash=True))
    await ctx.start()
    try:
        token, operator = await login(ctx, email, password)
    except Unauthorized:
        return False
    finally:
        await ctx.close()
    assert token.startswith("hub_")
    assert operator["email"] == email
    return True


async def _channel_secrets(db_url: str) -> dict[str, str]:
    ctx = HubContext.build(Settings(database_url=db_url, fast_password_hash=True))
    await ctx.start()
    try:
        rows = await ctx.read(lambda s: s.execute(select(Channel.name, Channel.secret)))
        return {str(name): str(secret) for name, secret in rows}
    finally:
        await ctx.close()


async def _deal_statuses(db_url: str) -> list[tuple[str, str]]:
    from hub.crm_sync.models import Deal, Stage

    ctx = HubContext.build(Settings(database_url=db_url, fast_password_hash=True))
    await ctx.start()
    try:
        rows = await ctx.read(
            lambda s: s.execute(
                select(Deal.status, Stage.name)
                .join(Stage, Stage.id == Deal.stage_id)
                .order_by(Deal.id)
            )
        )
        return [(str(status), str(stage)) for status, stage in rows]
    finally:
        await ctx.close()


def test_migrate_twice_is_harmless(hub_cli: Run) -> None:
    again = hub_cli("migrate")
    assert again.returncode == 0, again.stderr


async def test_operator_create_prints_a_password_once_that_logs_in(
    hub_cli: Run, db_url: str
) -> None:
    out = hub_cli(
        "operator", "create", "--email", "a@example.com", "--name", "Anna", "--role", "manager"
    )
    assert out.returncode == 0, out.stderr
    passwords = SHOWN_ONCE.findall(out.stdout)
    assert len(passwords) == 1, out.stdout
    assert out.stdout.count(passwords[0]) == 1
    assert "role manager" in out.stdout
    assert await _can_log_in(db_url, "a@example.com", passwords[0])
    assert not await _can_log_in(db_url, "a@example.com", passwords[0] + "x")


async def test_password_stdin_uses_the_given_password(hub_cli: Run, db_url: str) -> None:
    out = hub_cli(
        "operator",
        "create",
        "--email",
        "Oleg@Example.com",
        "--name",
        "Oleg",
        "--password-stdin",
        stdin="my own long password\n",
    )
    assert out.returncode == 0, out.stderr
    assert "shown once" not in out.stdout
    assert "my own long password" not in out.stdout + out.stderr
    assert await _can_log_in(db_url, "oleg@example.com", "my own long password")


def test_password_stdin_refuses_a_short_password(hub_cli: Run) -> None:
    out = hub_cli(
        "operator",
        "create",
        "--email",
        "b@example.com",
        "--name",
        "B",
        "--password-stdin",
        stdin="short\n",
    )
    assert out.returncode != 0
    assert "at least" in out.stderr
    assert "Traceback" not in out.stderr


def test_duplicate_email_fails_clearly(hub_cli: Run) -> None:
    args = ("operator", "create", "--email", "a@example.com", "--name", "Anna")
    assert hub_cli(*args).returncode == 0
    again = hub_cli(*args[:2], "--email", "A@EXAMPLE.COM", "--name", "Anna Two")
    assert again.returncode != 0
    assert "a@example.com exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert "shown once" not in again.stdout


async def _pool_numbers(db_url: str) -> list[str]:
    from hub.crm_sync.number_models import PoolNumber

    ctx = HubContext.build(Settings(database_url=db_url, fast_password_hash=True))
    await ctx.start()
    try:
        rows = await ctx.read(
            lambda s: s.scalars(select(PoolNumber.number).order_by(PoolNumber.number))
        )
        return [str(n) for n in rows]
    finally:
        await ctx.close()


async def test_demo_twice_keeps_the_data(hub_cli: Run, db_url: str) -> None:
    first = hub_cli("demo")
    assert first.returncode == 0, first.stderr
    passwords = SHOWN_ONCE.findall(first.stdout)
    secrets = SECRET_ONCE.findall(first.stdout)
    assert len(passwords) == 1 and len(secrets) == 1, first.stdout
    assert "admin@example.com" in first.stdout
    assert "6 demo deals on the board" in first.stdout
    assert await _deal_statuses(db_url) == [
        ("open", "New"),
        ("open", "Proposal sent"),
        ("open", "Negotiation"),
        ("open", "Contract"),
        ("won", "Won"),
        ("lost", "Lost"),
    ]

    # The demo site's phone numbers come from a pool (dynamic number insertion).
    assert await _pool_numbers(db_url) == [
        "+74951234501",
        "+74951234502",
        "+74951234503",
    ]

    second = hub_cli("demo")
    assert second.returncode == 0, second.stderr
    assert "kept" in second.stdout
    assert "shown once" not in second.stdout
    assert await _can_log_in(db_url, "admin@example.com", passwords[0])
    assert (await _channel_secrets(db_url))["Demo API"] == secrets[0]


async def test_channel_add_prints_its_secret_once(hub_cli: Run, db_url: str) -> None:
    out = hub_cli(
        "channel", "add", "api", "--name", "X", "--callback-url", "https://crm.example.com/hook"
    )
    assert out.returncode == 0, out.stderr
    secrets = SECRET_ONCE.findall(out.stdout)
    assert len(secrets) == 1
    assert out.stdout.count(secrets[0]) == 1
    assert await _channel_secrets(db_url) == {"X": secrets[0]}


def test_channel_add_refuses_a_bad_callback_url(hub_cli: Run) -> None:
    out = hub_cli("channel", "add", "api", "--name", "Y", "--callback-url", "ftp://x")
    assert out.returncode != 0
    assert "callback_url" in out.stderr


def test_secret_key_file_is_created_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
    monkeypatch.delenv("HUB_SECRET_KEY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    key_file = tmp_path / ".hub-secret-key"
    assert not key_file.exists()
    key = Settings().resolved_secret_key()
    assert len(key) >= 32
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be private"
    assert Settings().resolved_secret_key() == key
    monkeypatch.setenv("HUB_SECRET_KEY", "from-the-environment")
    assert Settings().resolved_secret_key() == "from-the-environment"


def test_serve_creates_the_secret_key_file(tmp_path: Path, hub_cli: Run) -> None:
    """``serve`` makes the key on first run; a port already taken makes it exit right after."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = hub_cli("serve", "--host", "127.0.0.1", "--port", port)
    assert out.returncode != 0
    assert (tmp_path / ".hub-secret-key").read_text().strip()
