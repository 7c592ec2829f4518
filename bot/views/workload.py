"""/desk as coordinators see it: every office at a glance (the national office), one office's waiting
requests and operators' load, and the screens that reassign a request in a tap. Each screen shows
one page of a list that can be long (pages sized in bot/services/tickets/workload.py), with ◀️ ▶️
to turn them and ⬅️ Back up: under Telegram's 4,096 characters and 100 buttons at any scale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.directory import Directory
from bot.services.staff import Operator
from bot.services.tickets import Ticket
from bot.services.tickets.workload import OfficeDesk, OfficeLoad, Overview, Page
from bot.views.callbacks import DeskView
from bot.views.common import office_name
from bot.views.stats import duration
from bot.views.tickets import category_name


def _waited(since: datetime | None, now: datetime) -> str:
    return duration(max(0.0, (now - since).total_seconds())) if since is not None else "—"


def _page_line(page: Page) -> list[str]:
    return [_("Page {page} of {pages}").format(page=page.number + 1, pages=page.count)] if page.count > 1 else []


def _pager(page: Page, turn: Callable[[int], DeskView]) -> list[InlineKeyboardButton]:
    """◀️ ▶️ under a list longer than a page: each turns to the page before or after."""
    buttons = []
    if page.number > 0:
        buttons.append(InlineKeyboardButton(text="◀️", callback_data=turn(page.number - 1).pack()))
    if page.number < page.count - 1:
        buttons.append(InlineKeyboardButton(text="▶️", callback_data=turn(page.number + 1).pack()))
    return buttons


def _button(label: str, data: DeskView) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=label, callback_data=data.pack())


def _back(office: str) -> InlineKeyboardButton:
    """⬅️ Back to an office's page ("": to the desk)."""
    return _button(_("⬅️ Back"), DeskView(action="office", office=office) if office else DeskView(action="back"))


def _in_rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _waiting_line(load: OfficeLoad, directory: Directory, now: datetime) -> str:
    return _("{office}: {count}, the oldest waits {waited} (/ticket_{number})").format(
        office=escape(office_name(directory, load.office)), count=load.waiting,
        waited=_waited(load.oldest, now), number=load.oldest_ticket,
    )


def overview_text(overview: Overview, directory: Directory, now: datetime) -> str:
    """Every office at a glance, for the national office: where requests wait, how many are on duty."""
    lines = [_("<b>🖥 The desk now</b>")]
    if overview.waiting:
        lines.append(_("<b>Waiting to be taken</b>"))
        lines.extend(_waiting_line(load, directory, now) for load in overview.offices.items if load.waiting)
    else:
        lines.append(_("No request is waiting to be taken. 🎉"))
    lines.extend(["", _("<b>Operators</b>")])
    if overview.on_duty or overview.held:
        lines.append(_("On duty: {on_duty}; requests in work: {held}").format(on_duty=overview.on_duty, held=overview.held))
    else:
        lines.append(_("Nobody is on duty."))
    lines.extend([
        "", _("Press an office to see its operators (🟢 on duty) and its requests (🟡 waiting to be taken), or 🟡 Waiting for every office's."),
        *_page_line(overview.offices),
    ])
    return "\n".join(lines)


def overview_keyboard(overview: Overview, directory: Directory) -> InlineKeyboardMarkup | None:
    rows = []
    if overview.waiting:
        rows.append([_button(_("🟡 Waiting: {count}").format(count=overview.waiting), DeskView(action="held"))])
    rows.extend(
        [_button(f"{office_name(directory, load.office)} · 🟡 {load.waiting} · 🟢 {load.on_duty}", DeskView(action="office", office=load.office))]
        for load in overview.offices.items
    )
    rows.append(_pager(overview.offices, lambda number: DeskView(action="back", page=number)))
    return _markup(rows)


def office_text(desk: OfficeDesk, directory: Directory, now: datetime) -> str:
    """One office: its waiting requests, and a page of its operators with their load."""
    lines = [f"<b>🖥 {escape(office_name(directory, desk.load.office))}</b>"]
    if desk.load.waiting:
        lines.extend([_("<b>Waiting to be taken</b>"), _waiting_line(desk.load, directory, now)])
    else:
        lines.append(_("No request is waiting to be taken. 🎉"))
    lines.extend(["", _("<b>Operators</b>")])
    if not desk.operators.total:
        lines.append(_("Nobody is on duty."))
    for load in desk.operators.items:
        duty = "🟢" if load.on_duty else _("⚪️ off duty,")
        line = _("{duty} {name} ({office}): in work {held}").format(
            duty=duty, name=escape(load.name), office=escape(office_name(directory, load.office)), held=load.held
        )
        if load.oldest_unanswered is not None:
            line += " · " + _("a citizen waits for an answer {waited}").format(waited=_waited(load.oldest_unanswered, now))
        lines.append(line)
    lines.extend(["", _("To give a request to someone else, press the operator who holds it, or the waiting ones."), *_page_line(desk.operators)])
    return "\n".join(lines)


def office_keyboard(desk: OfficeDesk, every_office: bool) -> InlineKeyboardMarkup | None:
    """`every_office`: the coordinator reaches every office, so ⬅️ Back leads to them all."""
    office = desk.load.office
    buttons = []
    if desk.load.waiting:
        buttons.append(_button(_("🟡 Waiting: {count}").format(count=desk.load.waiting), DeskView(action="held", office=office)))
    buttons.extend(
        _button(f"👤 {load.name}: {load.held}", DeskView(action="held", operator=load.operator_id, office=office))
        for load in desk.operators.items if load.held
    )
    rows = [
        *_in_rows(buttons, 2),
        _pager(desk.operators, lambda number: DeskView(action="office", office=office, page=number)),
        [_back("")] if every_office else [],
    ]
    return _markup(rows)


def requests_text(holder: Operator | None, found: Page[Ticket], directory: Directory) -> str:
    if holder is None:
        head = _("Waiting to be taken, oldest first. Press one to give it to an operator on duty:")
    else:
        head = _("Requests {name} holds, oldest first. Press one to give it to someone else:").format(name=escape(holder.name))
    if not found.total:
        return _("Nothing here any more.")
    lines = [head, *(f"№{t.id} · {category_name(t.category)} · {escape(office_name(directory, t.office))}" for t in found.items)]
    return "\n".join([*lines, *_page_line(found)])


def requests_keyboard(found: Page[Ticket], holder: int, office: str) -> InlineKeyboardMarkup:
    """The requests of the page, ◀️ ▶️, and ⬅️ Back to the office's page they were listed from."""
    numbers = [_button(f"№{ticket.id}", DeskView(action="pick", ticket=ticket.id)) for ticket in found.items]
    rows = [
        *_in_rows(numbers, 4),
        _pager(found, lambda number: DeskView(action="held", operator=holder, office=office, page=number)),
        [_back(office)],
    ]
    markup = _markup(rows)
    assert markup is not None
    return markup


def candidates_text(ticket: Ticket, people: Page[Operator]) -> str:
    if not people.total:
        return _("Nobody else who may take request №{number} is on duty now.").format(number=ticket.id)
    return "\n".join([_("Give request №{number} to:").format(number=ticket.id), *_page_line(people)])


def candidates_keyboard(ticket: Ticket, people: Page[Operator], directory: Directory) -> InlineKeyboardMarkup:
    rows = [
        [_button(f"{person.name} ({office_name(directory, person.office)})", DeskView(action="to", ticket=ticket.id, operator=person.telegram_id))]
        for person in people.items
    ]
    rows.append(_pager(people, lambda number: DeskView(action="pick", ticket=ticket.id, page=number)))
    rows.append([_back(ticket.office)])
    markup = _markup(rows)
    assert markup is not None
    return markup


def reassigned_text(ticket: Ticket) -> str:
    return _("✅ Request №{number} is now with {name}: they have its card and conversation.").format(
        number=ticket.id, name=escape(ticket.operator_name or "?")
    )


def reassigned_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    """Back to the office the request is at, to go on with the next one."""
    return InlineKeyboardMarkup(inline_keyboard=[[_back(ticket.office)]])


def given_to_you_text(ticket: Ticket, by_name: str) -> str:
    """To the operator a coordinator gave a request to."""
    return _("👤 {name} gave you request №{number}: its card and conversation follow.").format(
        name=escape(by_name), number=ticket.id
    )
