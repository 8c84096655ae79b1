"""Which mails of a mailbox may be stored side by side, and which must wait for another.

Why: stored one at a time, each mail of a mailbox waits for its own thread look-up and its own
commit (on PostgreSQL a few round trips each, and an event on Redis), so a mailbox of 1,000
mails took 20 times as long as a plain IMAP client fetching them, and ``receive_message``
never got two mails to share a commit. All at once, a reply could be threaded before the mail
it answers is stored. And cut into fetched batches that each end before the next begins, the
slowest mail of every batch held up all of the next one.

So each mail starts as soon as the mails it must follow are stored, across batches: an
earlier mail with the Message-ID it names in In-Reply-To or References, an earlier mail with
its own Message-ID (a second copy is then recognised, not raced), and, if it may be threaded
by what is stored (it names an earlier mail, says "Re:" or is addressed to a reply token), the
sender's earlier mails, as his subject threading reads his conversations. A mail that starts
a thread of its own (most of a mailbox) reads nothing, so it waits for none of his mails.
Mails whose headers cannot be read follow each other, so nothing unusual is ever reordered. At
most ``at_once`` are stored at a time, so the mailbox leaves the database's connections to the
operators.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from hub.channels.email.parse import message_ids
from hub.channels.email.threads import says_reply

_HEADERS = BytesHeaderParser(policy=policy.compat32)
_UNREADABLE = "unreadable"


def order_keys(raw: bytes) -> tuple[list[str], list[str]]:
    """The keys a mail waits on (the earlier holders of each) and the keys it holds itself."""
    try:
        msg = _HEADERS.parsebytes(raw)
        senders = [addr.lower() for _, addr in getaddresses([str(msg.get("From", ""))]) if addr]
        own = message_ids(str(msg.get("Message-ID", "")))
        refs = [
            i for name in ("In-Reply-To", "References") for i in message_ids(str(msg.get(name, "")))
        ]
        threaded = bool(refs) or _may_be_threaded(msg)
    except Exception:  # a header the lenient parser still refuses: keep it in order
        return [_UNREADABLE], [_UNREADABLE]
    sender = [f"from:{senders[0]}"] if senders else []
    itself = [f"id:{own[0]}"] if own else []
    waits = [*(sender if threaded else []), *itself, *(f"id:{r}" for r in refs)]
    return waits, [*sender, *itself]


def _may_be_threaded(msg: Message) -> bool:
    """Whether a mail that names no earlier mail may still join a stored thread
    (``threads.needs_lookup``, read from the raw headers): its subject says it is a reply, or
    it is addressed to a plus address, as the hub's reply tokens are."""
    subject = str(make_header(decode_header(str(msg.get("Subject", "")))))
    if says_reply(subject):
        return True
    heads = [str(msg.get(name, "")) for name in ("To", "Cc", "Delivered-To")]
    return any("+" in addr.partition("@")[0] for _, addr in getaddresses(heads))


class MailOrder:
    """Starts each mail's storing once the mails it follows have ended (see the module)."""

    def __init__(self, at_once: int) -> None:
        self._gate = asyncio.Semaphore(at_once)
        self._holders: dict[str, asyncio.Task[int]] = {}

    def start(self, raw: bytes, store: Callable[[], Awaitable[int]]) -> asyncio.Task[int]:
        """Store ``raw`` with ``store`` when its turn comes; the task answers what ``store``
        does. If a mail it follows failed, it is not stored and fails the same way."""
        waits, holds = order_keys(raw)
        after = {self._holders[k] for k in waits if k in self._holders}
        task = asyncio.create_task(self._run(after, store))
        for key in holds:
            self._holders[key] = task

        def forget(done: asyncio.Task[int]) -> None:
            for key in holds:
                if self._holders.get(key) is done:
                    del self._holders[key]

        task.add_done_callback(forget)
        return task

    async def _run(self, after: set[asyncio.Task[int]], store: Callable[[], Awaitable[int]]) -> int:
        if after:
            await asyncio.wait(after)
            for earlier in after:
                if earlier.cancelled():
                    raise asyncio.CancelledError
                failure = earlier.exception()
                if failure is not None:
                    raise failure
        async with self._gate:
            return await store()
