"""The widget's file routes: a visitor attaches a file to a message, and reads his chat's files.

``POST /api/widget/v1/attachments`` is multipart, its parts in this order: ``client_id`` (the
message's idempotency key, as for text), ``body`` (an optional caption), ``file``. Everything that
can refuse the message (the client id, the caption's length, the pre-chat form, the rate limits)
is checked before the file is read, so a refused upload stores nothing; the file streams into
the media store under ``HUB_MAX_ATTACHMENT_BYTES``. Sent again with the same ``client_id`` it is
the same message (``duplicate``). ``GET /api/widget/v1/attachments/{id}`` serves a file of the
visitor's own conversations as operators' files are served: images inline, anything else as a
download of bytes, never sniffed.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from hub.channels.widget import conversation, files, visitors
from hub.channels.widget.keys import WIDGET
from hub.channels.widget.routes import _check_body, _rate, _visitor
from hub.errors import DomainError, InvalidInput
from hub.http import CTX, int_param, json
from hub.inbox.attachments import inbound_file
from hub.inbox.http.attachments import file_chunks, file_response, parsed

routes = web.RouteTableDef()
#: Room for the multipart framing and the text parts around the file.
_FRAMING_BYTES = 64 * 1024


async def _text_part(part: BodyPartReader, limit: int, what: str, code: str) -> str:
    """A short text part, read up to ``limit`` bytes (a longer one is refused, not read on)."""
    data = bytearray()
    while not part.at_eof():
        data += await parsed(part.read_chunk(8 * 1024))
        if len(data) > limit:
            raise InvalidInput(f"{what} is too long", code=code)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} must be UTF-8 text", code=code) from exc


@routes.post("/api/widget/v1/attachments")
async def upload_file(request: web.Request) -> web.Response:
    """A visitor's message with one file (see the module); answers its ``ack``."""
    visitor, channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    _rate(request, visitor.id)
    ctx = request.app[CTX]
    limit = ctx.settings.max_attachment_bytes
    if request.content_length is not None and request.content_length > limit + _FRAMING_BYTES:
        raise ctx.media.too_large()
    if not request.content_type.startswith("multipart/"):
        raise DomainError("send multipart/form-data: client_id, body, file", code="not_multipart")
    reader = await parsed(request.multipart())
    client_id: str | None = None
    body = ""
    max_chars = ctx.settings.widget_max_message_chars
    while (part := await parsed(reader.next())) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "client_id":
            client_id = await _text_part(part, 256, "client_id", "invalid_client_id")
        elif part.name == "body":
            body = await _text_part(part, 4 * max_chars, "the message", "body_too_long")
        elif part.name == "file":
            if client_id is None:
                raise InvalidInput("send client_id before the file", code="invalid_client_id")
            conversation.check_client_id(client_id)
            _check_body(request, body)
            visitor = await conversation.ready_to_write(ctx, visitor, channel)
            stored = await ctx.media.save(file_chunks(part))
            upload = await inbound_file(
                ctx, stored, part.filename, part.headers.get("Content-Type")
            )
            message, duplicate, visitor = await conversation.post_visitor_message(
                ctx, visitor, channel, client_id, body, (upload,)
            )
            if not duplicate:
                # His other tabs show what he sent here.
                await request.app[WIDGET].live.push(
                    channel.id,
                    visitors.external_id(visitor),
                    {"type": "message", "message": message},
                )
            return json(
                {"type": "ack", "client_id": client_id, "message": message, "duplicate": duplicate}
            )
    raise DomainError("the upload has no part named file", code="missing_file")


@routes.get("/api/widget/v1/attachments/{attachment_id}")
async def download_file(request: web.Request) -> web.StreamResponse:
    """A file of the visitor's own conversations (X-Visitor-Token), else 404."""
    _rate(request)
    visitor, _channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    att_id = int_param(request, "attachment_id")
    return file_response(await files.open_visitor_attachment(request.app[CTX], visitor, att_id))
