"""Optional sampling profile of a server during a measured window, with ``py-spy``.

``python -m bench.write_path --profile`` records the hub process (py-spy pauses it briefly
for each sample, so a profiled run is a little slower). Only samples of the thread holding the
GIL are kept: the event loop's work, and not the driver threads that wait for the database
(py-spy counts those as busy). The collapsed stacks are kept in
``bench/results/profile-<backend>-<conversations>.txt``; ``summarise`` prints which functions
hold the most samples, inclusive (anywhere in the stack) and exclusive (on top of it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

_LOCATION = re.compile(r"\s*\((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    """The py-spy executable, beside the interpreter or on PATH."""
    import sys

    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, duration_s: float, output: Path) -> subprocess.Popen[bytes]:
    exe = py_spy()
    if exe is None:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    args = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(duration_s))),
        "--rate",
        "200",
        "--gil",
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame_name(frame: str) -> str:
    """``send (aiohttp/web_ws.py:123)`` -> ``aiohttp/web_ws.py:send``."""
    match = _LOCATION.search(frame)
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/hub/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/hub/":
                path = "hub/" + path
            break
    return f"{path}:{frame[: match.start()].strip()}"


#: Where a sample's time is charged: the innermost frame of one of these packages, unless the
#: event loop's own code (asyncio, selectors) or a thread's (threading) comes first.
PACKAGES = ("sqlalchemy", "aiosqlite", "asyncpg", "redis", "aiohttp", "pydantic", "hub")
_RUNTIME = {"asyncio/": "asyncio loop", "selectors.py": "asyncio loop", "threading.py": "threads"}


def _charge(frames: list[str]) -> str:
    for frame in reversed(frames):
        name = _frame_name(frame)
        package = next((p for p in PACKAGES if name.startswith(p + "/")), None)
        if package is not None:
            return package
        runtime = next((v for k, v in _RUNTIME.items() if name.startswith(k)), None)
        if runtime is not None:
            return runtime
    return "other"


def by_package(collapsed: Path) -> Counter[str]:
    """Samples per package: greenlet switches cut SQLAlchemy's async stacks, so charging each
    sample to the innermost known package says more than the callers above it."""
    counts: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            counts[_charge(stack.split(";"))] += int(count_text)
    return counts


def summarise(collapsed: Path, top: int = 25) -> str:
    """Text table of the functions with the most samples (inclusive and exclusive)."""
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += count
        exclusive[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples; inclusive %, exclusive %, function"]
    for name, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:6.1f} {100 * exclusive[name] / total:6.1f}  {name}")
    packages = by_package(collapsed)
    lines.append(
        "by package: "
        + ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in packages.most_common())
    )
    lines.append("top exclusive:")
    for name, count in exclusive.most_common(top // 2):
        lines.append(f"{100 * count / total:6.1f}  {name}")
    return "\n".join(lines)
