"""The events of an admin's (or a manager's) changes to the hub's settings: channels,
pipelines and their stages, lost reasons, a site's tracking numbers. Kept apart so
``hub.events`` stays under the module size cap; it re-exports them and lists them in
``ALL_EVENTS``, like every event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.event_base import Event


@dataclass(frozen=True, slots=True)
class PipelineUpdated(Event):
    """A pipeline was renamed or made the default, or one of its stages changed. To everyone."""

    name: ClassVar[str] = "pipeline.updated"
    pipeline: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline}


@dataclass(frozen=True, slots=True)
class LostReasonsUpdated(Event):
    """A lost reason was renamed, retired or brought back; ``items``: the list. To everyone."""

    name: ClassVar[str] = "lost_reasons.updated"
    items: tuple[dict[str, Any], ...] = ()

    def data(self) -> dict[str, Any]:
        return {"items": list(self.items)}


@dataclass(frozen=True, slots=True)
class ChannelUpdated(Event):
    """An admin changed a channel; sent to everyone, never with its settings or secret."""

    name: ClassVar[str] = "channel.updated"
    channel: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"channel": self.channel}


@dataclass(frozen=True, slots=True)
class PipelineCreated(Event):
    """A manager made a pipeline; boards list it. Sent to everyone."""

    name: ClassVar[str] = "pipeline.created"
    pipeline: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline}


@dataclass(frozen=True, slots=True)
class NumberPoolUpdated(Event):
    """An admin changed a site's pool of tracking numbers (a number added or taken out, the
    default number set). Sent to staff."""

    name: ClassVar[str] = "number_pool.updated"
    pool: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"pool": self.pool}


@dataclass(frozen=True, slots=True)
class WorkingHoursUpdated(Event):
    """An admin saved the company's time zone and working hours; every hub process uses them
    from this event on (``hub.company_hours``), and the pages write dates in the new zone. Sent
    to everyone."""

    name: ClassVar[str] = "working_hours.updated"
    working_hours: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"working_hours": self.working_hours}
