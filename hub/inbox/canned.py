"""Canned responses: saved replies an operator inserts by typing ``/`` and a short code.

Every operator reads them; managers and admins keep them (as in Chatwoot), so the wording the
company agreed on is not rewritten by whoever happens to be on shift. A short code is one word
of letters, digits, ``-`` and ``_`` in any script (``/цена``, ``/hello``), unique case-blind.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db import utcnow
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.inbox.auth import Principal
from hub.inbox.models import CannedResponse
from hub.inbox.serialize import iso

SHORT_CODE = re.compile(r"^[\w-]{1,50}$")


def _short_code(raw: str) -> str:
    code = raw.strip().lstrip("/").lower()
    if not SHORT_CODE.match(code):
        raise InvalidInput(
            "a short code is one word of letters, digits, '-' or '_' (up to 50)",
            code="invalid_short_code",
        )
    return code


def _content(raw: str) -> str:
    content = raw.strip()
    if not content:
        raise InvalidInput("the response text is empty", code="invalid_content")
    return content


def _require_staff(actor: Principal) -> None:
    if not actor.is_staff:
        raise Forbidden("only managers and admins keep canned responses", code="manager_required")


def canned_dict(item: CannedResponse) -> dict[str, Any]:
    return {
        "id": item.id,
        "short_code": item.short_code,
        "content": item.content,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


async def _code_taken(session: AsyncSession, code: str, but: int | None = None) -> bool:
    query = select(CannedResponse.id).where(CannedResponse.short_code == code)
    if but is not None:
        query = query.where(CannedResponse.id != but)
    return await session.scalar(query) is not None


async def list_canned(ctx: HubContext, q: str | None = None) -> list[dict[str, Any]]:
    """All canned responses by short code; ``q`` keeps those whose code starts with it."""
    prefix = q.strip().lstrip("/").lower() if q else ""

    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        rows = (
            await session.scalars(select(CannedResponse).order_by(CannedResponse.short_code))
        ).all()
        return [canned_dict(r) for r in rows if r.short_code.startswith(prefix)]

    return await ctx.read(query)


async def create_canned(
    ctx: HubContext, actor: Principal, short_code: str, content: str
) -> dict[str, Any]:
    _require_staff(actor)
    code, text = _short_code(short_code), _content(content)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        if await _code_taken(session, code):
            raise Conflict(f"the short code /{code} is taken", code="short_code_taken")
        item = CannedResponse(short_code=code, content=text, created_by_id=actor.operator_id)
        session.add(item)
        await session.flush()
        return canned_dict(item)

    return await ctx.write(unit, key=("canned", code))


async def update_canned(
    ctx: HubContext,
    actor: Principal,
    canned_id: int,
    *,
    short_code: str | None = None,
    content: str | None = None,
) -> dict[str, Any]:
    _require_staff(actor)
    code = _short_code(short_code) if short_code is not None else None
    text = _content(content) if content is not None else None

    async def unit(session: AsyncSession) -> dict[str, Any]:
        item = await session.get(CannedResponse, canned_id)
        if item is None:
            raise NotFound(f"canned response {canned_id} not found", code="canned_not_found")
        if code is not None and code != item.short_code:
            if await _code_taken(session, code, but=item.id):
                raise Conflict(f"the short code /{code} is taken", code="short_code_taken")
            item.short_code = code
        if text is not None:
            item.content = text
        item.updated_at = utcnow()
        await session.flush()
        return canned_dict(item)

    return await ctx.write(unit, key=("canned", canned_id))


async def delete_canned(ctx: HubContext, actor: Principal, canned_id: int) -> None:
    _require_staff(actor)

    async def unit(session: AsyncSession) -> None:
        item = await session.get(CannedResponse, canned_id)
        if item is None:
            raise NotFound(f"canned response {canned_id} not found", code="canned_not_found")
        await session.delete(item)

    await ctx.write(unit, key=("canned", canned_id))
