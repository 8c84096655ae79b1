"""Who gets a conversation, and the words that say why: automatic assignment's pure rules.

No database here: ``hub.inbox.router`` reads the team's operators who may take work now
(online, not away, below capacity) under its locks and asks these rules. Round robin goes
through them in the order of their ids, starting after the one who got the last conversation,
and skips whoever is full, so N conversations spread evenly over the available operators and
nobody is given more than his capacity. A returning customer goes to the operator who had his
last conversation, when that operator is among them and has room.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class Reason(enum.StrEnum):
    """Why automatic assignment chose an operator (an activity's ``meta.reason``)."""

    ROUND_ROBIN = "round_robin"
    RETURNING_CUSTOMER = "returning_customer"


#: The English words of each reason (the inbox tells them again in Russian from ``meta``).
REASON_TEXT = {
    Reason.ROUND_ROBIN: "round robin",
    Reason.RETURNING_CUSTOMER: "returning customer",
}


@dataclass(slots=True)
class Seat:
    """An operator who may take conversations now, with how many he has open and may have."""

    operator_id: int
    name: str
    capacity: int
    open: int

    @property
    def has_room(self) -> bool:
        return self.open < self.capacity


def next_in_turn(
    seats: Sequence[Seat], last_operator_id: int | None, *, skip: int | None = None
) -> Seat | None:
    """Round robin: the first operator with room after ``last_operator_id`` (by id, wrapping
    round), never ``skip`` (the operator an offer passes on from); None when all are full."""
    ordered = sorted(seats, key=lambda s: s.operator_id)
    after = [s for s in ordered if last_operator_id is None or s.operator_id > last_operator_id]
    before = [s for s in ordered if s not in after]
    for seat in after + before:
        if seat.has_room and seat.operator_id != skip:
            return seat
    return None


def returning_seat(seats: Sequence[Seat], previous_operator_id: int | None) -> Seat | None:
    """The operator who had the customer's last conversation, if he may take this one now."""
    for seat in seats:
        if seat.operator_id == previous_operator_id and seat.has_room:
            return seat
    return None


def decision_text(
    seat: Seat, reason: Reason, *, passed_from: str | None = None, timeout_s: int = 0
) -> str:
    """The activity line, e.g. "Assigned to Oleg: round robin, 2 of 5 open" (``seat.open``
    counts the conversation just given)."""
    why = f"{REASON_TEXT[reason]}, {seat.open} of {seat.capacity} open"
    if passed_from is not None:
        return f"Passed to {seat.name}: {passed_from} did not open it within {timeout_s} s; {why}"
    return f"Assigned to {seat.name}: {why}"


def decision_meta(
    seat: Seat,
    reason: Reason,
    team_id: int,
    *,
    from_operator_id: int | None = None,
    from_operator_name: str | None = None,
    timeout_s: int | None = None,
) -> dict[str, Any]:
    """The activity's ``meta``: enough for the inbox to say it again in another language."""
    return {
        "action": "auto_assigned",
        "reason": reason.value,
        "to_operator_id": seat.operator_id,
        "to_operator_name": seat.name,
        "from_operator_id": from_operator_id,
        "from_operator_name": from_operator_name,
        "to_team_id": team_id,
        "from_team_id": team_id,
        "open": seat.open,
        "capacity": seat.capacity,
        "timeout_s": timeout_s,
    }
