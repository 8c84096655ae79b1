"""``python -m hub numbers …``: an admin keeps a site's pool of tracking numbers from the shell
(a real subprocess on a SQLite file, as ``tests/test_cli.py``)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli_run import migrated_cli


def test_numbers_add_default_list_remove(tmp_path: Path) -> None:
    hub = migrated_cli(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    made = hub("channel", "add", "widget", "--name", "Shop", "--allowed-origin", "https://a.ru")
    assert made.returncode == 0, made.stderr
    channel = re.search(r"channel (\d+) created", made.stdout)
    assert channel is not None
    site = channel.group(1)

    out = hub("numbers", "add", site, "8 (495) 123-00-01", "--label", "Yandex Direct")
    assert out.returncode == 0, out.stderr
    assert "+74951230001     free  Yandex Direct" in out.stdout
    assert hub("numbers", "add", site, "+7 495 123-00-02").returncode == 0
    out = hub("numbers", "default", site, "84950000000")
    assert out.returncode == 0 and "default number +74950000000" in out.stdout

    refused = hub("numbers", "add", site, "+74951230001")
    assert refused.returncode == 2 and "in a pool already" in refused.stderr

    assert hub("numbers", "remove", site, "+74951230002").returncode == 0
    out = hub("numbers", "list", site, "--days", "7")
    assert out.returncode == 0, out.stderr
    assert "+74951230001" in out.stdout and "+74951230002" not in out.stdout
    assert "0 of 1 held now; over 7 days 0 given out, ran out 0 times" in out.stdout
