"""The sales defaults every hub starts with: a B2B pipeline and a list of lost reasons.

Made by an idempotent action at start-up (and by ``hub migrate`` and ``hub demo``), not by the
migration, so it works alike on both backends and never touches pipelines an admin made. Names
are stored in the installation's language (``HUB_LANGUAGE``), so reports, exports and webhooks
of a Russian hub say «Новая», not "New". An installation that made them in English before keeps
them (they are its data, which admins may have renamed); the web inbox shows the English defaults
in Russian to a Russian reader anyway (``DEFAULT_NAMES_RU`` in ``static/dom.js``, the same words
as here).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.intake import start_cursor_at_now
from hub.crm_sync.models import CrmCursor, LostReason, Pipeline, Stage, StageKind


@dataclass(frozen=True, slots=True)
class Defaults:
    """The default pipeline's name, its stages and the lost reasons, in one language."""

    pipeline: str
    stages: tuple[tuple[str, StageKind], ...]
    lost_reasons: tuple[str, ...]


_KINDS = (StageKind.OPEN,) * 5 + (StageKind.WON, StageKind.LOST)
DEFAULTS: dict[str, Defaults] = {
    "en": Defaults(
        "Sales",
        tuple(
            zip(
                ("New", "Qualified", "Proposal sent", "Negotiation", "Contract", "Won", "Lost"),
                _KINDS,
                strict=True,
            )
        ),
        ("Too expensive", "Chose a competitor", "No budget", "No response", "Not a fit", "Other"),
    ),
    "ru": Defaults(
        "Продажи",
        tuple(
            zip(
                (
                    "Новая",
                    "Квалифицирована",
                    "КП отправлено",
                    "Переговоры",
                    "Договор",
                    "Успешно",
                    "Проиграна",
                ),
                _KINDS,
                strict=True,
            )
        ),
        ("Дорого", "Выбрал конкурента", "Нет бюджета", "Не отвечает", "Не подходит", "Другое"),
    ),
}
#: A row in ``crm_cursors`` that says the defaults were made; its primary key is the lock
#: that lets only one of several starting processes make them.
MARKER = "defaults"


async def _make(session: AsyncSession, names: Defaults) -> bool:
    if await session.get(CrmCursor, MARKER) is not None:
        return False
    session.add(CrmCursor(name=MARKER, last_id=0))
    await session.flush()  # another process making them now blocks here, then conflicts
    if await session.scalar(select(Pipeline.id).limit(1)) is None:
        pipeline = Pipeline(name=names.pipeline, is_default=True)
        session.add(pipeline)
        await session.flush()
        for position, (name, kind) in enumerate(names.stages):
            session.add(
                Stage(pipeline_id=pipeline.id, name=name, position=position, kind=kind.value)
            )
    if await session.scalar(select(LostReason.id).limit(1)) is None:
        for position, name in enumerate(names.lost_reasons):
            session.add(LostReason(name=name, position=position, is_active=True))
    await start_cursor_at_now(session)
    await session.flush()
    return True


async def ensure_defaults(ctx: HubContext) -> bool:
    """Make the default pipeline and lost reasons once; True if this call made them."""
    if await ctx.read(lambda s: s.get(CrmCursor, MARKER)) is not None:
        return False
    try:
        names = DEFAULTS[ctx.settings.language]
        return await ctx.write(lambda session: _make(session, names))
    except IntegrityError:
        return False
