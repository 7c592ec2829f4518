"""One bot process, whatever brings the updates in: the dispatcher's background work (the outbox
worker, the announcer), the handling of the intake, polling or the webhook, `/healthz` and
`/metrics`. `python -m bot run`, the playground and the tests all run this.

Stopping (SIGTERM, SIGINT): nothing new is taken in (the poller stops, the webhook answers 503 so
Telegram tries again, through the proxy, at another process), what is being handled gets
`STOP_GRACE_SECONDS` to finish, then the background work stops and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.jobs.intake import Handling
from bot.jobs.polling import Poller
from bot.jobs.send_rates import SendRateSharing
from bot.web import WebServer

log = logging.getLogger(__name__)


def split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


SHUTDOWN_HOOKS_SECONDS = 3.0


class CannotListen(Exception):
    """The webhook's or the metrics' address could not be listened on."""


class BotProcess:
    def __init__(
        self, settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession],
        bot: Bot, dispatcher: Dispatcher, *, polling_timeout: int = 30,
        after_handled: tuple[Callable[[int], Awaitable[None]], ...] = (),
    ) -> None:
        self.settings = settings
        self.bot = bot
        self.dispatcher = dispatcher
        self.handling = Handling(dispatcher, engine, session_factory, settings.handling_concurrency, after_handled)
        self.send_rates = SendRateSharing(engine)
        self.poller: Poller | None = None
        self.web: WebServer | None = None
        self.web_address: str | None = None
        if settings.webhook_url is None:
            self.poller = Poller(
                engine, dispatcher.resolve_used_update_types(), polling_timeout, on_stored=self.handling.wake
            )
            if settings.metrics_listen:
                self.web = WebServer(engine)
        else:
            self.web = WebServer(
                engine, webhook_path=settings.webhook_path, webhook_secret=settings.webhook_secret,
                on_stored=self.handling.wake,
            )
        self._stop = asyncio.Event()
        self._started = False

    async def start(self) -> None:
        """Start everything; returns once the process takes updates. Whatever fails, `stop()`
        stops what did start."""
        self._started = True  # before: a startup hook that fails may have started others
        await self.dispatcher.emit_startup(bot=self.bot, dispatcher=self.dispatcher, bots=[self.bot], **self.dispatcher.workflow_data)
        budget = getattr(self.bot.session, "budget", None)
        if budget is not None:
            self.send_rates.start(budget)
        await self.handling.start(self.bot)
        if self.web is not None:
            listen = self.settings.webhook_listen if self.settings.webhook_url else self.settings.metrics_listen
            assert listen is not None
            try:
                self.web_address = await self.web.start(*split_listen(listen))
            except OSError as exc:
                raise CannotListen(f"{listen}: {exc}") from exc
            log.info("serving HTTP", extra={"address": self.web_address})
        if self.poller is not None:
            self.poller.start(self.bot, on_fatal=self.request_stop)
        else:
            assert self.settings.webhook_url is not None
            await self.bot.set_webhook(
                self.settings.webhook_url, secret_token=self.settings.webhook_secret,
                allowed_updates=self.dispatcher.resolve_used_update_types(), drop_pending_updates=False,
            )
            log.info("webhook set", extra={"path": self.settings.webhook_path})

    def request_stop(self) -> None:
        self._stop.set()

    async def run_until_stopped(self, handle_signals: bool = True) -> None:
        """Start, then run until SIGTERM/SIGINT (or `request_stop()`), then stop."""
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):  # not on Windows
                    loop.add_signal_handler(signum, self.request_stop)
        try:
            await self.start()
            await self._stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.web is not None:
            # Webhook calls meanwhile get 503; Telegram sends them again (to another process).
            self.web.accepting = False
        await self.handling.stop(self.settings.stop_grace_seconds)
        if self.web is not None:
            await self.web.stop()
        await self.send_rates.stop()
        if self._started:
            self._started = False
            # The outbox worker and the announcer end their batch; bounded, so that the whole stop
            # stays within STOP_GRACE_SECONDS + 10 s (docker's stop_grace_period is 30 s).
            try:
                await asyncio.wait_for(
                    self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher, bots=[self.bot], **self.dispatcher.workflow_data),
                    SHUTDOWN_HOOKS_SECONDS,
                )
            except TimeoutError:
                log.warning("the background jobs did not stop in time; what they had in hand is done again by the next start")
        log.info("stopped")

    @property
    def fatal(self) -> BaseException | None:
        return self.poller.fatal if self.poller is not None else None
