"""`operators add | list | remove`: the front-offices' operators and coordinators."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import CommandError, database, migrate, run_event_loop
from bot.config import Settings



async def manage_operators(settings: Settings, url: str, args: argparse.Namespace) -> None:
    # Without aiogram: importing it (two seconds) is not needed to manage operators.
    from bot.db.engine import create_engine, create_session_factory
    from bot.services import operators, tickets
    from bot.services.directory import Directory

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            await operators.ensure_coordinators(session, settings.admin_ids, settings.default_language)
            if args.action == "add":
                added = await operators.add_from_command_line(
                    session, Directory.load(), args.telegram_id, args.name, args.region, operators.Role(args.role),
                    args.language or settings.default_language,
                )
                print(f"added: {_operator_line(added)}")
            elif args.action == "remove":
                removed = await operators.remove_operator(session, args.telegram_id)
                directory = Directory.load()
                limits = tickets.Limits.from_settings(settings, directory.service_hours)
                released = await tickets.release_tickets_of(session, limits, removed)
                print(f"removed: {_operator_line(removed)}")
                if released:
                    print(f"their requests are back in the queue: {' '.join(map(str, released))}")
            else:
                found = await operators.list_operators(session, include_removed=args.all)
                for operator in found:
                    print(_operator_line(operator))
                if not found:
                    print("no operators yet: add one with `python -m bot operators add`")
            await session.commit()
    except operators.OperatorError as exc:
        raise CommandError(f"Cannot {args.action} the operator: {exc}") from None
    finally:
        await engine.dispose()


def _operator_line(operator: Any) -> str:
    state = "on duty" if operator.on_duty else "off duty"
    if not operator.active:
        state = "removed"
    return f"{operator.telegram_id}\t{operator.office}\t{operator.role.value}\t{state}\t{operator.name}"


def command_operators(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as url:
        migrate(url)
        run_event_loop(manage_operators(settings, url, args))


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `operators` command and its actions."""
    operators = commands.add_parser("operators", help="front-office operators and coordinators")
    actions = operators.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an operator (or bring a removed one back)")
    add.add_argument("--telegram-id", type=int, required=True, help="the operator's numeric Telegram id")
    add.add_argument("--name", required=True, help="as colleagues know them; citizens see the front-office's name")
    add.add_argument("--region", required=True, help="a front-office slug (astana, almaty, …) or national")
    add.add_argument("--role", choices=["operator", "coordinator"], default="operator")
    add.add_argument("--language", choices=["kk", "ru", "en"], help="of their cards (default: DEFAULT_LANGUAGE)")
    listing = actions.add_parser("list", help="the active operators, by front-office")
    listing.add_argument("--all", action="store_true", help="removed ones too")
    remove = actions.add_parser("remove", help="deactivate an operator (their past answers keep their name)")
    remove.add_argument("--telegram-id", type=int, required=True)
