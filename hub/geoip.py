"""Where a website visitor is: his city and country, read from his address in a GeoIP database.

The hub ships no GeoIP data. An admin points ``HUB_GEOIP_DATABASE`` at a City database in the
MaxMind DB format (MaxMind's GeoLite2-City or DB-IP's IP to City Lite; docs/admins.md says where
to get them); unset, the hub names no city. The reader, ``maxminddb``, is imported and the file
opened only when the setting is set: at start-up in a worker thread (``GeoIP.open``, so a file
it cannot read fails the start), or on the first look-up of a context that was not started.
The file is memory-mapped (``MODE_AUTO``): a look-up takes microseconds and runs in the event
loop. Private, loopback and other non-public addresses are never looked up. A place keeps the
names in the hub's languages only (English and Russian), and the address itself is not kept.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from pathlib import Path
from typing import Any

from hub.errors import DomainError

log = logging.getLogger(__name__)

#: What starts a MaxMind DB file's metadata section, which the format puts in its last 128 KiB.
METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
METADATA_SPAN = 128 * 1024
#: The languages whose names a place keeps: the hub's own.
LANGUAGES = ("en", "ru")
SETTING = "HUB_GEOIP_DATABASE"
#: The credit the free databases' licences ask of pages that show their data, by the start of
#: the database's type (its metadata): DB-IP's Lite (CC BY 4.0) asks a web application for a
#: link back on those pages, GeoLite2 (its EULA, with CC BY-SA 4.0) for attribution to MaxMind.
CREDITS = (
    ("DBIP-", {"text": "IP Geolocation by DB-IP", "url": "https://db-ip.com"}),
    ("GeoLite2-", {"text": "GeoLite2 data created by MaxMind", "url": "https://www.maxmind.com"}),
)


class GeoIPUnreadable(DomainError):
    """The configured database could not be opened; raised at start-up, which it stops."""

    code = "geoip_database_unreadable"


def check_database(path: Path) -> None:
    """A ``ValueError`` saying what is wrong when ``path`` is not a MaxMind DB file (read from
    its metadata marker, without the reader), for the settings' validation."""
    if not path.is_file():
        raise ValueError(
            f"{SETTING}: {path} does not exist or is not a file; it must be the path of a "
            "MaxMind DB City database (.mmdb), or unset"
        )
    size = path.stat().st_size
    with path.open("rb") as file:
        file.seek(max(0, size - METADATA_SPAN))
        tail = file.read()
    if METADATA_MARKER not in tail:
        raise ValueError(
            f"{SETTING}: {path} is not a MaxMind DB file (.mmdb): unpack the .mmdb file from "
            "the downloaded archive (the CSV editions cannot be read)"
        )


def public_address(address: str) -> str | None:
    """The address to look up: a public one (an IPv4-mapped IPv6 address as its IPv4), else
    None (private, loopback, link-local, shared, reserved, or not an address at all)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) if ip.is_global else None


def _names(part: Any) -> dict[str, str]:
    names = part.get("names") if isinstance(part, dict) else None
    if not isinstance(names, dict):
        return {}
    return {
        lang: names[lang][:100]
        for lang in LANGUAGES
        if isinstance(names.get(lang), str) and names[lang]
    }


def place_of(record: Any) -> dict[str, Any]:
    """A database record (GeoIP2 City's shape, which DB-IP's follows) as the hub keeps it:
    ``city`` and ``country`` as names by language, ``country_code`` (ISO 3166-1), each when
    known."""
    if not isinstance(record, dict):
        return {}
    place: dict[str, Any] = {}
    city = _names(record.get("city"))
    if city:
        place["city"] = city
    country = record.get("country")
    names = _names(country)
    if names:
        place["country"] = names
    code = country.get("iso_code") if isinstance(country, dict) else None
    if isinstance(code, str) and len(code) == 2:
        place["country_code"] = code.upper()
    return place


def _open(path: Path) -> tuple[Any, str]:
    """The reader and the database's type (``GeoLite2-City``, ``DBIP-City-Lite``…)."""
    import maxminddb  # only when an admin configured a database

    try:
        reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
        return reader, str(reader.metadata().database_type)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise GeoIPUnreadable(f"{SETTING}: {path} cannot be read as a MaxMind DB: {exc}") from exc


class GeoIP:
    """The configured database (or none), opened once per process."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._reader: Any = None
        #: From the database's metadata once it is open.
        self.database_type = ""
        self._lock = asyncio.Lock()
        #: A look-up that failed is logged once, not on every visitor; a file that could not be
        #: opened is not tried again for each one.
        self._failure_logged = False
        self._unreadable = False

    @property
    def enabled(self) -> bool:
        return self.path is not None

    async def open(self) -> None:
        """Open the database in a worker thread, once; ``GeoIPUnreadable`` when it cannot be."""
        if self.path is None or self._reader is not None:
            return
        async with self._lock:
            if self._reader is None:
                self._reader, self.database_type = await asyncio.to_thread(_open, self.path)

    @property
    def credit(self) -> dict[str, str] | None:
        """What pages showing a city must credit (``CREDITS``), once the database is open."""
        for prefix, credit in CREDITS:
            if self._reader is not None and self.database_type.startswith(prefix):
                return credit
        return None

    async def place(self, address: str) -> dict[str, Any]:
        """The city and country of ``address`` (``place_of``); empty when no database is set,
        the address is not public, the database does not know it, or it cannot be read."""
        if self.path is None or self._unreadable:
            return {}
        ip = public_address(address)
        if ip is None:
            return {}
        try:
            await self.open()
            return place_of(self._reader.get(ip))
        except ValueError:
            return {}  # an IPv6 address in a database of IPv4 addresses only
        except (GeoIPUnreadable, RuntimeError) as exc:  # maxminddb's InvalidDatabaseError
            self._unreadable = self._unreadable or isinstance(exc, GeoIPUnreadable)
            if not self._failure_logged:
                self._failure_logged = True
                log.warning("GeoIP look-up failed (logged once): %s", exc)
            return {}

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
