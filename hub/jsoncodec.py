"""The hub's one JSON codec: orjson, several times faster than the standard library.

Every event is encoded once per socket frame and once for the bus, and every request body is
decoded, so on the write path JSON is a measurable share of the hub's CPU. orjson writes UTF-8
(Cyrillic stays readable) and compact separators, as the hub always did. Dict keys that are not
strings (ids) are written as strings, as the standard library does.
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS

JSONDecodeError = orjson.JSONDecodeError


def dumps_bytes(data: Any) -> bytes:
    return orjson.dumps(data, option=_OPTIONS)


def dumps_kept(data: Any) -> bytes:
    """``dumps_bytes`` for bytes kept long (the in-process bus's retained events): orjson's
    bytes keep the whole buffer they were written in, 4 KiB at least however short the JSON
    (orjson 3.12 on; its ``finish`` never shrinks it), so these are copied to their length."""
    return bytes(memoryview(orjson.dumps(data, option=_OPTIONS)))


def dumps(data: Any) -> str:
    return orjson.dumps(data, option=_OPTIONS).decode()


def loads(raw: str | bytes) -> Any:
    """Parse JSON; a malformed document raises ``JSONDecodeError`` (a ``ValueError``)."""
    return orjson.loads(raw)
