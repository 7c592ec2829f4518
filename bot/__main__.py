"""Command line: `python -m bot run | migrate | playground`.

A missing or malformed setting, an unreachable database or a refused token stops the bot with one
clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.config import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


class StartupError(Exception):
    """Something outside the code stops the start; the message says what, for a person."""


class CommandError(Exception):
    """A command could not do what was asked; the message is the whole line, for a person."""


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured database, or an embedded one started here and stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    from bot.db.engine import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "postgres")
    try:
        url = server.start()
    except Exception as exc:  # noqa: BLE001 - any failure here is reported as one line
        raise StartupError(f"could not start the embedded PostgreSQL in {settings.data_dir}: {exc}") from None
    try:
        yield url
    finally:
        server.stop()


def migrate(url: str) -> None:
    from bot.db.migrate import upgrade

    try:
        upgrade(url)
    except OSError as exc:
        raise StartupError(f"cannot reach the database (DATABASE_URL): {exc}") from None
    except Exception as exc:
        # asyncpg reports a wrong password or a missing database with its own exception types.
        if type(exc).__module__.startswith("asyncpg"):
            raise StartupError(f"the database refused the connection (DATABASE_URL): {exc}") from None
        raise


async def run_bot(settings: Settings, url: str) -> None:
    from aiogram.exceptions import TelegramUnauthorizedError

    from bot.app import Content, build_bot, build_dispatcher, publish_commands
    from bot.db.engine import create_engine, create_session_factory
    from bot.i18n import create_i18n
    from bot.process import BotProcess, CannotListen

    # The pool serves every update being handled (one connection each, and one for a moment to
    # read the person) beside the outbox worker's lanes and the listeners.
    engine = create_engine(url, pool_size=max(20, settings.handling_concurrency + 8))
    session_factory = create_session_factory(engine)
    bot = build_bot(settings)
    i18n = create_i18n(settings.default_language)
    dispatcher = build_dispatcher(settings, engine, session_factory, Content.load(), i18n)
    try:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError("BOT_TOKEN was refused by Telegram: check it with @BotFather") from None
        except OSError as exc:
            raise StartupError(f"cannot reach the Telegram Bot API: {exc}") from None
        await publish_commands(bot, i18n)
        # Everything loaded so far (aiogram's and pydantic's hundreds of thousands of objects) lives
        # as long as the process: keep it out of the cyclic collector's scans, which otherwise
        # cost several times the work of an update under load.
        gc.collect()
        gc.freeze()
        process = BotProcess(settings, engine, session_factory, bot, dispatcher)
        mode = "webhook" if settings.webhook_url else "polling"
        log.info("starting", extra={"mode": mode, "bot_id": me.id, "bot_username": me.username})
        try:
            await process.run_until_stopped()
        except CannotListen as exc:  # the webhook's or the metrics' port
            raise StartupError(f"cannot listen on {exc}") from None
        if process.fatal is not None:
            raise StartupError("BOT_TOKEN was refused by Telegram: check it with @BotFather")
    finally:
        await bot.session.close()
        await engine.dispose()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (Linux, macOS): a faster event loop under aiohttp and asyncpg."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def command_run(settings: Settings) -> None:
    settings.require_token()
    with database(settings) as url:
        migrate(url)
        run_event_loop(run_bot(settings, url))


async def run_playground(settings: Settings, url: str, port: int) -> None:
    """The local Bot API server with its page, then the real bot polling it."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.i18n import create_i18n
    from bot.playground.server import BotApiServer
    from bot.playground.web import Playground, create_operator_records, seed_people
    from bot.services.directory import Directory

    # Update ids go on from where the last run's left off, as Telegram's do: the intake recognises
    # an update it stored before by its id.
    api = BotApiServer(first_update_id=int(time.time() * 1000))
    playground = Playground(api, create_i18n(settings.default_language), people_file=settings.data_dir / "people.json")
    try:
        address = await api.start("127.0.0.1", port)
    except OSError as exc:
        reason = "the port is taken" if exc.errno == errno.EADDRINUSE else str(exc)
        raise StartupError(f"cannot listen on 127.0.0.1:{port} ({reason}): choose another --port") from None
    seed_people(playground, settings.admin_ids)
    playground.load_added_people()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await create_operator_records(session, Directory.load())
    finally:
        await engine.dispose()
    print(f"open {address}", flush=True)
    try:
        await run_bot(settings.model_copy(update={"telegram_api_url": address}), url)
    finally:
        await api.stop()


def command_playground(settings: Settings, port: int, reset: bool) -> None:
    from bot.playground.web import PLAYGROUND_TOKEN, playground_admins

    # Its own data folder and embedded database, whatever DATABASE_URL says: the playground's
    # people must never land in a real database.
    data_dir = settings.data_dir / "playground"
    if reset and data_dir.exists():
        shutil.rmtree(data_dir)
    settings = settings.model_copy(update={
        "bot_token": PLAYGROUND_TOKEN, "database_url": None, "data_dir": data_dir,
        "admin_ids": playground_admins(settings.admin_ids),
    })
    with database(settings) as url:
        migrate(url)
        run_event_loop(run_playground(settings, url, port))


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


# What each `marathon` command does, for its one line when it cannot.
MARATHON_ACTIONS = {
    "dates": "set the dates", "kind": "change the kind", "limit": "set the limit", "nomination": "save the nomination",
    "shortlist": "shortlist", "winner": "choose the winner", "announce": "announce the winners", "export": "export",
}


async def manage_marathon(url: str, args: argparse.Namespace) -> None:
    # Without aiogram, like the operators' commands.
    from bot.db.engine import create_engine, create_session_factory
    from bot.services import marathon, marathon_export, personal_data
    from bot.services.directory import Directory

    rules = marathon.Rules.load()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            if args.action in ("nomination", "nominations", "shortlist", "winner", "announce"):
                await manage_nominations(session, args)
                return
            if args.action == "limit":
                changed = await marathon.set_kind_limit(session, rules, args.kind, Decimal(args.max))
                print(f"one deed of {changed.slug} is at most {marathon.plain(changed.max)} ({changed.unit})")
                return
            if args.action == "kind":
                changed = await marathon.offer_kind(session, rules, args.kind, args.offered == "on")
                print(f"{changed.slug} is {'offered' if changed.offered else 'not offered'} to participants")
                return
            if args.action == "dates":
                if args.starts is None:
                    current = await marathon.dates(session, rules)
                else:
                    current = await marathon.set_dates(session, rules, args.starts, args.ends, args.daily_limit)
                print(f"the marathon runs {current.starts_on} to {current.ends_on}, at most {current.daily_limit} deeds a day")
                return
            if args.region and not (Directory.load().is_region(args.region)):
                raise CommandError(f"Cannot export: unknown region {args.region!r}")
            filters = marathon_export.Filters(
                args.region, marathon.State(args.state) if args.state else None, args.since, args.until
            )
            export = await marathon_export.collect(session, filters)
            await personal_data.record_marathon_export(session, filters, export, actor=command_line_actor())
    except (ValueError, ArithmeticError) as exc:  # NominationError too; a malformed --max
        raise CommandError(f"Cannot {MARATHON_ACTIONS.get(args.action, args.action)}: {exc}") from None
    finally:
        await engine.dispose()
    out = output_file(args.out) if args.format == "xlsx" else Path(args.out)
    if args.format == "xlsx":
        write_private(out, marathon_export.to_xlsx(export))
        written = [out]
    else:
        participants, deeds = marathon_export.to_csv(export)
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        written = [out / "participants.csv", out / "deeds.csv"]
        write_private(written[0], participants)
        write_private(written[1], deeds)
    print(
        f"{len(export.participants)} participants and {len(export.deeds)} deeds written to {', '.join(map(str, written))}; "
        "recorded in the audit log"
    )


async def manage_nominations(session: Any, args: argparse.Namespace) -> None:
    from bot.services import nominations

    if args.action == "nomination":
        saved = await nominations.set_nomination(session, args.slug, {"kk": args.kk, "ru": args.ru, "en": args.en})
        print(f"saved: {saved.slug}\t{saved.name['kk']}\t{saved.name['ru']}\t{saved.name['en']}")
    elif args.action == "shortlist":
        await nominations.shortlist(session, args.nomination, args.participant)
        print(f"shortlisted {args.participant} for {args.nomination}")
    elif args.action == "winner":
        await nominations.choose_winner(session, args.nomination, args.participant)
        print(f"{args.participant} wins {args.nomination}")
    elif args.action == "announce":
        print(f"the winners are owed to {await nominations.announce_winners(session, None)} participants; the bot sends them")
    else:
        for nomination in await nominations.nominations(session):
            print(f"{nomination.slug}\t{nomination.name['en']}")
            for candidate in nomination.candidates:
                print(f"\t{'winner' if candidate.winner else 'shortlisted'}\t{candidate.participant_id}\t{candidate.display_name or 'anonymous'}")


def command_marathon(settings: Settings, args: argparse.Namespace) -> None:
    if args.action == "dates" and (args.starts is None) != (args.ends is None):
        raise CommandError("Give both --starts and --ends, or neither to see the dates")
    with database(settings) as url:
        migrate(url)
        run_event_loop(manage_marathon(url, args))


def command_line_actor() -> str:
    """Who the audit log names for an export from the command line: the account that ran it."""
    import getpass

    return f"command line ({getpass.getuser()})"


def write_private(path: Path, content: bytes) -> None:
    """Write a file that holds personal data: readable by its owner only (0600), also when it
    existed before with wider permissions (they are narrowed before anything is written)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        file = os.fdopen(descriptor, "wb")
    except BaseException:
        os.close(descriptor)
        raise
    with file:
        file.write(content)


def output_file(name: str) -> Path:
    """Where an export is written; its folder must exist (a typo should not create folders)."""
    out = Path(name)
    if not out.parent.is_dir():
        raise CommandError(f"Cannot export: the folder {out.parent} does not exist")
    return out


async def export_tickets(url: str, args: argparse.Namespace) -> None:
    from bot.db.engine import create_engine, create_session_factory
    from bot.services import tickets_export
    from bot.services.directory import Directory

    if args.region and not Directory.load().is_region(args.region):
        raise CommandError(f"Cannot export: unknown region {args.region!r}")
    out = output_file(args.out)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await tickets_export.collect(
                session, tickets_export.Filters(args.region, args.status, args.since, args.until)
            )
    finally:
        await engine.dispose()
    write_private(out, tickets_export.to_xlsx(rows) if args.format == "xlsx" else tickets_export.to_csv(rows))
    print(f"{len(rows)} requests written to {out} (no phone numbers, no message texts)")


async def record_ticket(url: str, args: argparse.Namespace) -> None:
    """The full record of one ticket, personal data included, recorded in the audit log under the
    name of whoever runs the command on this machine."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.services import personal_data, tickets_export

    out = output_file(args.out)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            found = await personal_data.ticket_record(session, args.number)
            if found is None:
                raise CommandError(f"There is no request №{args.number}")
            await personal_data.audit(
                session, personal_data.Action.TICKET_RECORD, {"ticket": args.number},
                actor=command_line_actor(),
            )
    finally:
        await engine.dispose()
    ticket, said = found
    write_private(
        out, tickets_export.record_xlsx(ticket, said) if args.format == "xlsx" else tickets_export.record_csv(ticket, said)
    )
    print(f"request №{args.number} written to {out}, personal data included; recorded in the audit log")


def command_tickets(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as url:
        migrate(url)
        run_event_loop(export_tickets(url, args) if args.action == "export" else record_ticket(url, args))


def command_migrate(settings: Settings) -> None:
    with database(settings) as url:
        migrate(url)
    log.info("migrations applied")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Qazvolunteer call-centre bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="apply migrations, then take updates from Telegram (polling; a webhook with WEBHOOK_URL)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    playground = commands.add_parser(
        "playground", help="chat with the real bot in a browser, through a local Bot API server (no Telegram needed)"
    )
    playground.add_argument("--port", type=int, default=8080, help="port of the page on 127.0.0.1 (default 8080)")
    playground.add_argument("--reset", action="store_true", help="start afresh: forget the playground's stored data")
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
    marathon = commands.add_parser("marathon", help="the Marathon of Good Deeds: its dates, and exports")
    marathon_actions = marathon.add_subparsers(dest="action", required=True)
    dates = marathon_actions.add_parser("dates", help="show the marathon's dates, or set them")
    dates.add_argument("--starts", type=date.fromisoformat, help="YYYY-MM-DD")
    dates.add_argument("--ends", type=date.fromisoformat, help="YYYY-MM-DD")
    dates.add_argument("--daily-limit", type=int, help="deeds one participant can log in a day")
    export = marathon_actions.add_parser("export", help="participants and deeds for the organising committee")
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--out", required=True, help="the .xlsx file, or a folder for the two CSV files")
    export.add_argument("--region", help="one region's slug")
    export.add_argument("--state", choices=["pending", "approved", "rejected"])
    export.add_argument("--from", dest="since", type=date.fromisoformat, help="deeds done on or after YYYY-MM-DD")
    export.add_argument("--to", dest="until", type=date.fromisoformat, help="deeds done on or before YYYY-MM-DD")
    nomination = marathon_actions.add_parser("nomination", help="add a nomination or rename one (ten at most)")
    nomination.add_argument("--slug", required=True, help="a short code: a-z, 0-9 and -")
    for language in ("kk", "ru", "en"):
        nomination.add_argument(f"--{language}", required=True, help=f"the name in {language}")
    marathon_actions.add_parser("nominations", help="the nominations, their shortlists and winners")
    for action, what in (("shortlist", "shortlist a participant"), ("winner", "choose a shortlisted participant as a winner")):
        pick = marathon_actions.add_parser(action, help=what)
        pick.add_argument("--nomination", required=True)
        pick.add_argument("--participant", type=int, required=True, help="their Telegram id")
    marathon_actions.add_parser("announce", help="announce the winners to every participant (once)")
    offer = marathon_actions.add_parser("kind", help="offer a kind of deed to participants, or stop (its deeds stay)")
    offer.add_argument("--kind", required=True)
    offer.add_argument("offered", choices=["on", "off"])
    limit = marathon_actions.add_parser("limit", help="the largest amount one deed of a kind can have")
    limit.add_argument("--kind", required=True, help="a kind's slug from bot/content/marathon.toml")
    limit.add_argument("--max", required=True, help="a positive number, in the kind's unit")
    tickets = commands.add_parser("tickets", help="requests to front-offices")
    tickets_actions = tickets.add_subparsers(dest="action", required=True)
    tickets_export = tickets_actions.add_parser("export", help="requests without personal data, for statistics")
    tickets_export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    tickets_export.add_argument("--out", required=True, help="the file to write")
    tickets_export.add_argument("--region", help="the citizens' region's slug")
    tickets_export.add_argument("--status", choices=["new", "taken", "closed"])
    tickets_export.add_argument("--from", dest="since", type=date.fromisoformat, help="opened on or after YYYY-MM-DD")
    tickets_export.add_argument("--to", dest="until", type=date.fromisoformat, help="opened on or before YYYY-MM-DD")
    tickets_record = tickets_actions.add_parser(
        "record", help="the full record of one request, personal data included (recorded in the audit log)"
    )
    tickets_record.add_argument("number", type=int, help="the request's number")
    tickets_record.add_argument("--format", choices=["xlsx", "csv"], default="xlsx", help="csv: the messages only")
    tickets_record.add_argument("--out", required=True, help="the file to write")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        settings = load_settings()
        from bot.logs import setup_logging

        if args.command == "playground":
            # Its one line of output is the address; the bot's own log says only what went wrong.
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            command_playground(settings, args.port, args.reset)
        elif args.command == "operators":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            command_operators(settings, args)
        elif args.command == "marathon":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            command_marathon(settings, args)
        elif args.command == "tickets":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            command_tickets(settings, args)
        else:
            setup_logging(settings.log_level)
            {"run": command_run, "migrate": command_migrate}[args.command](settings)
    except (SettingsError, StartupError) as exc:
        for line in str(exc).splitlines():
            print(f"Cannot start: {line}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
