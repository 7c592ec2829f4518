"""The playground page in a real browser (headless Chromium through Playwright): people chat with
the real bot through the same Bot API stand-in the other tests use.

Each test leaves a screenshot in `test-results/playground/`, named after the test."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.config import PROJECT_ROOT
from bot.standin import BotApiServer
from bot.playground.cast import seed_people
from bot.playground.web import Playground
from tests.support import people as chat_people
from tests.support.scenarios import REGION_EXAMPLE, onboard

SCREENSHOTS = PROJECT_ROOT / "test-results" / "playground"
AIGERIM, DMITRY, EMMA, COORDINATOR = 700101, 700102, 700103, 700001
# Without the background-networking switches Chromium keeps dialling Google on a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.fail("Chromium is needed for the page tests: run them with `python3 run.py test`, which installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def api(i18n) -> AsyncIterator[BotApiServer]:
    """The stand-in with the playground's page on it, and the playground's people."""
    server = BotApiServer()
    server.playground = Playground(server, i18n)
    seed_people(server.playground, (COORDINATOR,))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def page(browser: Browser, api: BotApiServer, bot, request) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 800}, locale="kk-KZ")
    page = await context.new_page()
    await page.goto(api.url)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png")
    await context.close()


async def open_person(page: Page, name: str) -> None:
    # Once in a full run (1 of 4 this session, never when the file ran alone 11 times) a click on a
    # person right after the page loaded opened nothing, and the page still showed "choose a person"
    # 10 s later; the cause is not found yet. A person would click again, and so does this: the
    # tests that use it are about what happens in the chat once it is open.
    person = page.locator("#people .person", has_text=name)
    for _ in range(2):
        await person.click()
        try:
            await expect(page.locator("#chat-name")).to_have_text(name, timeout=3000)
            return
        except AssertionError:
            continue
    await person.click()
    await expect(page.locator("#chat-name")).to_have_text(name)


async def send(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


def bot_messages(page: Page):
    return page.locator("#messages .message.from-bot")


CITIZENS = {  # language: (the playground's citizen, their language's button, a question they type)
    "kk": ("Айгерім", "Қазақша", "волонтер болу"),
    "ru": ("Дмитрий", "Русский", "как стать волонтёром"),
    "en": ("Emma", "English", "how do I become a volunteer"),
}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_citizen_sets_up_and_asks_a_question_in_the_page(page: Page, api: BotApiServer, content, t, language):
    name, button, question = CITIZENS[language]
    await open_person(page, name)
    await expect(page.locator("#no-chat")).to_be_hidden()
    await send(page, "/start")
    # Their Telegram language is offered first, every language named in itself.
    first_buttons = bot_messages(page).last.locator(".inline-button")
    await expect(first_buttons.first).to_have_text(button)
    await first_buttons.first.click()
    # The language question becomes the consent request, in their language.
    await expect(bot_messages(page)).to_have_count(1)
    await expect(bot_messages(page).last).to_contain_text(plain(t(language, "<b>Before we begin: your personal data</b>")))
    await bot_messages(page).last.locator(".inline-button", has_text=t(language, "✅ I agree")).click()
    await bot_messages(page).last.locator(".inline-button", has_text=REGION_EXAMPLE[language]).click()
    # The main menu arrives as a reply keyboard under the input.
    await expect(page.locator("#reply-keyboard .reply-button", has_text="❓ " + t(language, "Ask a question"))).to_be_visible()

    await send(page, question)
    best = content.kb.search(question)[0].question
    answer = bot_messages(page).last
    await expect(answer.locator("strong")).to_have_text(best.question[language])  # the bot's <b> as bold
    await expect(answer).to_contain_text(best.answer[language].splitlines()[0])
    # An inline button under the answer: the bot edits the message into the topic's questions.
    await answer.locator(".inline-button", has_text="⬅️").click()
    topic = content.kb.topic(best.topic_id)
    await expect(bot_messages(page).last).to_contain_text(topic.title[language])
    await expect(bot_messages(page).last.locator(".message-foot")).to_contain_text(t("kk", "edited"))  # page in kk

    person_id = next(p.id for p in api.people.values() if p.first_name == name)
    assert await bot_messages(page).count() == len([m for m in api.chat(person_id) if m.from_bot])


async def test_each_person_has_a_separate_conversation_and_unread_counts(page: Page, api: BotApiServer, t):
    await open_person(page, "Айгерім")
    await send(page, "/start")
    await expect(bot_messages(page)).to_have_count(1)

    await open_person(page, "Дмитрий")
    await expect(page.locator("#messages .note")).to_be_visible()  # his chat is empty
    await expect(bot_messages(page)).to_have_count(0)
    await send(page, "/start")
    await expect(bot_messages(page).last.locator(".inline-button").first).to_have_text("Русский")

    # While Dmitry's chat is open, the bot writes to Aigerim: her entry counts it as unread.
    await api.send_text(AIGERIM, "/privacy")
    aigerim = page.locator("#people .person", has_text="Айгерім")
    await expect(aigerim.locator(".unread")).to_have_text("1")
    await expect(page.locator("#messages")).not_to_contain_text(plain(t("kk", "<b>Personal data notice</b>")))

    await open_person(page, "Айгерім")
    await expect(bot_messages(page)).to_have_count(2)
    await expect(aigerim.locator(".unread")).to_have_count(0)

    # The page's own words follow the chosen page language.
    await page.select_option("#page-language", "ru")
    await expect(page.locator("h1")).to_have_text(t("ru", "Qazvolunteer bot playground"))


async def test_a_call_telegram_would_refuse_is_shown_in_red(page: Page, api: BotApiServer, bot):
    await open_person(page, "Дмитрий")
    await send(page, "/start")
    await expect(bot_messages(page)).to_have_count(1)

    # Malformed HTML from the bot: Telegram's own error text, in red under the chat.
    with pytest.raises(TelegramBadRequest):
        await bot.bot.send_message(DMITRY, "<b>unclosed")
    refusal = page.locator("#refusals .refusal")
    await expect(refusal).to_contain_text("sendMessage")
    await expect(refusal).to_contain_text("Bad Request: can't parse entities")

    # A person who blocked the bot: the bot's edit after a press is refused with 403.
    await page.click("#block")
    await expect(page.locator("#blocked-note")).to_be_visible()
    await bot_messages(page).last.locator(".inline-button", has_text="Русский").click()
    await expect(refusal.last).to_contain_text("Forbidden: bot was blocked by the user")
    assert api.people[DMITRY].blocked_bot


async def test_the_page_survives_a_bot_restart(page: Page, api: BotApiServer, bot, t):
    await open_person(page, "Emma")
    await send(page, "/start")
    await expect(bot_messages(page).last.locator(".inline-button").first).to_have_text("English")
    await bot.restart()
    await bot_messages(page).last.locator(".inline-button", has_text="English").click()
    # The same message, edited in place by the restarted bot, without reloading the page.
    await expect(bot_messages(page)).to_have_count(1)
    await expect(bot_messages(page).last).to_contain_text(t("en", "✅ I agree"))


async def test_photos_contacts_locations_and_replies_from_the_page(page: Page, api: BotApiServer, bot, tmp_path):
    await open_person(page, "Emma")
    await send(page, "/start")
    await expect(bot_messages(page)).to_have_count(1)

    picture = tmp_path / "deed.png"
    picture.write_bytes(small_png())
    handled = len(api.handled_updates)
    await page.set_input_files("#file", str(picture))
    mine = page.locator("#messages .message.from-person")
    await expect(mine.last.locator("img")).to_be_visible()
    assert any(m.photo for m in api.chat(EMMA) if not m.from_bot)
    # The bot's answer to the photo first (it still asks for the language), then the upload below.
    await api.wait_for(lambda: len(api.handled_updates) > handled, 10)

    # What the bot uploads is shown too: a photo with its formatted caption, a document to download.
    await bot.bot.send_photo(EMMA, BufferedInputFile(small_png(), "deed.png"), caption="<b>Игі істер</b> марафоны 🎉")
    photo = bot_messages(page).last
    await expect(photo.locator("strong")).to_have_text("Игі істер")
    await expect(photo.locator("img")).to_be_visible()
    assert await photo.locator("img").evaluate("image => image.naturalWidth") == 160
    document = await bot.bot.send_document(EMMA, BufferedInputFile("Есеп".encode(), "есеп.txt"))
    await expect(bot_messages(page).last.locator("a.document")).to_have_text("📎 есеп.txt")
    # The bot deletes it and shows "typing…": both appear without reloading.
    await bot.bot.delete_message(EMMA, document.message_id)
    await expect(page.locator("#messages a.document")).to_have_count(0)
    await bot.bot.send_chat_action(EMMA, "typing")
    await expect(page.locator("#chat-typing")).to_be_visible()

    await page.click("#contact")
    await expect(mine.last).to_contain_text("📱 Emma: +7700")
    await page.click("#location")
    await expect(mine.last).to_contain_text("📍 51.12820, 71.43043")

    # Replying to the bot's message quotes it above the person's text.
    first = bot_messages(page).first
    await first.hover()
    await first.locator(".reply-to").click()
    await expect(page.locator("#replying")).to_be_visible()
    await send(page, "hello")
    await expect(mine.last.locator(".quote")).not_to_be_empty()
    sent = next(m for m in reversed(api.chat(EMMA)) if m.text == "hello")
    assert sent.reply_to == next(m for m in api.chat(EMMA) if m.from_bot).message_id
    await page.locator("#messages").evaluate("box => { box.scrollTop = box.scrollHeight; }")  # down to the newest
    # Kazakh letters and emoji in the people list render as text, not as escapes.
    await expect(page.locator("#people")).to_contain_text(re.compile("Айгерім.*Сәуле", re.DOTALL))


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def small_png(width: int = 160, height: int = 100) -> bytes:
    """A solid blue picture, as a person would attach from disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = (b"\x00" + b"\x33\x90\xec" * width) * height  # each row: filter byte, then pixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_callback_notices_and_alerts_show_on_the_page(page: Page, api: BotApiServer, t):
    await onboard(chat_people.Person(api, AIGERIM, "Айгерім", "kk"), "kk")
    await open_person(page, "Айгерім")
    await page.locator("#reply-keyboard .reply-button", has_text="❓ " + t("kk", "Ask a question")).click()
    await expect(bot_messages(page).last.locator(".inline-button").first).to_be_visible()
    topics_id = await bot_messages(page).last.get_attribute("data-message-id")
    topics = page.locator(f'#messages .message[data-message-id="{topics_id}"]')

    # She erases her data; the topics message still has its buttons, as in Telegram.
    await send(page, "/forget")
    await bot_messages(page).last.locator(".inline-button", has_text=t("kk", "🗑 Yes, delete my data")).click()
    await expect(page.locator("#messages")).to_contain_text(t("kk", "Your data has been deleted and your consent withdrawn."))
    # The goodbye removes the menu keyboard from under the input.
    await expect(page.locator("#reply-keyboard .reply-button")).to_have_count(0)

    # A button pressed by someone the bot no longer knows: answered with an alert, shown as a dialog.
    await topics.locator(".inline-button").first.click()
    await expect(page.locator("#alert")).to_be_visible()
    await expect(page.locator("#alert-text")).to_have_text(t("kk", "Please send /start first."))
    await page.locator("#alert button").click()
    await expect(page.locator("#alert")).to_be_hidden()
