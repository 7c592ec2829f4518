"""A participant's own deeds and the marathon's results."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import marathon
from bot.services.directory import Directory
from bot.services.marathon import Rules
from bot.services.users import Person
from bot.views.marathon import my_deeds_text, results_text


async def on_mine(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules) -> None:
    await callback.answer()
    found = await marathon.deeds_of(session, user.telegram_id)
    if not found:
        await callback.message.answer(_("You have not logged any deeds yet."))
        return
    approved = await marathon.approved_totals_of(session, user.telegram_id)
    await callback.message.answer(my_deeds_text(found, approved, rules, user.language))


async def on_results(callback: CallbackQuery, session: AsyncSession, user: Person, rules: Rules, directory: Directory) -> None:
    await callback.answer()
    joined = await marathon.participant(session, user.telegram_id)
    home_region = joined.region if joined else user.region  # the region they take part for
    national = await marathon.totals(session)
    regional = await marathon.totals(session, home_region)
    leaders = await marathon.leaderboard(session)
    local_leaders = await marathon.leaderboard(session, home_region)
    ranking = await marathon.region_ranking(session)
    await callback.message.answer(results_text(
        national, regional, leaders, local_leaders, ranking, home_region, rules, directory, user.language
    ))
