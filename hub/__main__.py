"""Command line: ``python -m hub serve | migrate | operator create | channel add | numbers | demo``.

Each command imports what it uses when it runs: ``--help`` loads no database layer, and no
command loads a channel's libraries unless it touches a channel of that type.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from hub.channels.spec import ChannelSpec
    from hub.context import HubContext
    from hub.settings import Settings

T = TypeVar("T")


async def _with_context(settings: Settings, job: Callable[[HubContext], Awaitable[T]]) -> T:
    from hub.context import HubContext

    ctx = HubContext.build(settings)
    await ctx.start()
    try:
        return await job(ctx)
    finally:
        await ctx.close()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import gc
    import logging

    from aiohttp import web

    from hub.app import create_app
    from hub.event_loop import new_event_loop

    settings = settings.served_at(args.host, args.port)
    # Generated into HUB_SECRET_KEY_FILE on the first run when HUB_SECRET_KEY is unset, and kept.
    settings.resolved_secret_key()
    app = create_app(settings)
    # The app's long-lived objects never die; keeping them out of the collector's generations
    # makes each collection cheaper (fewer pauses under load).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    # SQLite's driver works in a thread that needs the GIL for every statement; by default a
    # busy event loop keeps it for 5 ms at a time, which made each batch wait on the loop.
    sys.setswitchinterval(0.0005)
    host, port = settings.host, settings.port
    logging.getLogger("hub").info(
        "serving on http://%s:%s (public URL %s)", host, port, settings.public_url
    )
    web.run_app(
        app,
        loop=new_event_loop(),
        host=host,
        port=port,
        print=None,
        shutdown_timeout=settings.shutdown_timeout_s,
        access_log=None,
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from hub.crm_sync.defaults import ensure_defaults
    from hub.db import make_engine
    from hub.migrate import upgrade

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        await _with_context(settings, ensure_defaults)

    asyncio.run(run())
    print("database is at the latest schema")
    return 0


def cmd_operator_create(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from hub.inbox.staff import create_operator

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")

    async def job(ctx: HubContext) -> int:
        created = await create_operator(
            ctx, email=args.email, name=args.name, role=args.role, password=password
        )
        op = created.operator
        print(f"operator {op['id']} created: {op['name']} <{op['email']}>, role {op['role']}")
        if created.password:
            print(f"password (shown once): {created.password}")
        return 0

    return asyncio.run(_with_context(settings, job))


def _type_parser(spec: ChannelSpec) -> argparse.ArgumentParser:
    """``channel add <type>``'s own options, from the type's spec."""
    parser = argparse.ArgumentParser(
        prog=f"hub channel add {spec.type}", description=f"connect a {spec.label} channel"
    )
    parser.add_argument("--name", required=True, help="the channel's name in the inbox")
    parser.add_argument("--team", type=int, help="the id of the team that answers it")
    for option in spec.cli_options:
        dest, meta = "opt_" + option.key, option.key.upper()
        if option.repeated:
            parser.add_argument(
                option.flag, dest=dest, action="append", metavar=meta, help=option.help
            )
        else:
            parser.add_argument(option.flag, dest=dest, metavar=meta, help=option.help)
        if option.secret:
            parser.add_argument(
                option.flag + "-stdin",
                dest=dest + "_stdin",
                action="store_true",
                help=f"read {option.flag[2:]} from standard input (kept out of the process list)",
            )
    return parser


def cmd_channel_add(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from hub.channels import registry
    from hub.channels.admin import create_channel

    registry.load_channel_modules(settings.channel_module_names)
    if args.type is None:
        print("usage: hub channel add TYPE --name NAME [options]; TYPE --help lists its options")
        print("types:")
        for known in registry.channel_specs():
            print(f"  {known.type:12} {known.label}")
        return 0 if args.help else 2
    spec = registry.channel_spec(args.type)
    options = _type_parser(spec).parse_args([*args.rest, *(["--help"] if args.help else [])])
    config: dict[str, object] = {}
    for option in spec.cli_options:
        value = getattr(options, "opt_" + option.key)
        if option.secret and getattr(options, "opt_" + option.key + "_stdin"):
            value = sys.stdin.readline().strip()
        if value:
            config[option.key] = value

    async def job(ctx: HubContext) -> int:
        created = await create_channel(
            ctx, None, type=spec.type, name=options.name, team_id=options.team, config=config
        )
        ch = created.channel
        print(f"channel {ch['id']} created: {ch['type']} {ch['name']!r}")
        for line in spec.describe(created, settings):
            print(line)
        return 0

    return asyncio.run(_with_context(settings, job))


def cmd_tracking_number(settings: Settings, args: argparse.Namespace) -> int:
    """``tracking-number add`` labels an advert's number; ``tracking-number list`` shows them."""
    import asyncio

    from hub.crm_sync.tracking_numbers import add_tracking_number, list_tracking_numbers

    async def job(ctx: HubContext) -> int:
        if args.action == "add":
            row = await add_tracking_number(
                ctx,
                None,
                number=args.number,
                source=args.source,
                medium=args.medium,
                campaign=args.campaign,
            )
            print(f"tracking number {row['id']}: {row['number']} -> {row['source']}")
            return 0
        for row in await list_tracking_numbers(ctx, None):
            label = " ".join(filter(None, (row["source"], row["medium"], row["campaign"])))
            print(f"{row['id']:>4}  {row['number']:16} {label}")
        return 0

    return asyncio.run(_with_context(settings, job))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Seed an admin, an API channel and the demo site's widget on an empty database; on a
    seeded one keep everything and only add the demo widget if it is missing."""
    import asyncio

    from sqlalchemy import select

    from hub.channels import registry
    from hub.channels.admin import create_channel, list_channels
    from hub.crm_sync import number_admin
    from hub.crm_sync.defaults import ensure_defaults
    from hub.crm_sync.demo import seed_sales
    from hub.inbox.auth import Principal
    from hub.inbox.models import Operator
    from hub.inbox.staff import create_operator, create_team

    async def demo_widget(ctx: HubContext, team_id: int | None) -> None:
        channels = await list_channels(ctx)
        if any(ch["config"].get("demo") for ch in channels):
            return
        site = await create_channel(
            ctx,
            None,
            type="widget",
            name="ПечиПро",
            team_id=team_id,
            config={
                "demo": True,
                "lang": "ru",
                "color": "#c2410c",
                "greeting": {
                    "text": "Здравствуйте! Подскажем с выбором печи или камина.",
                    "delay_s": 8,
                },
            },
        )
        # Its page's phone numbers show a number of this pool to each visitor (docs/admins.md).
        for number in ("+74951234501", "+74951234502", "+74951234503"):
            await number_admin.add_number(ctx, None, site.channel["id"], number, "demo")
        await number_admin.set_default(ctx, None, site.channel["id"], "+74951234567")
        print(f"  demo site with the chat widget: {settings.public_url.rstrip('/')}/")

    async def job(ctx: HubContext) -> int:
        ctx.channel_capabilities = registry.capabilities()  # the demo site's pool asks them
        await ensure_defaults(ctx)
        existing = await ctx.read(lambda s: s.scalar(select(Operator.id).limit(1)))
        if existing is not None:
            print("demo: the database already has operators; nothing seeded, your data is kept")
            await demo_widget(ctx, None)
            return 0
        team = await create_team(ctx, None, "Support")
        admin = await create_operator(
            ctx, email="admin@example.com", name="Admin", role="admin", team_ids=[team["id"]]
        )
        channel = await create_channel(ctx, None, type="api", name="Demo API", team_id=team["id"])
        base = settings.public_url.rstrip("/")
        print("demo seeded:")
        await demo_widget(ctx, team["id"])
        print(f"  admin login: admin@example.com  password (shown once): {admin.password}")
        print(f"  API channel {channel.channel['id']} secret (shown once): {channel.secret}")
        who = Principal(admin.operator["id"], "Admin", "admin", frozenset({team["id"]}))
        made = await seed_sales(ctx, who, channel.channel["id"])
        print(f"  {made} demo deals on the board: {base}/inbox/deals")
        print(
            f"  feed a message: curl -X POST {base}/api/v1/channels/{channel.channel['id']}"
            "/inbound -H 'Authorization: Bearer <secret>' -H 'Content-Type: application/json'"
            ' -d \'{"contact": {"external_id": "c1", "name": "Ivan"}, "body": "Hello"}\''
        )
        return 0

    return asyncio.run(_with_context(settings, job))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="The omnichannel hub")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database to the latest schema").set_defaults(
        func=cmd_migrate
    )

    operator = sub.add_parser("operator", help="manage operators").add_subparsers(
        dest="action", required=True
    )
    create = operator.add_parser("create", help="create an operator")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", default="operator", choices=["operator", "manager", "admin"])
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of generating one",
    )
    create.set_defaults(func=cmd_operator_create)

    channel = sub.add_parser("channel", help="manage channels").add_subparsers(
        dest="action", required=True
    )
    # The types and their options come from the channel registry, read only when this command
    # runs (so --help loads no channel): `hub channel add` lists the types, `hub channel add
    # TYPE --help` a type's options.
    add = channel.add_parser(
        "add",
        help="connect a channel: hub channel add TYPE --name NAME [its options]",
        add_help=False,
    )
    add.add_argument("type", nargs="?")
    add.add_argument("-h", "--help", action="store_true")
    add.add_argument("rest", nargs=argparse.REMAINDER)
    add.set_defaults(func=cmd_channel_add)

    numbers = sub.add_parser(
        "tracking-number", help="label advert phone numbers with their source"
    ).add_subparsers(dest="action", required=True)
    label = numbers.add_parser("add", help="label a number: a call to it is a lead from SOURCE")
    label.add_argument("--number", required=True, help="any spelling, e.g. '8 (495) 123-00-01'")
    label.add_argument("--source", required=True, help="the advert's source, e.g. yandex")
    label.add_argument("--medium", default="", help="e.g. cpc, offline")
    label.add_argument("--campaign", default="", help="the campaign's name")
    label.set_defaults(func=cmd_tracking_number)
    numbers.add_parser("list", help="the labelled numbers").set_defaults(func=cmd_tracking_number)

    from hub import number_cli

    number_cli.add_parser(sub)
    sub.add_parser("demo", help="seed a demo admin and channel").set_defaults(func=cmd_demo)
    return parser


def _settings_problem(exc: ValueError) -> str:
    """What is wrong with the settings, a line per setting, each naming its variable."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines = []
    for err in errors():
        field = ".".join(str(part) for part in err.get("loc", ()))
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        name = f"HUB_{field.upper()}"
        lines.append(message if not field or message.startswith(name) else f"{name}: {message}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hub.errors import DomainError
    from hub.logs import setup_logging
    from hub.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: a HUB_* setting that does not read
        print(f"error: {_settings_problem(exc)}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        return int(args.func(settings, args))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        # The process ends next. The collector's last passes at exit would walk every object
        # the imports made (about 0.1 s of each command); frozen, they are left to the exit.
        import gc

        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
