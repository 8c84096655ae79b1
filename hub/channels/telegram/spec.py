"""The Telegram bot channel's registry entry. Nothing here loads aiogram (see ``install``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.channels.capabilities import Capabilities
from hub.channels.connector import LazyConnector
from hub.channels.spec import ChannelSpec, CliOption
from hub.channels.telegram.config import TYPE, validate_config
from hub.channels.telegram.install import install
from hub.channels.telegram.openapi import TELEGRAM_OPENAPI
from hub.channels.telegram.rekey import register_new_secret, turn_on_or_off

if TYPE_CHECKING:
    from hub.channels.admin import CreatedChannel
    from hub.settings import Settings


def describe(created: CreatedChannel, settings: Settings) -> list[str]:
    """The bot Telegram confirmed and how its updates reach the hub."""
    channel = created.channel
    lines = [f"bot: @{channel['config']['username']}"]
    if settings.telegram_polling:
        lines.append("updates: long polling (HUB_TELEGRAM_POLLING=true)")
    else:
        lines.append(
            f"webhook: {settings.public_url.rstrip('/')}/webhooks/telegram/{channel['id']}"
        )
    return lines


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    connector=LazyConnector("hub.channels.telegram.connect"),
    capabilities=Capabilities(files=True),
    title="Telegram",
    badge="TG",
    cli_options=(CliOption("--token", "token", "the bot's token from @BotFather", secret=True),),
    describe=describe,
    openapi=TELEGRAM_OPENAPI,
    # The bot is its token's: another bot is another channel.
    editable_settings=frozenset({"auto_leads"}),
    on_new_secret=register_new_secret,
    on_active_changed=turn_on_or_off,
)
