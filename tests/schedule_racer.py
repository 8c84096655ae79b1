"""A process that sends scheduled emails once told to: one side of the two-process race in
``tests/test_email_schedule_processes.py``.

``python -m tests.schedule_racer <ISO moment>`` builds a hub context from the ``HUB_*``
environment (the test's database, and its Redis when served), prints ``ready``, waits for a
line on standard input, then runs passes of a ``ScheduledSender`` whose clock says the moment
until one claims nothing, and prints how many it claimed in all.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from hub.channels import registry
from hub.channels.email.scheduled_sender import ScheduledSender
from hub.context import HubContext
from hub.settings import Settings


async def main(moment: datetime) -> int:
    ctx = HubContext.build(Settings())
    ctx.channel_capabilities = registry.capabilities()
    await ctx.start()
    try:
        sender = ScheduledSender(ctx, clock=lambda: moment)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        total = 0
        while done := await sender.run_once():
            total += done
        return total
    finally:
        await ctx.close()


if __name__ == "__main__":
    print(f"claimed {asyncio.run(main(datetime.fromisoformat(sys.argv[1])))}", flush=True)
