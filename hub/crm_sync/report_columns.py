"""The report columns computed from the rows they summarise, set-based, on both backends.

The write path keeps ``conversations.first_incoming_at``, ``first_reply_at`` and
``first_replier_id`` and ``deals.reach_position`` and ``last_move_at`` as messages and stage
changes are written. These statements compute the same values from ``messages`` and
``stage_changes`` for rows written otherwise: migration 0005 fills the existing rows with them,
and the benchmark's and tests' bulk loaders, which insert messages and stage changes directly,
call them afterwards. The definitions are those of ``hub.crm_sync.response_times`` and of the
funnel's stage reach (``hub.crm_sync.reports``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

CONVERSATIONS = (
    "UPDATE conversations SET first_incoming_at = (SELECT min(m.created_at) FROM messages m"
    " WHERE m.conversation_id = conversations.id AND m.kind = 'incoming') WHERE {scope}",
    "UPDATE conversations SET first_reply_at = (SELECT min(m.created_at) FROM messages m"
    " WHERE m.conversation_id = conversations.id AND m.kind = 'outgoing'"
    " AND m.sender_operator_id IS NOT NULL AND m.created_at >= conversations.first_incoming_at)"
    " WHERE {scope}",
    "UPDATE conversations SET first_replier_id = (SELECT m.sender_operator_id FROM messages m"
    " WHERE m.conversation_id = conversations.id AND m.kind = 'outgoing'"
    " AND m.sender_operator_id IS NOT NULL AND m.created_at >= conversations.first_incoming_at"
    " ORDER BY m.created_at, m.id LIMIT 1) WHERE {scope}",
)

DEALS = (
    "UPDATE deals SET last_move_at = (SELECT max(c.created_at) FROM stage_changes c"
    " WHERE c.deal_id = deals.id), reach_position = (SELECT max(s.position)"
    " FROM stage_changes c JOIN stages s ON s.id = c.to_stage_id WHERE c.deal_id = deals.id"
    " AND s.kind = 'open' AND s.pipeline_id = deals.pipeline_id) WHERE {scope}",
)


def statements(
    conversation_id: int | None = None, deal_id: int | None = None
) -> list[tuple[str, Any]]:
    """The UPDATEs and their parameters: for every row, or one conversation and/or one deal."""
    if conversation_id is None and deal_id is None:
        return [(sql.format(scope="1 = 1"), {}) for sql in (*CONVERSATIONS, *DEALS)]
    out: list[tuple[str, Any]] = []
    if conversation_id is not None:
        out += [(sql.format(scope="id = :id"), {"id": conversation_id}) for sql in CONVERSATIONS]
    if deal_id is not None:
        out += [(sql.format(scope="id = :id"), {"id": deal_id}) for sql in DEALS]
    return out


def refresh(
    conn: Connection, *, conversation_id: int | None = None, deal_id: int | None = None
) -> None:
    """Recompute the columns of every row, or of one conversation and/or one deal."""
    for sql, params in statements(conversation_id, deal_id):
        conn.execute(text(sql), params)


async def refresh_in(
    session: AsyncSession, *, conversation_id: int | None = None, deal_id: int | None = None
) -> None:
    """``refresh`` on an async session."""
    for sql, params in statements(conversation_id, deal_id):
        await session.execute(text(sql), params)
