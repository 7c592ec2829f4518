"""The Marathon of Good Deeds for participants: join, log a deed step by step (with a way back at
each step), see one's deeds and the results. Reviewing deeds is in `deed_review.py`.

The answers of a deed being logged wait in the FSM data until the person confirms, so a restart in
the middle loses nothing and nothing is stored before the summary is confirmed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import NotCommand, Onboarded
from bot.middlewares.albums import AlbumItem
from bot.services import marathon
from bot.services.clock import today_in_kazakhstan
from bot.services.directory import Directory
from bot.services.marathon import Photo, Refusal, Refused, Rules
from bot.services.users import Person
from bot.views.callbacks import MarathonNav, Purpose, RegionChoice
from bot.views.common import office_name
from bot.views.marathon import (
    PARTICIPANT_KINDS, button_row, deed_line, leader_line, nav_keyboard, photos_keyboard, photos_text, refusal_text,
    summary_text, totals_words,
)
from bot.views.menu import MARATHON, AnyMenuButton, MenuButton, WayIn
from bot.views.onboarding import region_keyboard


class Joining(StatesGroup):
    kind = State()
    name = State()
    region = State()


class Logging(StatesGroup):
    kind = State()
    amount = State()
    day = State()
    locality = State()
    description = State()
    photos = State()
    confirm = State()


STEPS = ("kind", "amount", "day", "locality", "description", "photos", "confirm")


# --- home ------------------------------------------------------------------------------------------

async def home(message: Message, session: AsyncSession, user: Person, rules: Rules) -> None:
    joined = await marathon.participant(session, user.telegram_id)
    running = await marathon.dates(session, rules)
    lines = [
        _("🏃 <b>Marathon of Good Deeds</b>"),
        _("Do good deeds, log them here with a photo, and see what Kazakhstan achieves together. The front-office of your region checks each deed."),
        _("Dates: {starts} – {ends}.").format(starts=running.starts_on.strftime("%d.%m.%Y"), ends=running.ends_on.strftime("%d.%m.%Y")),
    ]
    builder = InlineKeyboardBuilder()
    if joined is None:
        builder.button(text=_("🙌 Join"), callback_data=MarathonNav(action="join"))
        builder.button(text=_("🏆 Results"), callback_data=MarathonNav(action="results"))
    else:
        builder.button(text=_("📝 Log a deed"), callback_data=MarathonNav(action="log"))
        builder.button(text=_("📋 My deeds"), callback_data=MarathonNav(action="mine"))
        builder.button(text=_("🏆 Results"), callback_data=MarathonNav(action="results"))
        builder.button(text=_("✏️ How I take part"), callback_data=MarathonNav(action="join"))
    builder.adjust(1 if joined is None else 2)
    await message.answer("\n\n".join(lines), reply_markup=builder.as_markup())


async def on_home(message: Message, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    await state.clear()
    await home(message, session, user, rules)


# --- joining -------------------------------------------------------------------------------------

async def on_join(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Joining.kind)
    await state.set_data({})
    builder = InlineKeyboardBuilder()
    for slug, label in PARTICIPANT_KINDS.items():
        builder.button(text=_(label), callback_data=MarathonNav(action="as", value=slug))
    button_row(builder, back=False)
    builder.adjust(1)
    await callback.answer()
    await callback.message.answer(_("How do you take part?"), reply_markup=builder.as_markup())


async def on_join_kind(callback: CallbackQuery, callback_data: MarathonNav, state: FSMContext) -> None:
    if callback_data.value not in PARTICIPANT_KINDS:
        await callback.answer(_("This button is no longer active."))
        return
    await state.update_data(kind=callback_data.value)
    await state.set_state(Joining.name)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🕶 Stay anonymous"), callback_data=MarathonNav(action="anonymous"))
    button_row(builder, back=False)
    builder.adjust(1)
    await callback.answer()
    await callback.message.edit_text(
        _("The name to show on the results (yours, your organisation's or your group's), up to {limit} characters. Or stay anonymous.").format(
            limit=marathon.MAX_NAME_LENGTH
        ),
        reply_markup=builder.as_markup(),
    )


async def ask_join_region(message: Message, state: FSMContext, user: Person, directory: Directory) -> None:
    await state.set_state(Joining.region)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ {region}").format(region=office_name(directory, user.region)), callback_data=MarathonNav(action="keep_region")
    )
    await message.answer(
        _("Your region for the marathon: yours, or choose another below."),
        reply_markup=builder.as_markup(),
    )
    await message.answer(_("Other regions:"), reply_markup=region_keyboard(directory, user.language, Purpose.MARATHON))


async def on_join_name(message: Message, state: FSMContext, user: Person, directory: Directory) -> None:
    name = " ".join((message.text or "").split())
    if not name or len(name) > marathon.MAX_NAME_LENGTH:
        await message.answer(_("Please send a name of 1 to {limit} characters, or press “Stay anonymous”.").format(limit=marathon.MAX_NAME_LENGTH))
        return
    await state.update_data(name=name)
    await ask_join_region(message, state, user, directory)


async def on_join_anonymous(callback: CallbackQuery, state: FSMContext, user: Person, directory: Directory) -> None:
    if await state.get_state() != Joining.name.state:
        await callback.answer(_("This button is no longer active."))
        return
    await state.update_data(name=None)
    await callback.answer()
    await ask_join_region(callback.message, state, user, directory)


async def finish_join(message: Message, state: FSMContext, session: AsyncSession, user: Person, rules: Rules, region: str) -> None:
    data = await state.get_data()
    await state.clear()
    joined = await marathon.join(session, user.telegram_id, data["kind"], data.get("name"), region)
    shown = escape(joined.display_name) if joined.display_name else _("anonymous")
    await message.answer(_("🎉 You are in the marathon as {name}. Now log your first good deed!").format(name=shown))
    await home(message, session, user, rules)


async def on_keep_region(callback: CallbackQuery, state: FSMContext, session: AsyncSession, user: Person, rules: Rules) -> None:
    if await state.get_state() != Joining.region.state:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await finish_join(callback.message, state, session, user, rules, user.region)


async def on_join_region(
    callback: CallbackQuery, callback_data: RegionChoice, state: FSMContext, session: AsyncSession, user: Person,
    rules: Rules, directory: Directory,
) -> None:
    if await state.get_state() != Joining.region.state or not directory.is_region(callback_data.slug):
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await finish_join(callback.message, state, session, user, rules, callback_data.slug)


# --- logging a deed ------------------------------------------------------------------------------

async def ask_step(
    message: Message, state: FSMContext, session: AsyncSession, step: str, rules: Rules, user: Person
) -> None:
    await state.set_state(getattr(Logging, step))
    data = await state.get_data()
    kind = await marathon.kind_of(session, rules, data.get("kind", ""))
    builder = InlineKeyboardBuilder()
    if step == "kind":
        offered = [each for each in await marathon.kinds_of(session, rules) if each.offered]
        for each in offered:
            builder.button(text=each.name[user.language], callback_data=MarathonNav(action="kind", value=each.slug))
        button_row(builder, back=False)
        builder.adjust(*([2] * ((len(offered) + 1) // 2)), 1)
        await message.answer(_("📝 What good deed did you do?"), reply_markup=builder.as_markup())
        return
    if step == "amount":
        prompts = {
            "count": _("How many? A whole number, up to {max}."),
            "kg": _("How many kilograms? Up to {max} kg."),
            "hours": _("How many hours? Up to {max}."),
        }
        text = f"{escape(kind.name[user.language])}\n" + prompts[kind.unit].format(max=marathon.plain(kind.max))
    elif step == "day":
        builder.button(text=_("Today"), callback_data=MarathonNav(action="date", value="0"))
        builder.button(text=_("Yesterday"), callback_data=MarathonNav(action="date", value="1"))
        text = _("When was it? Press a button or type the date as DD.MM.YYYY.")
    elif step == "locality":
        text = _("Where? The locality: a city, a district or a village (up to {limit} characters).").format(limit=marathon.MAX_LOCALITY_LENGTH)
    elif step == "description":
        text = _("Describe the deed in a sentence or two (up to {limit} characters).").format(limit=marathon.MAX_DESCRIPTION_LENGTH)
    elif step == "photos":
        await state.update_data(photos=[])
        text = _("Send one to three photos of the deed as proof.")
    else:
        await show_summary(message, state, rules, user)
        return
    button_row(builder)
    builder.adjust(*([2] if step == "day" else []), 2)
    await message.answer(text, reply_markup=builder.as_markup())


async def next_step(
    message: Message, state: FSMContext, session: AsyncSession, done: str, rules: Rules, user: Person
) -> None:
    await ask_step(message, state, session, STEPS[STEPS.index(done) + 1], rules, user)


async def show_summary(message: Message, state: FSMContext, rules: Rules, user: Person) -> None:
    await state.set_state(Logging.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Log it"), callback_data=MarathonNav(action="confirm"))
    button_row(builder)
    builder.adjust(1, 2)
    await message.answer(summary_text(await state.get_data(), rules, user), reply_markup=builder.as_markup())


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


async def on_photo(message: Message, state: FSMContext, session: AsyncSession, album: AlbumItem) -> None:
    """A photo of the deed. The photos of an album are answered in one message, edited as they
    come ("Photo 3 of up to 3 received"), not one message each."""
    data = await state.get_data()
    photos: list[list[str]] = data.get("photos", [])
    biggest = message.photo[-1]
    if any(unique == biggest.file_unique_id for _, unique in photos) or await marathon.photo_used(session, biggest.file_unique_id):
        await message.answer(refusal_text(Refusal.PHOTO_USED))
        return
    full = len(photos) >= marathon.MAX_PHOTOS
    if not full:
        photos.append([biggest.file_id, biggest.file_unique_id])
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
    await message.answer(_("Please send the proof as a photo (not as a file)."), reply_markup=nav_keyboard())


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
            data["locality"], data["description"], [Photo(file_id, unique) for file_id, unique in data["photos"]],
        )
    except Refused as refused:
        limit = (await marathon.dates(session, rules)).daily_limit
        await callback.answer()
        kind = await marathon.kind_of(session, rules, data["kind"])
        await callback.message.answer(refusal_text(refused.reason, kind, user.language, daily_limit=limit))
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


# --- my deeds and results --------------------------------------------------------------------------


async def on_mine(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules) -> None:
    await callback.answer()
    found = await marathon.deeds_of(session, user.telegram_id)
    if not found:
        await callback.message.answer(_("You have not logged any deeds yet."))
        return
    approved = await marathon.approved_totals_of(session, user.telegram_id)
    lines = [_("<b>My deeds</b>"), *(deed_line(d, rules, user.language) for d in found), "",
             _("Approved: {totals}.").format(totals=totals_words(approved, rules, user.language))]
    await callback.message.answer("\n".join(lines))


async def on_results(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules, directory: Directory) -> None:
    await callback.answer()
    joined = await marathon.participant(session, user.telegram_id)
    home_region = joined.region if joined else user.region  # the region they take part for
    national = await marathon.totals(session)
    regional = await marathon.totals(session, home_region)
    leaders = await marathon.leaderboard(session)
    local_leaders = await marathon.leaderboard(session, home_region)
    ranking = await marathon.region_ranking(session)
    region = escape(office_name(directory, home_region))
    lines = [
        _("🏆 <b>Marathon results</b> (approved deeds)"),
        "",
        _("<b>Kazakhstan:</b> {totals}.").format(totals=totals_words(national, rules, user.language)),
        _("<b>{region}:</b> {totals}.").format(region=region, totals=totals_words(regional, rules, user.language)),
        "",
        _("<b>Most deeds, Kazakhstan</b>"),
        *([leader_line(n, leader, directory) for n, leader in enumerate(leaders, 1)] or [_("nobody yet")]),
        "",
        _("<b>Most deeds, {region}</b>").format(region=region),
        *([leader_line(n, leader, directory) for n, leader in enumerate(local_leaders, 1)] or [_("nobody yet")]),
        "",
        _("<b>Regions by deeds</b>"),
        *([f"{n}. {escape(office_name(directory, slug))}: {deeds}" for n, (slug, deeds) in enumerate(ranking, 1)] or [_("nobody yet")]),
    ]
    await callback.message.answer("\n".join(lines))


def create_router() -> Router:
    router = Router(name="marathon")
    router.message.filter(WayIn((MARATHON,), Joining, Logging), Onboarded())
    router.callback_query.filter(Onboarded())
    not_menu = ~AnyMenuButton()
    router.message.register(on_home, MenuButton(MARATHON))
    router.callback_query.register(on_join, MarathonNav.filter(F.action == "join"))
    router.callback_query.register(on_join_kind, MarathonNav.filter(F.action == "as"), StateFilter(Joining.kind))
    router.callback_query.register(on_join_anonymous, MarathonNav.filter(F.action == "anonymous"))
    router.callback_query.register(on_keep_region, MarathonNav.filter(F.action == "keep_region"))
    router.callback_query.register(on_join_region, RegionChoice.filter(F.purpose == Purpose.MARATHON))
    router.callback_query.register(on_log, MarathonNav.filter(F.action == "log"))
    router.callback_query.register(on_kind, MarathonNav.filter(F.action == "kind"))
    router.callback_query.register(on_day_button, MarathonNav.filter(F.action == "date"))
    router.callback_query.register(on_photos_done, MarathonNav.filter(F.action == "photos_done"))
    router.callback_query.register(on_confirm, MarathonNav.filter(F.action == "confirm"))
    router.callback_query.register(on_back, MarathonNav.filter(F.action == "back"))
    router.callback_query.register(on_cancel, MarathonNav.filter(F.action == "cancel"))
    router.callback_query.register(on_mine, MarathonNav.filter(F.action == "mine"))
    router.callback_query.register(on_results, MarathonNav.filter(F.action == "results"))
    router.message.register(on_join_name, StateFilter(Joining.name), F.text, NotCommand(), not_menu)
    router.message.register(on_amount, StateFilter(Logging.amount), F.text, NotCommand(), not_menu)
    router.message.register(on_day_typed, StateFilter(Logging.day), F.text, NotCommand(), not_menu)
    router.message.register(on_words, StateFilter(Logging.locality, Logging.description), F.text, NotCommand(), not_menu)
    router.message.register(on_photo, StateFilter(Logging.photos), F.photo, flags={"album": True})
    router.message.register(on_not_a_photo, StateFilter(Logging.photos), not_menu)
    router.message.register(on_wrong_kind, StateFilter(Joining, Logging), not_menu)
    return router
