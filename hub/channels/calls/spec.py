"""The calls channel's registry entry: a telephony or call-tracking provider's webhooks
(Twilio, Zadarma, Mango Office, Sipuni, UIS/CoMagic, Telphin, Calltouch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.channels.calls.config import TYPE, secret_keys, validate_config
from hub.channels.calls.connect import CONNECTOR, store_secrets
from hub.channels.calls.dialects import DIALECTS
from hub.channels.calls.install import install
from hub.channels.calls.openapi import CALLS_OPENAPI
from hub.channels.capabilities import Capabilities
from hub.channels.spec import ChannelSpec, CliOption

if TYPE_CHECKING:
    from hub.channels.admin import CreatedChannel
    from hub.settings import Settings


def webhook_url(settings: Settings, channel_id: int, secret: str) -> str:
    return f"{settings.public_url.rstrip('/')}/webhooks/calls/{channel_id}/{secret}"


def setup(created: CreatedChannel, settings: Settings) -> list[str]:
    """What the admin pastes into the provider's cabinet; the URL holds the channel's secret,
    so this is shown once, with the channel."""
    channel = created.channel
    dialect = DIALECTS[channel["config"]["provider"]]
    url = webhook_url(settings, channel["id"], created.secret)
    if dialect.name == "calltouch":
        url += f"?hub_key={created.secret}"
    return [
        f"provider: {dialect.title}",
        *dialect.setup(url),
        f"checked by: {dialect.signature}",
    ]


def _secret_options() -> tuple[CliOption, ...]:
    """One option per secret, its help naming each provider that asks for it."""
    helps: dict[str, list[str]] = {}
    flags: dict[str, str] = {}
    for dialect in DIALECTS.values():
        for option in dialect.secrets:
            helps.setdefault(option.key, []).append(f"{dialect.title}: {option.help}")
            flags.setdefault(option.key, option.flag)
    return tuple(
        CliOption(flags[key], key, "; ".join(texts), secret=True) for key, texts in helps.items()
    )


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    connector=CONNECTOR,
    capabilities=Capabilities(replies=False),
    title="Calls",
    badge="TEL",
    cli_options=(
        CliOption("--provider", "provider", "one of: " + ", ".join(DIALECTS)),
        *_secret_options(),
        CliOption(
            "--answer-within",
            "answer_within_s",
            "seconds a call may ring before it counts as missed (a call back task)",
        ),
        CliOption(
            "--callback-due-minutes",
            "callback_due_minutes",
            "a missed call's call back task is due this many minutes later (default 15)",
        ),
        CliOption(
            "--callback-operator",
            "callback_operator_id",
            "the operator id who calls back when the caller's conversation has no assignee",
        ),
        CliOption(
            "--recording-host",
            "recording_hosts",
            "a host the provider's recordings also come from (white-label); repeat for more",
            repeated=True,
        ),
        CliOption(
            "--api-url",
            "api_url",
            "Zadarma, Mango: the provider API's base URL, when not its own (white-label)",
        ),
    ),
    describe=setup,
    openapi=CALLS_OPENAPI,
    setup=setup,
    # The provider is the channel's: another provider is another channel. Its secrets may
    # change (a new API key), stored apart from the config.
    editable_settings=frozenset(
        {"answer_within_s", "callback_due_minutes", "callback_operator_id", "auto_leads"}
        | {"recording_hosts"}
    ),
    secret_settings=secret_keys(),
    store_secrets=store_secrets,
)
