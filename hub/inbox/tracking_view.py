"""Reading email tracking back: a sent email's summary (opens, clicks, first open, machine
hits apart) and the hits on the emails sent to a contact, newest first.

Only human hits count as opens and clicks. Machine hits (Apple's prefetch, image proxies,
link scanners) are counted apart and named, and ``unknown`` ones are neither: the inbox shows
"opened twice · 1 click" and, greyed, "maybe a robot (Apple Mail)". The summary is worked out
from the events each time (one grouped query), so it can never disagree with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbox.item_models import EmailItem
from hub.inbox.models import Message
from hub.inbox.serialize import iso
from hub.inbox.tracking_models import (
    EmailTracking,
    EmailTrackingEvent,
    HitKind,
    Verdict,
    summary_fields,
)

#: The summary's grouped counts (``?`` marks the message ids), for the write lane's driver
#: connection; ``summaries_of`` asks the same through the ORM.
SUMMARY_SQL = (
    "SELECT message_id, kind, verdict, count(*), min(at), max(at), max(client)"
    " FROM email_tracking_events WHERE message_id IN ({marks})"
    " GROUP BY message_id, kind, verdict"
)
CONTACT_HITS_LIMIT = 100

SummaryRow = tuple[int, str, str, int, Any, Any, str | None]


def summarize(
    tracked: Iterable[int],
    rows: Iterable[SummaryRow],
    read_time: Callable[[Any], datetime | None] = lambda value: value,
) -> dict[int, dict[str, Any]]:
    """Each tracked message's summary from the grouped counts of its events."""
    out = {message_id: summary_fields() for message_id in tracked}
    for message_id, kind, verdict, count, first, last, client in rows:
        summary = out.setdefault(message_id, summary_fields())
        if verdict == Verdict.HUMAN:
            if kind == HitKind.OPEN:
                summary["opens"] += count
                summary["first_opened_at"] = iso(read_time(first))
                summary["last_opened_at"] = iso(read_time(last))
            else:
                summary["clicks"] += count
        elif verdict == Verdict.MACHINE:
            summary["machine_opens" if kind == HitKind.OPEN else "machine_clicks"] += count
            if client and (summary["machine_client"] is None or kind == HitKind.OPEN):
                summary["machine_client"] = client
        else:
            summary["unknown"] += count
    return out


async def summaries_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The summaries of those of these messages that are tracked, by message id."""
    if not message_ids:
        return {}
    ids = list(message_ids)
    tracked = await session.scalars(
        select(EmailTracking.message_id).where(EmailTracking.message_id.in_(ids))
    )
    tracked_ids = list(tracked)
    if not tracked_ids:
        return {}
    e = EmailTrackingEvent
    rows = await session.execute(
        select(
            e.message_id,
            e.kind,
            e.verdict,
            func.count(),
            func.min(e.at),
            func.max(e.at),
            func.max(e.client),
        )
        .where(e.message_id.in_(tracked_ids))
        .group_by(e.message_id, e.kind, e.verdict)
    )
    return summarize(tracked_ids, [tuple(r) for r in rows.all()])  # type: ignore[misc]


def hit_dict(hit: EmailTrackingEvent, subject: str, conversation_id: int) -> dict[str, Any]:
    return {
        "message_id": hit.message_id,
        "conversation_id": conversation_id,
        "subject": subject,
        "kind": hit.kind,
        "at": iso(hit.at),
        "verdict": hit.verdict,
        "reason": hit.reason,
        "client": hit.client,
        "link": hit.link,
    }


async def hits_in(
    session: AsyncSession, conversation_ids: Sequence[int], limit: int = CONTACT_HITS_LIMIT
) -> list[dict[str, Any]]:
    """Opens and clicks of the emails sent in these conversations (a contact's that the
    reader may see), newest first: machine ones too, each with its verdict and reason."""
    if not conversation_ids:
        return []
    rows = await session.execute(
        select(EmailTrackingEvent, EmailItem.subject, Message.conversation_id)
        .join(Message, Message.id == EmailTrackingEvent.message_id)
        .outerjoin(EmailItem, EmailItem.message_id == Message.id)
        .where(Message.conversation_id.in_(list(conversation_ids)))
        .order_by(EmailTrackingEvent.at.desc(), EmailTrackingEvent.id.desc())
        .limit(limit)
    )
    return [hit_dict(hit, subject or "", conv_id) for hit, subject, conv_id in rows.all()]
