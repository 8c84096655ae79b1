"""Attachment routes: an operator uploads a file into a conversation and reads files back.

Uploads are streamed to the media store as they arrive (``HUB_MAX_BODY_BYTES``, the JSON limit,
does not apply; ``HUB_MAX_ATTACHMENT_BYTES`` does). Files are served so that none can act as a
page of the hub: only images, audio and video inline with their own type, anything else as a
download of bytes, never sniffed. A body aiohttp's multipart reader cannot parse (no boundary,
a part header that is not one, a body cut short) answers 400 ``malformed_multipart`` and keeps
nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from hub.errors import DomainError
from hub.http import CTX, int_param, json, principal
from hub.inbox import attachments

routes = web.RouteTableDef()
T = TypeVar("T")

#: What aiohttp's multipart reader raises for a body it cannot parse: ValueError (no or a too
#: long boundary, no starting boundary, a body cut short), BadHttpMessage (a part header line
#: that is not a header, one too long, too many), RuntimeError (a ``_charset_`` part too long).
_MALFORMED = (ValueError, BadHttpMessage, RuntimeError)


async def _parsed(step: Awaitable[T]) -> T:
    """One step of the multipart reader, its parse errors as a 400."""
    try:
        return await step
    except _MALFORMED as exc:
        raise DomainError(
            "the multipart body is malformed (its boundary, a part's headers, or cut short)",
            code="malformed_multipart",
        ) from exc


async def _file_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    # Until the part's closing boundary, not until an empty chunk: at the end of a body cut
    # short the reader answers empty chunks, and the file would be kept as if whole.
    while not part.at_eof():
        if chunk := await _parsed(part.read_chunk(64 * 1024)):
            yield chunk


@routes.post("/api/v1/conversations/{conversation_id}/attachments")
async def upload_attachment(request: web.Request) -> web.Response:
    """A multipart upload with one ``file`` part; the answer's id goes in attachment_ids."""
    who = await principal(request)
    conv_id = int_param(request, "conversation_id")
    ctx = request.app[CTX]
    await attachments.check_conversation(ctx, who, conv_id)
    limit = ctx.settings.max_attachment_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise ctx.media.too_large()
    if not request.content_type.startswith("multipart/"):
        raise DomainError("send multipart/form-data with a file part", code="not_multipart")
    reader = await _parsed(request.multipart())
    while (part := await _parsed(reader.next())) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file":
            stored = await ctx.media.save(_file_chunks(part))
            data = await attachments.create_upload(
                ctx, who, conv_id, stored, part.filename, part.headers.get("Content-Type")
            )
            return json(data, status=201)
    raise DomainError("the upload has no part named file", code="missing_file")


def _disposition(kind: str, content_type: str, filename: str) -> tuple[str, str]:
    """Content-Type and Content-Disposition that no file can turn into a page of the hub."""
    inline = (
        content_type in attachments.INLINE_IMAGES
        or (kind in ("audio", "voice") and content_type.startswith("audio/"))
        or (kind == "video" and content_type.startswith("video/"))
    )
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    quoted = quote(filename, safe="")
    mode = "inline" if inline else "attachment"
    served_type = content_type if inline else "application/octet-stream"
    return served_type, f"{mode}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


@routes.get("/api/v1/attachments/{attachment_id}")
async def download_attachment(request: web.Request) -> web.StreamResponse:
    """The file, to an operator who may see its conversation (token or inbox session)."""
    who = await principal(request)
    att_id = int_param(request, "attachment_id")
    found = await attachments.open_attachment(request.app[CTX], who, att_id)
    content_type, disposition = _disposition(found.kind, found.content_type, found.filename)
    return web.FileResponse(
        found.path,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
