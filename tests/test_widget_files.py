"""Files both ways in the widget: a visitor attaches images and documents, an operator's reply
carries his, and each side reads them back; a visitor reads only his own conversations' files.

Bad input (no client_id first, a caption too long, the pre-chat form missing, a file too large, a
body that is no multipart) is refused with a clear error and stores nothing: no row, no file.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.http import CTX
from hub.inbox.models import Attachment
from hub.settings import Settings
from tests.helpers import make_operator
from tests.test_widget_api import (
    OTHER_ORIGIN,
    expect_error,
    fetch_messages,
    is_message_from,
    is_type,
    make_widget_channel,
    new_visitor,
    only_conversation,
    open_visitor,
    operator_messages,
    recv_until,
    start_session,
    table_counts,
    visitor_headers,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 200
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Client:
    """The app with room for the many requests of one visitor these tests make (the widget's
    rate limits have tests of their own)."""
    roomy = settings.model_copy(update={"widget_visitor_burst": 100})
    return await aiohttp_client(create_app(roomy))  # type: ignore[no-any-return]


def file_form(
    data: bytes = PNG,
    *,
    client_id: str | None = "f1",
    body: str | None = None,
    filename: str = "photo.png",
    content_type: str = "image/png",
    client_id_last: bool = False,
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if client_id is not None and not client_id_last:
        form.add_field("client_id", client_id)
    if body is not None:
        form.add_field("body", body)
    form.add_field("file", data, filename=filename, content_type=content_type)
    if client_id is not None and client_id_last:
        form.add_field("client_id", client_id)
    return form


async def visitor_upload(
    client: Client, token: str, form: aiohttp.FormData, **headers: str
) -> aiohttp.ClientResponse:
    return await client.post(
        "/api/widget/v1/attachments", data=form, headers={**visitor_headers(token), **headers}
    )


async def uploaded(client: Client, token: str, form: aiohttp.FormData) -> dict[str, Any]:
    resp = await visitor_upload(client, token, form)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def stored_files(client: Client) -> list[str]:
    media = client.app[CTX].settings.media_dir
    return sorted(str(p) for p in media.rglob("*") if p.is_file() and "tmp" not in p.parts)


async def attachment_count(client: Client) -> int:
    return int(
        await client.app[CTX].read(lambda s: s.scalar(select(func.count(Attachment.id)))) or 0
    )


async def test_a_visitor_sends_a_photo_and_a_document_and_operators_read_them(
    client: Client,
) -> None:
    admin, channel, token = await new_visitor(client)
    tab, _ = await open_visitor(client, token)
    ack = await uploaded(client, token, file_form(body="Вот фото печи"))
    assert ack["type"] == "ack" and ack["client_id"] == "f1" and ack["duplicate"] is False
    photo = ack["message"]
    assert photo["body"] == "Вот фото печи" and photo["sender"]["type"] == "contact"
    [att] = photo["attachments"]
    assert (att["kind"], att["filename"], att["content_type"], att["size"]) == (
        "image",
        "photo.png",
        "image/png",
        len(PNG),
    )
    assert att["url"] == f"/api/widget/v1/attachments/{att['id']}"
    # His other tabs show it too.
    frame, _ = await recv_until(tab, is_message_from("contact"))
    assert frame["message"] == photo

    # The same client_id again: the same message, nothing new stored.
    again = await uploaded(client, token, file_form(body="Вот фото печи"))
    assert again["duplicate"] is True and again["message"]["id"] == photo["id"]
    doc = await uploaded(
        client,
        token,
        file_form(PDF, client_id="f2", filename="смета.pdf", content_type="application/pdf"),
    )
    assert doc["message"]["attachments"][0]["kind"] == "document"
    assert doc["message"]["body"] == ""

    # Operators see both in the conversation and download them.
    conv = await only_conversation(client, admin, channel)
    assert conv["last_message_preview"] == "[1 file]"
    items = await operator_messages(client, admin, conv["id"])
    assert [len(m["attachments"]) for m in items] == [1, 1]
    got = await client.get(items[1]["attachments"][0]["url"], headers=admin.headers)
    assert got.status == 200 and await got.read() == PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")

    # The visitor reads them back: the image inline, the document as bytes to download.
    image = await client.get(att["url"], headers=visitor_headers(token))
    assert image.status == 200 and await image.read() == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Disposition"].startswith("inline;")
    assert image.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    pdf = await client.get(doc["message"]["attachments"][0]["url"], headers=visitor_headers(token))
    assert await pdf.read() == PDF
    assert pdf.headers["Content-Type"] == "application/octet-stream"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''%D1%81%D0%BC%D0%B5%D1%82%D0%B0.pdf" in pdf.headers["Content-Disposition"]
    )
    # And the history after a reload carries them.
    history = await fetch_messages(client, token)
    assert [m["attachments"] for m in history] == [[att], doc["message"]["attachments"]]
    await tab.close()


async def test_an_operators_reply_with_a_photo_reaches_the_visitor(client: Client) -> None:
    admin, channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    await uploaded(client, token, file_form(client_id="hello"))
    conv = await only_conversation(client, admin, channel)
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="каталог.png", content_type="image/png")
    up = await client.post(
        f"/api/v1/conversations/{conv['id']}/attachments", data=form, headers=admin.headers
    )
    assert up.status == 201, await up.text()
    upload_id = (await up.json())["id"]
    reply = await client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"body": "Вот каталог", "attachment_ids": [upload_id]},
        headers=admin.headers,
    )
    assert reply.status == 201, await reply.text()
    frame, _ = await recv_until(ws, is_message_from("operator"))
    [att] = frame["message"]["attachments"]
    assert att == {
        "id": upload_id,
        "kind": "image",
        "filename": "каталог.png",
        "content_type": "image/png",
        "size": len(PNG),
        "url": f"/api/widget/v1/attachments/{upload_id}",
    }
    got = await client.get(att["url"], headers=visitor_headers(token))
    assert got.status == 200 and await got.read() == PNG
    history = await fetch_messages(client, token)
    assert history[-1]["attachments"] == [att]
    await ws.close()


async def test_a_visitor_reads_only_his_own_conversations_files(client: Client) -> None:
    admin, channel, token = await new_visitor(client)
    mine = (await uploaded(client, token, file_form()))["message"]["attachments"][0]
    his_conv = (await only_conversation(client, admin, channel))["id"]
    other_token = (await start_session(client, channel))["visitor_token"]
    theirs = (await uploaded(client, other_token, file_form(PDF, filename="a.pdf")))["message"]
    # Another visitor of the same site: 404, as for an id that does not exist.
    got = await client.get(mine["url"], headers=visitor_headers(other_token))
    await expect_error(got, 404, "attachment_not_found")
    ok = await client.get(theirs["attachments"][0]["url"], headers=visitor_headers(other_token))
    assert ok.status == 200

    # A note's file and an operator's unsent upload are never the visitor's to read.
    ids = []
    for name in ("note.png", "unsent.png"):
        form = aiohttp.FormData()
        form.add_field("file", PNG + name.encode(), filename=name, content_type="image/png")
        up = await client.post(
            f"/api/v1/conversations/{his_conv}/attachments", data=form, headers=admin.headers
        )
        assert up.status == 201, await up.text()
        ids.append((await up.json())["id"])
    note = await client.post(
        f"/api/v1/conversations/{his_conv}/messages",
        json={"body": "внутреннее", "private": True, "attachment_ids": [ids[0]]},
        headers=admin.headers,
    )
    assert note.status == 201, await note.text()
    for att_id in (*ids, theirs["attachments"][0]["id"], 999_999, 2**40):
        url = f"/api/widget/v1/attachments/{att_id}"
        await expect_error(
            await client.get(url, headers=visitor_headers(token)), 404, "attachment_not_found"
        )
    # No token, a forged one, a page of another site, an id that is not a number.
    assert (await client.get(mine["url"])).status == 401
    assert (await client.get(mine["url"], headers=visitor_headers("forged"))).status == 401
    other_site = await client.get(mine["url"], headers=visitor_headers(token, OTHER_ORIGIN))
    await expect_error(other_site, 403, "origin_not_allowed")
    bad = await client.get("/api/widget/v1/attachments/x1", headers=visitor_headers(token))
    await expect_error(bad, 400, "invalid_id")
    assert "внутреннее" not in str(await fetch_messages(client, token))


async def test_bad_uploads_are_refused_and_store_nothing(client: Client) -> None:
    _admin, _channel, token = await new_visitor(client)
    await uploaded(client, token, file_form(client_id="first"))
    before = (await table_counts(client), await attachment_count(client), stored_files(client))

    cases: list[tuple[aiohttp.ClientResponse, int, str]] = [
        (await visitor_upload(client, token, file_form(client_id=None)), 422, "invalid_client_id"),
        (
            await visitor_upload(client, token, file_form(PDF, client_id_last=True)),
            422,
            "invalid_client_id",
        ),
        (
            await visitor_upload(client, token, file_form(PDF, client_id="")),
            422,
            "invalid_client_id",
        ),
        (
            await visitor_upload(client, token, file_form(PDF, client_id="x" * 65)),
            422,
            "invalid_client_id",
        ),
        (
            await visitor_upload(client, token, file_form(PDF, client_id="c", body="я" * 5001)),
            422,
            "body_too_long",
        ),
        (
            await client.post(
                "/api/widget/v1/attachments",
                json={"client_id": "c"},
                headers=visitor_headers(token),
            ),
            400,
            "not_multipart",
        ),
        (
            await client.post(
                "/api/widget/v1/attachments",
                data=b"--xyz\r\nContent-Disposition: form-da",
                headers={
                    **visitor_headers(token),
                    "Content-Type": "multipart/form-data; boundary=xyz",
                },
            ),
            400,
            "malformed_multipart",
        ),
    ]
    cases.append(
        (await visitor_upload(client, "forged", file_form(PDF)), 401, "invalid_visitor_token")
    )
    other_site = await visitor_upload(client, token, file_form(PDF), Origin=OTHER_ORIGIN)
    cases.append((other_site, 403, "origin_not_allowed"))
    no_file = aiohttp.FormData()
    no_file.add_field("client_id", "c")
    no_file.add_field("other", b"x", filename="x.bin")
    cases.append((await visitor_upload(client, token, no_file), 400, "missing_file"))
    for resp, status, code in cases:
        await expect_error(resp, status, code)
    assert (await table_counts(client), await attachment_count(client), stored_files(client)) == (
        before
    )
    # The route still works after all that.
    assert (await visitor_upload(client, token, file_form(PDF, client_id="later"))).status == 200


async def test_a_file_over_the_limit_is_413_and_nothing_is_kept(
    aiohttp_client: Any, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_attachment_bytes": 100})
    client = await aiohttp_client(create_app(small))
    _admin, _channel, token = await new_visitor(client)
    resp = await visitor_upload(client, token, file_form(b"x" * 5000, filename="big.bin"))
    await expect_error(resp, 413, "attachment_too_large")
    assert stored_files(client) == []
    assert await attachment_count(client) == 0
    assert (
        await visitor_upload(client, token, file_form(b"y" * 100, filename="ok.bin"))
    ).status == 200


async def test_the_prechat_form_comes_before_a_file(client: Client) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_widget_channel(
        client, admin, prechat={"enabled": True, "fields": {"name": "required"}}
    )
    token = (await start_session(client, channel))["visitor_token"]
    resp = await visitor_upload(client, token, file_form())
    await expect_error(resp, 422, "prechat_required")
    assert stored_files(client) == [] and await attachment_count(client) == 0


async def test_a_page_posing_as_an_image_is_served_as_a_download(client: Client) -> None:
    admin, channel, token = await new_visitor(client)
    page = b"<html><script>alert(document.cookie)</script></html>"
    ack = await uploaded(client, token, file_form(page, filename="cat.png"))
    [att] = ack["message"]["attachments"]
    assert (att["kind"], att["content_type"]) == ("document", "application/octet-stream")
    got = await client.get(att["url"], headers=visitor_headers(token))
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    # A real image sent under a wrong image type is shown as what it is.
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    ack = await uploaded(client, token, file_form(jpeg, client_id="j", filename="x.png"))
    assert ack["message"]["attachments"][0]["content_type"] == "image/jpeg"
    # The operator's download is as careful.
    conv = await only_conversation(client, admin, channel)
    first = (await operator_messages(client, admin, conv["id"]))[0]["attachments"][0]
    got = await client.get(first["url"], headers=admin.headers)
    assert got.headers["Content-Type"] == "application/octet-stream"


async def test_a_socket_message_frame_can_not_name_files(client: Client) -> None:
    """Files come only through the upload route: a frame's extra fields are ignored."""
    _admin, _channel, token = await new_visitor(client)
    ws, _ = await open_visitor(client, token)
    await ws.send_json({"type": "message", "client_id": "m", "body": "hi", "attachment_ids": [1]})
    ack, _ = await recv_until(ws, is_type("ack"))
    assert ack["message"]["attachments"] == []
    await ws.close()
