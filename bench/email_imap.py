"""Email-in benchmark: how fast the hub brings a mailbox of 1,000 mails into the inbox.

Why: an admin who connects a company mailbox gets the mail of the last day read at once, and a
busy mailbox can hold thousands; the hub must not be much slower at it than a plain IMAP client.
Target of the email issue: the hub within 3x of a bare aioimaplib fetch of the same messages,
in the same run, with no message lost or duplicated.

What: a Dovecot (``tests.dovecot``, the email tests' server) gets 1,000 realistic mails
(``bench.email_corpus``) by IMAP APPEND. The baseline (``bench.email_bare``) logs in over
implicit TLS, selects INBOX, fetches every mail by ``UID FETCH`` in batches of 50 (as the hub
does) and parses each with the stdlib email parser. Then, for each backend, ``python -m hub
serve`` on a fresh database gets an email channel row pointing at the mailbox
(``bench.email_hub``), and the benchmark polls the hub's database every 20 ms until all 1,000
are stored. The hub's time runs from the moment its mailbox runner took the mailbox's lease
(the start of reading; the runner scans for new channels every ``--scan-interval`` s) to the
last message stored; the time from the channel's creation is shown too. Afterwards every
appended Message-ID must be stored exactly once.

Run: ``python -m bench.email_imap`` (about 3 minutes); ``--help`` lists the knobs. Prints a
Markdown table and writes it, with details, to ``bench/results/email_imap.json``.
``--profile`` adds a second, py-spy-profiled hub run per backend (its time is reported apart:
the sampling slows the hub) and prints where its time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import profile
from bench.email_bare import BareResult, append_all, bare_fetch
from bench.email_corpus import build
from bench.email_hub import BACKENDS, run_hub
from tests import dovecot as dovecot_process

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 3.0


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| backend | mails | hub s (from lease) | hub s (from channel made) | hub mails/s"
        " | hub CPU s | bare fetch s (median) | hub / bare | lost | duplicated | conversations |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        hub = row["hub"]
        lines.append(
            f"| {row['backend']} | {hub['stored']} | {_s(hub['seconds'])}"
            f" | {_s(hub['seconds_from_creation'])} | {hub['per_s']:.0f} | {hub['hub_cpu_s']}"
            f" | {_s(row['bare_median_s'])} | {_s(row['ratio'])} | {len(hub['missing'])}"
            f" | {len(hub['duplicated'])} | {hub['conversations']} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]], expected: int) -> list[str]:
    out = []
    for row in rows:
        hub = row["hub"]
        whole = hub["stored"] == expected and not hub["missing"] and not hub["duplicated"]
        fast = row["ratio"] is not None and row["ratio"] <= TARGET_RATIO
        out.append(
            f"{row['backend']}: {'MET' if whole and fast else 'NOT MET'} (hub / bare "
            f"{_s(row['ratio'])}, needs <= {TARGET_RATIO}; {hub['stored']} of {expected} stored, "
            f"{len(hub['missing'])} lost, {len(hub['duplicated'])} duplicated)"
        )
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    backends = [b.strip() for b in args.backends.split(",")]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backends: {sorted(unknown)}; known: {sorted(BACKENDS)}")
    if not dovecot_process.available():
        raise SystemExit("needs Dovecot and openssl: apt-get install -y dovecot-imapd")
    load_before = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    corpus = build(args.mails, args.senders)
    print(
        f"corpus: {len(corpus.mails)} mails, {corpus.threads} threads, {corpus.replies} replies, "
        f"{corpus.html} HTML, {corpus.attachments} with files, "
        f"{sum(map(len, corpus.mails)) // 1024} KiB",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    profiles: dict[str, dict[str, Any]] = {}
    with dovecot_process.running(users=1) as server:
        user, password = server.take_user()
        appended = await append_all(server, user, password, corpus.mails)
        print(f"appended in {appended:.1f} s", flush=True)
        for backend in backends:
            bare: list[BareResult] = []
            for _ in range(args.bare_runs):
                bare.append(await bare_fetch(server, user, password, args.batch))
                print(
                    f"  bare fetch: {bare[-1].seconds:.2f} s, {bare[-1].parsed} parsed", flush=True
                )
            hub = await run_hub(backend, server, user, password, corpus, args, profile_to=None)
            print(f"  {backend}: {hub.summary()}", flush=True)
            median = statistics.median(b.seconds for b in bare)
            rows.append(
                {
                    "backend": hub.backend,
                    "hub": asdict(hub),
                    "bare": [asdict(b) for b in bare],
                    "bare_median_s": round(median, 3),
                    "ratio": round(hub.seconds / median, 2) if hub.seconds and median else None,
                }
            )
            if args.profile:
                out = RESULTS / f"profile-email-{backend}.txt"
                spied = await run_hub(backend, server, user, password, corpus, args, out)
                print(f"  {backend} under py-spy: {spied.summary()}", flush=True)
                summary = profile.summarise(out, top=40)
                print(f"\nprofile of the hub on {backend} ({out}):\n{summary}\n", flush=True)
                profiles[backend] = {"run": asdict(spied), "summary": summary.splitlines()}
    markdown = table(rows)
    print("\n" + markdown + "\n")
    for line in verdict(rows, len(corpus.mails)):
        print(line)
    report = {
        "benchmark": "email_imap",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine skews the figures; the 1-minute load shows how much.
            "load_average_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
        },
        "settings": {
            "mails": args.mails,
            "senders": args.senders,
            "batch": args.batch,
            "scan_interval_s": args.scan_interval,
            "bare_runs": args.bare_runs,
            "poll_interval_s": args.poll,
            "append_s": round(appended, 2),
            "measured_by": "polling the hub's database (messages of the channel), not the API",
        },
        "corpus": {
            "threads": corpus.threads,
            "replies": corpus.replies,
            "html": corpus.html,
            "attachments": corpus.attachments,
            "bytes": sum(map(len, corpus.mails)),
        },
        "target": {"max_ratio": TARGET_RATIO, "verdict": verdict(rows, len(corpus.mails))},
        "rows": rows,
        "profiles": profiles,
        "markdown": markdown,
    }
    return report


def save(report: dict[str, Any], output: Path) -> None:
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {output}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.email_imap", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--mails", type=int, default=1000, help="mails appended (default 1000)")
    parser.add_argument("--senders", type=int, default=200, help="distinct senders (default 200)")
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="hub backends: sqlite (embedded), postgres (with Redis)",
    )
    parser.add_argument(
        "--batch", type=int, default=50, help="mails per UID FETCH, bare and hub (default 50)"
    )
    parser.add_argument(
        "--scan-interval",
        type=float,
        default=0.2,
        help="HUB_IMAP_SCAN_INTERVAL_S: how soon the hub sees the new channel (default 0.2)",
    )
    parser.add_argument(
        "--bare-runs", type=int, default=3, help="bare fetches per backend row (default 3)"
    )
    parser.add_argument(
        "--poll", type=float, default=0.02, help="database poll interval, s (default 0.02)"
    )
    parser.add_argument(
        "--stall", type=float, default=60.0, help="give up after this long without progress"
    )
    parser.add_argument(
        "--profile", action="store_true", help="add a py-spy-profiled hub run per backend"
    )
    parser.add_argument(
        "--hub-src",
        type=Path,
        help="a folder holding the hub package to run instead of this checkout's",
    )
    parser.add_argument("--output", default=str(RESULTS / "email_imap.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    save(asyncio.run(main_async(args)), Path(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
