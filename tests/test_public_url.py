"""A newcomer's ``HUB_PORT=18200 make run``: with ``HUB_PUBLIC_URL`` unset the hub derives its
public address from the address and port it serves on, so the inbox's log-in (which checks the
page's Origin against that address) works on the port chosen."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from hub.settings import Settings, derived_public_url
from tests.cli_run import REPO, migrated_cli

SHOWN_ONCE = re.compile(r"password \(shown once\): (\S+)")


def test_the_public_url_follows_host_and_port_unless_set() -> None:
    assert Settings(port=18200).public_url == "http://127.0.0.1:18200"
    assert Settings(host="0.0.0.0", port=9000).public_url == "http://127.0.0.1:9000"
    assert Settings(host="hub.lan").served_at(None, 81).public_url == "http://hub.lan:81"
    assert derived_public_url("::1", 80) == "http://[::1]:80"
    set_ = Settings(public_url="https://hub.example.ru", port=18200)
    assert set_.served_at("0.0.0.0", 9).public_url == "https://hub.example.ru"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serving(cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def _ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):  # a readiness signal, polled: /readyz answers once it serves
            assert proc.poll() is None, "serve exited"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("the hub never became ready")


async def test_hub_port_alone_gives_an_inbox_one_can_log_in_to(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    run = migrated_cli(tmp_path, db_url)
    made = run("operator", "create", "--email", "a@example.com", "--name", "A", "--role", "admin")
    assert made.returncode == 0, made.stderr
    password = SHOWN_ONCE.findall(made.stdout)[0]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=db_url,
        HUB_FAST_PASSWORD_HASH="true",
        HUB_PORT=str(port),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    base = f"http://127.0.0.1:{port}"
    with _serving(tmp_path, env) as proc:
        await _ready(base, proc)
        # unsafe: the jar keeps cookies of an IP address, as a browser does
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(
                f"{base}/api/v1/auth/session",
                json={"email": "a@example.com", "password": password},
                headers={"Origin": base},
            ) as resp:
                assert resp.status == 200, await resp.text()
                csrf = (await resp.json())["csrf_token"]
            async with http.get(f"{base}/api/v1/me", headers={"Origin": base}) as resp:
                assert resp.status == 200, await resp.text()
            async with http.get(f"{base}/api/openapi.json") as resp:
                assert (await resp.json())["servers"] == [{"url": base}]
            async with http.delete(
                f"{base}/api/v1/auth/session", headers={"Origin": base, "X-CSRF-Token": csrf}
            ) as resp:
                assert resp.status == 200
