"""Recorded call events (``tests/fixtures/calls/<provider>/``) replayed over real HTTP, each
signed as its provider signs: Twilio with the official SDK's ``RequestValidator``, Zadarma as
its PHP SDK does (Base64 of the hex HMAC-SHA1), Mango with its documented SHA-256; the others
carry the channel's token as their documentation allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).parent / "fixtures" / "calls"
PUBLIC_URL = "http://127.0.0.1:8080"  # the test settings' HUB_PUBLIC_URL

#: The secrets each provider's channel is connected with.
SECRETS: dict[str, dict[str, str]] = {
    "twilio": {"auth_token": "test_twilio_auth_token"},
    "zadarma": {"api_secret": "test_zadarma_secret"},
    "mango": {"api_key": "test_vpbx_api_key", "api_salt": "test_vpbx_api_salt"},
}
#: Zadarma's signed fields by event (its SDK's ``Webhook/*.php``).
ZADARMA_SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}


@dataclass
class Channel:
    id: int
    provider: str
    secret: str
    setup: list[str]

    @property
    def path(self) -> str:
        return f"/webhooks/calls/{self.id}/{self.secret}"


def zadarma_signature(secret: str, params: dict[str, str]) -> str:
    text = "".join(params.get(name, "") for name in ZADARMA_SIGNED[params["event"]])
    hexdigest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hexdigest.encode()).decode()


def mango_sign(json_text: str) -> str:
    s = SECRETS["mango"]
    return hashlib.sha256((s["api_key"] + json_text + s["api_salt"]).encode()).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def fixture_names(provider: str) -> list[str]:
    return sorted(p.name for p in (FIXTURES / provider).iterdir())


def build(ch: Channel, name: str, *, edit: dict[str, str] | None = None) -> Request:
    """The provider's request for fixture ``name``, signed; ``edit`` changes form fields
    before signing (a local phone spelling, a missing field as "")."""
    raw = (FIXTURES / ch.provider / name).read_text()
    headers: dict[str, str] = {}
    form = "application/x-www-form-urlencoded"
    if ch.provider == "mango":
        tail = "events/" + name.split("_", 2)[1].removesuffix(".json")
        body = urlencode(
            {"vpbx_api_key": SECRETS["mango"]["api_key"], "sign": mango_sign(raw), "json": raw}
        )
        return Request("POST", f"{ch.path}/{tail}", {"Content-Type": form}, body.encode())
    if ch.provider == "uis":
        body = raw.replace("<secret>", ch.secret).encode()
        return Request("POST", ch.path, {"Content-Type": "application/json"}, body)
    params = dict(parse_qsl(raw, keep_blank_values=True))
    for key, value in (edit or {}).items():
        if value == "":
            params.pop(key, None)
        else:
            params[key] = value
    if ch.provider == "calltouch":
        query = urlencode({"hub_key": ch.secret, **params})
        return Request("GET", f"{ch.path}?{query}", {}, b"")
    body = urlencode(params).encode()
    headers["Content-Type"] = form
    if ch.provider == "twilio":
        validator = RequestValidator(SECRETS["twilio"]["auth_token"])
        headers["X-Twilio-Signature"] = validator.compute_signature(PUBLIC_URL + ch.path, params)
    elif ch.provider == "zadarma":
        headers["Signature"] = zadarma_signature(SECRETS["zadarma"]["api_secret"], params)
    return Request("POST", ch.path, headers, body)


async def send(client: TestClient, req: Request) -> ClientResponse:  # type: ignore[type-arg]
    return await client.request(req.method, req.path, headers=req.headers, data=req.body)


async def connect(
    client: TestClient,  # type: ignore[type-arg]
    headers: dict[str, str],
    provider: str,
    **settings: Any,
) -> Channel:
    body = {"type": "calls", "name": f"{provider} line", "provider": provider}
    body.update(SECRETS.get(provider, {}))
    body.update(settings)
    resp = await client.post("/api/v1/channels", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    return Channel(data["id"], provider, data["secret"], data["setup"])


def token_path(ch: Channel, token: str) -> str:
    return f"/webhooks/calls/{ch.id}/{quote(token)}"
