"""``GET /widget.js``: gzip for a client that accepts it, the plain file otherwise, each with its
own ETag and ``Vary: Accept-Encoding``; compressed once when the hub starts.

The script does not touch the database, so these tests run on the embedded backend only.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from hub.app import create_app
from hub.channels.widget.script import accepts_gzip
from tests.conftest import base_settings

WIDGET = Path(__file__).resolve().parent.parent / "widget" / "hub-widget.js"


@pytest.fixture
async def widget_client(
    aiohttp_client: object, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    widget_dir = tmp_path / "widget"
    widget_dir.mkdir()
    shutil.copy(WIDGET, widget_dir / "hub-widget.js")
    settings = base_settings(
        database_url=f"sqlite+aiosqlite:///{db}", redis_url=None, widget_dir=widget_dir
    )
    yield await aiohttp_client(create_app(settings))  # type: ignore[operator]


async def test_gzip_when_accepted(widget_client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await widget_client.get(
        "/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"}, auto_decompress=False
    )
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert resp.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = await resp.read()
    assert int(resp.headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == WIDGET.read_bytes()
    assert len(body) < WIDGET.stat().st_size / 2


async def test_plain_file_without_accept_encoding(widget_client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await widget_client.get(
        "/widget.js", skip_auto_headers=["Accept-Encoding"], auto_decompress=False
    )
    assert resp.status == 200
    assert "Content-Encoding" not in resp.headers
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert await resp.read() == WIDGET.read_bytes()
    refused = await widget_client.get(
        "/widget.js", headers={"Accept-Encoding": "gzip;q=0, br"}, auto_decompress=False
    )
    assert "Content-Encoding" not in refused.headers
    assert await refused.read() == WIDGET.read_bytes()


async def test_each_form_has_its_etag_and_answers_304(widget_client: TestClient) -> None:  # type: ignore[type-arg]
    plain = await widget_client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    zipped = await widget_client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    plain_tag, zipped_tag = plain.headers["ETag"], zipped.headers["ETag"]
    assert plain_tag != zipped_tag
    assert plain.headers["Last-Modified"] == zipped.headers["Last-Modified"]
    again = await widget_client.get(
        "/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped_tag}
    )
    assert again.status == 304
    assert again.headers["ETag"] == zipped_tag
    assert again.headers["Vary"] == "Accept-Encoding"
    assert await again.read() == b""
    # The plain form's tag does not validate the compressed form, and the other way round.
    other = await widget_client.get(
        "/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": plain_tag}
    )
    assert other.status == 200
    since = await widget_client.get(
        "/widget.js",
        headers={
            "Accept-Encoding": "identity",
            "If-Modified-Since": plain.headers["Last-Modified"],
        },
    )
    assert since.status == 304
    assert since.headers["ETag"] == plain_tag


async def test_compressed_once_at_start_up(
    widget_client: TestClient,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """The file is read when the app is built; a change is served after a restart."""
    (tmp_path / "widget" / "hub-widget.js").write_text("changed();\n")
    resp = await widget_client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert await resp.read() == WIDGET.read_bytes()


async def test_missing_script_is_a_404(
    aiohttp_client: object, tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db)
    settings = base_settings(
        database_url=f"sqlite+aiosqlite:///{db}", redis_url=None, widget_dir=tmp_path
    )
    client = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    assert (await client.get("/widget.js")).status == 404


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("deflate, gzip;q=1.0, br", True),
        ("x-gzip", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding(header: str, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok
