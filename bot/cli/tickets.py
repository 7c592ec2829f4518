"""`tickets export | record`: requests for statistics, and one request's full record."""

from __future__ import annotations

import argparse
from datetime import date

from bot.cli import CommandError, command_line_actor, database, migrate, output_file, run_event_loop, write_private
from bot.config import Settings



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


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `tickets` command and its actions."""
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
