"""Where an idle visitor socket's memory goes: tracemalloc on a hub before and with N sockets.

Why: ``bench.widget --idle`` reads the hub's resident memory, which says how much each idle
socket costs but not what holds it. This serves a SQLite hub under tracemalloc
(``bench.traced_hub``), opens ``--sockets`` idle visitor sockets (no compression offered, past
their ``ready`` frame; 100 were opened and closed first to warm the path), and compares the
snapshot taken with them open to the one taken before: the bytes still allocated per socket,
grouped by the allocating traceback (``--frames`` deep, innermost first) and by the innermost
frame of the hub's own code that led to each allocation.

Run: ``python -m bench.widget_memory --sockets 800``. tracemalloc slows the hub several times;
its RSS figures here include tracemalloc's own bookkeeping, so take the per-socket RSS from
``bench.widget --idle`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import aiohttp

from bench.servers import REPO, Server, sqlite_hub
from bench.widget import (
    LIMITS,
    SESSION_CONCURRENCY,
    close_all,
    connect_visitors,
    create_sessions,
    widget_target,
)
from bench.write_path import raise_fd_limit


async def _snapshot(server: Server, folder: Path, n: int) -> tracemalloc.Snapshot:
    server.process.send_signal(signal.SIGUSR1)
    path = folder / f"{n}.snap"
    deadline = time.monotonic() + 300
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the traced hub wrote no snapshot in 300 s")
        await asyncio.sleep(0.2)
    return tracemalloc.Snapshot.load(str(path))


def _where(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    for root in (str(REPO) + os.sep, "site-packages" + os.sep):
        if root in name:
            name = name.split(root, 1)[1]
    return f"{name}:{frame.lineno}"


def _is_hub(frame: tracemalloc.Frame) -> bool:
    return f"{os.sep}hub{os.sep}" in frame.filename and not frame.filename.endswith("__main__.py")


def report(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, count: int, top: int, depth: int
) -> str:
    """Bytes per socket still allocated with the sockets open, by traceback and by hub frame."""
    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(skip), after.filter_traces(skip)
    diffs = [d for d in after.compare_to(before, "traceback") if d.size_diff]
    total = sum(d.size_diff for d in diffs)
    lines = [f"tracemalloc: {total / count / 1024:.2f} KiB per socket ({count} sockets)", ""]
    lines.append("By the innermost frame of the hub's own code (hub/):")
    by_hub: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in diffs:
        frames = list(reversed(d.traceback))  # innermost first
        hub = next((f for f in frames if _is_hub(f)), None)
        key = _where(hub) if hub is not None else "(no hub frame) " + _where(frames[0])
        by_hub[key][0] += d.size_diff
        by_hub[key][1] += d.count_diff
    for key, (size, blocks) in sorted(by_hub.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"  {size / count:8.0f} B {blocks / count:6.1f} blocks  {key}")
    lines += ["", "By traceback (innermost frame first):"]
    for d in sorted(diffs, key=lambda d: -d.size_diff)[:top]:
        lines.append(f"  {d.size_diff / count:8.0f} B {d.count_diff / count:6.1f} blocks")
        lines += [f"      {_where(f)}" for f in list(reversed(d.traceback))[:depth]]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    raise_fd_limit(args.sockets + 1024)
    with tempfile.TemporaryDirectory(prefix="hub-trace-") as tmp:
        folder = Path(tmp)
        env = {
            **LIMITS,
            "BENCH_TRACEMALLOC_DIR": str(folder),
            "BENCH_TRACEMALLOC_FRAMES": str(args.frames),
            # Traced, the hub is several times slower: its reads must not time out meanwhile.
            "HUB_DB_TIMEOUT_S": "120",
        }
        async with sqlite_hub(args.hub_src, env, serve_module="bench.traced_hub") as server:
            target = await widget_target(server)
            connector = aiohttp.TCPConnector(limit=SESSION_CONCURRENCY, limit_per_host=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                tokens, _rate = await create_sessions(http, target, args.sockets, "trace")
            await close_all(await connect_visitors(target, tokens[:100], None))
            await asyncio.sleep(1)
            rss0 = server.rss_kib()
            before = await _snapshot(server, folder, 0)
            sockets = await connect_visitors(target, tokens, None)
            await asyncio.sleep(2)
            rss1 = server.rss_kib()
            after = await _snapshot(server, folder, 1)
            open_now = sum(1 for ws in sockets if ws.close_code is None)
            await close_all(sockets)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for n in (0, 1):
                (folder / f"{n}.snap").rename(args.keep / f"{n}.snap")
    print(report(before, after, open_now, args.top, args.depth))
    print(f"\nhub RSS (tracemalloc's own memory included): {(rss1 - rss0) / open_now:.1f} KiB")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.widget_memory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sockets", type=int, default=800, help="idle sockets (default 800)")
    parser.add_argument("--frames", type=int, default=25, help="frames kept (default 25)")
    parser.add_argument("--top", type=int, default=40, help="rows per table (default 40)")
    parser.add_argument(
        "--depth", type=int, default=8, help="frames printed per traceback (default 8)"
    )
    parser.add_argument("--keep", type=Path, help="a folder to keep the two snapshots in")
    parser.add_argument(
        "--hub-src", type=Path, help="a folder holding the hub package to run instead"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
