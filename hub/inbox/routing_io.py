"""The request bodies and JSON answers of automatic assignment's routes (``hub.inbox.routing``;
conventions in ``hub.inbox.schemas`` and ``hub.responses``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hub.inbox.routing import MAX_ACCEPT_TIMEOUT_S, MAX_CAPACITY
from hub.inbox.schemas import Id, Strict
from hub.responses import Out


class MemberCapacityIn(Strict):
    operator_id: Id
    capacity: int | None = Field(
        ge=1, le=MAX_CAPACITY, description="His own limit in this team; null: the team's"
    )


class TeamRoutingPatch(Strict):
    """Fields left out stay as they are."""

    enabled: bool | None = None
    capacity: int | None = Field(
        default=None, ge=1, le=MAX_CAPACITY, description="Open conversations per operator"
    )
    accept_timeout_s: int | None = Field(
        default=None,
        ge=0,
        le=MAX_ACCEPT_TIMEOUT_S,
        description="Seconds to open an offered conversation before it passes on; 0: never",
    )
    members: list[MemberCapacityIn] | None = Field(default=None, max_length=1000)


class AvailabilityIn(Strict):
    away: bool


class RoutingMemberOut(Out):
    operator_id: int
    name: str
    capacity: int | None = Field(description="His own limit in this team; null: the team's")
    effective_capacity: int
    open: int = Field(description="Open conversations assigned to him, in every team")
    away: bool
    online: bool = Field(description="He has the inbox open")


class TeamRoutingOut(Out):
    team_id: int
    enabled: bool
    capacity: int
    accept_timeout_s: int
    queued: int = Field(description="Open conversations of the team waiting for an operator")
    updated_at: datetime | None = Field(description="Null until an admin set the team's rules")
    members: list[RoutingMemberOut] = Field(description="Active operators of the team, by id")


class AvailabilityOut(Out):
    operator_id: int
    away: bool
    offered: list[int] = Field(
        description="Conversations offered to him by automatic assignment, not opened yet"
    )


class AcceptedOut(Out):
    accepted: bool = Field(
        description="True when this opened an offer to you; false when there was none"
    )
