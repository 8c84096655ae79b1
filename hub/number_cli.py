"""``python -m hub numbers …``: a site's pool of tracking numbers from the command line.

The same actions as the admin API (``hub.crm_sync.number_admin``), run as whoever runs the hub:
``list`` shows the pool and its usage, ``add`` and ``remove`` a number, ``default`` sets (or
``--clear`` clears) the number shown when every number is held.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.settings import Settings


def _print_pool(pool: dict[str, Any]) -> None:
    print(f"channel {pool['channel_id']}: default number {pool['default_number'] or '(none)'}")
    for number in pool["numbers"]:
        held = f"held until {number['held_until']}" if number["held_until"] else "free"
        label = f"  {number['label']}" if number["label"] else ""
        print(f"  {number['number']:16} {held}{label}")


def _print_usage(pool: dict[str, Any]) -> None:
    usage = pool["usage"]
    print(
        f"reservation {pool['reservation_seconds']} s; {usage['held_now']} of "
        f"{usage['pool_size']} held now; over {len(usage['days'])} days "
        f"{usage['reservations']} given out, ran out {usage['ran_out']} times"
        + (f" (last {usage['last_ran_out_at']})" if usage["last_ran_out_at"] else "")
    )
    for day in usage["days"]:
        if day["reservations"] or day["ran_out"]:
            print(f"  {day['date']}  given {day['reservations']:6}  ran out {day['ran_out']:6}")


def cmd_numbers(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from hub.__main__ import _with_context
    from hub.channels import registry
    from hub.crm_sync import number_admin
    from hub.errors import NotFound
    from hub.inbox.working_hours import load_working_hours
    from hub.phones import normalize_phone

    registry.load_channel_modules(settings.channel_module_names)

    async def job(ctx: HubContext) -> int:
        ctx.channel_capabilities = registry.capabilities()
        channel = args.channel_id
        if args.action == "list":
            await load_working_hours(ctx)  # its days are the company's, as an admin set them
            pool = await number_admin.get_pool(ctx, None, channel, args.days)
            _print_pool(pool)
            _print_usage(pool)
            return 0
        if args.action == "add":
            pool = await number_admin.add_number(ctx, None, channel, args.number, args.label)
        elif args.action == "remove":
            number = normalize_phone(args.number)
            current = await number_admin.get_pool(ctx, None, channel, 1)
            ids = [n["id"] for n in current["numbers"] if n["number"] == number]
            if not ids:
                raise NotFound(f"{number} is not in this pool", code="number_not_found")
            pool = await number_admin.remove_number(ctx, None, channel, ids[0])
        else:
            default = None if args.clear else args.number
            if default is None and not args.clear:
                print("error: give the default number, or --clear")
                return 2
            pool = await number_admin.set_default(ctx, None, channel, default)
        _print_pool(pool)
        return 0

    return asyncio.run(_with_context(settings, job))


def add_parser(sub: Any) -> None:
    """``numbers`` and its actions, on the main parser's subcommands."""
    numbers = sub.add_parser(
        "numbers", help="a site's pool of tracking numbers (dynamic number insertion)"
    ).add_subparsers(dest="action", required=True)
    show = numbers.add_parser("list", help="the pool, who holds what, and its usage per day")
    show.add_argument("channel_id", type=int, help="the site's widget channel")
    show.add_argument("--days", type=int, default=14, help="days of usage (1 to 90)")
    add = numbers.add_parser("add", help="put a number into the pool")
    add.add_argument("channel_id", type=int)
    add.add_argument("number", help="any spelling: +7 495 123-00-01, 8 (495) 123-00-01")
    add.add_argument("--label", default="", help="the line or the advert, for you")
    remove = numbers.add_parser("remove", help="take a number out of the pool")
    remove.add_argument("channel_id", type=int)
    remove.add_argument("number")
    default = numbers.add_parser(
        "default", help="the number shown when every number is held (the site's own)"
    )
    default.add_argument("channel_id", type=int)
    default.add_argument("number", nargs="?")
    default.add_argument("--clear", action="store_true", help="show the page's own number")
    for parser in (show, add, remove, default):
        parser.set_defaults(func=cmd_numbers)
