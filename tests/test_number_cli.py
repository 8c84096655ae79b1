"""``python -m hub numbers …``: an admin keeps a site's pool of tracking numbers from the shell
(a real subprocess on a SQLite file, as ``tests/test_cli.py``)."""

from __future__ import annotations

from pathlib import Path

from hub.channels.admin import create_channel
from hub.context import HubContext
from hub.settings import Settings
from tests.cli_run import migrated_cli


async def _widget_channel(db_url: str) -> int:
    ctx = HubContext.build(Settings(database_url=db_url, fast_password_hash=True))
    await ctx.start()
    try:
        created = await create_channel(ctx, None, type="widget", name="Shop")
        return int(created.channel["id"])
    finally:
        await ctx.close()


async def test_numbers_add_list_remove(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    hub = migrated_cli(tmp_path, db_url)
    site = str(await _widget_channel(db_url))

    out = hub("numbers", "add", site, "8 (495) 123-00-01", "--label", "Yandex Direct")
    assert out.returncode == 0, out.stderr
    assert "channel " + site + ": default number (none)" in out.stdout
    assert "+74951230001     free  Yandex Direct" in out.stdout
    out = hub("numbers", "list", site, "--days", "7")
    assert out.returncode == 0, out.stderr
    assert "+74951230001     free  Yandex Direct" in out.stdout
    assert "0 of 1 held now; over 7 days 0 given out, ran out 0 times" in out.stdout
    out = hub("numbers", "remove", site, "+7 495 123-00-01")
    assert out.returncode == 0, out.stderr
    assert "+74951230001" not in out.stdout
