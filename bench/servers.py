"""Servers under test, each in a subprocess of its own so it gets a core of its own.

* ``sqlite_hub``: ``python -m hub serve`` on a fresh SQLite file, in-process bus (embedded).
* ``postgres_hub``: the same on a fresh PostgreSQL database ``hub_bench_<random>`` and Redis
  Streams under the key prefix ``hubbench:<random>`` (served); both are removed at the end.
* ``baseline_relay``: ``bench.baseline_relay`` on a fresh SQLite file.
* ``widget_baseline``: ``bench.widget_baseline`` (the widget benchmark's bare relay) likewise.

``hub_src`` is a folder holding another ``hub`` package to run (a snapshot of a commit, say)
instead of this checkout's. Each hub is migrated, gets an admin operator and an API channel,
and is described by a ``Target`` for the load generator; ``extra_env`` adds ``HUB_*`` settings
(the widget benchmark raises the widget's rate limits with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from bench.load import Target

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-" + secrets.token_urlsafe(12)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server subprocess: its address, its process and what it measures for the load."""

    name: str
    base_url: str
    process: asyncio.subprocess.Process
    target: Target | None = None
    #: The hub's database (``HUB_DATABASE_URL``), for benchmarks that read it directly.
    database_url: str = ""

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the server process now, in KiB (``VmRSS`` in ``/proc``)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for process {self.process.pid}")

    async def _metrics(self) -> dict[str, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base_url + "/metrics") as resp:
            text = await resp.text()
        return dict(line.split()[:2] for line in text.splitlines() if line.startswith("hub_"))

    async def commit_counters(self) -> tuple[float, float] | None:
        """The hub's group commits and the writes they held so far (from ``/metrics``)."""
        if "baseline" in self.name:
            return None
        values = await self._metrics()
        try:
            return float(values["hub_commit_batches"]), float(values["hub_commit_units"])
        except (KeyError, ValueError):
            return None

    async def intake_decided(self) -> int | None:
        """New conversations the hub's lead intake has decided so far (None: no intake)."""
        if "baseline" in self.name:
            return None
        value = (await self._metrics()).get("hub_lead_intake_decided")
        return None if value is None else int(float(value))


def _env(extra: dict[str, str], hub_src: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    path = [str(hub_src)] if hub_src else []
    env.update(
        PYTHONPATH=os.pathsep.join([*path, str(REPO)]),
        HUB_SECRET_KEY=secrets.token_urlsafe(32),
        HUB_FAST_PASSWORD_HASH="true",
        HUB_LOG_LEVEL="WARNING",
        **extra,
    )
    # Settings to try on the measured hub, e.g. BENCH_HUB_SETTINGS="HUB_WRITE_LANES=2".
    for pair in os.environ.get("BENCH_HUB_SETTINGS", "").split(","):
        name, _, value = pair.partition("=")
        if name.strip().startswith("HUB_"):
            env[name.strip()] = value.strip()
    env.pop("HTTP_PROXY", None)
    env.pop("http_proxy", None)
    return env


async def _run(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.decode(errors='replace')}")


async def _wait_healthy(server: Server, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(server.base_url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} did not become healthy in {timeout_s} s")


@contextlib.asynccontextmanager
async def _serving(
    name: str, args: list[str], env: dict[str, str], workdir: Path, port: int
) -> AsyncIterator[Server]:
    log = (workdir / f"{name}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
    )
    server = Server(name, f"http://127.0.0.1:{port}", process)
    try:
        await _wait_healthy(server)
        yield server
    except BaseException:
        log.flush()
        tail = (workdir / f"{name}.log").read_text(errors="replace")[-4000:]
        print(f"--- {name} log (end) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def _provision(server: Server) -> Target:
    """Log the admin in and connect an API channel; answer where to send and listen."""
    async with aiohttp.ClientSession(raise_for_status=True) as http:
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        async with http.post(server.base_url + "/api/v1/auth/login", json=login) as resp:
            token = (await resp.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}
        body = {"type": "api", "name": "bench"}
        async with http.post(server.base_url + "/api/v1/channels", json=body, headers=auth) as r:
            channel = await r.json()
    ws_base = server.base_url.replace("http://", "ws://", 1)
    return Target(
        inbound_url=f"{server.base_url}/api/v1/channels/{channel['id']}/inbound",
        inbound_headers={"Authorization": f"Bearer {channel['secret']}"},
        ws_url=f"{ws_base}/ws/operator",
        ws_headers=auth,
    )


@contextlib.asynccontextmanager
async def _hub(
    name: str,
    workdir: Path,
    extra_env: dict[str, str],
    hub_src: Path | None,
    serve_module: str = "hub",
) -> AsyncIterator[Server]:
    env = _env(extra_env, hub_src)
    await _run(["-m", "hub", "migrate"], env, workdir)
    await _run(
        [
            "-m",
            "hub",
            "operator",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Bench Admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        env,
        workdir,
        stdin=ADMIN_PASSWORD + "\n",
    )
    port = free_port()
    serve = ["-m", serve_module, "serve", "--port", str(port)]
    async with _serving(name, serve, env, workdir, port) as s:
        s.database_url = env["HUB_DATABASE_URL"]
        s.target = await _provision(s)
        yield s


@contextlib.asynccontextmanager
async def sqlite_hub(
    hub_src: Path | None = None,
    extra_env: dict[str, str] | None = None,
    serve_module: str = "hub",
) -> AsyncIterator[Server]:
    """``serve_module`` runs ``serve`` (``bench.traced_hub``: under tracemalloc)."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        workdir = Path(tmp)
        env = {**(extra_env or {}), "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}"}
        async with _hub("sqlite", workdir, env, hub_src, serve_module) as server:
            yield server


@contextlib.asynccontextmanager
async def postgres_hub(
    hub_src: Path | None = None, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    suffix = secrets.token_hex(4)
    database = f"hub_bench_{suffix}"
    prefix = f"hubbench:{suffix}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        try:
            with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
                dsn = PG_ADMIN_DSN.rpartition("/")[0] + "/" + database
                env = {
                    **(extra_env or {}),
                    "HUB_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
                    "HUB_REDIS_URL": REDIS_URL,
                    "HUB_REDIS_PREFIX": prefix,
                }
                async with _hub("postgres+redis", Path(tmp), env, hub_src) as server:
                    yield server
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await _delete_redis_keys(prefix)
    finally:
        await admin.close()


async def _delete_redis_keys(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def baseline_relay() -> AsyncIterator[Server]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        args = ["-m", "bench.baseline_relay", "--port", str(port), "--db", str(workdir / "r.db")]
        async with _serving("baseline", args, _env({}), workdir, port) as server:
            ws_base = server.base_url.replace("http://", "ws://", 1)
            server.target = Target(
                inbound_url=server.base_url + "/inbound",
                inbound_headers={},
                ws_url=ws_base + "/ws",
                ws_headers={},
            )
            yield server


@contextlib.asynccontextmanager
async def widget_baseline() -> AsyncIterator[Server]:
    """``bench.widget_baseline``: it serves the hub's widget and operator paths, so the
    widget benchmark drives it like a hub (website token ``bench``, no operator token)."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        args = ["-m", "bench.widget_baseline", "--port", str(port), "--db", str(workdir / "w.db")]
        async with _serving("widget-baseline", args, _env({}), workdir, port) as server:
            ws_base = server.base_url.replace("http://", "ws://", 1)
            server.target = Target(
                inbound_url=server.base_url + "/api/widget/v1/sessions",
                inbound_headers={},
                ws_url=ws_base + "/ws/operator",
                ws_headers={},
            )
            yield server
