"""How fast the hub's commands start, and how much memory an idle server holds.

``.venv/bin/python -m bench.startup`` (about 1.5 minutes; ``--runs`` repeats, 9 by default). Every
command is a fresh process, timed from its start to its exit; the baseline of the same run is
``python -c pass`` (the interpreter's own start), and each figure is the median of the runs,
which are interleaved so that the machine's other work weighs on all of them alike:

* ``python -m hub --help``;
* ``python -m hub operator create`` on a migrated SQLite database, with the production password
  hash (argon2id with the library's defaults, about 0.1 s of the command on two cores);
* ``python -m hub serve`` on a SQLite database with the demo's API and widget channels and no
  Telegram channel: the time until ``/readyz`` answers 200, then its resident memory (VmRSS)
  after a second of idling, and its peak (VmHWM);
* the same server with a Telegram channel in the database (its rows written directly, so no Bot
  API is asked), which loads aiogram while it starts: what a hub with Telegram pays.

``--before DIR`` measures another ``hub`` package too, in the same runs (a snapshot of an older
commit: ``git archive <commit> hub widget | tar -x -C DIR``), which doubles the time. The
packages' bytecode is written first, as an installation has it. Results go to stdout as Markdown
tables and to ``bench/results/startup.json``.

Targets (issue 13): ``--help`` under 0.3 s over the baseline, ``operator create`` under 0.5 s
over it, an idle server without a Telegram channel under 90 MB resident.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "startup.json"
PYTHON = sys.executable
TARGET_S = {"python -m hub --help": 0.3, "python -m hub operator create": 0.5}
RSS_TARGET_MB = 90.0


def _env(db: Path, hub_src: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("PYTHONPATH", None)
    if hub_src is not None:
        env["PYTHONPATH"] = str(hub_src)
    env.update(
        HUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        HUB_SECRET_KEY="bench-" + "k" * 40,
        HUB_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def timed(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Run a process to its end: its wall and CPU seconds. (Not its peak memory: the system
    counts a child's from its parent's size at the fork, this process's.)"""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} exited with {proc.returncode}")
    return {"wall_s": elapsed, "cpu_s": usage.ru_utime + usage.ru_stime}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


def serve_once(env: dict[str, str], cwd: Path, settle_s: float) -> dict[str, float]:
    """Start ``hub serve``: seconds until /readyz is 200, then idle VmRSS and VmHWM in MB."""
    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, "-m", "hub", "serve", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/readyz"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        ready = time.perf_counter() - started
        time.sleep(settle_s)
        return {
            "ready_s": ready,
            "rss_mb": _status_mb(proc.pid, "VmRSS"),
            "peak_mb": _status_mb(proc.pid, "VmHWM"),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def add_telegram_channel(db: Path) -> None:
    """A Telegram channel as a connected bot leaves it, without asking the Bot API."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.channels.telegram.models import TelegramBot
    from hub.context import HubContext
    from hub.inbox.models import Channel
    from hub.settings import Settings

    ctx = HubContext.build(Settings(database_url=f"sqlite+aiosqlite:///{db}"))
    await ctx.start()
    try:

        async def unit(session: AsyncSession) -> None:
            ch = Channel(
                type="telegram",
                name="Bench bot",
                secret=secrets.token_urlsafe(32),
                config={"username": "bench_bot", "bot_id": 4242},
            )
            session.add(ch)
            await session.flush()
            session.add(
                TelegramBot(
                    channel_id=ch.id,
                    token="4242:" + "A" * 35,
                    bot_user_id=4242,
                    username="bench_bot",
                    poll_offset=0,
                )
            )

        await ctx.write(unit)
    finally:
        await ctx.close()


def prepare(folder: Path, name: str, *, telegram: bool) -> Path:
    """A migrated database with the demo's channels (and a Telegram one), made by child
    processes: the peak memory the system reports for a child starts from its parent's, so
    this process stays small."""
    db = folder / f"{name}.db"
    env = _env(db, None, HUB_FAST_PASSWORD_HASH="true")
    for command in (["migrate"], ["demo"]):
        subprocess.run(
            [PYTHON, "-m", "hub", *command], env=env, cwd=folder, check=True, capture_output=True
        )
    if telegram:
        subprocess.run(
            [PYTHON, "-m", "bench.startup", "--add-telegram", str(db)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return db


def compile_bytecode(package: Path) -> None:
    """Write the package's bytecode, as ``pip install`` does: a checkout run with
    PYTHONDONTWRITEBYTECODE=1 (as in the Dockerfile) would compile every module at each start."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(package)], env=env, check=True)


def _median(samples: list[dict[str, float]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def measure(opts: argparse.Namespace) -> dict[str, dict[str, list[dict[str, float]]]]:
    sources: dict[str, Path | None] = {"now": None}
    if opts.before:
        sources["before"] = opts.before.resolve()
    samples: dict[str, dict[str, list[dict[str, float]]]] = {s: {} for s in sources}
    for hub_src in sources.values():
        compile_bytecode((hub_src or ROOT) / "hub")
    with tempfile.TemporaryDirectory(prefix="hub-bench-startup-") as tmp:
        folder = Path(tmp)
        plain = prepare(folder, "plain", telegram=False)
        with_bot = prepare(folder, "telegram", telegram=True)
        for run in range(opts.runs):
            for source, hub_src in sources.items():
                env = _env(plain, hub_src)
                email = f"bench-{secrets.token_hex(6)}@example.com"
                commands = {
                    "python -c pass": [PYTHON, "-c", "pass"],
                    "python -m hub --help": [PYTHON, "-m", "hub", "--help"],
                    "python -m hub operator create": [
                        *[PYTHON, "-m", "hub", "operator", "create"],
                        *["--email", email, "--name", "Bench"],
                    ],
                }
                got = samples[source]
                for name, args in commands.items():
                    got.setdefault(name, []).append(timed(args, env, folder))
                got.setdefault("serve, no Telegram channel", []).append(
                    serve_once(env, folder, opts.settle)
                )
                got.setdefault("serve, a Telegram channel", []).append(
                    serve_once(_env(with_bot, hub_src), folder, opts.settle)
                )
            print(f"run {run + 1}/{opts.runs} done", file=sys.stderr)
    return samples


def report(samples: dict[str, dict[str, list[dict[str, float]]]], runs: int) -> None:
    print(f"{runs} runs, medians; load average now {os.getloadavg()[0]:.1f}")
    print()
    print("| command | code | wall s | over `python -c pass` | CPU s | target |")
    print("|---|---|---|---|---|---|")
    for source, got in samples.items():
        base = _median(got["python -c pass"], "wall_s")
        for name, values in got.items():
            if "wall_s" not in values[0]:
                continue
            wall = _median(values, "wall_s")
            over = "" if name == "python -c pass" else f"{wall - base:.2f}"
            target = TARGET_S.get(name)
            verdict = ""
            if target is not None:
                verdict = f"< {target} s: {'met' if wall - base < target else '**not met**'}"
            print(
                f"| `{name}` | {source} | {wall:.2f} | {over} | {_median(values, 'cpu_s'):.2f} "
                f"| {verdict} |"
            )
    print()
    print("| `python -m hub serve` (SQLite) | code | ready s | idle RSS MB | peak RSS MB ", end="")
    print("| target |")
    print("|---|---|---|---|---|---|")
    for source, got in samples.items():
        for name, values in got.items():
            if "rss_mb" not in values[0]:
                continue
            rss = _median(values, "rss_mb")
            verdict = ""
            if "no Telegram" in name:
                met = "met" if rss < RSS_TARGET_MB else "**not met**"
                verdict = f"< {RSS_TARGET_MB:.0f} MB: {met}"
            print(
                f"| {name} | {source} | {_median(values, 'ready_s'):.2f} | {rss:.0f} "
                f"| {_median(values, 'peak_mb'):.0f} | {verdict} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--settle", type=float, default=1.0, help="idle seconds before RSS")
    parser.add_argument("--before", type=Path, help="a folder holding another hub package")
    parser.add_argument("--add-telegram", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.add_telegram:
        asyncio.run(add_telegram_channel(opts.add_telegram))
        return
    samples = measure(opts)
    report(samples, opts.runs)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "runs": opts.runs,
                "load_average": os.getloadavg(),
                "before": str(opts.before) if opts.before else None,
                "samples": samples,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
