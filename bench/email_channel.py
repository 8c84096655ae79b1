"""Starts the mailbox runner in ``python -m hub serve``, for ``bench.email_imap`` only.

Why: the hub has the mailbox runner (``hub.channels.email.imap_runner.Mailboxes``), which reads
every active ``email`` channel's mailbox, but nothing in ``serve`` starts it yet. The benchmark
names this module in ``HUB_CHANNEL_MODULES`` (the registry's door for channel types from
outside): a type of its own, ``bench-mail-runner``, of which no channel exists, whose install
starts the runner. With or without the built-in email type, and even once ``serve`` starts a
runner itself, the mailbox is read by one runner: each takes the mailbox's lease first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hub.channels.base import DeliveryError, OutboundMessage, SendResult
from hub.channels.capabilities import Capabilities
from hub.channels.email.imap_runner import Mailboxes
from hub.channels.email.ingest import MailIngest
from hub.channels.spec import ChannelSpec
from hub.http import CTX


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config)


TYPE = "bench-mail-runner"


class NoSending:
    type = TYPE

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult:
        raise DeliveryError("the benchmark's mail runner sends nothing", retryable=False)

    async def close(self) -> None:
        return None


async def _mailboxes(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CTX]
    runner = Mailboxes(ctx, MailIngest(ctx))
    await runner.start()
    yield
    await runner.close()


def install(app: web.Application) -> NoSending:
    app.cleanup_ctx.append(_mailboxes)
    return NoSending()


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    capabilities=Capabilities(replies=False),
    title="Mailbox runner (bench)",
)
