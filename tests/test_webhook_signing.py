"""How stored secrets map to Standard Webhooks secrets, checked with the standardwebhooks library.

The deliveries themselves (real requests to local servers, verified, replays refused) are tested
in test_api_channel.py and test_sync_out.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from hub.outbound.signing import new_secret, signed_headers, standard_secret

BODY = '{"event":"deal.updated","note":"Сделка"}'.encode()


def raw_signature(key: bytes, headers: dict[str, str], body: bytes) -> str:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_a_new_secret_is_a_standard_one_and_signs_with_its_decoded_key() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) == 32
    assert standard_secret(secret) == secret
    headers = signed_headers(secret, "42-1", BODY)
    assert Webhook(secret).verify(BODY, headers) == {"event": "deal.updated", "note": "Сделка"}
    assert headers["webhook-signature"] == raw_signature(key, headers, BODY)
    assert new_secret() != secret


@pytest.mark.parametrize(
    "stored",
    [
        secrets.token_urlsafe(32),  # an API channel's secret (also its inbound bearer token)
        "whsec_" + secrets.token_urlsafe(32),  # a subscription made before Standard Webhooks
    ],
    ids=["channel-secret", "old-whsec"],  # the same names in every process (pytest-xdist)
)
def test_other_secrets_keep_their_bytes_as_the_key(stored: str) -> None:
    """The HMAC key of an existing secret does not change: its UTF-8 bytes, as before."""
    standard = standard_secret(stored)
    assert standard == "whsec_" + base64.b64encode(stored.encode()).decode()
    headers = signed_headers(stored, "message-7", BODY)
    Webhook(standard).verify(BODY, headers)
    assert headers["webhook-signature"] == raw_signature(stored.encode(), headers, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_the_timestamp_is_the_attempts_and_is_signed() -> None:
    secret = new_secret()
    at = time.time() - 30
    headers = signed_headers(secret, "42-1", BODY, at=at)
    assert headers["webhook-timestamp"] == str(int(at))
    Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, signed_headers(secret, "42-1", BODY, at=time.time() - 600))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "42-2"})


def test_the_openapi_document_describes_both_signed_requests() -> None:
    from hub.http.openapi import openapi_document

    webhooks = openapi_document("http://hub.test")["webhooks"]
    assert set(webhooks) == {"apiChannelReply", "syncOut"}
    sent = set(signed_headers(new_secret(), "42-1", BODY))
    assert sent == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    for name, item in webhooks.items():
        op = item["post"]
        documented = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert sent <= documented, name
        assert op["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
        assert "2XX" in op["responses"]
