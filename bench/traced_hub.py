"""``python -m hub`` with tracemalloc on demand: each SIGUSR1 writes a snapshot.

Why: RSS says how much memory idle sockets cost, not where it goes. ``bench.widget_memory``
serves the hub through this module, signals it before and after opening its sockets, and
compares the two snapshots. The first signal starts tracing (a hub traced from its start takes
too long to come up on a loaded machine), so a snapshot holds what was allocated since then and
is still alive. Snapshots go to ``$BENCH_TRACEMALLOC_DIR/<n>.snap`` (n = 0, 1, …), each written
whole before it appears; ``$BENCH_TRACEMALLOC_FRAMES`` frames are kept per allocation (default
12). A full collection runs first, so only what is still referenced counts.
"""

from __future__ import annotations

import gc
import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def main() -> None:
    folder = Path(os.environ["BENCH_TRACEMALLOC_DIR"])
    frames = int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "12"))
    taken = 0

    def dump(_signum: int, _frame: FrameType | None) -> None:
        nonlocal taken
        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start(frames)
        snapshot = tracemalloc.take_snapshot()
        part = folder / f"{taken}.snap.part"
        snapshot.dump(str(part))
        part.rename(folder / f"{taken}.snap")
        taken += 1

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["hub", *sys.argv[1:]]
    runpy.run_module("hub", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
