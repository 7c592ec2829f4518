"""Front-offices review marathon deeds: /deeds shows the oldest deed waiting for this operator (their
region's; every region's for the national office and coordinators) with its photos, and Approve,
Reject (a preset reason or their own words) or Correct the amount. The participant is told the
outcome in their own language, through the outbox."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import date
from decimal import Decimal
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, NotCommand
from bot.i18n import N_
from bot.middlewares.database import keep_written
from bot.services import access, marathon, marathon_export, personal_data
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.marathon import Refused, ReviewError, Rules, photo_match
from bot.services.operators import Operator
from bot.services.spreadsheets import export_filters
from bot.views.callbacks import DeedReview
from bot.views.common import office_name
from bot.views.marathon import PRESET_PREFIX, PRESET_REASONS, UNITS, refusal_text
from bot.views.menu import AnyMenuButton
from bot.views.marathon import approved_keyboard, reasons_keyboard, review_keyboard

# A caption holds 1,024 characters as Telegram counts them (UTF-16: an emoji can be two).
CAPTION_ROOM = 500


class Reviewing(StatesGroup):
    reason = State()
    amount = State()


def deed_card(
    deed: marathon.Deed, rules: Rules, directory: Directory, language: str, near: list[tuple[int, int]] | None = None
) -> str:
    kind = rules.kind(deed.kind)
    lines = [
        _("🏃 <b>Deed №{number}</b> · {region}").format(number=deed.id, region=escape(office_name(directory, deed.region))),
        f"{escape(kind.name[language] if kind else deed.kind)}: {marathon.plain(deed.amount)} {_(UNITS[kind.unit]) if kind else ''}",
        _("Date: {date}").format(date=deed.deed_date.strftime("%d.%m.%Y")),
        _("Where: {place}").format(place=escape(deed.locality)),
        _("What: {text}").format(text=escape(deed.description)),
    ]
    for number, taken in enumerate(deed.taken_on, 1):
        if taken is not None and taken < deed.deed_date:
            # Flagged, not refused: a photo of the place before the clean-up can be honest proof.
            lines.append(_("⚠️ Photo {number} was taken on {taken}, before the deed's date.").format(
                number=number, taken=taken.strftime("%d.%m.%Y")))
    if near:
        # How near, as the share of the fingerprints' 64 bits that agree: a copy cropped a little is
        # 78-97% alike, different photos of alike scenes at most 91% (bench/README.md).
        lines.append(_("⚠️ A photo is like one of another deed: {deeds}. Compare them before approving.").format(
            deeds=", ".join(_("№{number}, {share}% alike").format(number=other, share=round(100 * (64 - bits) / 64))
                            for other, bits in near)
        ))
    return "\n".join(lines)


async def shown_photo(message: Message, file_id: str, as_file: bool) -> str | BufferedInputFile:
    """A photo as the reviewer gets it: Telegram's own (which has no EXIF), or for an original sent as
    a file, a copy with its pixels only (its EXIF may hold where it was taken: the participant's home)."""
    if not as_file:
        return file_id
    content = await message.bot.download(file_id)
    async with photo_match.DECODING:
        return BufferedInputFile(await asyncio.to_thread(photo_match.without_metadata, content.getvalue()), "photo.jpg")


async def show_next(message: Message, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory) -> None:
    deed = await marathon.next_pending(session, operator)
    if deed is None:
        await message.answer(_("No deeds are waiting for review. 🎉"))
        return
    text = deed_card(deed, rules, directory, operator.language, await marathon.near_deeds(session, deed.id))
    as_files = deed.as_files or (False,) * len(deed.photos)
    photos = [await shown_photo(message, file_id, as_file) for file_id, as_file in zip(deed.photos, as_files, strict=True)]
    if len(photos) == 1 and len(text) <= CAPTION_ROOM:
        await message.answer_photo(photos[0], caption=text, reply_markup=review_keyboard(deed.id))
        return
    # Several photos go as one album, which takes no buttons; a caption holds 1,024 characters.
    # The card with its buttons follows as a message of its own.
    if len(photos) > 1:
        await message.answer_media_group([InputMediaPhoto(media=photo) for photo in photos])
    elif photos:
        await message.answer_photo(photos[0])
    await message.answer(text, reply_markup=review_keyboard(deed.id))


async def on_deeds(message: Message, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory) -> None:
    await show_next(message, session, operator, rules, directory)


async def decided(
    callback: CallbackQuery | None, message: Message, session: AsyncSession, operator: Operator, rules: Rules,
    directory: Directory, deed_id: int, **verdict,
) -> None:
    try:
        deed = await marathon.review(session, rules, operator, deed_id, **verdict)
    except ReviewError:
        text = _(NOT_REVIEWABLE)
        if callback is not None:
            await callback.answer(text, show_alert=True)
        else:
            await message.answer(text)
        return
    except Refused as refused:  # a corrected amount the kind no longer allows (its limit just changed)
        deed = await marathon.get_deed(session, deed_id)
        kind = await marathon.kind_of(session, rules, deed.kind) if deed else None
        await message.answer(refusal_text(refused.reason, kind, operator.language))
        return
    if callback is not None:
        await callback.answer()
        with suppress(TelegramBadRequest):  # the buttons of the card just decided go
            await callback.message.edit_reply_markup(reply_markup=None)
    if deed.state is marathon.State.APPROVED:
        await message.answer(_("✅ Deed №{number} approved.").format(number=deed.id), reply_markup=approved_keyboard(deed.id))
    else:
        await message.answer(_("❌ Deed №{number} rejected.").format(number=deed.id))
    await show_next(message, session, operator, rules, directory)


async def on_approve(
    callback: CallbackQuery, callback_data: DeedReview, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory
) -> None:
    await decided(callback, callback.message, session, operator, rules, directory, callback_data.deed, approve=True)


NOT_REVIEWABLE = N_("This deed has been reviewed already, or is not one of your front-office's.")


async def may_prompt(callback: CallbackQuery, session: AsyncSession, operator: Operator, deed_id: int, retract: bool = False) -> bool:
    """Whether to ask this reviewer for a reason or an amount: refused before they type a word."""
    try:
        await marathon.reviewable(session, operator, deed_id, retract)
    except ReviewError:
        await callback.answer(_(NOT_REVIEWABLE), show_alert=True)
        return False
    return True


async def on_reject(callback: CallbackQuery, callback_data: DeedReview, session: AsyncSession, operator: Operator) -> None:
    if not await may_prompt(callback, session, operator, callback_data.deed):
        return
    await callback.answer()
    await callback.message.answer(
        _("Why is deed №{number} rejected?").format(number=callback_data.deed), reply_markup=reasons_keyboard(callback_data.deed)
    )


async def on_retract(callback: CallbackQuery, callback_data: DeedReview, session: AsyncSession, operator: Operator) -> None:
    """An approval found wrong later: rejected with a reason like any deed, and out of the totals
    and the participant's certificate."""
    if not await may_prompt(callback, session, operator, callback_data.deed, retract=True):
        return
    await callback.answer()
    await callback.message.answer(
        _("Why is deed №{number} rejected after all? The participant is told, and it leaves the totals and their certificate.").format(
            number=callback_data.deed),
        reply_markup=reasons_keyboard(callback_data.deed, retract=True),
    )


def retracting(callback_data: DeedReview) -> bool:
    return callback_data.action.startswith("retract_")


async def on_preset_reason(
    callback: CallbackQuery, callback_data: DeedReview, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory
) -> None:
    if callback_data.value not in PRESET_REASONS:
        await callback.answer(_("This button is no longer active."))
        return
    await decided(callback, callback.message, session, operator, rules, directory, callback_data.deed,
                  approve=False, reason=PRESET_PREFIX + callback_data.value, retract=retracting(callback_data))


async def on_other_reason(
    callback: CallbackQuery, callback_data: DeedReview, state: FSMContext, session: AsyncSession, operator: Operator
) -> None:
    if not await may_prompt(callback, session, operator, callback_data.deed, retracting(callback_data)):
        return
    await state.set_state(Reviewing.reason)
    await state.update_data(deed=callback_data.deed, retract=retracting(callback_data))
    await callback.answer()
    await callback.message.answer(_("Write the reason in one message; the participant receives it."))


async def on_typed_reason(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory
) -> None:
    reason = " ".join((message.text or "").split())
    if not reason or len(reason) > marathon.MAX_REASON_LENGTH:
        await message.answer(_("Please write the reason as text, up to {limit} characters.").format(limit=marathon.MAX_REASON_LENGTH))
        return
    data = await state.get_data()
    await state.clear()
    await decided(None, message, session, operator, rules, directory, int(data["deed"]), approve=False, reason=reason,
                  retract=bool(data.get("retract")))


async def on_correct(
    callback: CallbackQuery, callback_data: DeedReview, state: FSMContext, session: AsyncSession, operator: Operator
) -> None:
    if not await may_prompt(callback, session, operator, callback_data.deed):
        return
    await state.set_state(Reviewing.amount)
    await state.update_data(deed=callback_data.deed)
    await callback.answer()
    await callback.message.answer(_("The right amount for deed №{number}? The deed is then approved with it.").format(number=callback_data.deed))


async def on_typed_amount(
    message: Message, state: FSMContext, session: AsyncSession, operator: Operator, rules: Rules, directory: Directory
) -> None:
    deed_id = int((await state.get_data())["deed"])
    deed = await marathon.get_deed(session, deed_id)
    kind = await marathon.kind_of(session, rules, deed.kind) if deed else None
    if kind is None:
        await state.clear()
        await message.answer(_("This deed has been reviewed already, or is not one of your front-office's."))
        return
    try:
        amount = marathon.parse_amount(kind, message.text or "")
    except Refused as refused:
        await message.answer(refusal_text(refused.reason, kind, operator.language))
        return
    await state.clear()
    await decided(None, message, session, operator, rules, directory, deed_id, approve=True, corrected=Decimal(amount))


async def on_export(
    message: Message, command: CommandObject, session: AsyncSession, directory: Directory, operator: Operator
) -> None:
    """`/marathon_export [region] [pending|approved|rejected] [from YYYY-MM-DD] [to YYYY-MM-DD]`: the
    workbook and the two CSV files, recorded in the audit log before they leave."""
    chosen = export_filters(command.args, directory, tuple(marathon.State))
    if chosen is None:
        await message.answer(
            _("Send /marathon_export, optionally with a region, a state (pending, approved or rejected) and the first and last day of the deeds, for example: /marathon_export akmola approved 2026-09-01 2026-09-30")
        )
        return
    region, state, since, until = chosen
    state = marathon.State(state) if state else None
    filters = marathon_export.Filters(region, state, since, until)
    export = await marathon_export.collect(session, filters, by=operator)
    await personal_data.record_marathon_export(
        session, filters, export, actor_id=operator.telegram_id, actor=operator.name
    )
    # Kept before any of it leaves: a failure after the first file (a 429 on the second) must not
    # roll back the entry of an export that went out.
    await keep_written(session)
    participants, deeds = marathon_export.to_csv(export)
    stem = "marathon" + (f"-{region}" if region else "") + (f"-{state.value}" if state else "")
    await message.answer_document(
        BufferedInputFile(marathon_export.to_xlsx(export), f"{stem}.xlsx"),
        caption=_("{participants} participants, {deeds} deeds.").format(participants=len(export.participants), deeds=len(export.deeds)),
    )
    await message.answer_document(BufferedInputFile(participants, f"{stem}-participants.csv"))
    await message.answer_document(BufferedInputFile(deeds, f"{stem}-deeds.csv"))


async def on_dates(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, rules: Rules) -> None:
    """`/marathon_dates YYYY-MM-DD YYYY-MM-DD [daily limit]`; without arguments, the current ones."""
    await access.require(session, operator, Act.MARATHON_SETTINGS)
    words = (command.args or "").split()
    try:
        if words:
            starts, ends = date.fromisoformat(words[0]), date.fromisoformat(words[1])
            limit = int(words[2]) if len(words) > 2 else None
            current = await marathon.set_dates(session, rules, starts, ends, limit, by=operator.telegram_id)
        else:
            current = await marathon.dates(session, rules)
    except marathon.DatesAcrossYears:
        await message.answer(_("A marathon runs within one calendar year (its results, records and certificates are by year): send a first and a last day of the same year."))
        return
    except (ValueError, IndexError):
        await message.answer(_("Send /marathon_dates, the first and the last day and, if you like, the daily limit, for example: /marathon_dates 2026-09-01 2026-12-05 5"))
        return
    await message.answer(
        _("The marathon runs from {starts} to {ends}; at most {limit} deeds a day per participant.").format(
            starts=current.starts_on.strftime("%d.%m.%Y"), ends=current.ends_on.strftime("%d.%m.%Y"), limit=current.daily_limit
        )
    )


async def on_limit(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, rules: Rules) -> None:
    """`/marathon_limit <kind> <largest amount>`; without arguments, the limits now."""
    await access.require(session, operator, Act.MARATHON_SETTINGS)
    words = (command.args or "").split()
    try:
        if words:
            await marathon.set_kind_limit(session, rules, words[0].lower(), Decimal(words[1].replace(",", ".")), operator.telegram_id)
    except (IndexError, ValueError, ArithmeticError):
        await message.answer(_("Send /marathon_limit, a kind and the largest amount of one deed, for example: /marathon_limit trees 1500"))
        return
    await message.answer(await kinds_text(session, rules, operator))


async def kinds_text(session: AsyncSession, rules: Rules, operator: Operator) -> str:
    lines = [_("<b>The largest amount of one deed</b>")]
    lines.extend(
        f"<code>{kind.slug}</code> {escape(kind.name[operator.language])}: {marathon.plain(kind.max)} {_(UNITS[kind.unit])}"
        + ("" if kind.offered else " " + _("(not offered)"))
        for kind in await marathon.kinds_of(session, rules)
    )
    lines.append(_("To stop offering a kind, or to offer it again: /marathon_kind trees off, /marathon_kind trees on"))
    return "\n".join(lines)


async def on_offer(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, rules: Rules) -> None:
    """`/marathon_kind <kind> on|off`: offer a kind of deed to participants, or stop."""
    await access.require(session, operator, Act.MARATHON_SETTINGS)
    words = (command.args or "").lower().split()
    if len(words) != 2 or words[1] not in ("on", "off"):
        await message.answer(_("Send /marathon_kind, a kind and on or off, for example: /marathon_kind trees off"))
        return
    try:
        await marathon.offer_kind(session, rules, words[0], words[1] == "on", operator.telegram_id)
    except ValueError:
        await message.answer(_("Send /marathon_kind, a kind and on or off, for example: /marathon_kind trees off"))
        return
    await message.answer(await kinds_text(session, rules, operator))


def create_router() -> Router:
    router = Router(name="deed_review")
    router.message.filter(ActiveOperator())
    router.callback_query.filter(ActiveOperator())
    router.message.register(on_deeds, Command("deeds"))
    router.message.register(on_export, Command("marathon_export"), ActiveOperator(coordinators_only=True))
    router.message.register(on_dates, Command("marathon_dates"), ActiveOperator(coordinators_only=True))
    router.message.register(on_limit, Command("marathon_limit"), ActiveOperator(coordinators_only=True))
    router.message.register(on_offer, Command("marathon_kind"), ActiveOperator(coordinators_only=True))
    router.callback_query.register(on_approve, DeedReview.filter(F.action == "approve"))
    router.callback_query.register(on_reject, DeedReview.filter(F.action == "reject"))
    router.callback_query.register(on_preset_reason, DeedReview.filter(F.action.in_({"reason", "retract_reason"})))
    router.callback_query.register(on_other_reason, DeedReview.filter(F.action.in_({"other", "retract_other"})))
    router.callback_query.register(on_retract, DeedReview.filter(F.action == "retract"))
    router.callback_query.register(on_correct, DeedReview.filter(F.action == "correct"))
    # A menu button or a command leaves these steps alone (the state waits for words or a number).
    not_menu = ~AnyMenuButton()
    router.message.register(on_typed_reason, StateFilter(Reviewing.reason), NotCommand(), not_menu)
    router.message.register(on_typed_amount, StateFilter(Reviewing.amount), NotCommand(), not_menu)
    return router
