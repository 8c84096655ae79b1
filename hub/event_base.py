"""What every event is (``Event``) and whom it reaches (``Recipients``); the events themselves
are in ``hub.events``, which re-exports these two."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who receives an event: staff (managers and admins) if ``staff``, plus these teams and
    operators. Staff see every conversation, so conversation events always include them."""

    staff: bool = True
    team_ids: frozenset[int] = frozenset()
    operator_ids: frozenset[int] = frozenset()

    def to_wire(self) -> dict[str, Any]:
        return {
            "staff": self.staff,
            "teams": sorted(self.team_ids),
            "operators": sorted(self.operator_ids),
        }

    @classmethod
    def for_conversation(
        cls, team_id: int | None, assignee_id: int | None, *extra_operators: int | None
    ) -> Recipients:
        """Everyone who may see a conversation: staff, its team and its assignee."""
        operators = {op for op in (assignee_id, *extra_operators) if op is not None}
        teams = {team_id} if team_id is not None else set()
        return cls(True, frozenset(teams), frozenset(operators))


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events."""

    name: ClassVar[str] = ""
    recipients: Recipients = field(default_factory=Recipients)

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        return {"event": self.name, "data": self.data(), "recipients": self.recipients.to_wire()}
