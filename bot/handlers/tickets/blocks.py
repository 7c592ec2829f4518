"""Abuse, as people see it: coordinators' `/block N reason` and `/unblock N`; a blocked person's way
to an operator closed with a short answer; and what a citizen who floods is told. The rules are in
`bot/services/abuse.py`."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator
from bot.services import abuse
from bot.services.abuse import BlockError
from bot.services.operators import Operator
from bot.views.blocks import refused_text
from bot.views.callbacks import AskFromAnswer, HelpFormStep, RequestAction
from bot.views.menu import ASK_OPERATOR, NEED_HELP, MenuButton

MAX_NUMBER_DIGITS = 12


# --- a blocked person's way to an operator -------------------------------------------------------

class Blocked(Filter):
    """The sender is blocked. A query: put it after the filters that pick the few updates that lead
    to an operator (a menu button, a button under an answer)."""

    async def __call__(self, event: TelegramObject, session: AsyncSession, event_from_user: Any = None, **_: Any) -> bool:
        return event_from_user is not None and await abuse.is_blocked(session, event_from_user.id)


async def on_refused_message(message: Message) -> None:
    await message.answer(refused_text())


async def on_refused_button(callback: CallbackQuery) -> None:
    await callback.answer()
    await callback.message.answer(refused_text())


def create_citizen_router() -> Router:
    """Before the requests' and the help form's routers: a blocked person's taps on "Ask an
    operator" and "Need volunteers' help" (the menu's or under an answer) get the refusal."""
    router = Router(name="blocked_citizens")
    blocked = Blocked()
    router.message.register(on_refused_message, MenuButton(ASK_OPERATOR), blocked)
    router.message.register(on_refused_message, MenuButton(NEED_HELP), blocked)
    router.callback_query.register(on_refused_button, RequestAction.filter(F.action == "ask"), blocked)
    router.callback_query.register(on_refused_button, AskFromAnswer.filter(), blocked)
    router.callback_query.register(on_refused_button, HelpFormStep.filter(F.action == "start"), blocked)
    return router


# --- coordinators ----------------------------------------------------------------------------------

def request_number(word: str) -> int | None:
    word = word.lstrip("№#")
    if not word.isascii() or not word.isdigit() or len(word) > MAX_NUMBER_DIGITS:
        return None
    return int(word)


def block_usage() -> str:
    return _("Send /block, the request's number and the reason (up to {limit} characters; the person is shown it), for example: /block 12 insults to operators").format(
        limit=abuse.MAX_REASON_LENGTH
    )


def unblock_usage() -> str:
    return _("Send /unblock and the request's number, for example: /unblock 12")


def block_refusal(error: BlockError, number: int) -> str:
    number = error.ticket_id or number
    if error.reason == abuse.NOT_COORDINATOR:
        return _("Only coordinators can block and unblock people.")
    if error.reason == abuse.NOT_FOUND:
        return _("There is no request №{number}.").format(number=number)
    if error.reason == abuse.OTHER_OFFICE:
        return _("Request №{number} belongs to another front-office: only its coordinators or the national office's can block or unblock its author.").format(
            number=number
        )
    if error.reason == abuse.UNKNOWN_AUTHOR:
        return _("The data of the citizen of request №{number} has been erased: there is nobody to block or unblock through it.").format(
            number=number
        )
    if error.reason == abuse.ALREADY_BLOCKED and error.block is not None:
        return _("The author of request №{number} is already blocked, by {name}.").format(
            number=number, name=escape(error.block.blocked_by_name or "?")
        )
    return _("The author of request №{number} is not blocked.").format(number=number)


async def on_block(message: Message, command: CommandObject, session: AsyncSession, operator: Operator) -> None:
    words = (command.args or "").split(maxsplit=1)
    number = request_number(words[0]) if words else None
    reason = words[1].strip() if len(words) == 2 else ""
    if number is None or not reason or len(reason) > abuse.MAX_REASON_LENGTH:
        await message.answer(block_usage())
        return
    try:
        done = await abuse.block(session, operator, number, reason)
    except BlockError as error:
        await message.answer(block_refusal(error, number))
        return
    lines = [
        _("⛔ Blocked: the author of request №{number}. The front-office no longer receives their messages.").format(number=number)
    ]
    if done.closed is not None:
        lines.append(_("Their open request №{number} is closed with this reason.").format(number=done.closed.id))
    lines.append(_("Recorded in /audit. To lift it: /unblock {number}").format(number=number))
    await message.answer("\n".join(lines))


async def on_unblock(message: Message, command: CommandObject, session: AsyncSession, operator: Operator) -> None:
    words = (command.args or "").split()
    number = request_number(words[0]) if len(words) == 1 else None
    if number is None:
        await message.answer(unblock_usage())
        return
    try:
        await abuse.unblock(session, operator, number)
    except BlockError as error:
        await message.answer(block_refusal(error, number))
        return
    await message.answer(
        _("✅ Unblocked: the author of request №{number} can write to the front-office again.").format(number=number)
    )


async def on_not_coordinator(message: Message) -> None:
    await message.answer(_("Only coordinators can block and unblock people."))


def create_staff_router() -> Router:
    router = Router(name="blocks")
    router.message.register(on_block, Command("block"), ActiveOperator(coordinators_only=True))
    router.message.register(on_unblock, Command("unblock"), ActiveOperator(coordinators_only=True))
    router.message.register(on_not_coordinator, Command("block", "unblock"), ActiveOperator())
    return router
