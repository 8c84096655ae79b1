"""Attachments: operators upload into a conversation they see, send them with a note or a reply,
and read them back with a token or the inbox session; nobody else reads or names them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.http import CTX
from hub.inbox.delivery import DeliveryWorker
from hub.inbox.models import Attachment, Message
from hub.settings import Settings
from tests.helpers import (
    Op,
    allow_loopback,
    customer_says,
    make_api_channel,
    make_operator,
    make_team,
    recorded_statements,
)
from tests.test_inbox_session import OWN, session_login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def upload(
    client: TestClient,  # type: ignore[type-arg]
    op: Op,
    conv_id: int,
    data: bytes = PNG,
    filename: str = "photo.png",
    content_type: str = "image/png",
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    return await client.post(
        f"/api/v1/conversations/{conv_id}/attachments", data=form, headers=op.headers
    )


async def setup(client: TestClient, **channel: Any) -> tuple[Op, dict[str, Any], int]:  # type: ignore[type-arg]
    team = await make_team(client)
    op = await make_operator(client, team_ids=[team])
    admin = await make_operator(client, role="admin")
    ch = await make_api_channel(client, admin, team_id=team, **channel)
    said = await customer_says(client, ch, "Пришлите, пожалуйста, счёт")
    return op, ch, int(said["conversation"]["id"])


async def test_upload_then_download_with_token_and_cookie(client: TestClient) -> None:  # type: ignore[type-arg]
    op, _ch, conv_id = await setup(client)
    resp = await upload(client, op, conv_id, filename="../../etc/фото.png")
    assert resp.status == 201, await resp.text()
    att = await resp.json()
    assert att["kind"] == "image" and att["size"] == len(PNG)
    assert att["filename"] == "фото.png"  # no folders survive
    assert att["url"] == f"/api/v1/attachments/{att['id']}"

    got = await client.get(att["url"], headers=op.headers)
    assert got.status == 200
    assert await got.read() == PNG
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("inline;")

    # The web inbox reads it with its cookie session (a fresh client: no bearer header).
    login = await session_login(client, op, Origin=OWN)
    assert login.status == 200
    by_cookie = await client.get(att["url"])
    assert by_cookie.status == 200 and await by_cookie.read() == PNG


async def test_an_operator_who_cannot_see_the_conversation_gets_404(client: TestClient) -> None:  # type: ignore[type-arg]
    op, _ch, conv_id = await setup(client)
    att = await (await upload(client, op, conv_id)).json()
    outsider = await make_operator(client)
    assert (await client.get(att["url"], headers=outsider.headers)).status == 404
    assert (await upload(client, outsider, conv_id)).status == 404
    assert (await client.get(att["url"])).status == 401
    assert (await client.get("/api/v1/attachments/999999", headers=op.headers)).status == 404
    count = await client.app[CTX].read(lambda s: s.scalar(select(func.count(Attachment.id))))
    assert count == 1


async def test_html_is_never_served_as_a_page(client: TestClient) -> None:  # type: ignore[type-arg]
    op, _ch, conv_id = await setup(client)
    page = b"<html><script>alert(1)</script></html>"
    att = await (
        await upload(client, op, conv_id, page, filename="x.html", content_type="text/html")
    ).json()
    assert att["kind"] == "document"
    got = await client.get(att["url"], headers=op.headers)
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert await got.read() == page


async def test_a_file_over_the_limit_gets_413_and_nothing_is_kept(
    aiohttp_client: Any, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_attachment_bytes": 100})
    client = await aiohttp_client(create_app(small))
    op, _ch, conv_id = await setup(client)
    resp = await upload(client, op, conv_id, b"x" * 5000, filename="big.bin")
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "attachment_too_large"
    assert (await upload(client, op, conv_id, b"y" * 100)).status == 201
    stored = [p for p in small.media_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1  # the refused upload left no file, not even a temporary one


async def test_a_file_larger_than_a_json_body_may_be_uploaded(client: TestClient) -> None:  # type: ignore[type-arg]
    """Uploads are streamed to disk: HUB_MAX_BODY_BYTES (for JSON) does not limit them."""
    op, _ch, conv_id = await setup(client)
    big = bytes(range(256)) * (client.app[CTX].settings.max_body_bytes // 256 + 4096)
    resp = await upload(
        client, op, conv_id, big, filename="scan.pdf", content_type="application/pdf"
    )
    assert resp.status == 201, await resp.text()
    att = await resp.json()
    assert att["size"] == len(big)
    got = await client.get(att["url"], headers=op.headers)
    assert await got.read() == big


async def test_a_note_with_a_file_is_stored_and_never_delivered(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(allow_loopback(settings)))
    op, _ch, conv_id = await setup(client, callback_url="http://127.0.0.1:9/never")
    att = await (await upload(client, op, conv_id)).json()
    url = f"/api/v1/conversations/{conv_id}/messages"
    resp = await client.post(
        url, json={"body": "", "private": True, "attachment_ids": [att["id"]]}, headers=op.headers
    )
    assert resp.status == 201, await resp.text()
    note = await resp.json()
    assert note["kind"] == "note" and note["body"] == ""
    assert [a["id"] for a in note["attachments"]] == [att["id"]]
    assert note["delivery"] is None
    worker = DeliveryWorker(client.app[CTX], {})
    assert await worker.run_once() == 0  # nothing was queued for the customer

    listed = await (await client.get(url, headers=op.headers)).json()
    assert listed["items"][-1]["attachments"][0]["filename"] == "photo.png"
    assert listed["items"][0]["attachments"] == []

    # An upload is used once.
    again = await client.post(
        url, json={"body": "", "private": True, "attachment_ids": [att["id"]]}, headers=op.headers
    )
    assert again.status == 422
    assert (await again.json())["error"]["code"] == "invalid_attachments"


async def test_others_uploads_and_unsupported_channels_are_refused_without_a_write(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    op, _ch, conv_id = await setup(client)
    att = await (await upload(client, op, conv_id)).json()
    url = f"/api/v1/conversations/{conv_id}/messages"
    manager = await make_operator(client, role="manager")
    stolen = await client.post(
        url,
        json={"body": "", "private": True, "attachment_ids": [att["id"]]},
        headers=manager.headers,
    )
    assert stolen.status == 422
    # An API channel's callback carries no files: the reply is refused, the upload stays free.
    reply = await client.post(
        url, json={"body": "счёт", "attachment_ids": [att["id"]]}, headers=op.headers
    )
    assert reply.status == 422
    assert (await reply.json())["error"]["code"] == "attachments_not_supported"
    ctx = client.app[CTX]
    assert await ctx.read(lambda s: s.scalar(select(func.count(Message.id)))) == 1
    free = await ctx.read(lambda s: s.scalar(select(Attachment.message_id)))
    assert free is None
    empty = await client.post(url, json={"body": "  "}, headers=op.headers)
    assert empty.status == 422


async def test_reply_to_must_be_a_message_of_the_conversation(client: TestClient) -> None:  # type: ignore[type-arg]
    op, ch, conv_id = await setup(client)
    first = await (
        await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=op.headers)
    ).json()
    target = first["items"][0]["id"]
    url = f"/api/v1/conversations/{conv_id}/messages"
    ok = await client.post(url, json={"body": "Да", "reply_to_id": target}, headers=op.headers)
    assert ok.status == 201 and (await ok.json())["reply_to_id"] == target
    other = await customer_says(client, ch, "другой", external_id="cust-2")
    foreign = other["message"]["id"]
    bad = await client.post(url, json={"body": "Нет", "reply_to_id": foreign}, headers=op.headers)
    assert bad.status == 422
    assert (await bad.json())["error"]["code"] == "invalid_reply_to"


async def test_customer_messages_without_files_never_query_attachments(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The inbound hot path (set-based batches) stays as it was: no attachment statements."""
    op, ch, _conv = await setup(client)
    with recorded_statements(client) as seen:
        await asyncio.gather(
            *(
                customer_says(client, ch, f"сообщение {i}", external_id=f"c-{i % 5}")
                for i in range(20)
            )
        )
    assert any("insert into messages" in s for s in seen)
    assert not any("attachments" in s for s in seen)
    listed = await client.get("/api/v1/conversations", headers=op.headers)
    assert listed.status == 200


def _form(*parts: bytes, boundary: bytes = b"xyz", end: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary + b"--\r\n" if end else b"")


FILE_HEADERS = b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
FORM = "multipart/form-data; boundary=xyz"

#: Bodies aiohttp's multipart reader cannot parse, each with its Content-Type.
MALFORMED_UPLOADS = {
    "no_boundary": ("multipart/form-data", _form(FILE_HEADERS + b"\r\nabc")),
    "boundary_too_long": (
        "multipart/form-data; boundary=" + "b" * 71,
        _form(FILE_HEADERS + b"\r\nabc", boundary=b"b" * 71),
    ),
    "other_boundary": ("multipart/form-data; boundary=other", _form(FILE_HEADERS + b"\r\nabc")),
    "empty_body": (FORM, b""),
    "header_without_colon": (FORM, _form(b"this is no header\r\n" + FILE_HEADERS + b"\r\nabc")),
    "folded_header": (
        FORM,
        _form(b"Content-Disposition: form-data;\r\n name=file\r\n\r\nabc"),
    ),
    "nul_in_header": (FORM, _form(b"Content-Disposition: form-data; name=fi\x00le\r\n\r\nabc")),
    "header_too_long": (FORM, _form(b"X-Long: " + b"a" * 10_000 + b"\r\n" + FILE_HEADERS)),
    "too_many_headers": (FORM, _form(b"X-A: b\r\n" * 200 + FILE_HEADERS + b"\r\nabc")),
    "cut_in_the_file": (FORM, _form(FILE_HEADERS + b"\r\n" + PNG, end=False)[:-2]),
    "cut_in_the_headers": (FORM, b"--xyz\r\nContent-Disposition: form-da"),
    "part_multipart_without_boundary": (
        FORM,
        _form(b"Content-Type: multipart/mixed\r\n" + FILE_HEADERS + b"\r\nabc"),
    ),
    "charset_part_too_long": (
        FORM,
        _form(
            b'Content-Disposition: form-data; name="_charset_"\r\n\r\n' + b"u" * 40,
            FILE_HEADERS + b"\r\nabc",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_UPLOADS))
async def test_a_malformed_multipart_body_is_400_and_keeps_nothing(
    client: TestClient,  # type: ignore[type-arg]
    case: str,
) -> None:
    op, _ch, conv_id = await setup(client)
    content_type, body = MALFORMED_UPLOADS[case]
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/attachments",
        data=body,
        headers={**op.headers, "Content-Type": content_type},
    )
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "malformed_multipart", error
    ctx = client.app[CTX]
    assert await ctx.read(lambda s: s.scalar(select(func.count(Attachment.id)))) == 0
    media = ctx.settings.media_dir
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert (await upload(client, op, conv_id)).status == 201  # and the route still works
