"""Coordinators keep their office's saved replies (/replies): list, show one, set a language's
version (the text on the lines after the command), delete a version or the reply. A regional
coordinator keeps their own office's; a national one any office's, naming it first. The checks are
in `bot/services/saved_replies.py`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import ActiveOperator, TypedCommand
from bot.middlewares.access import Requires
from bot.services import saved_replies
from bot.services.access import Act
from bot.services.directory import Directory
from bot.services.operators import Operator
from bot.services.saved_replies import ReplyError
from bot.views import saved_replies as views

VERBS = ("set", "show", "delete")


async def on_replies(message: Message, command: CommandObject, session: AsyncSession, operator: Operator, directory: Directory) -> None:
    args = (command.args or "").strip()
    office = operator.office
    first = args.split(maxsplit=1)
    if first and first[0].lower() not in VERBS:  # a region first (the national office's coordinators)
        office, args = first[0].lower(), first[1] if len(first) > 1 else ""
    if directory.get(office) is None:
        await message.answer(views.unknown_office_text())
        return
    head, _, tail = args.partition("\n")  # the text of `set` may start on the next line
    words = head.split(maxsplit=1)
    verb = words[0].lower() if words else ""
    rest = (words[1] if len(words) > 1 else "") + ("\n" + tail if tail else "")
    try:
        if not verb:
            kept = await saved_replies.kept_by(session, operator, office)
            for part in views.kept_texts(office, kept, directory):
                await message.answer(part)
        elif verb == "set":
            words = rest.split(maxsplit=2)
            if len(words) < 2:
                await message.answer(views.usage_text())
                return
            text = words[2] if len(words) > 2 else ""
            reply = await saved_replies.set_text(session, operator, office, words[0], words[1].lower(), text)
            await message.answer(views.saved_text() + "\n\n" + views.one_text(office, reply, directory))
        elif verb in ("show", "delete"):
            words = rest.split()
            if not words or len(words) > 2:
                await message.answer(views.usage_text())
                return
            if verb == "show":
                kept = {reply.name: reply for reply in await saved_replies.kept_by(session, operator, office)}
                shown = kept.get(words[0].lower())
                if shown is None:
                    raise ReplyError(saved_replies.Problem.NOT_FOUND)
                await message.answer(views.one_text(office, shown, directory))
                return
            left = await saved_replies.remove(session, operator, office, words[0], words[1].lower() if len(words) > 1 else None)
            await message.answer(
                views.deleted_text() + ("\n\n" + views.one_text(office, left, directory) if left is not None else "")
            )
        else:
            await message.answer(views.usage_text())
    except ReplyError as error:
        await message.answer(views.problem_text(error.problem))


def create_router() -> Router:
    router = Router(name="saved_replies_kept")
    router.message.filter(TypedCommand())
    # The permission is checked, and the actor locked, before the handler; operators are refused.
    router.message.middleware(Requires(Act.SAVED_REPLIES))
    router.message.register(on_replies, Command("replies"), ActiveOperator())
    return router
