"""Which mails of one fetched batch may be stored side by side, and which must wait their turn.

Why: stored one at a time, each mail of a mailbox waits for its own thread look-up and its own
commit (on PostgreSQL a few round trips each, and an event on Redis), so a mailbox of 1,000
mails took 20 times as long as a plain IMAP client fetching them, and ``receive_message``
never got two mails to share a commit. All at once, a reply could be threaded before the mail
it answers is stored. So a batch is cut into chains: mails of the same sender, or naming (in
In-Reply-To or References) the Message-ID of another mail of the batch, share a chain and are
stored in UID order; different chains run side by side. A mail whose headers cannot be read
joins one common chain, so nothing unusual is ever reordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from hub.channels.email.parse import message_ids

_HEADERS = BytesHeaderParser(policy=policy.compat32)


def _keys(raw: bytes) -> tuple[str | None, str | None, list[str]] | None:
    """The sender's address, the Message-ID and the ids it refers to; None if unreadable."""
    try:
        msg = _HEADERS.parsebytes(raw)
        senders = [addr.lower() for _, addr in getaddresses([str(msg.get("From", ""))]) if addr]
        own = message_ids(str(msg.get("Message-ID", "")))
        refs = [
            i for name in ("In-Reply-To", "References") for i in message_ids(str(msg.get(name, "")))
        ]
    except Exception:  # a header the lenient parser still refuses: keep it in order
        return None
    return (senders[0] if senders else None), (own[0] if own else None), refs


def chains(raws: Sequence[bytes]) -> list[list[int]]:
    """Indexes of ``raws`` in chains, each chain in the order given (the UID order)."""
    parent = list(range(len(raws)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    first_of: dict[str, int] = {}
    unreadable: int | None = None
    for i, raw in enumerate(raws):
        keys = _keys(raw)
        if keys is None:
            if unreadable is None:
                unreadable = i
            else:
                join(i, unreadable)
            continue
        sender, own, refs = keys
        for key in [f"from:{sender}" if sender else None, *(f"id:{r}" for r in refs)]:
            if key is not None and key in first_of:
                join(i, first_of[key])
        if sender:
            first_of.setdefault(f"from:{sender}", i)
        if own:
            first_of.setdefault(f"id:{own}", i)
    groups: dict[int, list[int]] = {}
    for i in range(len(raws)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda chain: chain[0])
