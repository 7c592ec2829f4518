"""Builds the Bot and the Dispatcher: storage, middlewares, routers. Shared by `run`, the
playground and the tests, so all three run the same bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import BaseMiddleware, Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.db.storage import PostgresStorage
from bot.handlers import citizen, errors, fallback, marathon, privacy, staff, tickets
from bot.i18n import N_, create_i18n
from bot.jobs.announcements import Announcer
from bot.jobs.deliveries import Deliveries
from bot.jobs.outbox import Worker
from bot.middlewares.access import Refusals
from bot.middlewares.albums import Albums
from bot.middlewares.answering import AnsweringUpdates
from bot.middlewares.database import DatabaseSessionMiddleware
from bot.middlewares.fsm_key import FsmKeyMiddleware
from bot.middlewares.knowledge import CurrentKnowledge
from bot.middlewares.pastes import SplitPastes
from bot.middlewares.user import ArrivalMiddleware, UserLocaleMiddleware
from bot.services import statistics
from bot.services.abuse import FloodLimits
from bot.services.chart_pool import ChartPool
from bot.services.directory import Directory
from bot.services.knowledge import KnowledgeBase
from bot.services.knowledge.live import LiveKnowledge
from bot.services.marathon import Rules
from bot.services.operators import ensure_coordinators
from bot.services.personal_data import schedule_retention
from bot.services.tickets import Limits, use_limits
from bot.telegram import bot_context
from bot.telegram.routing import Dispatcher
from bot.telegram.session import TelegramSession

log = logging.getLogger(__name__)

RETENTION_FIRST_RUN = timedelta(seconds=5)

COMMANDS = (
    ("start", N_("Start, or back to the menu")),
    ("help", N_("What the bot can do")),
    ("settings", N_("Language and region")),
    ("contacts", N_("Front-office contacts")),
    ("privacy", N_("Personal data notice")),
    ("forget", N_("Delete my data")),
)


@dataclass(frozen=True)
class Content:
    """Data files read once at start and shared by every update. `kb` seeds an empty database; the
    knowledge base served is the database's (`LiveKnowledge`)."""

    kb: KnowledgeBase
    directory: Directory
    rules: Rules = field(default_factory=Rules.load)  # the marathon's

    @classmethod
    def load(cls) -> Content:
        return cls(kb=KnowledgeBase.load(), directory=Directory.load(), rules=Rules.load())


def build_bot(settings: Settings) -> Bot:
    bot_context.flatten()  # (idempotent)
    server = {"api": TelegramAPIServer.from_base(settings.telegram_api_url)} if settings.telegram_api_url else {}
    session = TelegramSession(sends_per_second=settings.telegram_sends_per_second, **server)
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def build_worker(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], content: Content,
    i18n: I18n,
) -> Worker:
    """The worker that sends what the bot owes and fires due timers; one per bot process."""
    deliveries = Deliveries(
        i18n, content.directory, Limits.from_settings(settings, content.directory.service_hours), content.rules
    )
    return Worker(
        engine, session_factory, deliveries.senders(), deliveries.on_blocked, deliveries.on_unconfirmed,
        deliveries.repeatable,
    )


def build_dispatcher(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    content: Content,
    i18n: I18n | None = None,
    outermost_middlewares: tuple[BaseMiddleware, ...] = (),
) -> Dispatcher:
    """The dispatcher is fed by the intake (`bot/jobs/intake.py`), which hands each update over with
    the session whose transaction claimed it (`session=`); `outermost_middlewares` wrap everything
    of ours."""
    i18n = i18n or create_i18n(settings.default_language)
    storage = PostgresStorage(engine)
    knowledge = LiveKnowledge(content.kb)
    limits = Limits.from_settings(settings, content.directory.service_hours)
    use_limits(limits)  # for the time limits' timers, which get a session and a payload only
    dispatcher = Dispatcher(
        storage=storage,
        disable_fsm=True,  # registered below, inside the database session
        settings=settings,
        knowledge=knowledge,
        directory=content.directory,
        rules=content.rules,
        i18n=i18n,
        limits=limits,
        flood=FloodLimits.from_settings(settings),
        chart_pool=(chart_pool := ChartPool()),
    )
    for middleware in outermost_middlewares:
        dispatcher.update.outer_middleware(middleware)
    dispatcher.update.outer_middleware(AnsweringUpdates())
    # Outside the transaction: a refused action is rolled back before the person is told.
    dispatcher.update.outer_middleware(Refusals(i18n))
    # One update of a person at a time, commit included, is the intake's doing, across processes.
    dispatcher.update.outer_middleware(FsmKeyMiddleware(dispatcher.fsm))
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(storage))
    dispatcher.update.outer_middleware(ArrivalMiddleware(storage))
    dispatcher.update.outer_middleware(
        FSMContextMiddleware(storage=storage, events_isolation=DisabledEventIsolation(), strategy=dispatcher.fsm.strategy)
    )
    dispatcher.update.outer_middleware(UserLocaleMiddleware(i18n))
    dispatcher.update.outer_middleware(CurrentKnowledge(knowledge))
    # The rest of a long text an app split into messages does not reach the flows.
    dispatcher.update.outer_middleware(SplitPastes())
    # An album's photos after the first reach only the handlers that take them (flag `album`).
    dispatcher.message.middleware(Albums())
    async def start_knowledge() -> None:
        await knowledge.start(engine, session_factory)

    dispatcher.startup.register(start_knowledge)
    dispatcher.shutdown.register(chart_pool.close)
    dispatcher.shutdown.register(knowledge.stop)
    # What the bot owes people (the outbox) is sent, and due timers fire, in every process.
    worker = build_worker(settings, engine, session_factory, content, i18n)
    dispatcher.startup.register(worker.start)
    dispatcher.shutdown.register(worker.stop)
    announcer = Announcer(engine, session_factory, i18n, content.directory, settings.announcement_rate)
    dispatcher.startup.register(announcer.start)
    dispatcher.shutdown.register(announcer.stop)

    async def ensure_admins() -> None:
        async with session_factory() as session, session.begin():
            await ensure_coordinators(session, settings.admin_ids, settings.default_language)

    dispatcher.startup.register(ensure_admins)

    async def start_periodic_jobs() -> None:
        # Retention soon after start, with the period configured now, then once a day; the
        # statistics rollups' compaction every few minutes.
        async with session_factory() as session, session.begin():
            await schedule_retention(session, settings.retention_days, RETENTION_FIRST_RUN)
            await statistics.schedule_compaction(session)

    dispatcher.startup.register(start_periodic_jobs)
    # Order matters: privacy commands work at every step, and anyone can check a certificate; the staff's routers (a coordinator's
    # composition, an operator's invite link, an operator's replies to citizens) come before
    # anything a citizen does; onboarding catches people not set up; the requests' forms and what a
    # person with an open request writes come before the marathon, and both before the knowledge
    # base's search; the fallback takes whatever nothing else did.
    dispatcher.include_routers(
        errors.create_router(),
        privacy.create_router(),
        marathon.create_public_router(),
        staff.create_router(tickets.create_desk_router(), marathon.create_staff_router()),
        citizen.create_router(),
        tickets.create_router(),
        marathon.create_router(),
        citizen.create_search_router(),
        fallback.create_router(),
    )
    return dispatcher


async def publish_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in Telegram, in each language (and the default one for everyone else)."""
    for language in (None, *SUPPORTED_LANGUAGES):
        locale = language or i18n.default_locale
        commands = [
            BotCommand(command=name, description=i18n.gettext(description, locale=locale))
            for name, description in COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
