"""`run` (the bot), `playground` (the bot in a browser, through the local stand-in) and `migrate`."""

from __future__ import annotations

import errno
import gc
import logging
import shutil
import time

from bot.cli import StartupError, database, migrate, run_event_loop
from bot.config import Settings

log = logging.getLogger("bot")


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


def command_run(settings: Settings) -> None:
    settings.require_token()
    with database(settings) as url:
        migrate(url)
        run_event_loop(run_bot(settings, url))


async def run_playground(settings: Settings, url: str, port: int) -> None:
    """The local Bot API server with its page, then the real bot polling it."""
    from bot.db.engine import create_engine, create_session_factory
    from bot.i18n import create_i18n
    from bot.standin import BotApiServer
    from bot.playground.cast import create_operator_records, seed_people
    from bot.playground.web import Playground
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
    from bot.playground.cast import PLAYGROUND_TOKEN, playground_admins

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


def command_migrate(settings: Settings) -> None:
    with database(settings) as url:
        migrate(url)
    log.info("migrations applied")
