"""What an uploaded file's first bytes say it is, so a file is shown as an image only if it is one.

The type of an upload comes from its sender (a browser, or a script posing as one), who may name
anything: an HTML page called ``photo.png`` sent as ``image/png``. The hub serves only images
inline, with their own type (``hub.inbox.http.attachments``), and everything else as bytes to
download; so the one claim worth checking is "this is an image". An upload that claims an inline
image type gets the type its bytes show, another image type if they are one, else it becomes
``application/octet-stream``, a document served as a download. A file whose bytes are an image
but which claims some other type keeps its claim: it is downloaded, never shown.
"""

from __future__ import annotations

#: Image types a browser may show inline; SVG is left out (it can carry script).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: Bytes read from the start of a file: enough for every signature below.
HEAD_BYTES = 16
_SIGNATURES: tuple[tuple[str, bytes], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF87a"),
    ("image/gif", b"GIF89a"),
)


def image_type(head: bytes) -> str | None:
    """The inline image type these first bytes start, if any (PNG, JPEG, GIF, WebP)."""
    for content_type, signature in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def checked_type(claimed: str, head: bytes) -> str:
    """``claimed``, unless it claims an inline image the bytes are not (see the module)."""
    if claimed not in INLINE_IMAGES:
        return claimed
    return image_type(head) or "application/octet-stream"
