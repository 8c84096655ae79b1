"""A small GeoIP City database in the MaxMind DB format, written with ``mmdb-writer`` in the shape
of MaxMind's GeoLite2-City records (``city.names``, ``country.iso_code``, ``country.names``).

* ``MOSCOW_IP`` (and ``MOSCOW_IPV6``): Москва / Moscow, Россия / Russia;
* ``LELYSTAD_IP``: a town with an English name only (DB-IP's Lite has only English city names),
  in a country named in both languages;
* ``UNMAPPED_IP``: a public address the database does not have;
* the private network 10.0.0.0/8 is Moscow's too, so a hub that looked a private address up
  would name a city.
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

MOSCOW_IP = "5.45.192.10"
MOSCOW_IPV6 = "2a02:6b8::1"
LELYSTAD_IP = "145.220.1.20"
UNMAPPED_IP = "8.8.8.8"

RUSSIA = {"iso_code": "RU", "names": {"en": "Russia", "ru": "Россия", "de": "Russland"}}


def write_city_database(path: Path, database_type: str = "GeoLite2-City") -> Path:
    """The database, of ``database_type`` (its metadata: GeoLite2-City, DBIP-City-Lite…)."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en", "ru"],
        description="hub tests",
    )
    moscow = {
        "city": {"geoname_id": 524901, "names": {"en": "Moscow", "ru": "Москва", "de": "Moskau"}},
        "country": RUSSIA,
        "location": {"time_zone": "Europe/Moscow"},
    }
    writer.insert_network(IPSet(["5.45.192.0/24", "2a02:6b8::/32", "10.0.0.0/8"]), moscow)
    writer.insert_network(
        IPSet(["145.220.1.0/24"]),
        {
            "city": {"names": {"en": "Lelystad"}},
            "country": {"iso_code": "NL", "names": {"en": "Netherlands", "ru": "Нидерланды"}},
        },
    )
    writer.to_db_file(str(path))
    return path
