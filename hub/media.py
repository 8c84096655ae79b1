"""Files of message attachments, kept on disk under ``HUB_MEDIA_DIR`` by their content.

A file is stored once per content: its key is ``ab/cd/<sha256>``, derived from the bytes, so
a client's file name never becomes a path and the same photo sent twice takes its space once.
Bytes are streamed to a temporary file while they are hashed and counted; a stream that passes
the size limit is dropped before it fills the disk. With several processes the folder must be
shared (one volume), like the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from hub.errors import PayloadTooLarge

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    sha256: str
    size: int


class MediaStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        """The file of ``key``; a key not made by this store is refused, never joined."""
        if not _KEY.match(key):
            raise ValueError("not a media key")
        return self.root / key

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the file is larger than {self.max_bytes} bytes", code="attachment_too_large"
        )

    async def save(self, chunks: AsyncIterable[bytes]) -> StoredFile:
        """Store a stream of bytes; ``PayloadTooLarge`` past ``max_bytes`` (nothing is kept)."""
        tmp_dir = self.root / "tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        tmp = tmp_dir / secrets.token_hex(16)
        digest = hashlib.sha256()
        size = 0
        handle = await asyncio.to_thread(tmp.open, "wb")
        try:
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self.too_large()
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            sha = digest.hexdigest()
            key = f"{sha[:2]}/{sha[2:4]}/{sha}"
            await asyncio.to_thread(self._place, tmp, self.root / key)
        except BaseException:
            await asyncio.to_thread(tmp.unlink, True)
            raise
        return StoredFile(key, sha, size)

    async def save_bytes(self, data: bytes) -> StoredFile:
        async def one() -> AsyncIterable[bytes]:
            yield data

        return await self.save(one())

    @staticmethod
    def _place(tmp: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()  # the same content is stored already
            return
        os.replace(tmp, final)

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def head(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of a stored file (what ``hub.inbox.sniff`` reads)."""

        def first() -> bytes:
            with self.path(key).open("rb") as handle:
                return handle.read(size)

        return await asyncio.to_thread(first)
