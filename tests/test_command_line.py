"""`python -m bot`: a bad or missing setting stops it with one clear line, never a traceback."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from bot.config import PROJECT_ROOT
from tests.support.bot import run_bot

TOKEN = "123456789:AAHtestTOKENtestTOKENtestTOKENtest123"


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "Cannot start: BOT_TOKEN is not set: get a token from @BotFather and put BOT_TOKEN=… in .env"),
        ({"BOT_TOKEN": "not-a-token"}, "Cannot start: BOT_TOKEN does not look like a token from @BotFather"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "12,abc"}, "Cannot start: ADMIN_IDS must be comma-separated numeric Telegram ids; 'abc' is not one"),
        ({"BOT_TOKEN": TOKEN, "LOG_LEVEL": "loud"}, "Cannot start: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_URL": "mysql://x@y/z"}, "Cannot start: DATABASE_URL must be a PostgreSQL URL"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "localhost:8081"}, "Cannot start: TELEGRAM_API_URL must be an http(s) URL"),
        ({"BOT_TOKEN": TOKEN, "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db"}, "Cannot start: cannot reach the database (DATABASE_URL)"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.kz/telegram"}, "Cannot start: WEBHOOK_SECRET must be set with WEBHOOK_URL"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://bot.example.kz/telegram", "WEBHOOK_SECRET": "s3cret"},
         "Cannot start: WEBHOOK_URL must start with https://"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "bot.example.kz", "WEBHOOK_SECRET": "s3cret"}, "Cannot start: WEBHOOK_URL must be the public address"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.kz/t", "WEBHOOK_SECRET": "not secret!"}, "Cannot start: WEBHOOK_SECRET must be 1 to 256 characters"),
        ({"BOT_TOKEN": TOKEN, "METRICS_LISTEN": "9090"}, "Cannot start: METRICS_LISTEN must be host:port"),
        ({"BOT_TOKEN": TOKEN, "HANDLING_CONCURRENCY": "0"}, "Cannot start: HANDLING_CONCURRENCY Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_setting_stops_the_bot_with_one_clear_line(tmp_path, env, line):
    result = run_bot(tmp_path, "run", **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("Cannot start:")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr


def test_settings_are_read_from_a_dot_env_file(tmp_path):
    (tmp_path / ".env").write_text("BOT_TOKEN=nope\n")
    result = run_bot(tmp_path, "run")
    assert "Cannot start: BOT_TOKEN does not look like a token" in result.stderr


def test_migrate_against_a_server(tmp_path, database_url):
    result = run_bot(tmp_path, "migrate", DATABASE_URL=database_url.replace("+asyncpg", ""))
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stderr


async def test_run_publishes_the_command_menu_answers_and_stops_cleanly_on_sigterm(api, engine, tmp_path, i18n):
    """`python -m bot run` as deployed: it publishes the menu in each language (and the default
    one, in the default language), answers people, and on SIGTERM (docker stop) exits 0 without a
    traceback, finishing what it was handling."""
    import asyncio
    import signal

    from bot.app import COMMANDS
    from tests.support.people import Person

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url,
           "DATABASE_URL": engine.url.render_as_string(hide_password=False), "LOG_LEVEL": "WARNING"}
    for name in ("ADMIN_IDS", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "METRICS_LISTEN"):
        env.pop(name, None)
    log = tmp_path / "bot.log"

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=log.open("ab"))

    def answers() -> list:
        return [m for m in api.chat(person.id) if m.from_bot]

    process = start()
    try:
        await api.wait_for(lambda: len(api.commands) == 4 or None, 60)
        for language, shown in api.commands.items():
            expected = [{"command": name, "description": i18n.gettext(description, locale=language or "kk")}
                        for name, description in COMMANDS]
            assert shown == expected, language
        assert api.commands["ru"][0] == {"command": "start", "description": "Начать или вернуться в меню"}

        person = Person(api, 8100, "Test", "ru")
        await api.send_text(person.id, "/start")
        await api.wait_for(lambda: answers() or None, 30)
        last, _ = await api.send_text(person.id, "/start")
        await api.wait_for(lambda: api.confirmed_upto >= last or None, 30)  # stored by the bot
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 40)
        assert code == 0, log.read_text()
        assert "Traceback" not in log.read_text()
        # Answered before it stopped, or kept for the next start: either way once.
        process = start()
        async with engine.connect() as conn:
            for _ in range(300):
                if not await conn.scalar(text("SELECT count(*) FROM intake WHERE handled_at IS NULL")):
                    break
                await asyncio.sleep(0.1)
        await api.wait_for(lambda: len(answers()) >= 2 or None, 30)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 40)
    assert len(answers()) == 2, [m.text for m in answers()]
