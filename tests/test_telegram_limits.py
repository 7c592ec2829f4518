"""Telegram's limits counted as Telegram counts them: lengths in UTF-16 code units of the visible
text (an emoji such as 😀 is two), after the bot's header or signature is added; texts cut on the
plain text and escaped afterwards, never in the middle of HTML."""

from __future__ import annotations

from sqlalchemy import text

from bot.services import tickets
from bot.services.lengths import TELEGRAM_CAPTION, TELEGRAM_TEXT, utf16_length
from bot.services.tickets import Status, Ticket
from bot.views import tickets as ticket_texts
from tests.support.announcements import announcement_finished, compose, delivered, seed_people, wait_until
from tests.support.database import rows, ticket_messages, ticket_row
from tests.support.scenarios import open_question

REST_OF_A_PASTE = ("The rest of your long text arrived as separate messages (Telegram splits a text longer than "
                   "4096 characters); it was not used.")
TOO_LONG = "That is too long for one message: {length} characters, at most {limit} (an emoji counts as two). Please send it in several parts."
CAPTION_TOO_LONG = "The caption is too long: {length} characters, at most {limit} (an emoji counts as two). Please send the file with a shorter caption and the rest as a message."


async def outbox_failures(engine) -> list[dict]:
    return await rows(engine, "SELECT kind, chat_id, failed FROM outbox WHERE failed IS NOT NULL")


def refused_calls(api) -> list[str]:
    """What Telegram refused that it would refuse again (flood control's 429s are waited out)."""
    return [f"{c.method}: {c.error}" for c in api.calls if not c.ok and c.expected is None]


async def taken_question(citizen, operator, t, question: str = "Как стать волонтёром?"):
    """A citizen (ru) with a question an Akmola operator (en) has taken; returns (citizen,
    operator, ticket number, the relayed question in the operator's chat, the card)."""
    person = await citizen("ru")
    akmola = await operator("akmola", "en", "Nurlan")
    number = await open_question(person, "ru", question, t)
    card = await akmola.receive(f"№{number}")
    await akmola.press(t("en", "✋ Take"), card)
    await person.receive(f"№{number}")  # taken
    relayed = await akmola.receive(question[:20])
    return person, akmola, number, relayed, card


async def test_an_operators_emoji_answer_over_telegrams_limit_is_refused_not_accepted_and_lost(
    citizen, operator, engine, api, t
):
    """2,000 😀 are 2,000 characters to Python but 4,000 to Telegram: the answer was accepted
    ("✓ Sent"), and the outbox's sendMessage (with the signature) was refused, so the citizen never
    got it."""
    person, akmola, number, relayed, card = await taken_question(citizen, operator, t)

    refused = await akmola.send("😀" * 2000, reply_to=relayed)
    assert refused.text == t("en", TOO_LONG).format(length=4000, limit=tickets.MAX_TEXT_LENGTH)
    assert await ticket_messages(engine, number, "operator") == [], "nothing is stored"

    # The longest answer allowed reaches the citizen whole, with the front-office's signature.
    longest = "😀" * (tickets.MAX_TEXT_LENGTH // 2)
    sent = await akmola.send(longest, reply_to=relayed)
    assert sent.text.startswith("✓")
    answer = await person.receive("😀")
    assert answer.text.startswith(longest + "\n\n— ")
    assert len(await ticket_messages(engine, number, "operator")) == 1
    assert refused_calls(api) == [] and await outbox_failures(engine) == []


async def test_a_citizens_emoji_message_over_the_limit_is_refused_before_it_joins_the_request(
    citizen, operator, engine, api, t
):
    person, akmola, number, _relayed, _card = await taken_question(citizen, operator, t)

    refused = await person.send("🙏" * 2100)
    # 4,200 UTF-16 units: an app sends 4096 of them, then the rest, which must not join the request.
    assert [m.text for m in refused.sent] == [
        t("ru", TOO_LONG).format(length=4096, limit=tickets.MAX_TEXT_LENGTH), t("ru", REST_OF_A_PASTE)]
    assert len(await ticket_messages(engine, number, "citizen")) == 1, "only the question"

    longest = "🙏" * (tickets.MAX_TEXT_LENGTH // 2)
    added = await person.send(longest)
    assert f"№{number}" in added.text
    relayed = await akmola.receive("🙏")
    assert relayed.text.endswith(longest) and f"№{number}" in relayed.text
    assert refused_calls(api) == [] and await outbox_failures(engine) == []


async def test_a_first_question_over_the_limit_opens_no_request(citizen, engine, api, t):
    person = await citizen("ru")
    await person.tap(t("ru", "Ask an operator"))
    refused = await person.send("🙏" * 2100)
    # 4,200 UTF-16 units: an app sends 4096 of them, then the rest, which must not join the request.
    assert [m.text for m in refused.sent] == [
        t("ru", TOO_LONG).format(length=4096, limit=tickets.MAX_TEXT_LENGTH), t("ru", REST_OF_A_PASTE)]
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM tickets")) == 0
    assert refused_calls(api) == []


async def test_captions_are_counted_with_the_header_and_refused_when_they_would_not_fit(
    citizen, operator, engine, api, t
):
    """A caption of 500 😀 is 1,000 units: Telegram accepts it from the citizen, but not with the
    bot's header "💬 №N, the citizen:" added (1,024 at most), so the photo never reached the operator."""
    person, akmola, number, relayed, card = await taken_question(citizen, operator, t)

    refused = await person.send_photo(caption="😀" * 500)
    assert refused.text == t("ru", CAPTION_TOO_LONG).format(length=1000, limit=tickets.MAX_CAPTION_LENGTH)
    refused = await akmola.send_document(b"%PDF-1.4", "list.pdf", "application/pdf", caption="📎" * 500)
    assert refused.text == t("en", CAPTION_TOO_LONG).format(length=1000, limit=tickets.MAX_CAPTION_LENGTH)
    assert len(await ticket_messages(engine, number, "citizen")) == 1
    assert await ticket_messages(engine, number, "operator") == []

    longest = "😀" * (tickets.MAX_CAPTION_LENGTH // 2)
    await person.send_photo(caption=longest)
    photo = await akmola.receive(longest)
    assert photo.photo and photo.caption.endswith(longest)
    await akmola.send_document(b"%PDF-1.4", "list.pdf", "application/pdf", caption="📎" * (tickets.MAX_CAPTION_LENGTH // 2))
    document = await person.receive("📎")
    assert document.document and document.caption.startswith("📎" * (tickets.MAX_CAPTION_LENGTH // 2) + "\n\n— ")
    assert refused_calls(api) == [] and await outbox_failures(engine) == []


async def test_a_resolution_and_a_transfer_note_are_counted_in_utf16(citizen, operator, engine, api, t):
    person, akmola, number, relayed, card = await taken_question(citizen, operator, t)
    await akmola.press(t("en", "↪️ Transfer"), card)
    await akmola.press("National Volunteer Front-Office")
    refused = await akmola.send("🙂" * 300)  # 600 units
    assert refused.text == t("en", "Please write the note as text, up to {limit} characters.").format(limit=tickets.MAX_NOTE_LENGTH)
    await akmola.press(t("en", "✖️ Cancel"))

    await akmola.press(t("en", "✅ Close"), card)
    refused = await akmola.send("🙂" * 300)
    assert refused.text == t("en", "Please write the resolution as text, up to {limit} characters.").format(limit=tickets.MAX_NOTE_LENGTH)
    await akmola.press(t("en", "✖️ Cancel"))
    row = await ticket_row(engine, number)
    assert row["status"] == "taken" and row["office"] == "akmola" and row["resolution"] is None


async def test_the_room_left_for_headers_and_signatures_holds_the_longest_of_them(i18n, content):
    """The limits a person is told leave room for what the bot adds in every language and for
    every front-office; a translation that grows past that room would make relays fail again."""
    directory = content.directory
    slugs = [directory.national.slug, *(office.slug for office in directory.regions)]
    ticket = Ticket(
        2**31, 1, "question", "question", "akmola", "akmola", "kk", Status.TAKEN, 1, "x", None, {}, None, None, None,
        None, False,
    )
    said = tickets.Said(1, ticket.id, "citizen", 1, tickets.Content("text", ""), None)
    for language in ("kk", "ru", "en"):
        with i18n.context(), i18n.use_locale(language):
            header = utf16_length(ticket_texts.relayed_to_operator(ticket, said) + "\n")
            signature = max(utf16_length("\n\n" + ticket_texts.signature(directory, slug)) for slug in slugs)
        wrap = max(header, signature)
        assert tickets.MAX_TEXT_LENGTH + wrap <= TELEGRAM_TEXT, (language, wrap)
        assert tickets.MAX_CAPTION_LENGTH + wrap <= TELEGRAM_CAPTION, (language, wrap)


# --- texts cut to fit ----------------------------------------------------------------------------------

async def test_a_long_history_full_of_markup_characters_and_emoji_is_cut_cleanly(citizen, operator, engine, api, t):
    """The History was cut on its HTML, counted in code points: with emoji it was far over 4,096
    units ("message is too long"), and a cut could split `&amp;` or `</b>` ("can't parse
    entities"). Now it is cut on the visible text and escaped afterwards."""
    question = "<b>Вопрос</b> & " + "😀<>&" * 590  # 2,966 units, about as much as a message may hold
    person = await citizen("ru")
    akmola = await operator("akmola", "en", "Nurlan")
    number = await open_question(person, "ru", question, t)
    card = await akmola.receive(f"№{number}")
    assert "<b>Вопрос</b> & 😀<>&" in card.text, "the card shows the markup characters as they were written"
    assert utf16_length(card.text) <= TELEGRAM_TEXT
    await akmola.press(t("en", "✋ Take"), card)
    relayed = await akmola.receive("Вопрос")
    for turn in range(6):
        await person.send(f"{turn}: &<> " + "😀" * 1400)
        await akmola.receive(f"{turn}: ")
        await akmola.send(f"a{turn}: " + "😀" * 1400, reply_to=relayed)
        await person.receive(f"a{turn}: ")

    history = await akmola.press(t("en", "📜 History"), card)  # a refused call fails here
    shown = history.last.text
    assert utf16_length(shown) <= TELEGRAM_TEXT
    assert shown.startswith(f"📜 Request №{number}\n…\n"), "it says that older messages are left out"
    assert "a5: 😀" in shown, "the newest message is there"
    assert "amp;" not in shown and "&lt" not in shown and "&gt" not in shown, "no entity cut in half"
    assert "5: &<> 😀" in shown
    last_line = shown.rsplit("\n", 1)[-1]
    assert last_line.endswith("😀…"), "a long message ends with an ellipsis, never half an emoji"
    assert refused_calls(api) == [] and await outbox_failures(engine) == []


# --- delivery unknown: at most once -------------------------------------------------------------------

ANSWER_UNCONFIRMED = "⚠️ Your last message to the citizen of request {number} may not have reached them: the connection broke before Telegram confirmed it. It is not sent again by itself, so that it never arrives twice; send it again if it matters."
NOT_CONFIRMED = "Of them not confirmed (the connection broke; not sent again): {unconfirmed}"


async def test_an_announcement_whose_answer_was_lost_is_not_sent_again_and_counts_as_unconfirmed(api, bot, engine, operator):
    """The stand-in delivers the announcement to one person and breaks the connection before the
    bot hears so, as a network timeout does. It was put back and sent again: the person got it twice."""
    people = await seed_people(api, engine, 6)
    ids = sorted(people)
    coordinator = await operator("national", "en", coordinator=True)
    await compose(coordinator, per_language=False)
    api.lose_answers("sendMessage", ids[2])
    progress = (await coordinator.press("Send to 6 people")).sent[-1]

    finished = await wait_until(lambda: announcement_finished(engine), 20)
    received = delivered(api, ids)
    assert {i: len(calls) for i, calls in received.items()} == {i: 1 for i in ids}, "everyone has it once"
    assert (finished["sent"], finished["failed"], finished["unconfirmed"]) == (5, 1, 1), "counted as not delivered"
    async with engine.connect() as conn:
        state = await conn.scalar(
            text("SELECT state FROM announcement_recipients WHERE telegram_id = :id"), {"id": ids[2]}
        )
    assert state == "unconfirmed"
    shown = NOT_CONFIRMED.format(unconfirmed=1)
    await api.wait_for(lambda: shown in api.message(coordinator.id, progress.message_id).text, 10)


async def _settled_relay(engine, chat_id: int):
    async with engine.connect() as conn:
        row = (await conn.execute(
            text("SELECT sent_at, failed FROM outbox WHERE chat_id = :chat AND kind = 'ticket_message'"), {"chat": chat_id}
        )).mappings().first()
    return dict(row) if row and (row["sent_at"] or row["failed"]) else None


async def test_an_operators_answer_whose_answer_was_lost_is_not_sent_twice_and_the_operator_is_told(
    citizen, operator, engine, api, t
):
    """The outbox put a send whose answer was lost back in the queue, and the citizen got the
    operator's answer twice. Now it is not sent again: the operator is told it may not have
    arrived, and a reply to that notice goes to the same request."""
    person, akmola, number, relayed, _card = await taken_question(citizen, operator, t)
    api.lose_answers("sendMessage", person.id)
    await akmola.send("С 16 лет можно, с согласия родителей.", reply_to=relayed)

    row = await wait_until(lambda: _settled_relay(engine, person.id), 10)
    copies = [m for m in api.chat(person.id) if m.from_bot and "С 16 лет можно" in (m.text or "")]
    assert len(copies) == 1, "the citizen has it once"
    assert row["failed"] == "unconfirmed" and row["sent_at"] is None
    warning = await akmola.receive(t("en", ANSWER_UNCONFIRMED).format(number=f"№{number}"))

    await akmola.send("Повторяю: с 16 лет можно.", reply_to=warning)
    assert (await person.receive("Повторяю")).text.startswith("Повторяю: с 16 лет можно.")
    assert refused_calls(api) == []
