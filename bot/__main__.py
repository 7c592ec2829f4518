"""Command line: `python -m bot run | migrate | playground | operators | marathon | tickets | knowledge`.

A missing or malformed setting, an unreachable database or a refused token stops the bot with one
clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from bot.cli import CommandError, StartupError, knowledge, marathon, operators, run, tickets
from bot.config import SettingsError, load_settings



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
    for command in (operators, marathon, tickets, knowledge):
        command.add_commands(commands)
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        settings = load_settings()
        from bot.logs import setup_logging

        if args.command == "playground":
            # Its one line of output is the address; the bot's own log says only what went wrong.
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            run.command_playground(settings, args.port, args.reset)
        elif args.command == "operators":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            operators.command_operators(settings, args)
        elif args.command == "marathon":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            marathon.command_marathon(settings, args)
        elif args.command == "tickets":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            tickets.command_tickets(settings, args)
        elif args.command == "knowledge":
            setup_logging(settings.log_level if "LOG_LEVEL" in os.environ else "WARNING")
            knowledge.command_knowledge(settings, args)
        else:
            setup_logging(settings.log_level)
            {"run": run.command_run, "migrate": run.command_migrate}[args.command](settings)
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
