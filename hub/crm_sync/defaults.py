"""The sales defaults every hub starts with: a B2B pipeline and a list of lost reasons.

Made by an idempotent action at start-up (and by ``hub migrate`` and ``hub demo``), not by the
migration, so it works alike on both backends and never touches pipelines an admin made. Names
are stored in English; the web inbox shows the known defaults in the operator's language.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.intake import start_cursor_at_now
from hub.crm_sync.models import CrmCursor, LostReason, Pipeline, Stage, StageKind

DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES: tuple[tuple[str, StageKind], ...] = (
    ("New", StageKind.OPEN),
    ("Qualified", StageKind.OPEN),
    ("Proposal sent", StageKind.OPEN),
    ("Negotiation", StageKind.OPEN),
    ("Contract", StageKind.OPEN),
    ("Won", StageKind.WON),
    ("Lost", StageKind.LOST),
)
DEFAULT_LOST_REASONS = (
    "Too expensive",
    "Chose a competitor",
    "No budget",
    "No response",
    "Not a fit",
    "Other",
)
#: A row in ``crm_cursors`` that says the defaults were made; its primary key is the lock
#: that lets only one of several starting processes make them.
MARKER = "defaults"


async def _make(session: AsyncSession) -> bool:
    if await session.get(CrmCursor, MARKER) is not None:
        return False
    session.add(CrmCursor(name=MARKER, last_id=0))
    await session.flush()  # another process making them now blocks here, then conflicts
    if await session.scalar(select(Pipeline.id).limit(1)) is None:
        pipeline = Pipeline(name=DEFAULT_PIPELINE, is_default=True)
        session.add(pipeline)
        await session.flush()
        for position, (name, kind) in enumerate(DEFAULT_STAGES):
            session.add(
                Stage(pipeline_id=pipeline.id, name=name, position=position, kind=kind.value)
            )
    if await session.scalar(select(LostReason.id).limit(1)) is None:
        for position, name in enumerate(DEFAULT_LOST_REASONS):
            session.add(LostReason(name=name, position=position, is_active=True))
    await start_cursor_at_now(session)
    await session.flush()
    return True


async def ensure_defaults(ctx: HubContext) -> bool:
    """Make the default pipeline and lost reasons once; True if this call made them."""
    if await ctx.read(lambda s: s.get(CrmCursor, MARKER)) is not None:
        return False
    try:
        return await ctx.write(_make)
    except IntegrityError:
        return False
