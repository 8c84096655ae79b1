"""The signed marks that bring a customer's reply back to its conversation.

Mail clients keep different parts of what the hub sent: most quote its Message-ID in
In-Reply-To and References, some (Outlook, mobile Gmail) drop those headers but answer to the
Reply-To address. So the hub signs both with its secret key: the Message-ID of each email it
sends (``m.<message>.<conversation>.<sig>@<domain>``) and a reply token in a plus address
(``sales+c<conversation>.<sig>@company.ru``). A signed mark can be checked without a look-up,
and a forged or guessed one (a stranger writing to ``sales+c17.…``) never joins another
customer's conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import make_msgid

_SIG_CHARS = 16  # 64 bits of HMAC-SHA256, hex: enough against guessing, short in an address
_MESSAGE_ID = re.compile(r"^m\.(\d+)\.(\d+)\.([0-9a-f]{16})@")
_TOKEN = re.compile(r"^c(\d+)\.([0-9a-f]{16})$")


def _sig(key: str, purpose: str, *parts: int) -> str:
    text = purpose + ":" + ":".join(str(p) for p in parts)
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()[:_SIG_CHARS]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() or "localhost"


def message_id(key: str, message_id: int, conversation_id: int, domain: str) -> str:
    """The Message-ID (without angle brackets) of the email that carries hub message
    ``message_id`` of conversation ``conversation_id``."""
    sig = _sig(key, "mid", message_id, conversation_id)
    return f"m.{message_id}.{conversation_id}.{sig}@{domain}"


def new_message_id(domain: str) -> str:
    """A Message-ID for mail that is no hub message (a test login, a notification)."""
    return make_msgid(domain=domain).strip("<>")


def conversation_of_message_id(key: str, header_id: str) -> int | None:
    """The conversation a Message-ID the hub made names, if its signature holds."""
    found = _MESSAGE_ID.match(header_id.strip().strip("<>").lower())
    if found is None:
        return None
    message, conversation, sig = int(found[1]), int(found[2]), found[3]
    ok = hmac.compare_digest(sig, _sig(key, "mid", message, conversation))
    return conversation if ok else None


def reply_address(key: str, address: str, conversation_id: int) -> str:
    """``address`` with the conversation's signed token after a plus: where replies go."""
    local, _, domain = address.partition("@")
    token = f"c{conversation_id}.{_sig(key, 'reply', conversation_id)}"
    return f"{local}+{token}@{domain}"


def conversation_of_address(key: str, address: str) -> int | None:
    """The conversation whose signed token an address carries after a plus, if any."""
    local = address.strip().strip("<>").partition("@")[0].lower()
    _, plus, token = local.partition("+")
    found = _TOKEN.match(token) if plus else None
    if found is None:
        return None
    conversation, sig = int(found[1]), found[2]
    ok = hmac.compare_digest(sig, _sig(key, "reply", conversation))
    return conversation if ok else None
