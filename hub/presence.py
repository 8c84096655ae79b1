"""Is anyone online who can answer? The widget tells visitors when nobody is there to answer.

Online means an operator with the inbox open (an operator socket; a deactivated or logged-out
operator's sockets close at once) who may see the visitor's conversation: a manager or an admin,
a member of its team, or its assignee (``hub.inbox.access``). So each process keeps who has a
socket open, as ``Online``: whether any of them is staff, their teams and their ids; a visitor's
``Audience`` is the teams and operators who may see his conversation, and he is answered if
``Online.covers`` it. With Redis every process writes its ``Online`` under a key of its own with
a short expiry and refreshes it (``hub.process_entry``), so a process that dies stops counting
within the expiry; without Redis the local one is the answer.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from hub.inbox.auth import Principal
from hub.process_entry import ProcessEntry
from hub.worker import PassFailed


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may answer a visitor besides managers and admins: the teams and operators who may see
    his conversation (his channel's team for a visitor who has none yet)."""

    team_ids: frozenset[int] = frozenset()
    operator_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Online:
    """Who has the inbox open: whether a manager or an admin does, and everyone's teams and ids."""

    staff: bool = False
    team_ids: frozenset[int] = frozenset()
    operator_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, principals: Iterable[Principal]) -> Online:
        found = list(principals)
        return cls(
            any(p.is_staff for p in found),
            frozenset(t for p in found for t in p.team_ids),
            frozenset(p.operator_id for p in found),
        )

    def covers(self, audience: Audience) -> bool:
        """Whether someone online may see the conversation of a visitor of this audience."""
        return (
            self.staff
            or not self.team_ids.isdisjoint(audience.team_ids)
            or not self.operator_ids.isdisjoint(audience.operator_ids)
        )

    def merged(self, other: Online) -> Online:
        return Online(
            self.staff or other.staff,
            self.team_ids | other.team_ids,
            self.operator_ids | other.operator_ids,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "staff": self.staff,
            "teams": sorted(self.team_ids),
            "operators": sorted(self.operator_ids),
        }

    @classmethod
    def from_wire(cls, data: Any) -> Online:
        """Read back ``to_wire``; anything else (another version's value) is nobody."""
        if not isinstance(data, dict):
            return cls()
        teams, operators = data.get("teams"), data.get("operators")
        return cls(
            data.get("staff") is True,
            frozenset(t for t in teams if isinstance(t, int))
            if isinstance(teams, list)
            else frozenset(),
            frozenset(o for o in operators if isinstance(o, int))
            if isinstance(operators, list)
            else frozenset(),
        )


class Presence(ProcessEntry):
    name = "presence"

    def __init__(
        self,
        local: Callable[[], Online],
        redis_url: str | None,
        prefix: str,
        *,
        refresh_s: float,
        backoff_s: float,
    ) -> None:
        super().__init__("presence", redis_url, prefix, refresh_s=refresh_s, backoff_s=backoff_s)
        self._local = local

    async def publish_local(self) -> None:
        """Write who is online in this process now (called when a socket opens or closes)."""
        if self.redis is not None:
            value = json.dumps(self._local().to_wire())
            await self.redis.set(self.key, value, ex=self.ttl_s)

    async def run_once(self) -> int:
        """Refresh this process's entry; how many operators it has online. Redis away is the
        bus's to report."""
        try:
            await self.publish_local()
        except Exception as exc:
            raise PassFailed("presence not refreshed") from exc
        return len(self._local().operator_ids)

    def local(self) -> Online:
        return self._local()

    async def online(self) -> Online:
        """Who is online on every process (this one's alone when Redis does not answer)."""
        found = self._local()
        if self.redis is None:
            return found
        from redis.exceptions import RedisError  # loaded with the client

        try:
            async for key in self.redis.scan_iter(match=self.pattern, count=100):
                value = await self.redis.get(key)
                with contextlib.suppress(ValueError):
                    found = found.merged(Online.from_wire(json.loads(value or "null")))
        except RedisError:
            return self._local()
        return found

    async def operators_online(self, audience: Audience) -> bool:
        """Whether someone who may answer a visitor of this audience is online."""
        if self._local().covers(audience):
            return True
        return (await self.online()).covers(audience)
