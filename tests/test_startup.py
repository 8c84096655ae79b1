"""The hub starts light: a channel's libraries load only when a channel of that type exists.

* no module on the way to ``create_app`` or the command line imports a provider's SDK (aiogram)
  or the Redis client at module level, and the command line module imports nothing outside the
  standard library (read from the source, so conditional paths count too);
* ``python -m hub --help`` loads no database layer, web framework or validation library;
* a real hub on SQLite without a Telegram channel, started and used, never imports aiogram,
  Redis, Alembic, asyncpg, SQLAlchemy's PostgreSQL dialects or (without HUB_GEOIP_DATABASE)
  the GeoIP reader; connecting a bot at run time then
  works at once (``startup_probe``);
* a hub that starts with a Telegram channel in its database makes the channel's live part at
  start-up; one started before a bot was connected elsewhere takes its updates and sends its
  replies without a restart, and in polling mode it starts polling on its own;
* building a context computes no password hash (each CLI command used to pay one).

How long these take is measured by ``bench/startup.py``, not here.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import argon2
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.channels.telegram.keys import TELEGRAM
from hub.channels.telegram.models import TelegramBot
from hub.context import HubContext
from hub.http import CTX
from hub.inbox.models import Channel
from hub.settings import Settings
from tests.helpers import make_operator
from tests.telegram_fake import BOT, SECRET_HEADER, TOKEN, fixture, start_fake
from tests.test_api_channel import wait_for

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
#: Libraries a hub loads only when it uses them: a channel type's SDK, the Redis client (with
#: HUB_REDIS_URL), the GeoIP reader (with HUB_GEOIP_DATABASE), the migration tool
#: (``hub migrate``) and the test tools.
ON_DEMAND = frozenset(
    {
        "aiogram",
        "aiosmtplib",
        "dkim",
        "aioimaplib",
        "redis",
        "alembic",
        "asyncpg",
        "schemathesis",
        "maxminddb",
    }
)
#: What the running hub and every command need, so ``--help`` must not load them.
HEAVY = frozenset({"sqlalchemy", "pydantic", "pydantic_settings", "aiohttp", "argon2"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in HUB.rglob("*.py") if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported: at module level and in
    class bodies, not in functions, and not under ``if TYPE_CHECKING``."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _import_time_statements(node.body)
            found += _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _import_time_statements(block)
            for handler in node.handlers:
                found += _import_time_statements(handler.body)
        elif isinstance(node, ast.ClassDef | ast.With):
            found += _import_time_statements(node.body)
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_level_imports(name: str) -> set[str]:
    """Every module importing ``name`` imports at once (packages included)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in _import_time_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.update(_with_parents(alias.name))
        elif node.module and node.level == 0:
            out.update(_with_parents(node.module))
            out.update(f"{node.module}.{a.name}" for a in node.names)  # submodules by name
    return {m for m in out if m in MODULES or not m.startswith("hub")}


def reached_from(*entries: str) -> tuple[set[str], dict[str, str]]:
    """The hub modules importing ``entries`` loads, and each outside package they import at
    module level, with the hub module that imports it."""
    seen: set[str] = set()
    outside: dict[str, str] = {}
    todo = [m for e in entries for m in _with_parents(e)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in module_level_imports(name):
            if imported in MODULES:
                todo.append(imported)
            else:
                outside.setdefault(imported.split(".")[0], name)
    return seen, outside


def test_the_import_reader_follows_module_level_imports_only() -> None:
    source = (
        "from typing import TYPE_CHECKING\nimport os.path\nif TYPE_CHECKING:\n    import aiogram\n"
        "class A:\n    import json\ndef f():\n    import redis\n"
    )
    statements = _import_time_statements(ast.parse(source).body)
    names = {a.name for s in statements for a in s.names}
    assert names == {"TYPE_CHECKING", "os.path", "json"}
    seen, outside = reached_from("hub.app")
    assert {"hub.app", "hub.channels.registry", "hub.channels.telegram.install"} <= seen
    assert {"aiohttp", "sqlalchemy", "pydantic"} <= set(outside)


@pytest.mark.parametrize(
    "entry",
    ["hub.app", "hub.__main__", "hub.channels.registry", "hub.http.openapi", "hub.models"],
)
def test_no_provider_sdk_or_redis_on_the_way_to_start(entry: str) -> None:
    _, outside = reached_from(entry)
    loaded = {name: via for name, via in outside.items() if name in ON_DEMAND}
    assert loaded == {}, f"importing {entry} loads {loaded} (library: the module importing it)"


def test_the_command_line_module_imports_only_the_standard_library() -> None:
    _, outside = reached_from("hub.__main__")
    third_party = {n: via for n, via in outside.items() if n not in sys.stdlib_module_names}
    assert third_party == {}, "each command imports what it needs when it runs"


def test_help_loads_no_database_layer() -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hub", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "operator" in run.stdout
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "argparse" in imported  # the reader sees the imports
    assert imported & (HEAVY | ON_DEMAND) == set()


def test_a_hub_without_telegram_loads_aiogram_only_once_a_bot_is_connected(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-m", "tests.startup_probe", str(db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["api_inbound"] == 201 and report["api_reply"] == 201
    assert report["without_telegram"] == []
    assert report["live_without_telegram"] is False
    # Connected at run time: it works in the same process, without a restart.
    assert report["telegram_connect"] == 201 and report["telegram_update"] == 200
    assert report["with_telegram"] == ["aiogram"]
    assert report["live_with_telegram"] is True


async def _add_bot_directly(ctx: HubContext) -> int:
    """A Telegram channel as a connect on another process leaves it in the database."""

    async def unit(session: AsyncSession) -> int:
        ch = Channel(
            type="telegram",
            name="Shop bot",
            secret="s" * 43,
            config={"username": BOT["username"], "bot_id": BOT["id"]},
        )
        session.add(ch)
        await session.flush()
        session.add(
            TelegramBot(
                channel_id=ch.id,
                token=TOKEN,
                bot_user_id=BOT["id"],
                username=BOT["username"],
                poll_offset=0,
            )
        )
        return ch.id

    return await ctx.write(unit)


async def test_a_telegram_channel_in_the_database_is_made_live_at_start(
    aiohttp_client: Any, settings: Settings
) -> None:
    first = await aiohttp_client(create_app(settings))
    assert first.app[TELEGRAM].live is None
    channel_id = await _add_bot_directly(first.app[CTX])
    second = await aiohttp_client(create_app(settings))
    live = second.app[TELEGRAM].live  # made while the app started, before any request
    assert live is not None
    assert await live.bots.get(channel_id) is not None


async def test_a_bot_connected_on_another_process_works_here_without_restart(
    aiohttp_server: Any, aiohttp_client: Any, settings: Settings
) -> None:
    api = await start_fake(aiohttp_server)
    tuned = settings.model_copy(update={"telegram_api_url": api.base})
    here = await aiohttp_client(create_app(tuned))
    there = await aiohttp_client(create_app(tuned))
    admin = await make_operator(there, role="admin")
    resp = await there.post(
        "/api/v1/channels",
        json={"type": "telegram", "name": "Shop bot", "token": TOKEN},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    bot = await resp.json()
    await there.close()  # only this process is left to take updates and send replies
    assert here.app[TELEGRAM].live is None

    resp = await here.post(
        f"/webhooks/telegram/{bot['id']}",
        json=fixture("text"),
        headers={SECRET_HEADER: bot["secret"]},
    )
    assert resp.status == 200, await resp.text()
    assert here.app[TELEGRAM].live is not None
    [conv] = (await (await here.get("/api/v1/conversations", headers=admin.headers)).json())[
        "items"
    ]
    resp = await here.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"body": "Hello from the other process"},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()

    async def sent() -> bool:
        return any(c.params.get("text") == "Hello from the other process" for c in api.sends)

    await wait_for(sent)


async def test_in_polling_mode_a_bot_connected_elsewhere_is_polled_without_restart(
    aiohttp_server: Any,
    aiohttp_client: Any,
    settings: Settings,
) -> None:
    api = await start_fake(aiohttp_server)
    tuned = settings.model_copy(
        update={
            "telegram_api_url": api.base,
            "telegram_polling": True,
            "telegram_scan_interval_s": 0.05,
        }
    )
    here = await aiohttp_client(create_app(tuned))
    assert here.app[TELEGRAM].live is None
    channel_id = await _add_bot_directly(here.app[CTX])

    async def polling() -> bool:
        return bool(api.of("getUpdates"))

    await wait_for(polling)
    live = here.app[TELEGRAM].live
    assert live is not None and live.poller is not None

    async def lease(session: AsyncSession) -> str | None:
        return await session.scalar(
            select(TelegramBot.poll_owner).where(TelegramBot.channel_id == channel_id)
        )

    assert await here.app[CTX].read(lease) == live.poller.owner


async def test_building_a_context_computes_no_password_hash(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    hashed: list[str] = []
    library_hash = argon2.PasswordHasher.hash

    def counted(self: argon2.PasswordHasher, password: str | bytes, **kw: Any) -> str:
        hashed.append("hash")
        return library_hash(self, password, **kw)

    monkeypatch.setattr(argon2.PasswordHasher, "hash", counted)
    ctx = HubContext.build(settings)
    try:
        assert hashed == []
        # The first check makes the stand-in hash that unknown emails are checked against.
        assert await ctx.hasher.verify(None, "any password") is False
        assert hashed == ["hash"]
        stored = await ctx.hasher.hash("the right password")
        assert await ctx.hasher.verify(stored, "the right password") is True
        assert await ctx.hasher.verify(stored, "a wrong password") is False
        assert len(hashed) == 2
    finally:
        await ctx.engine.dispose()
