"""``python -m hub …`` as an admin runs it: a real subprocess on a migrated SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

Run = Callable[..., subprocess.CompletedProcess[str]]


def migrated_cli(tmp_path: Path, db_url: str) -> Run:
    """Run ``python -m hub …`` in ``tmp_path`` on a migrated SQLite database; keyword
    arguments add to the environment (``HUB_CHANNEL_MODULES=…``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=db_url,
        HUB_FAST_PASSWORD_HASH="true",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )

    def run(
        *args: str, stdin: str | None = None, **more_env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *args],
            cwd=tmp_path,
            env={**env, **more_env},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=60,
        )

    migrated = run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "latest schema" in migrated.stdout
    return run
