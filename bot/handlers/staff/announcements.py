"""Coordinators compose announcements: /announce, one text for everyone or a version per language
(a text, or a photo with a caption; their formatting kept), the audience, a preview exactly as
people will see it with the number of recipients, then Send. The progress message that follows has
Pause, Resume and Cancel; the sending itself is `bot/jobs/announcements.py`."""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES, Settings
from bot.filters import ActiveOperator, NotCommand
from bot.i18n import LANGUAGE_NAMES
from bot.services import announcements
from bot.services.announcements import ALL, MAX_CAPTION, MAX_TEXT, Audience, AudienceKind, Version
from bot.services.clock import KAZAKHSTAN
from bot.services.directory import Directory
from bot.services.lengths import utf16_length
from bot.services.operators import Operator
from bot.views import announcements as texts
from bot.views.callbacks import AnnouncementControl, AnnouncementStep
from bot.views.announcements import audience_keyboard, languages_keyboard, mode_keyboard, regions_keyboard
from bot.views.announcements import ask_for_version, cancel_keyboard


class Composing(StatesGroup):
    mode = State()  # one version or one per language
    version = State()  # waiting for the next version (data: `waiting`, the languages still to come)
    audience = State()
    preview = State()


async def on_announce(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Composing.mode)
    await message.answer(
        _("📣 <b>A new announcement.</b> One text for everyone, or a version in each language (Kazakh, Russian and English)? Each person receives the one in their language."),
        reply_markup=mode_keyboard(),
    )


async def on_not_coordinator(message: Message) -> None:
    await message.answer(_("Announcements are sent by the front-offices' coordinators."))


async def on_mode(callback: CallbackQuery, callback_data: AnnouncementStep, state: FSMContext) -> None:
    if await state.get_state() != Composing.mode.state:
        await callback.answer(_("This button is no longer active."))
        return
    waiting = [ALL] if callback_data.action == "one" else list(SUPPORTED_LANGUAGES)
    await state.set_state(Composing.version)
    await state.update_data(waiting=waiting, versions={})
    await callback.answer()
    await callback.message.edit_text(ask_for_version(waiting[0]), reply_markup=cancel_keyboard())


def version_of(message: Message) -> Version | str:
    """The version a message holds, or why it cannot be one."""
    if message.photo:
        caption = message.caption or ""
        if utf16_length(caption) > MAX_CAPTION:
            return _("A photo's caption holds up to {limit} characters; this one has {length}. Shorten it, or send the text without the photo.").format(
                limit=MAX_CAPTION, length=utf16_length(caption)
            )
        return Version(message.html_text if caption else "", message.photo[-1].file_id)
    if message.text is not None:
        if not message.text.strip():
            return _("The announcement is empty. Please write its text.")
        if utf16_length(message.text) > MAX_TEXT:
            return _("An announcement holds up to {limit} characters; this one has {length}.").format(
                limit=MAX_TEXT, length=utf16_length(message.text)
            )
        return Version(message.html_text)
    return _("An announcement is a text, or a photo with a caption. Please send one of those.")


async def on_version(message: Message, state: FSMContext, operator: Operator) -> None:
    found = version_of(message)
    if isinstance(found, str):
        await message.answer(found)
        return
    if message.media_group_id is not None:  # the rest of the album does not reach this handler
        await message.answer(_("An announcement holds one photo: the first of your album is used, the others are not."))
    data = await state.get_data()
    waiting: list[str] = data.get("waiting") or [ALL]
    versions = dict(data.get("versions") or {})
    versions[waiting[0]] = found.to_json()
    waiting = waiting[1:]
    await state.update_data(waiting=waiting, versions=versions)
    if waiting:
        await message.answer(ask_for_version(waiting[0]), reply_markup=cancel_keyboard())
        return
    await state.set_state(Composing.audience)
    await message.answer(_("Who is it for?"), reply_markup=audience_keyboard(operator))


async def choosing_audience(callback: CallbackQuery, state: FSMContext) -> bool:
    """Whether the composition is at the audience; a stale button is told so."""
    if await state.get_state() == Composing.audience.state:
        return True
    await callback.answer(_("This button is no longer active."))
    return False


async def on_audience(
    callback: CallbackQuery, callback_data: AnnouncementStep, state: FSMContext, session: AsyncSession,
    directory: Directory, settings: Settings, operator: Operator,
) -> None:
    if not await choosing_audience(callback, state):
        return
    try:
        kind = AudienceKind(callback_data.value)
    except ValueError:
        await callback.answer(_("This button is no longer active."))
        return
    if kind not in (AudienceKind.REGION, AudienceKind.LANGUAGE):
        await announcements.may_address(session, operator, Audience(kind))
    await callback.answer()
    if kind is AudienceKind.REGION:
        await callback.message.edit_text(_("Which region?"), reply_markup=regions_keyboard(directory, get_i18n().current_locale, operator))
    elif kind is AudienceKind.LANGUAGE:
        await callback.message.edit_text(_("People who use the bot in which language?"), reply_markup=languages_keyboard())
    else:
        await show_preview(callback, state, session, directory, settings, Audience(kind))


async def on_audience_value(
    callback: CallbackQuery, callback_data: AnnouncementStep, state: FSMContext, session: AsyncSession,
    directory: Directory, settings: Settings, operator: Operator,
) -> None:
    """A region or a language chosen for the audience."""
    if not await choosing_audience(callback, state):
        return
    kind = AudienceKind.REGION if callback_data.action == "region" else AudienceKind.LANGUAGE
    known = directory.is_region(callback_data.value) if kind is AudienceKind.REGION else callback_data.value in SUPPORTED_LANGUAGES
    if not known:
        await callback.answer(_("This button is no longer active."))
        return
    await announcements.may_address(session, operator, Audience(kind, callback_data.value))
    await callback.answer()
    await show_preview(callback, state, session, directory, settings, Audience(kind, callback_data.value))


async def show_preview(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, directory: Directory, settings: Settings,
    audience: Audience,
) -> None:
    """The announcement exactly as people will see it, then whom it reaches and how long it takes."""
    data = await state.get_data()
    versions: dict = data.get("versions") or {}
    await state.set_state(Composing.preview)
    await state.update_data(audience=audience.to_json())
    await callback.message.edit_text(_("Preview: this is what people will receive."))
    for key in (ALL, *SUPPORTED_LANGUAGES):
        if key not in versions:
            continue
        version = announcements.version_for(versions, key)
        if key != ALL:
            await callback.message.answer(_("For those who use the bot in {language}:").format(language=LANGUAGE_NAMES[key]))
        if version.photo:
            await callback.message.answer_photo(version.photo, caption=version.html or None)
        else:
            await callback.message.answer(version.html)
    by_language = await announcements.count_by_language(session, audience)
    await callback.message.answer(
        texts.preview_summary(audience, by_language, directory, settings.announcement_rate),
        reply_markup=texts.preview_keyboard(sum(by_language.values())),
    )


async def on_audience_again(callback: CallbackQuery, state: FSMContext, operator: Operator) -> None:
    if await state.get_state() != Composing.preview.state:
        await callback.answer(_("This button is no longer active."))
        return
    await state.set_state(Composing.audience)
    await callback.answer()
    await callback.message.edit_text(_("Who is it for?"), reply_markup=audience_keyboard(operator))


async def on_send(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, directory: Directory, settings: Settings,
    operator: Operator,
) -> None:
    data = await state.get_data()
    if await state.get_state() != Composing.preview.state or "audience" not in data:
        await callback.answer(_("This button is no longer active."))
        return
    versions = {key: announcements.version_for(data["versions"], key) for key in data["versions"]}
    created = await announcements.create(
        session, created_by=operator.telegram_id, language=get_i18n().current_locale,
        audience=Audience.from_json(data["audience"]), versions=versions, by=operator,
    )
    await state.clear()
    await callback.answer()
    text, keyboard = _progress(created, directory, settings)
    progress = await callback.message.answer(text, reply_markup=keyboard)
    await announcements.set_progress_message(
        session, created.id, progress.chat.id, progress.message_id, shown=announcements.progress_digest(text, keyboard)
    )
    # Cosmetic, so after the progress message: a 429 here must not roll the announcement back.
    with contextlib.suppress(TelegramAPIError):
        await callback.message.edit_reply_markup(reply_markup=None)


async def on_cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() not in {s.state for s in Composing.__all_states__}:
        await callback.answer(_("This button is no longer active."))
        return
    await state.clear()
    await callback.answer()
    await callback.message.edit_text(_("The announcement is cancelled; nothing was sent."))


async def on_control(
    callback: CallbackQuery, callback_data: AnnouncementControl, session: AsyncSession, directory: Directory,
    settings: Settings, operator: Operator,
) -> None:
    if callback_data.action not in ("pause", "resume", "cancel"):
        await callback.answer(_("This button is no longer active."))
        return
    changed = await announcements.control(session, callback_data.announcement, callback_data.action, by=operator)
    if changed is None:
        current = await announcements.get(session, callback_data.announcement)
        await callback.answer(
            _("This announcement has already finished.") if current is None or current.finished
            else _("This button is no longer active.")
        )
        return
    # The change stands whatever Telegram answers now (a 429 while the announcement keeps the bot
    # near its limit, a query too old to answer): an exception here would roll it back after the
    # coordinator was told it is done. The sending loop shows the progress message again anyway.
    with contextlib.suppress(TelegramAPIError):
        await callback.answer(
            {"pause": _("Paused."), "resume": _("Sending again."), "cancel": _("Cancelled: nobody else will receive it.")}[
                callback_data.action
            ]
        )
    text, keyboard = _progress(changed, directory, settings)
    digest = announcements.progress_digest(text, keyboard)
    # The digest is of the message the sending loop keeps up to date; an older progress message
    # (before /announcements showed a new one) is edited without touching it.
    kept_up = callback.message.message_id == changed.progress_message_id
    if kept_up and not await announcements.claim_progress_edit(session, changed.id, digest):
        return  # the sending loop has already shown it so
    try:
        await callback.message.edit_text(text, reply_markup=keyboard)
    except TelegramAPIError:
        if kept_up:
            await announcements.forget_progress_shown(session, changed.id, digest)


async def on_list(message: Message, session: AsyncSession, directory: Directory, settings: Settings, operator: Operator) -> None:
    """The latest announcements; each one still sending (or paused) comes with its progress and
    buttons, and from now on it is this message that is kept up to date: any coordinator can
    follow, pause or cancel an announcement, not only the one who sent it."""
    found = await announcements.recent(session, by=operator)
    if not found:
        await message.answer(_("No announcements yet. /announce starts one."))
        return
    lines = [_("📣 <b>Latest announcements</b> (Astana time):")]
    for a in found:
        lines.append(
            f"№{a.id} · {a.created_at.astimezone(KAZAKHSTAN):%d.%m %H:%M} · {texts.audience_text(a.audience, directory)}"
            f" · {texts.state_text(a.state)} · "
            + _("sent: {sent} of {total}").format(sent=texts.number(a.sent), total=texts.number(a.total))
        )
    await message.answer("\n".join(lines))
    for a in found:
        if a.finished:
            continue
        text, keyboard = _progress(a, directory, settings)
        shown = await message.answer(text, reply_markup=keyboard)
        await announcements.set_progress_message(
            session, a.id, shown.chat.id, shown.message_id, get_i18n().current_locale,
            shown=announcements.progress_digest(text, keyboard),
        )


def _progress(a: announcements.Announcement, directory: Directory, settings: Settings) -> tuple[str, Any]:
    """The progress message as a handler shows it (without a rate: only the sending loop knows it)."""
    return texts.progress_text(a, directory, None, settings.announcement_rate), texts.progress_keyboard(a)


def create_router() -> Router:
    router = Router(name="announcements")
    coordinator = ActiveOperator(coordinators_only=True)
    router.message.register(on_announce, Command("announce"), coordinator)
    router.message.register(on_list, Command("announcements"), coordinator)
    router.message.register(on_not_coordinator, Command("announce", "announcements"), ActiveOperator())
    router.message.register(on_version, StateFilter(Composing.version), coordinator, NotCommand())
    router.callback_query.filter(coordinator)
    router.callback_query.register(on_mode, AnnouncementStep.filter(F.action.in_({"one", "per_language"})))
    router.callback_query.register(on_audience, AnnouncementStep.filter(F.action == "audience"))
    router.callback_query.register(on_audience_value, AnnouncementStep.filter(F.action.in_({"region", "language"})))
    router.callback_query.register(on_audience_again, AnnouncementStep.filter(F.action == "audience_again"))
    router.callback_query.register(on_send, AnnouncementStep.filter(F.action == "send"))
    router.callback_query.register(on_cancel, AnnouncementStep.filter(F.action == "cancel"))
    router.callback_query.register(on_control, AnnouncementControl.filter())
    return router
