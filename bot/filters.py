"""Who may use which router (people who finished the first set-up, and those who did not), and
what kind of text a message holds.

Every filter here is a coroutine: aiogram runs a synchronous filter, its magic `F` filters included,
in a worker thread for each message it checks, which costs more than the check itself."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.operators import Operator, Role
from bot.services.tickets import replied_ticket
from bot.services.users import Person, needs_consent


def is_onboarded(user: Person | None) -> bool:
    return user is not None and not needs_consent(user) and user.region is not None


class Onboarded(Filter):
    """The person consented and chose a region; `user` comes from ArrivalMiddleware."""

    def __init__(self, expected: bool = True) -> None:
        self.expected = expected

    async def __call__(self, event: TelegramObject, user: Person | None = None, **_: Any) -> bool:
        return is_onboarded(user) is self.expected


class TypedText(Filter):
    """A message with text that is not a command: a question in the person's own words."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class TypedCommand(Filter):
    """A message whose text starts with a slash, known command or not."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.startswith("/")


class NotCommand(Filter):
    """Anything but a command: text, a photo, a location…"""

    async def __call__(self, message: Message) -> bool:
        return message.text is None or not message.text.startswith("/")


class ActiveOperator(Filter):
    """The sender is an active operator (with `coordinators_only`, a coordinator). The record comes
    with the arrival (`operator`), so the check costs no query."""

    def __init__(self, coordinators_only: bool = False) -> None:
        self.coordinators_only = coordinators_only

    async def __call__(self, event: TelegramObject, operator: Operator | None = None, **_: Any) -> bool:
        if operator is None or not operator.active:
            return False
        return not self.coordinators_only or operator.role is Role.COORDINATOR


class HasOpenTicket(Filter):
    """The person has an open request (`open_ticket`, from the arrival): what they write goes to it."""

    async def __call__(self, event: TelegramObject, open_ticket: int | None = None, **_: Any) -> bool:
        return open_ticket is not None


class HasCurrentTicket(Filter):
    """An active operator with a current ticket: their plain messages go to its citizen."""

    async def __call__(self, event: TelegramObject, operator: Operator | None = None, **_: Any) -> bool:
        return operator is not None and operator.active and operator.current_ticket is not None


class IsReply(Filter):
    """A message that replies to another one."""

    async def __call__(self, message: Message) -> bool:
        return message.reply_to_message is not None


class RepliesToTicket(Filter):
    """A staff member's reply to a message the bot recorded as one of a ticket's when it sent it
    (`ticket_links`: chat id + message id). Hands the handler `ticket_id`. Nothing else binds a
    reply to a ticket: not the replied-to message's text."""

    async def __call__(
        self, message: Message, operator: Operator | None = None, session: AsyncSession | None = None, **_: Any
    ) -> bool | dict[str, int]:
        if message.reply_to_message is None or operator is None or session is None:
            return False
        ticket_id = await replied_ticket(session, operator.telegram_id, message.reply_to_message.message_id)
        return {"ticket_id": ticket_id} if ticket_id is not None else False


class CallbackOf(Filter):
    """A button press whose data belongs to one of these CallbackData classes: one check on a
    router instead of one per handler for every other router's buttons."""

    def __init__(self, *kinds: type[CallbackData]) -> None:
        self._prefixes = tuple(f"{kind.__prefix__}{kind.__separator__}" for kind in kinds)

    async def __call__(self, callback: CallbackQuery) -> bool:
        return callback.data is not None and callback.data.startswith(self._prefixes)


class StaffWayIn(Filter):
    """The front-office routers' way in: a command (an invite link, /duty…) or anything an operator
    sends, in a private chat with the bot. A citizen's typed question passes them by with this one
    check. Staff work happens in private only: in a group, cards and histories would reach everyone
    in it, and a reply's message id would be looked up among another chat's links."""

    async def __call__(self, event: TelegramObject, operator: Operator | None = None, **_: Any) -> bool:
        if isinstance(event, Message):
            chat = event.chat
        elif isinstance(event, CallbackQuery) and event.message is not None:
            chat = event.message.chat
        else:
            chat = None
        if chat is None or chat.type != "private":
            return False
        if operator is not None:
            return True
        return isinstance(event, Message) and event.text is not None and event.text.startswith("/")
