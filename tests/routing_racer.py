"""One process of the routing race (``tests/test_routing_race.py``): routes its teams, in its
own order, until a round places nothing, and prints how many it placed.

It is a hub process without HTTP: its own engine, writer and connections to the shared
PostgreSQL database, running the router's own unit (``route_team``). Who is online is given on
the command line, as the app's presence would say it. It prints ``ready`` once connected and
starts when a line comes on standard input, so both racers start together.

``python -m tests.routing_racer DATABASE_URL TEAM_IDS ONLINE_IDS`` (ids comma-separated).
"""

from __future__ import annotations

import asyncio
import json
import sys

from hub.context import HubContext
from hub.db import utcnow
from hub.inbox.router import route_team
from hub.settings import Settings


def _ids(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part]


async def race(database_url: str, team_ids: list[int], online: frozenset[int]) -> int:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=None,
        secret_key="routing-race",
        lead_intake=False,
    )
    ctx = HubContext.build(settings)
    await ctx.start()
    try:
        await ctx.probe_database()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        total = 0
        while True:
            placed = 0
            for team_id in team_ids:
                placed += (await route_team(ctx, team_id, online, utcnow())).assigned
            total += placed
            if not placed:
                return total
    finally:
        await ctx.close()


def main() -> None:
    database_url, teams, online = sys.argv[1:4]
    placed = asyncio.run(race(database_url, _ids(teams), frozenset(_ids(online))))
    print(json.dumps({"assigned": placed}), flush=True)


if __name__ == "__main__":
    main()
