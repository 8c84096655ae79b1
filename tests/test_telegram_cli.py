"""``python -m hub channel add telegram``, run as a real subprocess against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from tests.cli_run import REPO
from tests.telegram_fake import TOKEN, start_fake


async def run_hub(tmp_path: Path, env: dict[str, str], *args: str, stdin: str = "") -> Any:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_channel_add_telegram_connects_the_bot(tmp_path: Path, aiohttp_server: Any) -> None:
    api = await start_fake(aiohttp_server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        HUB_TELEGRAM_API_URL=api.base,
        HUB_PUBLIC_URL="https://hub.example.com",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    assert (await run_hub(tmp_path, env, "migrate"))[0] == 0
    code, out, err = await run_hub(
        tmp_path, env, "channel", "add", "telegram", "--name", "Shop", "--token-stdin", stdin=TOKEN
    )
    assert code == 0, err
    assert "bot: @hub_shop_bot" in out
    assert "webhook: https://hub.example.com/webhooks/telegram/1" in out
    assert TOKEN not in out + err
    [hook] = api.of("setWebhook")
    assert hook.params["url"] == "https://hub.example.com/webhooks/telegram/1"
    code, out, err = await run_hub(
        tmp_path, env, "channel", "add", "telegram", "--name", "Bad", "--token", "12345:short"
    )
    assert code == 2 and "not a bot token" in err
