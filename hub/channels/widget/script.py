"""``GET /widget.js``: the embed script, read and gzip-compressed once when the hub starts.

Every site that embeds the widget loads this file, so it is sent compressed to a client that
accepts gzip (``Content-Encoding: gzip``, about a quarter of the size), and as it is to one that
does not; both answers say ``Vary: Accept-Encoding`` so a shared cache keeps them apart. Each
form has its own strong ETag (a digest of the file, ``-gzip`` added for the compressed one), and
``If-None-Match`` / ``If-Modified-Since`` are answered 304 as the file server did before.
Brotli would save a little more, but no library for it is a dependency of the hub.

The file is read when the app is built: a changed ``hub-widget.js`` is served after a restart.
"""

from __future__ import annotations

import gzip
import hashlib
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from aiohttp import web

HEADERS = {
    "Content-Type": "application/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Encoding",
}


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110 section 12.5.3): named, or
    covered by ``*``, with a weight above zero."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.strip().lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


class WidgetScript:
    """The script's bytes, plain and gzip-compressed, with their ETags and modification time."""

    def __init__(self, source: bytes, modified: float) -> None:
        self.plain = source
        # mtime=0: the same file always compresses to the same bytes, on every process.
        self.gzipped = gzip.compress(source, compresslevel=9, mtime=0)
        digest = hashlib.sha256(source).hexdigest()[:32]
        self.plain_etag = f'"{digest}"'
        self.gzip_etag = f'"{digest}-gzip"'
        self.modified = int(modified)
        self.last_modified = formatdate(self.modified, usegmt=True)

    @classmethod
    def read(cls, path: Path) -> WidgetScript | None:
        """The script at ``path``, or None when it is not there (``/widget.js`` is then a 404)."""
        try:
            return cls(path.read_bytes(), path.stat().st_mtime)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def _not_modified(self, request: web.Request, etag: str) -> bool:
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            # Weak comparison (RFC 9110 section 13.1.2): W/ does not matter here.
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or etag in tags
        if_modified_since = request.headers.get("If-Modified-Since")
        if if_modified_since is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and self.modified <= since.timestamp()

    def response(self, request: web.Request) -> web.Response:
        compressed = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        etag = self.gzip_etag if compressed else self.plain_etag
        headers = dict(HEADERS, ETag=etag)
        headers["Last-Modified"] = self.last_modified
        if self._not_modified(request, etag):
            del headers["Content-Type"]
            return web.Response(status=304, headers=headers)
        if compressed:
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=self.gzipped, headers=headers)
        return web.Response(body=self.plain, headers=headers)
