"""Reading email tracking back: a sent email's summary (opens, clicks, first open, machine
hits apart) and the hits on the emails sent to a contact, newest first.

Only human hits count as opens and clicks. Machine hits (Apple's prefetch, image proxies,
link scanners) are counted apart and named, and ``unknown`` ones are neither: the inbox shows
"opened twice · 1 click" and, greyed, "maybe a robot (Apple Mail)". The summary is read from
the count rows (``EmailTrackingCount``) kept in the same transactions as the events, so it
agrees with them and costs one look-up however many hits an email has had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbox.item_models import EmailItem
from hub.inbox.models import Message
from hub.inbox.serialize import iso
from hub.inbox.tracking_models import (
    EmailTracking,
    EmailTrackingCount,
    EmailTrackingEvent,
    HitKind,
    Verdict,
    summary_fields,
)

#: The summary's grouped counts (``?`` marks the message ids), for the write lane's driver
#: connection; ``summaries_of`` asks the same through the ORM.
SUMMARY_SQL = (
    "SELECT message_id, kind, verdict, hits, first_at, last_at, client"
    " FROM email_tracking_counts WHERE message_id {among}"
)
#: Adds a batch's hits of one email, kind and verdict to its count row (``?`` marks, one row
#: per key: its hits, first and last time and greatest client name). Relative, so batches of
#: two processes at once both count.
COUNT_SQL = (
    "INSERT INTO email_tracking_counts"
    " (message_id, kind, verdict, hits, first_at, last_at, client) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (message_id, kind, verdict) DO UPDATE SET"
    " hits = email_tracking_counts.hits + excluded.hits,"
    " first_at = CASE WHEN excluded.first_at < email_tracking_counts.first_at"
    " THEN excluded.first_at ELSE email_tracking_counts.first_at END,"
    " last_at = CASE WHEN excluded.last_at > email_tracking_counts.last_at"
    " THEN excluded.last_at ELSE email_tracking_counts.last_at END,"
    " client = CASE WHEN excluded.client > email_tracking_counts.client"
    " THEN excluded.client ELSE email_tracking_counts.client END"
)
#: A count row's key: the email's message, the hit's kind and its verdict.
CountKey = tuple[int, str, str]


def count_rows(hits: Iterable[tuple[int, str, str, Any, str]]) -> list[tuple[Any, ...]]:
    """(message, kind, verdict, time, client) of each stored hit -> one ``COUNT_SQL`` row per
    key: (message, kind, verdict, hits, first, last, greatest client)."""
    rows: dict[CountKey, list[Any]] = {}
    for message_id, kind, verdict, at, client in hits:
        row = rows.get((message_id, kind, verdict))
        if row is None:
            rows[(message_id, kind, verdict)] = [message_id, kind, verdict, 1, at, at, client]
            continue
        row[3] += 1
        row[4] = min(row[4], at)
        row[5] = max(row[5], at)
        row[6] = max(row[6], client)
    return [tuple(row) for _key, row in sorted(rows.items())]


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
    c = EmailTrackingCount
    rows = await session.execute(
        select(c.message_id, c.kind, c.verdict, c.hits, c.first_at, c.last_at, c.client).where(
            c.message_id.in_(tracked_ids)
        )
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
