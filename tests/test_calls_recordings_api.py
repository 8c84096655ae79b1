"""Recordings Zadarma and Mango name by id only, fetched through their APIs from a real local
server that plays the provider: it checks each request's signature as the provider would
(Zadarma's SDK's ``Authorization``, Mango's ``sign``), answers "not ready" first, then the
link (Zadarma's JSON, Mango's 302), and serves the file. The recording becomes the call's
audio; a link off the provider's hosts is never fetched, and the job ends failed after its
attempts while the call keeps everything else. Provider secrets change with PATCH and are
never returned."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from hub.app import create_app
from hub.channels.calls.keys import CALLS
from hub.channels.calls.recording_jobs import RecordingJob
from hub.db import utcnow
from hub.http import CTX
from hub.inbox.item_models import CallItem
from hub.settings import Settings
from tests.calls_replay import SECRETS, Channel, build, connect, fixture_names, send
from tests.helpers import Op, allow_loopback, make_operator

ZADARMA_KEY = "test_zadarma_key"
AUDIO = b"ID3" + b"\1" * 2000


@pytest.fixture
async def app(settings: Settings) -> web.Application:
    """The provider's API and files are served from this machine; two attempts per job."""
    return create_app(allow_loopback(settings).model_copy(update={"recording_attempts": 2}))


def php_query(params: dict[str, str]) -> str:
    """PHP's http_build_query (RFC 1738) of ksorted parameters, as Zadarma's server reads
    the SDK's request."""
    enc = lambda v: quote_plus(v, safe="-_.").replace("~", "%7E")  # noqa: E731
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))


@dataclass
class Provider:
    """The provider's API as a local server: what it was asked, and whether each request
    was signed right."""

    server: TestServer
    asked: list[dict[str, str]] = field(default_factory=list)
    signed: list[bool] = field(default_factory=list)
    #: Answers "not ready" this many more times.
    not_ready: int = 1

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    api = web.Application()
    holder: list[Provider] = []

    async def zadarma(request: web.Request) -> web.Response:
        p = holder[0]
        params = dict(request.query)
        query = php_query(params)
        text = request.path + query + hashlib.md5(query.encode()).hexdigest()
        digest = hmac.new(
            SECRETS["zadarma"]["api_secret"].encode(), text.encode(), hashlib.sha1
        ).hexdigest()
        expected = f"{ZADARMA_KEY}:{base64.b64encode(digest.encode()).decode()}"
        p.asked.append(params)
        p.signed.append(request.headers.get("Authorization") == expected)
        if not p.signed[-1]:
            return web.json_response({"status": "error", "message": "Not authorized"}, status=401)
        if p.not_ready > 0:
            p.not_ready -= 1
            return web.json_response({"status": "error", "message": "record not found"})
        return web.json_response(
            {
                "status": "success",
                "link": f"{p.base}/rec/{params['call_id']}.mp3",
                "lifetime_till": "2025-03-14 13:30:05",
            }
        )

    async def mango(request: web.Request) -> web.Response:
        p = holder[0]
        form = dict(await request.post())
        body = str(form.get("json", ""))
        key, salt = SECRETS["mango"]["api_key"], SECRETS["mango"]["api_salt"]
        expected = hashlib.sha256((key + body + salt).encode()).hexdigest()
        doc = json.loads(body) if body else {}
        p.asked.append({k: str(v) for k, v in form.items()})
        p.signed.append(form.get("vpbx_api_key") == key and form.get("sign") == expected)
        if not p.signed[-1] or doc.get("action") != "download":
            return web.json_response({"result": 3102}, status=401)
        if p.not_ready > 0:
            p.not_ready -= 1
            return web.json_response({"result": 4001}, status=404)
        if doc["recording_id"] == "elsewhere":  # a link off the provider's hosts
            raise web.HTTPFound(f"http://localhost:{p.server.port}/rec/elsewhere.mp3")
        raise web.HTTPFound(f"/rec/{doc['recording_id']}.mp3")

    async def record(request: web.Request) -> web.Response:
        return web.Response(body=AUDIO, content_type="audio/mpeg")

    api.router.add_get("/v1/pbx/record/request/", zadarma)
    api.router.add_post("/vpbx/queries/recording/post", mango)
    api.router.add_get("/rec/{name}", record)
    server = TestServer(api, host="127.0.0.1")
    await server.start_server()
    holder.append(Provider(server))
    try:
        yield holder[0]
    finally:
        await server.close()


async def _call(client: TestClient, admin: Op, ch: Channel) -> dict[str, Any]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations?channel={ch.id}", headers=admin.headers)
    [conv] = (await resp.json())["items"]
    page = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=admin.headers)
    [call] = [m for m in (await page.json())["items"] if m.get("call")]
    return dict(call)


async def _jobs(client: TestClient) -> list[tuple[str, int, str | None]]:  # type: ignore[type-arg]
    async def query(session: Any) -> list[tuple[str, int, str | None]]:
        rows = await session.execute(
            select(RecordingJob.status, RecordingJob.attempts, RecordingJob.error)
        )
        return [tuple(r) for r in rows.all()]

    return list(await client.app[CTX].read(query))


async def test_zadarma_recording_fetched_when_ready(
    client: TestClient,  # type: ignore[type-arg]
    provider: Provider,
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(
        client, admin.headers, "zadarma", api_url=provider.base, recording_hosts=["127.0.0.1"]
    )
    # Connected without its API key: the recording's id is kept, nothing is asked.
    for name in fixture_names("zadarma"):
        assert (await send(client, build(ch, name))).status == 200
    assert await _jobs(client) == []

    # The key given later (never shown back); the same call's NOTIFY_RECORD comes again.
    resp = await client.patch(
        f"/api/v1/channels/{ch.id}", json={"settings": {"api_key": ""}}, headers=admin.headers
    )
    assert resp.status == 422
    resp = await client.patch(
        f"/api/v1/channels/{ch.id}",
        json={"settings": {"api_key": ZADARMA_KEY}},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()
    assert ZADARMA_KEY not in await resp.text()
    listed = await client.get("/api/v1/channels", headers=admin.headers)
    assert ZADARMA_KEY not in await listed.text()
    client.app[CALLS].secrets.forget(ch.id)  # this process changed them: read anew
    assert (await send(client, build(ch, "4_record.form"))).status == 200

    jobs = client.app[CALLS].recording_jobs
    assert await jobs.run_once() == 0  # Zadarma's file comes some 40 s later
    soon = utcnow() + timedelta(seconds=41)
    assert await jobs.run_once(soon) == 1  # not ready yet: again a minute later
    assert await _jobs(client) == [("waiting", 1, "the API answered 200: record not found")]
    assert await jobs.run_once(soon + timedelta(seconds=61)) == 1
    assert provider.signed == [True, True]
    assert provider.asked[-1] == {"call_id": "1741945805.1234567", "format": "json"}
    assert await _jobs(client) == [("done", 2, None)]

    call = await _call(client, admin, ch)
    assert call["call"]["status"] == "answered" and call["call"]["duration_s"] == 147
    [file] = call["attachments"]
    assert file["kind"] == "audio" and file["content_type"] == "audio/mpeg"
    got = await client.get(f"/api/v1/attachments/{file['id']}", headers=admin.headers)
    assert got.status == 200 and await got.read() == AUDIO
    # Done once: a repeated NOTIFY_RECORD asks nothing more.
    assert (await send(client, build(ch, "4_record.form"))).status == 200
    assert await jobs.run_once(soon + timedelta(hours=2)) == 0
    assert len(provider.asked) == 2


async def test_mango_recording_follows_one_redirect_to_its_hosts_only(
    client: TestClient,  # type: ignore[type-arg]
    provider: Provider,
) -> None:
    admin = await make_operator(client, role="admin")
    ch = await connect(
        client,
        admin.headers,
        "mango",
        api_url=f"{provider.base}/vpbx",
        recording_hosts=["127.0.0.1"],
    )
    for name in fixture_names("mango"):
        assert (await send(client, build(ch, name))).status == 200
    jobs = client.app[CALLS].recording_jobs
    # The webhook woke the worker, which asks at once: once its passes ended, it was asked
    # (Mango has not saved the file yet).
    await jobs.next_pass()
    assert await _jobs(client) == [("waiting", 1, "the API answered 404 without a link")]
    later = utcnow() + timedelta(seconds=61)
    assert await jobs.run_once(later) == 1
    assert provider.signed == [True, True]
    assert json.loads(provider.asked[-1]["json"]) == {
        "recording_id": "MToxMDE4NjY6MTk2ODY0MDk3MjA6MA==",
        "action": "download",
    }
    [file] = (await _call(client, admin, ch))["attachments"]
    got = await client.get(f"/api/v1/attachments/{file['id']}", headers=admin.headers)
    assert await got.read() == AUDIO


async def test_a_link_off_the_providers_hosts_is_never_fetched(
    client: TestClient,  # type: ignore[type-arg]
    provider: Provider,
) -> None:
    provider.not_ready = 0
    admin = await make_operator(client, role="admin")
    ch = await connect(
        client,
        admin.headers,
        "mango",
        api_url=f"{provider.base}/vpbx",
        recording_hosts=["127.0.0.1"],
    )
    for name in fixture_names("mango"):
        raw = build(ch, name) if name != "6_recording.json" else _mango_recording(ch, "elsewhere")
        assert (await send(client, raw)).status == 200
    jobs = client.app[CALLS].recording_jobs
    await jobs.next_pass()
    assert await jobs.run_once(utcnow() + timedelta(seconds=61)) == 1
    [(status, attempts, error)] = await _jobs(client)
    assert (status, attempts) == ("failed", 2)
    assert error == "the recording URL is not the provider's"
    call = await _call(client, admin, ch)
    assert call["attachments"] == []
    assert call["call"]["status"] == "answered" and call["call"]["duration_s"] == 147
    ref = await client.app[CTX].read(
        lambda s: s.scalar(select(CallItem.recording_ref).where(CallItem.channel_id == ch.id))
    )
    assert ref == "elsewhere"


def _mango_recording(ch: Channel, recording_id: str) -> Any:
    from tests.calls_replay import FIXTURES, Request, mango_sign

    doc = json.loads((FIXTURES / "mango" / "6_recording.json").read_text())
    doc["recording_id"] = recording_id
    raw = json.dumps(doc)
    body = (
        f"vpbx_api_key={quote_plus(SECRETS['mango']['api_key'])}"
        f"&sign={mango_sign(raw)}&json={quote_plus(raw)}"
    )
    return Request(
        "POST",
        f"{ch.path}/events/recording",
        {"Content-Type": "application/x-www-form-urlencoded"},
        body.encode(),
    )
