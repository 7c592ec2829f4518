"""The bot under test: in the test's own process (`RunningBot`, which the `bot` fixture runs) or
as `python -m bot` (`run_bot`), and what its operators read from it (`/metrics`)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Content, build_bot, build_dispatcher
from bot.config import PROJECT_ROOT, Settings
from bot.db.engine import create_session_factory
from bot.standin import BotApiServer
from bot.process import BotProcess


TEST_TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest123"


class RunningBot:
    """The real bot process (`BotProcess`), polling the stand-in; `restart()` stops it and starts a
    fresh process-like copy. The stand-in learns when an update's handling has committed."""

    def __init__(self, api: BotApiServer, engine: AsyncEngine, content: Content, i18n, **settings: Any) -> None:
        self.api, self.engine, self.content, self.i18n = api, engine, content, i18n
        self.settings = Settings(
            bot_token=TEST_TOKEN, telegram_api_url=api.url, default_language="kk", **settings
        )
        self.process: BotProcess | None = None

    async def start(self) -> None:
        self.bot = build_bot(self.settings)
        session_factory = create_session_factory(self.engine)
        dispatcher = build_dispatcher(self.settings, self.engine, session_factory, self.content, self.i18n)
        self.process = BotProcess(
            self.settings, self.engine, session_factory, self.bot, dispatcher, polling_timeout=1,
            after_handled=(self.api.mark_handled,),
        )
        await self.process.start()
        await self.api.wait_for(lambda: any(c.method == "deleteWebhook" for c in self.api.calls) or None, 10)

    @property
    def dispatcher(self):
        return self.process.dispatcher if self.process else None

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.wait_for(self.process.stop(), 30)
            await self.bot.session.close()
            self.process = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


def run_bot(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {
        "BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "LOG_LEVEL", "TELEGRAM_API_URL", "WEBHOOK_URL", "WEBHOOK_SECRET",
        "WEBHOOK_LISTEN", "METRICS_LISTEN",
    }}
    clean["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def metric(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", exposition, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
