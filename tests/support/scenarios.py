"""What people do in the bot, step by step, as several tests need it done: set up an account, ask
an operator, fill in the help form, join the Marathon and log a deed, ask many questions at once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_session_factory
from bot.standin import BotApiServer
from bot.services import marathon
from bot.services.clock import today_in_kazakhstan
from bot.services.knowledge import KnowledgeBase, Question
from tests.support.people import Person


LANGUAGE_BUTTONS = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


REGION_EXAMPLE = {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"}


async def onboard(person: Person, language: str, region_label: str | None = None) -> None:
    """Take a person through /start, language, consent and region."""
    await person.send("/start")
    await person.press(LANGUAGE_BUTTONS[language])
    await person.press("✅")  # "I agree", in any language
    await person.press(region_label or REGION_EXAMPLE[language])


async def open_question(citizen: Person, language: str, question: str, t) -> int:
    """The citizen asks an operator; returns the ticket's number from the bot's confirmation."""
    prompt = await citizen.tap(t(language, "Ask an operator"))
    something_new = t(language, "🆕 Something new")
    if any(button["text"] == something_new for button in prompt.last.buttons):  # a request closed lately
        prompt = await citizen.press(something_new, prompt.last)
    assert prompt.last.buttons, "the prompt offers a way out"
    citizen.pass_over_received()  # (the question about a closed request names its number too)
    await citizen.send(question)
    confirmation = await citizen.receive("№")
    number = int(confirmation.text.split("№", 1)[1].split()[0])
    return number


BLOCKED_NOTICE = "⛔ The front-office will no longer receive your messages: a coordinator has blocked you."


async def taken_question(citizen_person, operator_person, language: str, operator_language: str, t, question: str) -> int:
    """A question asked a while ago, taken by the operator, who has received it."""
    number = await open_question(citizen_person, language, question, t)
    card = await operator_person.receive(f"№{number}")
    await operator_person.press(t(operator_language, "✋ Take"), card)
    await operator_person.receive(question)
    await citizen_person.receive(f"№{number}")  # "an operator has taken your request"
    return number


NEED = "Пожилой соседке нужна помощь: купить продукты и лекарства"


PLACE = "Кокшетау, ул. Абая 12"


async def fill_until_phone(person, t, language: str) -> None:
    await person.tap(t(language, "Need volunteers' help"))
    await person.press(t(language, "An older or disabled person"))
    await person.send(NEED)
    await person.send(PLACE)
    await person.press(t(language, "As soon as possible"))


PHOTO = iter(range(10_000))


async def run_marathon(engine, rules, days_before: int = 30, days_after: int = 3, daily_limit: int = 20) -> None:
    today = today_in_kazakhstan()
    ends = today + timedelta(days=days_after)
    starts = max(today - timedelta(days=days_before), date(ends.year, 1, 1))  # a marathon runs within a year
    async with create_session_factory(engine)() as session, session.begin():
        await marathon.set_dates(session, rules, starts, ends, daily_limit)


async def join(person, t, language: str, as_kind: str = "👤 As a person", name: str | None = "Айгерім") -> None:
    await person.tap(t(language, "Marathon of Good Deeds"))
    await person.press(t(language, "🙌 Join"))
    await person.press(t(language, as_kind))
    if name is None:
        await person.press(t(language, "🕶 Stay anonymous"))
    else:
        await person.send(name)
    await person.press("✅")  # keep their own region


async def deed_up_to_photos(
    person, t, language: str, kind_name: str, amount: str, description: str = "Убрали берег озера Копа вместе с соседями"
) -> None:
    """Fill in the deed form up to its photos."""
    await person.press(t(language, "📝 Log a deed"))
    await person.press(kind_name)
    await person.send(amount)
    await person.press(t(language, "Today"))
    await person.send("Кокшетау")
    await person.send(description)


async def log_deed(person, t, language: str, kind_name: str, amount: str, photos: int = 1) -> str:
    """Log a deed through every step; returns the bot's last words."""
    await deed_up_to_photos(person, t, language, kind_name, amount)
    for _ in range(photos):
        await person.send_photo(f"photo {next(PHOTO)}")
    await person.press(t(language, "✅ Done"))
    return (await person.press(t(language, "✅ Log it"))).text


PEOPLE = 10


QUESTIONS = 6


def distinct_questions(kb: KnowledgeBase, language: str = "ru") -> list[Question]:
    """Questions that the knowledge base answers with themselves when asked word for word."""
    found = []
    for topic in kb.topics:
        for question in topic.questions:
            hits = kb.search(question.question[language])
            if hits and hits[0].question is question:
                found.append(question)
    assert len(found) >= QUESTIONS
    return found[:QUESTIONS]


async def set_up(engine: AsyncEngine, api: BotApiServer, first_id: int = 7000) -> list[Person]:
    """People who agreed to the notice and chose a region before (their rows exist)."""
    people = [Person(api, first_id + n, "Test", "ru") for n in range(PEOPLE)]
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO users (telegram_id, language, region, consent_version, consent_at) "
                 "VALUES (:id, 'ru', 'akmola', 1, now())"),
            [{"id": person.id} for person in people],
        )
    return people


def answers(api: BotApiServer, person: Person) -> list[str]:
    """The first line of each of the bot's messages in the person's chat."""
    return [(m.text or "").split("\n")[0] for m in api.chat(person.id) if m.from_bot]
