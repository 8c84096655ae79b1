"""Cross-cutting steps a channel takes part in without core modules importing it.

A contact merge moves everything that belongs to the merged contact, including rows of a
channel's own tables (the widget's visitors). A channel names such tables in its spec
(``ChannelSpec.contact_rows``); the app hands them to the context (``HubContext.contact_rows``)
and ``hub.crm_sync.merge`` moves them, records their ids and moves exactly those back on undo,
as it does its own tables. Nothing here imports a transport, so the domain may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ContactRows:
    """A table with ``id`` and ``contact_id`` columns whose rows follow their contact in a merge.

    ``key`` names them in the merge's record (``contact_merges.moved``), so it must stay the same
    once merges were recorded with it."""

    key: str
    model: Any
