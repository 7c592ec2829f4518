"""How each kind of owed message (`bot/services/outbox.py`) becomes Bot API calls. The worker
(`bot/jobs/outbox.py`) calls a sender with the row locked, in the transaction that marks it sent.

Ticket messages are rendered here, when they are sent, in the recipient's language and from the
ticket as it is then: a card that waited behind a 429 shows who took the ticket meanwhile. Every
message sent about a ticket is linked to it, so an operator's reply to any of them finds its ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile, InlineKeyboardMarkup, InputMediaAudio, InputMediaDocument, InputMediaPhoto, InputMediaVideo, Message,
)
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import abuse, access, announcements, marathon, nominations, operators, outbox, tickets, users
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.lengths import cut
from bot.services.marathon import Rules
from bot.services.operators import get_operator
from bot.services.tickets import Limits, Said, Ticket
from bot.views import marathon as marathon_texts
from bot.views import blocks as block_texts
from bot.views import certificates as certificate_views
from bot.views import tickets as texts
from bot.views import workload as workload_texts
from bot.views.common import in_parts

Sender = Callable[[Bot, AsyncSession, int, dict[str, Any]], Awaitable[Any]]


async def send_text(bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
    """`{"text": …}`: a text already in the recipient's language, in the bot's HTML."""
    await bot.send_message(chat_id, payload["text"])


class Deliveries:
    """The senders of every kind of owed message, with what rendering them needs."""

    def __init__(self, i18n: I18n, directory: Directory, limits: Limits, rules: Rules) -> None:
        self.i18n = i18n
        self.directory = directory
        self.limits = limits
        self.rules = rules

    def senders(self) -> dict[str, Sender]:
        return {
            "text": send_text,
            "ticket_card": self.send_card,
            "ticket_refresh": self.refresh_cards,
            "ticket_message": self.relay,
            "ticket_album": self.relay_album,
            "ticket_edit": self.relay_edit,
            "ticket_notice": self.send_notice,
            "ticket_note": self.send_note,
            "nobody_on_duty": self.send_nobody_on_duty,
            "ticket_reassigned": self.send_reassigned,
            "deed_review": self.send_deed_review,
            "winners": self.send_winners,
            "certificate": self.send_certificate,
            abuse.BLOCK_NOTICE: self.send_block_notice,
            "staff_unreachable": self.send_staff_unreachable,
        }

    # Only edits: made twice, the second changes nothing. Every send made twice is seen twice.
    repeatable = frozenset({"ticket_refresh", "ticket_edit"})

    async def on_unconfirmed(self, session: AsyncSession, kind: str, chat_id: int, payload: dict[str, Any]) -> None:
        """A message whose delivery is unknown is not sent again; the author of a relayed one is
        told, so they can send it again if it matters."""
        if kind == "ticket_message":
            await tickets.relay_unconfirmed(session, payload["message"])
        elif kind == "ticket_album":  # one notice for the album: its author sent it at once
            await tickets.relay_unconfirmed(session, payload["messages"][0])

    async def on_blocked(self, session: AsyncSession, chat_id: int) -> None:
        """Telegram refuses messages to this person (they blocked the bot, or never opened it): their
        open request's operator must know, and announcements skip them until they write again. A
        staff member on duty goes off duty (requests would reach nobody there) and the coordinators
        are told."""
        await tickets.citizen_blocked(session, chat_id)
        await announcements.mark_unreachable(session, [chat_id])
        if (taken_off := await operators.unreachable(session, chat_id)) is not None:
            operator, coordinators = taken_off
            for coordinator in coordinators:
                await outbox.owe(session, coordinator, "staff_unreachable", {"operator": operator.telegram_id})

    @contextlib.asynccontextmanager
    async def _in_language_of(self, session: AsyncSession, chat_id: int, fallback: str):
        language = await users.language_of(session, chat_id) or fallback
        with self.i18n.context(), self.i18n.use_locale(language):
            yield

    async def _ticket(self, session: AsyncSession, ticket_id: int) -> Ticket:
        ticket = await tickets.get_ticket(session, ticket_id)
        if ticket is None:
            raise LookupError(f"ticket {ticket_id} is gone")
        return ticket

    async def _card(self, session: AsyncSession, ticket: Ticket, chat_id: int) -> tuple[str, InlineKeyboardMarkup | None, bool]:
        """The card as this operator sees it now, and whether they still may act on it. One whose
        office the ticket has left (a transfer, T2, a move) sees only where it went, from then on."""
        first = await tickets.first_from_citizen(session, ticket.id)
        operator = await get_operator(session, chat_id)
        if not access.may(operator, Act.REQUESTS, (ticket.office,)):
            return texts.moved_card_text(ticket, self.directory, first), None, False
        blocked = await abuse.block_of(session, ticket.citizen_id)
        earlier = await tickets.earlier_of(session, operator, ticket)
        text = texts.card_text(ticket, self.directory, first, chat_id, blocked, earlier)
        return text, texts.card_keyboard(ticket, chat_id), True

    async def send_card(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        ticket = await self._ticket(session, payload["ticket"])
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            text, markup, may_act = await self._card(session, ticket, chat_id)
            sent = await bot.send_message(chat_id, text, reply_markup=markup)
        await tickets.link(session, chat_id, sent.message_id, ticket.id, is_card=may_act)

    async def refresh_cards(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        ticket = await self._ticket(session, payload["ticket"])
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            text, markup, may_act = await self._card(session, ticket, chat_id)
            for message_id in await tickets.cards_in_chat(session, ticket.id, chat_id):
                if message_id == payload.get("skip"):
                    continue
                await _edit_card(bot, chat_id, message_id, text, markup)
                if not may_act:  # their last view of it: later changes are not theirs to see
                    await tickets.link(session, chat_id, message_id, ticket.id, is_card=False)

    async def relay(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """A message of a ticket's conversation to the other side: the citizen's to the operator
        with the ticket's number, the operator's to the citizen signed with the office's name."""
        said = await tickets.get_message(session, payload["message"])
        if said is None or _erased(said):
            # Erased while it waited (/forget, /erase): nothing is left to relay. Sending it would
            # fail (no file, no location) and, retried, hold the chat's whole queue for an hour.
            return
        if said.author == "note":
            return  # an internal note is for staff (`send_note`), never relayed
        ticket = await self._ticket(session, said.ticket_id)
        if said.author == "citizen" and not await self._still_answering(session, chat_id, ticket):
            # Removed, moved or relieved of the ticket while this waited (a 429, a backlog): what
            # the citizen wrote is for whoever holds it now, who gets the conversation on Take.
            return
        async with self._in_language_of(session, chat_id, ticket.language):
            words = await self._words(session, ticket, said)
            sent = await self._send(bot, chat_id, said, words)
        # The message that carries its words: an edit by its author changes it.
        await tickets.record_copy(session, chat_id, sent[0].message_id, said.id)
        if said.author == "citizen":
            for message in sent:
                await tickets.link(session, chat_id, message.message_id, ticket.id, is_card=False)

    async def _words(self, session: AsyncSession, ticket: Ticket, said: Said) -> Callable[[int | None], str]:
        """How a message of the conversation reads to the other side: the citizen's with the
        request's number, an operator's signed with their office (`limit`: the person's words cut);
        a later item of an operator's album unsigned, as it was sent (the first carries the name)."""
        if said.author == "citizen":
            return lambda limit: texts.relayed_to_operator(ticket, said, limit)
        if said.content.extra.get("album") and not await tickets.first_of_album(session, said):
            return lambda limit: (escape(cut(said.content.text or "", limit or tickets.MAX_CAPTION_LENGTH)) + texts.edited_mark(said)).strip()
        sign = texts.signature(self.directory, await self._office_of(session, said.author_id, ticket))
        return lambda limit: _signed(said, sign, limit)

    async def relay_album(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """An album of the conversation, as one album: each item with its words (a citizen's each
        with the request's number; an operator's first one signed). Items Telegram cannot put in
        one album (a document among photos) go one by one."""
        found = [await tickets.get_message(session, said_id) for said_id in payload["messages"]]
        items = [said for said in found if said is not None and not _erased(said)]
        if not items:
            return
        ticket = await self._ticket(session, items[0].ticket_id)
        if items[0].author == "citizen" and not await self._still_answering(session, chat_id, ticket):
            return
        async with self._in_language_of(session, chat_id, ticket.language):
            sent = []
            if _one_album(items):
                media = []
                for said in items:
                    words = await self._words(session, ticket, said)
                    caption = words(tickets.MAX_CAPTION_LENGTH)
                    media.append(_INPUT_MEDIA[said.content.kind](media=said.content.file_id, caption=caption or None))
                sent = await bot.send_media_group(chat_id, media)
                copies = list(zip(sent, items))
            else:
                copies = []
                for said in items:
                    one = await self._send(bot, chat_id, said, await self._words(session, ticket, said))
                    sent += one
                    copies.append((one[0], said))
        for message, said in copies:
            await tickets.record_copy(session, chat_id, message.message_id, said.id)
        if items[0].author == "citizen":
            for message in sent:
                await tickets.link(session, chat_id, message.message_id, ticket.id, is_card=False)

    async def relay_edit(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """The author changed a message already relayed: every copy of it in this chat reads as it
        does now, marked as edited. (A copy not sent yet will be sent as it reads now.)"""
        said = await tickets.get_message(session, payload["message"])
        if said is None or _erased(said):
            return
        ticket = await self._ticket(session, said.ticket_id)
        if said.author == "citizen" and not await self._still_answering(session, chat_id, ticket):
            return  # passed on since: the words are for whoever holds it now
        async with self._in_language_of(session, chat_id, ticket.language):
            words = await self._words(session, ticket, said)
            for message_id in await tickets.copies_in_chat(session, said.id, chat_id):
                # Unchanged since (edited twice to the same), or deleted by the reader: nothing to do.
                with contextlib.suppress(TelegramBadRequest):
                    if said.content.kind == "text":
                        await bot.edit_message_text(text=words(tickets.MAX_TEXT_LENGTH), chat_id=chat_id, message_id=message_id)
                    elif said.content.kind in tickets.CAPTIONED_KINDS:
                        await bot.edit_message_caption(caption=words(tickets.MAX_CAPTION_LENGTH), chat_id=chat_id, message_id=message_id)

    async def send_note(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """A colleague's internal note, to the operator who holds the request, while they still do."""
        said = await tickets.get_message(session, payload["message"])
        if said is None or said.author != "note" or _erased(said):
            return
        ticket = await self._ticket(session, said.ticket_id)
        if not await self._still_answering(session, chat_id, ticket):
            return
        async with self._in_language_of(session, chat_id, ticket.language):
            await bot.send_message(chat_id, texts.note_to_operator(ticket, said))

    async def _still_answering(self, session: AsyncSession, chat_id: int, ticket: Ticket) -> bool:
        """Whether the operator of `chat_id` holds the ticket now and may still act on it."""
        operator = await get_operator(session, chat_id)
        return ticket.operator_id == chat_id and access.may(operator, Act.REQUESTS, (ticket.office,))

    async def _office_of(self, session: AsyncSession, operator_id: int | None, ticket: Ticket) -> str:
        operator = await get_operator(session, operator_id) if operator_id is not None else None
        return operator.office if operator is not None else ticket.office

    async def _send(self, bot: Bot, chat_id: int, said: Said, caption: Callable[[int | None], str]) -> list[Message]:
        """Send one message of a ticket with its words made by `caption(limit)`, the person's words
        cut to `limit` (a message accepted before lengths were counted as Telegram counts them may
        be longer than Telegram takes with the header or signature); returns what was sent. A kind
        that takes no caption (a location, a contact, a sticker, a video message) goes after a
        message of its own with the words."""
        content = said.content
        if content.kind == "text":
            return [await bot.send_message(chat_id, caption(tickets.MAX_TEXT_LENGTH))]
        if content.kind in tickets.CAPTIONED_KINDS:
            method = {
                "photo": bot.send_photo, "video": bot.send_video, "animation": bot.send_animation,
                "document": bot.send_document, "audio": bot.send_audio, "voice": bot.send_voice,
            }[content.kind]
            # Telegram's 1,024 less room for the header or the signature.
            return [await method(chat_id, content.file_id, caption=caption(tickets.MAX_CAPTION_LENGTH))]
        words = await bot.send_message(chat_id, caption(None))
        if content.kind == "location":
            shown = await bot.send_location(chat_id, content.extra["latitude"], content.extra["longitude"])
        elif content.kind == "contact":
            shown = await bot.send_contact(
                chat_id, content.extra["phone_number"], content.extra["first_name"], last_name=content.extra.get("last_name") or None
            )
        elif content.kind == "sticker":
            shown = await bot.send_sticker(chat_id, content.file_id)
        else:
            shown = await bot.send_video_note(chat_id, content.file_id)
        return [words, shown]

    async def send_notice(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        ticket = await self._ticket(session, payload["ticket"])
        notice = payload["notice"]
        async with self._in_language_of(session, chat_id, ticket.language):
            if chat_id == ticket.citizen_id:
                if notice == tickets.Notice.OPENED:
                    calendar = await self.limits.calendar(session, ticket.office)
                    sent = await bot.send_message(chat_id, texts.opened_text(ticket, self.directory, self.limits, calendar, datetime.now(UTC)))
                elif notice == tickets.Notice.CLOSED:
                    sent = await bot.send_message(
                        chat_id, texts.citizen_notice(notice, ticket, self.directory), reply_markup=texts.rating_keyboard(ticket)
                    )
                else:
                    sent = await bot.send_message(chat_id, texts.citizen_notice(notice, ticket, self.directory))
            else:
                sent = await bot.send_message(chat_id, texts.operator_notice(notice, ticket, self.directory))
        await tickets.link(session, chat_id, sent.message_id, ticket.id, is_card=False)


    async def send_nobody_on_duty(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """To a coordinator: nobody on duty can take this new request; unless it was taken meanwhile."""
        ticket = await self._ticket(session, payload["ticket"])
        if ticket.status is not tickets.Status.NEW:
            return
        coordinator = await get_operator(session, chat_id)
        fallback = coordinator.language if coordinator is not None else self.i18n.default_locale
        async with self._in_language_of(session, chat_id, fallback):
            await bot.send_message(chat_id, texts.nobody_on_duty_text(ticket, self.directory))

    async def send_reassigned(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """To an operator a coordinator gave a request to (its card and conversation follow)."""
        ticket = await self._ticket(session, payload["ticket"])
        by = await get_operator(session, payload["by"])
        operator = await get_operator(session, chat_id)
        async with self._in_language_of(session, chat_id, operator.language if operator else self.i18n.default_locale):
            await bot.send_message(chat_id, workload_texts.given_to_you_text(ticket, by.name if by else "?"))

    async def send_block_notice(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """`{"blocked": bool, "ticket": N}`: a person is told, in their language, that the front-office
        no longer receives their messages (and why), or again does; unless it changed meanwhile."""
        block = await abuse.block_of(session, chat_id)
        if payload["blocked"] != (block is not None):
            return
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            if block is None:
                await bot.send_message(chat_id, block_texts.unblocked_notice())
            else:
                await bot.send_message(chat_id, block_texts.blocked_notice(block, payload.get("ticket")))

    async def send_staff_unreachable(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """`{"operator": id}`: a coordinator is told a colleague was taken off duty because the
        bot's messages do not reach them; unless they are back on duty meanwhile."""
        operator = await get_operator(session, payload["operator"])
        if operator is None or not operator.active or operator.on_duty:
            return
        coordinator = await get_operator(session, chat_id)
        fallback = coordinator.language if coordinator is not None else self.i18n.default_locale
        async with self._in_language_of(session, chat_id, fallback):
            me = await bot.me()
            await bot.send_message(chat_id, texts.staff_unreachable_notice(operator, self.directory, me.username or ""))

    async def send_deed_review(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """A participant is told how their deed was reviewed, in their language."""
        deed = await marathon.get_deed(session, payload["deed"])
        if deed is None:
            return
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            await bot.send_message(chat_id, marathon_texts.review_outcome(deed, self.rules, payload.get("outcome")))


    async def send_winners(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        found = await nominations.nominations(session)
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            # (A crash between parts repeats the parts already sent: the announcement is one row.)
            for part in in_parts(marathon_texts.winners_text(found, self.directory)):
                await bot.send_message(chat_id, part)

    async def send_certificate(self, bot: Bot, session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
        """A winner's certificate, made in their language as it stands when sent: one withdrawn
        meanwhile (/forget) is not sent."""
        certificate = await marathon.check(session, payload["code"])
        if certificate is None or not certificate.valid or certificate.participant_id != chat_id:
            return
        link = certificate_views.certificate_link((await bot.me()).username, certificate.code)
        async with self._in_language_of(session, chat_id, self.i18n.default_locale):
            language = self.i18n.current_locale
            pdf = await asyncio.to_thread(certificate_views.certificate_pdf, certificate, self.rules, self.directory, link, language)
            await bot.send_document(
                chat_id, BufferedInputFile(pdf, f"certificate-{certificate.year}-{certificate.code}.pdf"),
                caption=certificate_views.winner_caption(certificate, link, language),
            )


async def _edit_card(bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """One card of a chat's several: a short 429 is waited out here, so the row is not tried again
    from its first card, which would edit the cards already changed once more (for nothing)."""
    for attempt in range(CARD_EDIT_TRIES):
        try:
            # Unchanged (already shown) or deleted by the operator: nothing to do.
            with contextlib.suppress(TelegramBadRequest):
                await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
            return
        except TelegramRetryAfter as wait:
            if wait.retry_after > CARD_EDIT_LONGEST_WAIT or attempt == CARD_EDIT_TRIES - 1:
                raise  # the row waits instead, not this lane
            await asyncio.sleep(wait.retry_after)


CARD_EDIT_TRIES = 3
CARD_EDIT_LONGEST_WAIT = 5  # seconds


_INPUT_MEDIA = {"photo": InputMediaPhoto, "video": InputMediaVideo, "document": InputMediaDocument, "audio": InputMediaAudio}


def _one_album(items: list[Said]) -> bool:
    """Whether Telegram takes these as one album: 2 to 10 photos and videos, or documents, or audio."""
    kinds = {said.content.kind for said in items}
    return 2 <= len(items) <= 10 and (kinds <= {"photo", "video"} or kinds == {"document"} or kinds == {"audio"})


def _erased(said: Said) -> bool:
    """A message whose personal data was erased: no words, no file, no location."""
    content = said.content
    return content.text is None and content.file_id is None and not content.extra


def _signed(said: Said, sign: str, limit: int | None) -> str:
    words = said.content.text or ""
    if limit is not None:
        words = cut(words, limit)
    return f"{escape(words)}{texts.edited_mark(said)}\n\n{sign}" if words else sign
