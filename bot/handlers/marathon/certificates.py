"""Certificates and the participant's record. Anyone (`create_public_router`): a certificate's
link, `/start cert_<code>`, shows what it certifies. Participants: "My record" with a certificate
of participation for each year and the record as an Excel file. Coordinators issue the winners'
certificates with /certificates (in `awards.py`)."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import CertificateError, CertificateRevoked, Rules
from bot.services.users import Person
from bot.views.callbacks import MarathonNav
from bot.views.certificates import (
    certificate_link, certificate_pdf, check_text, record_keyboard, record_text, record_xlsx, sent_caption,
)


async def on_check(message: Message, command: CommandObject, session: AsyncSession, rules: Rules, directory: Directory,
                   user: Person | None) -> None:
    typed = (command.args or "").removeprefix(marathon.DEEP_LINK_PREFIX)
    found = await marathon.check(session, typed)
    await message.answer(check_text(found, typed, rules, directory, get_i18n().current_locale))
    if user is None:  # someone who came only to check a certificate
        await message.answer(_("To use the bot of the volunteer Call-centre, send /start."))


async def this_year(session: AsyncSession, rules: Rules) -> int:
    """The current marathon's year (a marathon runs within one calendar year)."""
    return (await marathon.dates(session, rules)).starts_on.year


async def on_record(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules, directory: Directory) -> None:
    await callback.answer()
    found = await marathon.record(session, user.telegram_id, await this_year(session, rules))
    if found is None:
        await callback.message.answer(_("Join the marathon first: your record starts with your first approved deed."))
        return
    await callback.message.answer(record_text(found, rules, directory, user.language), reply_markup=record_keyboard(found, user.language))


async def on_certificate(callback: CallbackQuery, callback_data: MarathonNav, session: AsyncSession, user: Person,
                         rules: Rules, directory: Directory) -> None:
    """The value is a year (the certificate of participation, issued now if need be) or the code of
    one of the participant's nomination certificates."""
    value = callback_data.value
    if value.isascii() and value.isdigit() and len(value) == 4:
        try:
            certificate = await marathon.issue_participation(session, user.telegram_id, int(value))
        except CertificateRevoked:
            await callback.answer(_("Your certificate of {year} was withdrawn by the marathon's coordinators. If this is a mistake, write to your front-office.").format(
                year=value), show_alert=True)
            return
        except CertificateError:
            await callback.answer(_("No deed of yours from {year} is approved: there is nothing to certify.").format(year=value[:4]),
                                  show_alert=True)
            return
    else:
        certificate = await marathon.check(session, value)
        if certificate is None or certificate.participant_id != user.telegram_id or not certificate.valid:
            await callback.answer(_("This button is no longer active."))
            return
    await callback.answer()
    link = certificate_link((await callback.bot.me()).username, certificate.code)
    language = get_i18n().current_locale
    pdf = await asyncio.to_thread(certificate_pdf, certificate, rules, directory, link, language)
    await callback.message.answer_document(
        BufferedInputFile(pdf, f"certificate-{certificate.year}-{certificate.code}.pdf"), caption=sent_caption(certificate, link)
    )


async def on_record_file(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules, directory: Directory) -> None:
    found = await marathon.record(session, user.telegram_id, await this_year(session, rules))
    if found is None:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    deeds = await marathon.deeds_of(session, user.telegram_id, most=None)
    username = (await callback.bot.me()).username
    book = await asyncio.to_thread(
        record_xlsx, found, deeds, rules, directory, user.language, lambda code: certificate_link(username, code)
    )
    await callback.message.answer_document(
        BufferedInputFile(book, "marathon-record.xlsx"), caption=_("📊 Your participation in the Marathon of Good Deeds.")
    )


def create_public_router() -> Router:
    """Before onboarding: a certificate is checked by anyone, set up in the bot or not."""
    router = Router(name="certificates")
    router.message.register(on_check, CommandStart(deep_link=True, magic=F.args.startswith(marathon.DEEP_LINK_PREFIX)))
    return router


def register_participant_screens(router: Router) -> None:
    """On the marathon's router: its callbacks share MarathonNav and its filters."""
    router.callback_query.register(on_record, MarathonNav.filter(F.action == "record"))
    router.callback_query.register(on_certificate, MarathonNav.filter(F.action == "certificate"))
    router.callback_query.register(on_record_file, MarathonNav.filter(F.action == "record_file"))
