"""`knowledge export | import FOLDER`: the knowledge base as data files of the same form as
bot/content/faq/ (one TOML file per topic), to review, translate or edit in bulk, and back. An import
makes the base exactly the folder's topics; each changed topic is a change in /faq's history, so it
can be undone from the bot."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import CommandError, command_line_actor, database, migrate, run_event_loop
from bot.config import Settings


async def _export(url: str, folder: Path) -> None:
    from bot.db.engine import create_engine, create_session_factory
    from bot.services.knowledge import KnowledgeBase, KnowledgeBaseError, store
    from bot.services.knowledge.files import write_folder

    if folder.exists() and not folder.is_dir():
        raise CommandError(f"Cannot export: {folder} is not a folder")
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await store.seed(session, list(KnowledgeBase.load().all_topics))
            kb = await store.load(session)
    finally:
        await engine.dispose()
    try:
        written = write_folder(list(kb.all_topics), folder)
    except KnowledgeBaseError as exc:
        raise CommandError(f"Cannot export: {exc}") from None
    print(f"{len(written)} topics written to {folder}")


async def _import(url: str, folder: Path) -> None:
    from bot.db.engine import create_engine, create_session_factory
    from bot.services.knowledge import KnowledgeBase, KnowledgeBaseError, store
    from bot.services.knowledge.files import read_folder

    if not folder.is_dir():
        raise CommandError(f"Cannot import: {folder} is not a folder")
    try:
        topics = read_folder(folder, every_language=False)  # as coordinators may leave it: a language to come
    except KnowledgeBaseError as exc:
        raise CommandError(f"Cannot import, nothing was changed: {exc}") from None
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await store.seed(session, list(KnowledgeBase.load().all_topics))
            made = await store.replace_all(session, topics, command_line_actor())
    finally:
        await engine.dispose()
    print(f"{len(topics)} topics imported, {len(made)} changed; the running bot serves them at once")


def command_knowledge(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as url:
        migrate(url)
        folder = Path(args.folder)
        run_event_loop(_export(url, folder) if args.action == "export" else _import(url, folder))


def add_commands(commands: argparse._SubParsersAction) -> None:
    knowledge = commands.add_parser("knowledge", help="the knowledge base as data files, and back")
    actions = knowledge.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write every topic to FOLDER (one TOML file each; other .toml files there go)")
    export.add_argument("folder")
    load = actions.add_parser("import", help="make the knowledge base exactly FOLDER's topics (each change can be undone in /faq)")
    load.add_argument("folder")
