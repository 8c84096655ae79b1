"""The website widget's registry entry: a chat on the customer's own site."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.channels.capabilities import Capabilities
from hub.channels.hooks import ContactRows
from hub.channels.spec import ChannelSpec, CliOption, describe_secrets
from hub.channels.widget.config import TYPE, validate_config
from hub.channels.widget.install import install
from hub.channels.widget.models import WidgetVisitor
from hub.channels.widget.openapi import WIDGET_OPENAPI

if TYPE_CHECKING:
    from hub.channels.admin import CreatedChannel
    from hub.settings import Settings


def describe(created: CreatedChannel, settings: Settings) -> list[str]:
    """The tag to put on the site's pages, and the secret that signs verified identities."""
    base = settings.public_url.rstrip("/")
    token = created.channel["website_token"]
    return [
        f'put on every page: <script src="{base}/widget.js" data-channel="{token}" async></script>',
        *describe_secrets(created, settings),
    ]


SPEC = ChannelSpec(
    TYPE,
    validate_config,
    install,
    public_token=True,
    capabilities=Capabilities(files=True, typing=True, live=True, number_insertion=True),
    title="Website chat",
    badge="WEB",
    cli_options=(
        CliOption(
            "--allowed-origin",
            "allowed_origins",
            "a site that may embed the widget (scheme://host[:port]); repeat for more",
            repeated=True,
        ),
        CliOption("--lang", "lang", "the widget's language: ru or en"),
    ),
    describe=describe,
    openapi=WIDGET_OPENAPI,
    contact_rows=(ContactRows("widget_visitors", WidgetVisitor),),
)
