"""`marathon …`: the Marathon of Good Deeds' dates, limits, kinds, nominations and exports."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.cli import CommandError, command_line_actor, database, migrate, output_file, run_event_loop, write_private
from bot.config import Settings



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


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `marathon` command and its actions."""
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
