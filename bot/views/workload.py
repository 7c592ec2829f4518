"""/desk as coordinators see it: each office's waiting requests, each operator's load, and the
screens that reassign a request in a tap."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.directory import Directory
from bot.services.staff import Operator
from bot.services.tickets import Ticket
from bot.services.tickets.workload import OfficeLoad, OperatorLoad
from bot.views.callbacks import DeskView
from bot.views.common import office_name
from bot.views.stats import duration
from bot.views.tickets import category_name


def _waited(since: datetime | None, now: datetime) -> str:
    return duration(max(0.0, (now - since).total_seconds())) if since is not None else "—"


def desk_text(offices: list[OfficeLoad], operators: list[OperatorLoad], directory: Directory, now: datetime) -> str:
    lines = [_("<b>🖥 The desk now</b>")]
    if offices:
        lines.append(_("<b>Waiting to be taken</b>"))
        for load in offices:
            lines.append(_("{office}: {count}, the oldest waits {waited} (/ticket_{number})").format(
                office=escape(office_name(directory, load.office)), count=load.waiting,
                waited=_waited(load.oldest, now), number=load.oldest_ticket,
            ))
    else:
        lines.append(_("No request is waiting to be taken. 🎉"))
    lines.extend(["", _("<b>Operators</b>")])
    if not operators:
        lines.append(_("Nobody is on duty."))
    for load in operators:
        duty = "🟢" if load.on_duty else _("⚪️ off duty,")
        line = _("{duty} {name} ({office}): in work {held}").format(
            duty=duty, name=escape(load.name), office=escape(office_name(directory, load.office)), held=load.held
        )
        if load.oldest_unanswered is not None:
            line += " · " + _("a citizen waits for an answer {waited}").format(waited=_waited(load.oldest_unanswered, now))
        lines.append(line)
    lines.extend(["", _("To give a request to someone else, press the operator who holds it, or the waiting ones.")])
    return "\n".join(lines)


def desk_keyboard(offices: list[OfficeLoad], operators: list[OperatorLoad]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    waiting = sum(load.waiting for load in offices)
    if waiting:
        builder.button(text=_("🟡 Waiting: {count}").format(count=waiting), callback_data=DeskView(action="held"))
    for load in operators:
        if load.held:
            builder.button(text=f"👤 {load.name}: {load.held}", callback_data=DeskView(action="held", operator=load.operator_id))
    builder.adjust(2)
    return builder.as_markup() if waiting or any(load.held for load in operators) else None


def requests_text(holder: Operator | None, found: list[Ticket], directory: Directory) -> str:
    if holder is None:
        head = _("Waiting to be taken, oldest first. Press one to give it to an operator on duty:")
    else:
        head = _("Requests {name} holds, oldest first. Press one to give it to someone else:").format(name=escape(holder.name))
    if not found:
        return _("Nothing here any more.")
    lines = [head, *(f"№{t.id} · {category_name(t.category)} · {escape(office_name(directory, t.office))}" for t in found)]
    return "\n".join(lines)


def requests_keyboard(found: list[Ticket]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for ticket in found:
        builder.button(text=f"№{ticket.id}", callback_data=DeskView(action="pick", ticket=ticket.id))
    builder.button(text=_("⬅️ Back"), callback_data=DeskView(action="back"))
    builder.adjust(*([4] * (len(found) // 4)), *([len(found) % 4] if len(found) % 4 else []), 1)
    return builder.as_markup()


def candidates_text(ticket: Ticket, people: list[Operator]) -> str:
    if not people:
        return _("Nobody else who may take request №{number} is on duty now.").format(number=ticket.id)
    return _("Give request №{number} to:").format(number=ticket.id)


def candidates_keyboard(ticket: Ticket, people: list[Operator], directory: Directory) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for person in people:
        builder.button(
            text=f"{person.name} ({office_name(directory, person.office)})",
            callback_data=DeskView(action="to", ticket=ticket.id, operator=person.telegram_id),
        )
    builder.button(text=_("⬅️ Back"), callback_data=DeskView(action="back"))
    builder.adjust(1)
    return builder.as_markup()


def reassigned_text(ticket: Ticket) -> str:
    return _("✅ Request №{number} is now with {name}: they have its card and conversation.").format(
        number=ticket.id, name=escape(ticket.operator_name or "?")
    )


def given_to_you_text(ticket: Ticket, by_name: str) -> str:
    """To the operator a coordinator gave a request to."""
    return _("👤 {name} gave you request №{number}: its card and conversation follow.").format(
        name=escape(by_name), number=ticket.id
    )
