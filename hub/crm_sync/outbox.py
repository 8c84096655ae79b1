"""The producer half of sync out: a change becomes an outbox record in the change's transaction.

Writing the record in the same transaction as the change is what makes sync out lossless: the
change and its record commit together or not at all, and the worker delivers records to
subscribers later, however long they are down and whether or not the hub restarts meanwhile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.models import SyncRecord

#: What can change, and the events each kind of entity produces.
ENTITIES = ("lead", "deal", "contact")


def record_change(
    session: AsyncSession, *, event: str, entity: str, entity_id: int, payload: dict[str, Any]
) -> SyncRecord:
    """Add the outbox record of one change (``deal.updated`` of deal 12, say) to ``session``.

    Records of one entity keep their order for every subscriber (``ordering_key``).
    """
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}")
    record = SyncRecord(
        event=event,
        entity=entity,
        entity_id=entity_id,
        ordering_key=f"{entity}:{entity_id}",
        payload=payload,
    )
    session.add(record)
    return record
