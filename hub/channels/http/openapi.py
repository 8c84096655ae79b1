"""The OpenAPI description of the channel admin routes: connect, list, and the types served.

Each channel type's own routes (the API channel's inbound, the widget's visitor API, Telegram's
webhook) are described by its package in its spec (``ChannelSpec.openapi``), which
``hub.http.openapi`` merges in for every registered type."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.channels.http.routes import ChannelIn, ChannelPatch
from hub.channels.responses import (
    ChannelsOut,
    ChannelTypesOut,
    CreatedChannelOut,
    EditedChannelOut,
)
from hub.http.openapi_build import OPERATOR, path_id
from hub.http.openapi_build import op as _op

CHANNEL_PATHS: dict[str, dict[str, Any]] = {
    # Connecting channels (admins); each channel's own routes are in its spec (``openapi``).
    "/api/v1/channel-types": {
        "get": _op(
            "The channel types this hub serves: type, title, badge and capabilities",
            answer=ChannelTypesOut,
            auth=OPERATOR,
            errors=(401,),
        )
    },
    "/api/v1/channels": {
        "get": _op(
            "List channels (never their secrets; their settings to admins only)",
            answer=ChannelsOut,
            auth=OPERATOR,
        ),
        "post": _op(
            "Connect a channel (admin); the secret is shown once. Other fields are the "
            "type's settings, e.g. callback_url for type api, token for type telegram (checked "
            "with getMe, never returned; the webhook is registered; a bot connected already "
            "answers 409 bot_already_connected), address, preset, imap, smtp and dkim for type "
            "email (both logins checked first: 422 imap_check_failed, smtp_check_failed or "
            "mailbox_check_failed saying what failed; passwords and the DKIM key never "
            "returned). A callback_url whose host "
            "is or resolves to a non-public address (private, loopback, link-local, metadata…) "
            "answers 422 destination_not_allowed unless HUB_WEBHOOK_ALLOWED_NETWORKS allows it",
            body=ChannelIn,
            answer=CreatedChannelOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/channels/{channel_id}": {
        "patch": _op(
            "Change a channel (admin): name, team_id (null: no team), active (false: it takes "
            "no customer messages; its conversations stay; a Telegram channel's webhook is "
            "removed, and set again before it is turned on: 422 webhook_refused keeps it off) "
            "and settings, the type's own, merged "
            "over the stored ones and validated by the type as at creation (a widget's color, "
            "position, lang, greeting, prechat, allowed_origins…). Settings the provider checked "
            "when the channel was connected cannot change (422 setting_not_editable, naming "
            "those that can): a Telegram channel's only editable setting is auto_leads; an email "
            "channel's are display_name, plus_addressing, tracking, system_mail, "
            "linked_widget_channel_ids and auto_leads (a mailbox whose servers or passwords "
            "change is connected anew). One mailbox at most sends the hub's own mail "
            "(system_mail: 409 system_mail_sender_taken while another does). "
            "Announced as channel.updated",
            body=ChannelPatch,
            answer=EditedChannelOut,
            auth=OPERATOR,
            params=[path_id("channel_id")],
            errors=(400, 401, 403, 404, 409, 413, 422),
        ),
    },
    "/api/v1/channels/{channel_id}/secret": {
        "post": _op(
            "Give a channel a new secret (admin), shown this once; the old one stops working "
            "(every process within a few seconds). A Telegram channel's webhook is registered "
            "again with it first: if Telegram refuses, the old secret stays (422 "
            "webhook_refused, 502 telegram_unreachable). A widget channel's visitors' "
            "identifier_hash must then be signed with the new one; a calls channel's answer has "
            "setup again, its webhook URL with the new secret, to paste in the provider's "
            "cabinet",
            answer=CreatedChannelOut,
            auth=OPERATOR,
            params=[path_id("channel_id")],
            errors=(400, 401, 403, 404, 422, 502),
        ),
    },
}

CHANNEL_MODELS: tuple[type[BaseModel], ...] = (
    ChannelIn,
    ChannelPatch,
    EditedChannelOut,
    ChannelsOut,
    ChannelTypesOut,
    CreatedChannelOut,
)
