"""Logging a deed step by step, with a way back at each step; and what both of the marathon's
forms (joining and this one) answer to a cancel or to something they do not take.

The answers of a deed being logged wait in the FSM data until the person confirms, so a restart in
the middle loses nothing and nothing is stored before the summary is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.middlewares.albums import AlbumItem
from bot.services import marathon
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory
from bot.services.marathon import Photo, Refusal, Refused, Rules, photo_match
from bot.services.users import Person
from bot.views.callbacks import MarathonNav
from bot.views.common import office_name
from bot.views.marathon import (
    deed_kinds_keyboard, nav_keyboard, photos_keyboard, photos_text, refusal_text, step_keyboard, step_prompt,
    summary_keyboard, summary_text,
)

log = logging.getLogger(__name__)


class Logging(StatesGroup):
    kind = State()
    amount = State()
    day = State()
    locality = State()
    description = State()
    photos = State()
    confirm = State()


STEPS = ("kind", "amount", "day", "locality", "description", "photos", "confirm")


async def ask_step(
    message: Message, state: FSMContext, session: AsyncSession, step: str, rules: Rules, user: Person
) -> None:
    await state.set_state(getattr(Logging, step))
    if step == "kind":
        offered = [each for each in await marathon.kinds_of(session, rules) if each.offered]
        await message.answer(_("📝 What good deed did you do?"), reply_markup=deed_kinds_keyboard(offered, user.language))
        return
    if step == "confirm":
        await show_summary(message, state, rules, user)
        return
    if step == "photos":
        await state.update_data(photos=[])
    kind = await marathon.kind_of(session, rules, (await state.get_data()).get("kind", ""))
    await message.answer(step_prompt(step, kind, user.language), reply_markup=step_keyboard(step))


async def next_step(
    message: Message, state: FSMContext, session: AsyncSession, done: str, rules: Rules, user: Person
) -> None:
    await ask_step(message, state, session, STEPS[STEPS.index(done) + 1], rules, user)


async def show_summary(message: Message, state: FSMContext, rules: Rules, user: Person) -> None:
    await state.set_state(Logging.confirm)
    await message.answer(summary_text(await state.get_data(), rules, user), reply_markup=summary_keyboard())


async def on_log(callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    await callback.answer()
    if await marathon.participant(session, user.telegram_id) is None:
        await callback.message.answer(refusal_text(Refusal.NOT_JOINED))
        return
    if not (await marathon.dates(session, rules)).running(today_in_kazakhstan()):
        await callback.message.answer(refusal_text(Refusal.NOT_RUNNING))
        return
    await state.set_data({})
    await ask_step(callback.message, state, session, "kind", rules, user)


async def on_kind(
    callback: CallbackQuery, callback_data: MarathonNav, state: FSMContext, session: AsyncSession, rules: Rules, user: Person
) -> None:
    chosen = await marathon.kind_of(session, rules, callback_data.value)
    if await state.get_state() != Logging.kind.state or chosen is None or not chosen.offered:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await state.update_data(kind=callback_data.value)
    await next_step(callback.message, state, session, "kind", rules, user)


async def on_amount(message: Message, state: FSMContext, session: AsyncSession, rules: Rules, user: Person) -> None:
    kind = await marathon.kind_of(session, rules, (await state.get_data())["kind"])
    try:
        amount = marathon.parse_amount(kind, message.text or "")
    except Refused as refused:
        await message.answer(refusal_text(refused.reason, kind, user.language), reply_markup=nav_keyboard())
        return
    await state.update_data(amount=str(amount))
    await next_step(message, state, session, "amount", rules, user)


async def set_day(message: Message, state: FSMContext, session: AsyncSession, rules: Rules, user: Person, day: date) -> None:
    try:
        marathon.check_date(await marathon.dates(session, rules), day, today_in_kazakhstan())
    except Refused as refused:
        await message.answer(refusal_text(refused.reason), reply_markup=nav_keyboard())
        return
    await state.update_data(day=day.isoformat())
    await next_step(message, state, session, "day", rules, user)


async def on_day_button(
    callback: CallbackQuery, callback_data: MarathonNav, state: FSMContext, session: AsyncSession, rules: Rules, user: Person
) -> None:
    if await state.get_state() != Logging.day.state or callback_data.value not in ("0", "1"):
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await set_day(callback.message, state, session, rules, user, today_in_kazakhstan() - timedelta(days=int(callback_data.value)))


async def on_day_typed(message: Message, state: FSMContext, session: AsyncSession, rules: Rules, user: Person) -> None:
    raw = (message.text or "").strip().replace("/", ".").replace("-", ".")
    try:
        day, month, year = (int(part) for part in raw.split("."))
        typed = date(year, month, day)
    except ValueError:
        await message.answer(_("Please type the date as DD.MM.YYYY, for example 28.11.2026."), reply_markup=nav_keyboard())
        return
    await set_day(message, state, session, rules, user, typed)


async def on_words(message: Message, state: FSMContext, session: AsyncSession, rules: Rules, user: Person) -> None:
    """The locality or the description: words, within their limit."""
    step = "locality" if await state.get_state() == Logging.locality.state else "description"
    limit = marathon.MAX_LOCALITY_LENGTH if step == "locality" else marathon.MAX_DESCRIPTION_LENGTH
    words = " ".join((message.text or "").split())
    if not words:
        await message.answer(_("Please answer in words."), reply_markup=nav_keyboard())
        return
    if len(message.text) > limit:
        await message.answer(_("That is too long: up to {limit} characters, please.").format(limit=limit), reply_markup=nav_keyboard())
        return
    await state.update_data({step: words})
    await next_step(message, state, session, step, rules, user)


# The photo's size read for its fingerprint: the smallest whose longer side has this many pixels
# (the hash looks at 32x32; a big file would cost its download for nothing).
FINGERPRINT_SIDE = 320


# A photo sent as a file (the original, which keeps its EXIF): the kinds Pillow reads, and at most
# Telegram's own limit for photos.
PICTURE_FILES = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_PICTURE_FILE = 10 * 1024 * 1024
NOT_A_PHOTO = N_("Please send the proof as a photo, or as a picture file (JPEG, PNG or WebP, up to 10 MB).")


async def fingerprint_of(message: Message) -> int | None:
    """The photo's perceptual hash (`photo_match`), from a small size of it downloaded from Telegram;
    None if that picture cannot be read (the photo is then known by its file id only)."""
    size = next((s for s in message.photo if max(s.width, s.height) >= FINGERPRINT_SIDE), message.photo[-1])
    content = await message.bot.download(size.file_id)
    try:
        return await asyncio.to_thread(photo_match.fingerprint, content.getvalue())  # (~10 ms of CPU)
    except photo_match.NotAPicture:
        log.warning("a deed photo Telegram sent could not be read", extra={"file_unique_id": size.file_unique_id})
        return None


def _read_picture(content: bytes) -> tuple[int, date | None]:
    return photo_match.fingerprint(content), photo_match.taken_on(content)



async def proof_of(message: Message) -> Photo | None:
    """The deed's photo this message carries: a photo, or a picture sent as a file (its fingerprint
    and EXIF day read from the original). None: a file that is not a picture we read."""
    if message.photo:
        biggest = message.photo[-1]
        return Photo(biggest.file_id, biggest.file_unique_id, await fingerprint_of(message))
    document = message.document
    if document is None or document.mime_type not in PICTURE_FILES or (document.file_size or 0) > MAX_PICTURE_FILE:
        return None
    try:
        content = await message.bot.download(document.file_id)
    except TelegramBadRequest:  # over the 20 MB bots may download (a size the message did not say)
        return None
    try:
        async with photo_match.DECODING:
            fingerprint, taken = await asyncio.to_thread(_read_picture, content.getvalue())
    except photo_match.NotAPicture:
        return None
    return Photo(document.file_id, document.file_unique_id, fingerprint, as_file=True, taken_on=taken)


async def on_photo(message: Message, state: FSMContext, session: AsyncSession, album: AlbumItem) -> None:
    """A photo of the deed. The photos of an album are answered in one message, edited as they
    come ("Photo 3 of up to 3 received"), not one message each."""
    data = await state.get_data()
    # [file id, unique id, fingerprint, sent as a file, EXIF day] each (the last two added later)
    photos: list[list] = data.get("photos", [])
    photo = await proof_of(message)
    if photo is None:
        await message.answer(_(NOT_A_PHOTO), reply_markup=nav_keyboard())
        return
    if any(earlier[1] == photo.file_unique_id or (
        len(earlier) > 2 and earlier[2] is not None and photo.fingerprint is not None
        and photo_match.same_photo(earlier[2], photo.fingerprint)
    ) for earlier in photos):
        await message.answer(refusal_text(Refusal.PHOTO_USED))  # (one of this deed's own photos)
        return
    if (proven := await marathon.deed_with_photo(session, photo)) is not None:
        await message.answer(refusal_text(Refusal.PHOTO_USED, deed=proven))
        return
    full = len(photos) >= marathon.MAX_PHOTOS
    if not full:
        photos.append([photo.file_id, photo.file_unique_id, photo.fingerprint, photo.as_file,
                       photo.taken_on.isoformat() if photo.taken_on else None])
        await state.update_data(photos=photos)
    # [album, message id, whether it says the deed is full] of the answer to this album so far
    answered = data.get("photos_answer") if album.position else None
    if answered and answered[0] == message.media_group_id:
        if full and answered[2]:
            return  # the answer says so already
        try:
            await message.bot.edit_message_text(
                photos_text(len(photos), full), chat_id=message.chat.id, message_id=answered[1], reply_markup=photos_keyboard()
            )
        except TelegramBadRequest as error:
            if "not found" not in error.message:
                raise
            # The answer so far was deleted meanwhile: a new one says it instead.
        else:
            await state.update_data(photos_answer=[answered[0], answered[1], full])
            return
    sent = await message.answer(photos_text(len(photos), full), reply_markup=photos_keyboard())
    if message.media_group_id is not None:
        await state.update_data(photos_answer=[message.media_group_id, sent.message_id, full])


async def on_photos_done(callback: CallbackQuery, state: FSMContext, rules: Rules, user: Person) -> None:
    if await state.get_state() != Logging.photos.state or not (await state.get_data()).get("photos"):
        await callback.answer(_("Please send at least one photo of the deed."), show_alert=True)
        return
    await callback.answer()
    await show_summary(callback.message, state, rules, user)


async def on_not_a_photo(message: Message) -> None:
    await message.answer(_(NOT_A_PHOTO), reply_markup=nav_keyboard())


async def on_wrong_kind(message: Message) -> None:
    await message.answer(_("Please use the buttons or answer in words."), reply_markup=nav_keyboard())


async def on_confirm(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, rules: Rules, directory: Directory
) -> None:
    data = await state.get_data()
    if await state.get_state() != Logging.confirm.state:
        await callback.answer(_("This button is no longer active."))
        return
    who = await marathon.participant(session, user.telegram_id)
    if who is None:
        await callback.answer(refusal_text(Refusal.NOT_JOINED), show_alert=True)
        return
    try:
        deed_id = await marathon.log_deed(
            session, rules, who, await marathon.kind_of(session, rules, data["kind"]), Decimal(data["amount"]), date.fromisoformat(data["day"]),
            data["locality"], data["description"], [stored_photo(*photo) for photo in data["photos"]],
        )
    except Refused as refused:
        limit = (await marathon.dates(session, rules)).daily_limit
        await callback.answer()
        kind = await marathon.kind_of(session, rules, data["kind"])
        await callback.message.answer(refusal_text(refused.reason, kind, user.language, daily_limit=limit, deed=refused.deed))
        if refused.reason in (Refusal.DAILY_LIMIT, Refusal.NOT_RUNNING):
            await state.clear()
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(
        _("🙌 Deed №{number} is logged. The front-office of {region} will check it, and you will be told here.").format(
            number=deed_id, region=escape(office_name(directory, who.region))
        )
    )


def stored_photo(file_id: str, unique_id: str, fingerprint: int | None = None, as_file: bool = False,
                 taken_on: str | None = None) -> Photo:
    """A photo as the form keeps it (a form begun before a field was added has fewer)."""
    return Photo(file_id, unique_id, fingerprint, as_file, date.fromisoformat(taken_on) if taken_on else None)


async def on_back(callback: CallbackQuery, state: FSMContext, session: AsyncSession, rules: Rules, user: Person) -> None:
    current = (await state.get_state() or "").removeprefix("Logging:")
    if current not in STEPS or current == "kind":
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await ask_step(callback.message, state, session, STEPS[STEPS.index(current) - 1], rules, user)


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if not (await state.get_state() or "").startswith(("Logging:", "Joining:")):
        await callback.answer(_("This button is no longer active."))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await callback.message.answer(_("Cancelled; nothing was saved."))


