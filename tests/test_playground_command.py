"""`python -m bot playground`: one line with the address, then the real bot answers people on the
page's JSON; its data lives in its own folder, kept across starts unless `--reset`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from bot.config import PROJECT_ROOT
from tests.support.bot import run_bot

DMITRY = 700102
UNSET = {"BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "LOG_LEVEL", "TELEGRAM_API_URL", "DATA_DIR"}


class RunningPlayground:
    def __init__(self, url: str, http: aiohttp.ClientSession, token: str) -> None:
        self.url, self.http, self.token = url, http, token

    async def get(self, path: str) -> object:
        async with self.http.get(self.url + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: dict | None = None) -> object:
        # As the page does: with the token it was served, new at every start.
        async with self.http.post(self.url + path, json=body or {}, headers={"X-Playground-Token": self.token}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def bot_messages(self, person: int, count: int) -> list[dict]:
        """The bot's messages to `person` once there are at least `count` of them."""
        for _ in range(200):
            chat = await self.get(f"/api/chats/{person}")
            messages = [m for m in chat["messages"] if m["from_bot"]]
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot sent {len(messages)} messages, {count} expected: {messages}")

    async def with_button(self, person: int, text: str) -> dict:
        """The bot's last message to `person` once it has a button labelled with `text`."""
        for _ in range(200):
            messages = await self.bot_messages(person, 1)
            if text in str(messages[-1].get("reply_markup")):
                return messages[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no button {text!r} in {messages[-1]}")

    async def press(self, person: int, text: str) -> dict:
        message = await self.with_button(person, text)
        button = next(b for row in message["reply_markup"]["inline_keyboard"] for b in row if text in b["text"])
        await self.post(f"/api/chats/{person}/press", {"message_id": message["message_id"], "data": button["callback_data"]})
        return message


@asynccontextmanager
async def playground(tmp_path: Path, *args: str, **env: str) -> AsyncIterator[RunningPlayground]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if k not in UNSET}
    clean.update(PYTHONPATH=str(PROJECT_ROOT), DATA_DIR=str(tmp_path / "data"), **env)
    log = (tmp_path / "playground.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "playground", "--port", "0", *args,
        cwd=tmp_path, env=clean, stdout=asyncio.subprocess.PIPE, stderr=log,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 90)).decode().strip()
        assert line.startswith("open http://127.0.0.1:"), (line, (tmp_path / "playground.log").read_text())
        url = line.removeprefix("open ")
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/") as response:
                token = re.search(r'<meta name="playground-token" content="([^"]+)">', await response.text()).group(1)
            yield RunningPlayground(url, http, token)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl+C
            await asyncio.wait_for(process.wait(), 30)
        log.close()
    assert process.returncode == 0, (tmp_path / "playground.log").read_text()
    assert await process.stdout.read() == b"", "the playground prints one line only"


async def test_the_playground_serves_the_page_and_the_real_bot_answers(tmp_path):
    async with playground(tmp_path, ADMIN_IDS="424242", DATABASE_URL="postgresql://u:p@127.0.0.1:1/real") as page:
        async with page.http.get(page.url + "/") as response:
            assert response.status == 200
            assert "/static/app.js" in await response.text()
        people = await page.get("/api/people")
        assert [(p["name"], p["language"], p["role"], p["office"]) for p in people] == [
            ("Айгерім", "kk", "citizen", None), ("Дмитрий", "ru", "citizen", None), ("Emma", "en", "citizen", None),
            ("Асель", "kk", "operator", "almaty"), ("Нұрлан", "ru", "operator", "akmola"),
            ("Марина", "ru", "operator", "national"), ("Сәуле", "kk", "coordinator", None),
        ]
        assert people[-1]["id"] == 424242  # the coordinator is the one ADMIN_IDS names

        await page.post(f"/api/chats/{DMITRY}/text", {"text": "/start"})
        [question] = await page.bot_messages(DMITRY, 1)
        labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["Русский", "Қазақша", "English"]
        await page.press(DMITRY, "Русский")
        await page.press(DMITRY, "✅")
        region_question = (await page.with_button(DMITRY, "Алматы"))["text"]  # the region question, in Russian
    assert (tmp_path / "data" / "playground" / "postgres").is_dir()  # its own folder, not DATABASE_URL
    # The operators (and the coordinator) are real records in the playground's own database.
    listed = run_bot(tmp_path, "operators", "list", DATA_DIR=str(tmp_path / "data" / "playground"), ADMIN_IDS="424242")
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["700202", "akmola", "operator"], ["700201", "almaty", "operator"],
        ["424242", "national", "coordinator"], ["700203", "national", "operator"],
    ], listed.stderr  # by front-office, then name

    # Started again: Dmitry's consent is still stored, so /start goes on with the region.
    async with playground(tmp_path) as page:
        await page.post(f"/api/chats/{DMITRY}/text", {"text": "/start"})
        [message] = await page.bot_messages(DMITRY, 1)
        assert message["text"] and region_question.endswith(message["text"])  # the same question, anew
        assert "Алматы" in str(message["reply_markup"])

    # --reset: everything forgotten, /start asks for the language again.
    async with playground(tmp_path, "--reset") as page:
        await page.post(f"/api/chats/{DMITRY}/text", {"text": "/start"})
        [message] = await page.bot_messages(DMITRY, 1)
        assert "Русский" in str(message["reply_markup"]) and "Алматы" not in str(message["reply_markup"])


async def test_a_taken_port_stops_the_playground_with_one_line(tmp_path):
    async with playground(tmp_path / "first") as page:
        port = page.url.rsplit(":", 1)[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "playground", "--port", port, cwd=tmp_path,
            env={**{k: v for k, v in os.environ.items() if k not in UNSET}, "PYTHONPATH": str(PROJECT_ROOT),
                 "DATA_DIR": str(tmp_path / "second")},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().strip().splitlines() == [f"Cannot start: cannot listen on 127.0.0.1:{port} (the port is taken): choose another --port"]
