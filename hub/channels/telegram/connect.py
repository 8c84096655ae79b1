"""Connecting a bot: its token is checked with getMe, its webhook registered with a secret.

The webhook URL is ``<HUB_PUBLIC_URL>/webhooks/telegram/<channel id>``: it names the channel,
never the token. Its ``secret_token`` is the channel's random secret, which Telegram sends back
in ``X-Telegram-Bot-Api-Secret-Token`` with every update. In polling mode no webhook is set (the
poller removes any before it polls).
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.telegram.bots import make_bot
from hub.channels.telegram.config import ALLOWED_UPDATES, check_token
from hub.channels.telegram.models import TelegramBot
from hub.context import HubContext
from hub.errors import Conflict, InvalidInput, UpstreamError
from hub.inbox.models import Channel
from hub.settings import Settings

log = logging.getLogger(__name__)


def webhook_url(settings: Settings, channel_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/webhooks/telegram/{channel_id}"


def _upstream(exc: BaseException) -> UpstreamError:
    # The exception's text is not passed on: a network error's may name the token's URL.
    return UpstreamError(
        f"the Telegram Bot API did not answer ({type(exc).__name__}); try again",
        code="telegram_unreachable",
    )


class TelegramConnector:
    async def prepare(
        self, ctx: HubContext, settings: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        rest = dict(settings)
        token = check_token(rest.pop("token", None))
        bot = make_bot(ctx.settings, token)
        try:
            me = await bot.get_me()
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            raise InvalidInput(
                "Telegram does not accept this bot token", code="invalid_bot_token"
            ) from exc
        except (TelegramAPIError, ClientDecodeError, TimeoutError, OSError) as exc:
            raise _upstream(exc) from exc
        finally:
            await bot.session.close()
        username = me.username or ""
        public = {**rest, "username": username, "bot_id": me.id}
        return public, {"token": token, "bot_user_id": me.id, "username": username}

    async def store(self, session: AsyncSession, channel: Channel, private: dict[str, Any]) -> None:
        taken = await session.scalar(
            select(TelegramBot.channel_id).where(TelegramBot.bot_user_id == private["bot_user_id"])
        )
        if taken is not None:
            raise Conflict(
                f"this bot is connected already (channel {taken})", code="bot_already_connected"
            )
        try:
            # Two connects of one bot at the same moment: the unique index decides, as a 409.
            async with session.begin_nested():
                session.add(
                    TelegramBot(
                        channel_id=channel.id,
                        token=private["token"],
                        bot_user_id=private["bot_user_id"],
                        username=private["username"],
                        poll_offset=0,
                    )
                )
                await session.flush()
        except IntegrityError as exc:
            raise Conflict("this bot is connected already", code="bot_already_connected") from exc

    async def activate(
        self, ctx: HubContext, channel_id: int, secret: str, private: dict[str, Any]
    ) -> None:
        if ctx.settings.telegram_polling:
            return
        bot = make_bot(ctx.settings, private["token"])
        try:
            await bot.set_webhook(
                url=webhook_url(ctx.settings, channel_id),
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        except TelegramBadRequest as exc:
            raise InvalidInput(
                f"Telegram refused the webhook {webhook_url(ctx.settings, channel_id)}: "
                f"{exc.message} (HUB_PUBLIC_URL must be a public https URL, or set "
                "HUB_TELEGRAM_POLLING=true)",
                code="webhook_refused",
            ) from exc
        except (TelegramAPIError, ClientDecodeError, TimeoutError, OSError) as exc:
            raise _upstream(exc) from exc
        finally:
            await bot.session.close()
        log.info("telegram channel %s: webhook set for @%s", channel_id, private["username"])

    async def remove_webhook(self, ctx: HubContext, channel_id: int, token: str) -> None:
        """A deactivated channel's bot stops sending updates; Telegram keeps them (a day) for
        when the webhook is set again."""
        if ctx.settings.telegram_polling:
            return
        bot = make_bot(ctx.settings, token)
        try:
            await bot.delete_webhook(drop_pending_updates=False)
        except (TelegramAPIError, ClientDecodeError, TimeoutError, OSError) as exc:
            raise _upstream(exc) from exc
        finally:
            await bot.session.close()
        log.info("telegram channel %s: webhook removed (deactivated)", channel_id)


CONNECTOR = TelegramConnector()
