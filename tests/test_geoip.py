"""A website visitor's city from his address (``hub.geoip``, ``HUB_GEOIP_DATABASE``).

* a public address the database has gives its city and country, names in English and Russian
  only (a city with no Russian name keeps its English one), IPv4, IPv6 and IPv4-mapped IPv6;
* private, loopback and unparsable addresses are never looked up, and an address the database
  does not have gives nothing; no setting gives nothing;
* the free databases' credit (DB-IP's link back, MaxMind's attribution) is told by type;
* a path that does not exist or is not a MaxMind DB file fails the settings (and ``hub serve``
  says so in one line); a file that looks like one but cannot be read fails the start.

The visitor's side (his touch, the contact page's answer) is in tests/test_contact_page_api.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hub.app import create_app
from hub.geoip import METADATA_MARKER, GeoIP, GeoIPUnreadable
from hub.settings import Settings
from tests.geoip_db import LELYSTAD_IP, MOSCOW_IP, MOSCOW_IPV6, UNMAPPED_IP, write_city_database

ROOT = Path(__file__).resolve().parent.parent
MOSCOW = {
    "city": {"en": "Moscow", "ru": "Москва"},
    "country": {"en": "Russia", "ru": "Россия"},
    "country_code": "RU",
}


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_city_database(tmp_path / "GeoLite2-City.mmdb")


async def test_a_public_address_gives_its_city_and_country(city_db: Path) -> None:
    geoip = GeoIP(city_db)
    try:
        for address in (MOSCOW_IP, MOSCOW_IPV6, f"::ffff:{MOSCOW_IP}"):
            assert await geoip.place(address) == MOSCOW, address
        assert await geoip.place(LELYSTAD_IP) == {
            "city": {"en": "Lelystad"},
            "country": {"en": "Netherlands", "ru": "Нидерланды"},
            "country_code": "NL",
        }
        assert await geoip.place(UNMAPPED_IP) == {}
    finally:
        geoip.close()


@pytest.mark.parametrize(
    "address",
    ["10.20.30.40", "127.0.0.1", "::1", "192.168.1.5", "100.64.0.1", "fe80::1%eth0", "unknown", ""],
)
async def test_a_non_public_address_is_not_looked_up(city_db: Path, address: str) -> None:
    """10.0.0.0/8 is Moscow's in the test database: only the address check keeps it out."""
    geoip = GeoIP(city_db)
    try:
        assert await geoip.place(address) == {}
    finally:
        geoip.close()


@pytest.mark.parametrize(
    ("database_type", "credit"),
    [
        (
            "GeoLite2-City",
            {"text": "GeoLite2 data created by MaxMind", "url": "https://www.maxmind.com"},
        ),
        ("DBIP-City-Lite", {"text": "IP Geolocation by DB-IP", "url": "https://db-ip.com"}),
        ("GeoIP2-City", None),  # MaxMind's paid database asks for none
    ],
)
async def test_the_credit_the_database_s_licence_asks_for(
    tmp_path: Path, database_type: str, credit: dict[str, str] | None
) -> None:
    geoip = GeoIP(write_city_database(tmp_path / "city.mmdb", database_type))
    assert geoip.credit is None  # not known before the database is open
    await geoip.open()
    try:
        assert geoip.database_type == database_type
        assert geoip.credit == credit
    finally:
        geoip.close()


async def test_no_database_names_nothing() -> None:
    geoip = GeoIP(None)
    assert not geoip.enabled
    assert await geoip.place(MOSCOW_IP) == {}


def test_the_setting_reads_a_path_and_empty_is_unset(
    city_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_GEOIP_DATABASE", str(city_db))
    assert Settings().geoip_database == city_db
    monkeypatch.setenv("HUB_GEOIP_DATABASE", "")
    assert Settings().geoip_database is None


@pytest.mark.parametrize("kind", ["missing", "folder", "csv"])
def test_a_path_that_is_not_a_database_fails_the_settings(tmp_path: Path, kind: str) -> None:
    path = {"missing": tmp_path / "nope.mmdb", "folder": tmp_path}.get(kind, tmp_path / "x.csv")
    if kind == "csv":
        path.write_text("network,geoname_id\n5.45.192.0/24,524901\n")
    with pytest.raises(ValidationError) as caught:
        Settings(geoip_database=path)
    message = str(caught.value)
    assert "HUB_GEOIP_DATABASE" in message and str(path) in message
    expected = "is not a MaxMind DB file" if kind == "csv" else "does not exist or is not a file"
    assert expected in message


def test_serve_with_a_wrong_path_stops_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_GEOIP_DATABASE"] = str(tmp_path / "GeoLite2-City.mmdb")
    run = subprocess.run(
        [sys.executable, "-m", "hub", "serve"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error: HUB_GEOIP_DATABASE: "), run.stderr
    assert "Traceback" not in run.stderr and "does not exist" in run.stderr


async def test_a_damaged_database_gives_no_city_to_a_context_not_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A command's context opens the database on its first look-up: a file it cannot read
    names no city, is logged once and not opened again for each visitor."""
    damaged = tmp_path / "damaged.mmdb"
    damaged.write_bytes(b"\0" * 64 + METADATA_MARKER + b"\0" * 16)
    geoip = GeoIP(damaged)
    assert await geoip.place(MOSCOW_IP) == {}
    assert await geoip.place(MOSCOW_IP) == {}
    failures = [r for r in caplog.records if "GeoIP look-up failed" in r.getMessage()]
    assert len(failures) == 1 and "damaged.mmdb" in failures[0].getMessage()


async def test_a_damaged_database_fails_the_start(
    tmp_path: Path, settings: Settings, aiohttp_client: Any
) -> None:
    """It has the format's marker (so the settings take it) but no database before it."""
    damaged = tmp_path / "damaged.mmdb"
    damaged.write_bytes(b"\0" * 64 + METADATA_MARKER + b"\0" * 16)
    app = create_app(settings.model_copy(update={"geoip_database": damaged}))
    with pytest.raises(GeoIPUnreadable, match=r"HUB_GEOIP_DATABASE: .*damaged\.mmdb"):
        await aiohttp_client(app)
