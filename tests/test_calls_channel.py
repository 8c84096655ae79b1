"""The calls channel: every provider's recorded events, replayed over real HTTP and signed as
the provider signs, fold into one call on the caller's conversation, whatever their order and
however often they come; forged or unsigned requests store nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from tests.calls_replay import (
    PUBLIC_URL,
    SECRETS,
    Channel,
    Request,
    build,
    connect,
    fixture_names,
    send,
    token_path,
)
from tests.helpers import Op, make_operator

#: What each provider's recorded call folds into.
EXPECTED: dict[str, dict[str, Any]] = {
    "twilio": {"from": "+14155550123", "to": "+14155550199", "operator": None},
    "zadarma": {"from": "+79161234567", "to": "+74951234567", "operator": "101"},
    "mango": {
        "from": "+79161234567",
        "to": "+74951234567",
        "operator": "101",
        "tracking_number": "+74951230001",
    },
    "sipuni": {"from": "+79161234567", "to": "+74951234567", "operator": "101"},
    "uis": {"from": "+79161234567", "to": "+74951230001", "operator": "Ivanova Anna"},
    "telphin": {
        "from": "+79161234567",
        "to": "+74951234567",
        "operator": "101",
        # Telphin gives no address for it: its id tells the operator where it is.
        "recording_ref": "3584709139-3849618a-rec",
    },
    "calltouch": {
        "from": "+79161234567",
        "to": "+74951234567",
        "operator": None,
        "tracking_number": "+74951230001",
    },
}
#: The body each provider expects back.
ANSWERS = {
    "twilio": b'<?xml version="1.0" encoding="UTF-8"?><Response/>',
    "sipuni": b'{"success": true}',
}


async def calls_of(client: TestClient, admin: Op, ch: Channel) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await client.get(f"/api/v1/conversations?channel={ch.id}", headers=admin.headers)
    assert resp.status == 200
    out = []
    for conv in (await resp.json())["items"]:
        msgs = await client.get(
            f"/api/v1/conversations/{conv['id']}/messages", headers=admin.headers
        )
        out += [m for m in (await msgs.json())["items"] if m.get("call")]
    return out


async def test_every_providers_call_folds_once_whatever_the_order(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    for provider in sorted(EXPECTED):
        await _replay_backwards_twice(client, admin, provider)


async def _replay_backwards_twice(client: TestClient, admin: Op, provider: str) -> None:  # type: ignore[type-arg]
    ch = await connect(client, admin.headers, provider)
    assert any(ch.path in line for line in ch.setup)
    names = fixture_names(provider)
    # Backwards, forwards, backwards: the end before the start, every event repeated, the
    # start last.
    for name in [*reversed(names), *names, *reversed(names)]:
        resp = await send(client, build(ch, name))
        assert resp.status == 200, (name, await resp.text())
        assert await resp.read() == ANSWERS.get(provider, b"")
    calls = await calls_of(client, admin, ch)
    assert len(calls) == 1
    call = calls[0]["call"]
    for key, value in EXPECTED[provider].items():
        assert call[key] == value, (key, call)
    assert call["status"] == "answered"
    assert call["duration_s"] == 147
    assert call["direction"] == "inbound"
    if provider != "calltouch":  # Calltouch reports the end only
        assert call["started_at"] is not None


#: A value the provider's signature covers, and a forged one.
SIGNED_VALUE = {"twilio": b"147", "zadarma": b"79161234567", "mango": b"79161234567"}


async def test_a_forged_or_unsigned_request_stores_nothing(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    for provider in ("twilio", "zadarma", "mango", "uis", "calltouch"):
        await _forge(client, admin, provider)


async def _forge(client: TestClient, admin: Op, provider: str) -> None:  # type: ignore[type-arg]
    ch = await connect(client, admin.headers, provider)
    good = build(ch, fixture_names(provider)[-1])
    signatures = ("X-Twilio-Signature", "Signature")
    unsigned = {k: v for k, v in good.headers.items() if k not in signatures}
    forged = [
        # Another channel's token, or none that exists.
        Request(
            good.method,
            good.path.replace(ch.path, token_path(ch, "x" * 43)),
            good.headers,
            good.body,
        ),
        # No signature at all (for UIS and Calltouch: a wrong key).
        Request(
            good.method,
            good.path.replace(ch.secret + "&", "wrong&"),
            unsigned,
            good.body.replace(ch.secret.encode(), b"wrong").replace(b"sign=", b"sign=0"),
        ),
    ]
    if provider in SIGNED_VALUE:  # the right token, a signed value changed after signing
        value = SIGNED_VALUE[provider]
        signed = next(r for r in (build(ch, n) for n in fixture_names(provider)) if value in r.body)
        forged.append(
            Request(
                signed.method,
                signed.path,
                signed.headers,
                signed.body.replace(value, value[:-1] + b"9"),
            )
        )
    for req in forged:
        resp = await send(client, req)
        assert resp.status == 401, (req, await resp.text())
        assert (await resp.json())["error"]["code"] in ("invalid_signature", "invalid_secret_token")
    assert await calls_of(client, admin, ch) == []
    assert (await send(client, good)).status == 200


async def test_twilio_json_body_is_checked_as_the_sdk_validates(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Twilio's JSON variant: ``bodySHA256`` (the body's hex SHA-256) in the URL, the
    signature over the URL alone; the SDK's own ``RequestValidator`` says the request is
    valid, and a changed body or hash is refused."""
    admin = await make_operator(client, role="admin")
    ch = await connect(client, admin.headers, "twilio")
    raw = build(ch, "3_completed.form").body.decode()
    body = json.dumps(dict(parse_qsl(raw))).encode()
    token = SECRETS["twilio"]["auth_token"]
    validator = RequestValidator(token)
    path = f"{ch.path}?{urlencode({'bodySHA256': hashlib.sha256(body).hexdigest()})}"
    signature = validator.compute_signature(PUBLIC_URL + path, {})
    assert validator.validate(PUBLIC_URL + path, body.decode(), signature)
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}
    other = body.replace(b"147", b"148")
    assert not validator.validate(PUBLIC_URL + path, other.decode(), signature)
    for forged in (
        Request("POST", path, headers, other),  # the body changed: its hash does not hold
        Request("POST", path.replace("bodySHA256=", "bodySHA256=0"), headers, body),
    ):
        resp = await send(client, forged)
        assert resp.status == 401, await resp.text()
    assert await calls_of(client, admin, ch) == []
    resp = await send(client, Request("POST", path, headers, body))
    assert resp.status == 200, await resp.text()
    [call] = await calls_of(client, admin, ch)
    assert call["call"]["status"] == "answered" and call["call"]["duration_s"] == 147
