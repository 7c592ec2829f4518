"""How tickets read, to citizens and to operators, in the current language: cards, relayed
messages, notices, and their buttons. Shared by the handlers and by the deliveries of the outbox,
which render what is owed in the recipient's language when it is sent, so a card always shows the
ticket as it is then."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape, unescape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime

from bot.i18n import LANGUAGE_NAMES, N_
from bot.services.abuse import Block
from bot.services.calendar import WorkingCalendar
from bot.services.directory import NATIONAL, Directory
from bot.services.lengths import cut, utf16_length
from bot.services.staff import Operator
from bot.services.tickets import CALLBACK, HELP, Limits, Said, Status, Ticket
from bot.views.callbacks import CallWindow, RatingChoice, RequestAction, SavedReplyUse, TicketAction, TransferTo
from bot.views.common import office_name

CATEGORY_NAMES = {
    "question": N_("Question"),
    "elderly": N_("An older or disabled person"),
    "family": N_("A family in need"),
    "animals": N_("Animals"),
    "ecology": N_("Clean-up, ecology"),
    "emergency": N_("An emergency"),
    "other": N_("Other help"),
    "callback": N_("A call back"),
}
CALL_BUTTONS = {"called": N_("📞 Called"), "no_answer": N_("📵 No answer"), "reached": N_("✅ Reached")}
CALL_OUTCOME_NAMES = {
    "called": N_("📞 called"),
    "no_answer": N_("📵 no answer, to call again"),
    "reached": N_("✅ reached, talked"),
}
# The help form's answers, as the card and the summary label them.
HELP_FIELDS = {"need": N_("What is needed"), "place": N_("Where"), "when": N_("When")}
# In UTF-16 units of the visible text, as Telegram counts.
PREVIEW_LENGTH = 700
HISTORY_LENGTH = 3500  # of a card's history, under Telegram's 4096
_TAG = re.compile(r"<[^>]*>")


def category_name(category: str) -> str:
    return _(CATEGORY_NAMES.get(category, CATEGORY_NAMES["other"]))


def local_time(moment: datetime, directory: Directory) -> str:
    """A time as the offices tell it (Astana time), in the reader's language."""
    zone = directory.service_hours.zone
    return format_datetime(moment.astimezone(zone), "d MMMM, HH:mm", locale=get_i18n().current_locale)


def number(ticket: Ticket) -> str:
    return f"№{ticket.id}"


def content_text(said: Said, limit: int | None = None) -> str:
    """A message of the ticket as text: its words, or what it was (a photo…) and its caption;
    cut to `limit` UTF-16 units before escaping, so no HTML entity is cut in half."""
    content = said.content
    labels = {
        "photo": _("[photo]"), "video": _("[video]"), "animation": _("[GIF]"), "document": _("[document]"),
        "audio": _("[audio]"), "voice": _("[voice message]"), "video_note": _("[video message]"),
        "sticker": _("[sticker]"), "contact": _("[contact]"), "location": _("[location]"),
    }
    words = content.text or ""
    if content.kind == "sticker":
        words = content.extra.get("emoji") or ""
    elif content.kind == "contact":
        words = " ".join(filter(None, (content.extra.get("first_name"), content.extra.get("last_name"),
                                       content.extra.get("phone_number"))))
    if limit is not None:
        words = cut(words, limit)
    words = (escape(words) + edited_mark(said)).strip()
    if content.kind == "text":
        return words
    return f"{labels[content.kind]} {words}".strip()


def edited_mark(said: Said) -> str:
    """After the words of a message its author changed since it was relayed."""
    return " " + _("✏️ (edited)") if said.content.extra.get("edited_at") else ""


def status_for_citizen(ticket: Ticket) -> str:
    if ticket.status is Status.NEW:
        return _("waiting for an operator")
    if ticket.status is Status.TAKEN:
        return _("an operator is answering")
    return _("closed")


def expected_answer(ticket: Ticket, directory: Directory, limits: Limits, calendar: WorkingCalendar, now: datetime) -> str:
    """When to expect an answer: within the time limit while the office works; else when it opens
    (after a weekend, a public holiday or a day off)."""
    opening = calendar.next_opening(now)
    office = escape(office_name(directory, ticket.office))
    if opening is None:
        minutes = max(1, round(limits.escalate_after.total_seconds() / 60))
        return _("The front-office of {office} is at work now: an operator will answer here, usually within {minutes} min.").format(
            office=office, minutes=minutes
        )
    return _("The front-office of {office} is closed now. It opens on {time} (Astana time), and an operator will answer you here then.").format(
        office=office, time=local_time(opening, directory)
    )


# --- to the citizen --------------------------------------------------------------------------------

def opened_text(ticket: Ticket, directory: Directory, limits: Limits, calendar: WorkingCalendar, now: datetime) -> str:
    registered = _("✅ Your request {number} is registered and passed to the front-office of {office}.").format(
        number=number(ticket), office=escape(office_name(directory, ticket.office))
    )
    if ticket.kind == CALLBACK:
        return "\n\n".join([
            registered,
            _("📞 An operator will call you at {phone} in the window you chose: {window} (Astana time).").format(
                phone=escape(ticket.phone or ""), window=call_window(ticket, directory)
            ),
            _("Anything you write here now is added to this request. To see or close it: 📋 My requests."),
        ])
    return "\n\n".join([
        registered,
        expected_answer(ticket, directory, limits, calendar, now),
        _("Anything you write here now is added to this request. To see or close it: 📋 My requests."),
    ])


def window_text(start: datetime, end: datetime, directory: Directory) -> str:
    """A time window as the offices tell it: "8 December, 14:00–16:00" (Astana time)."""
    zone = directory.service_hours.zone
    return f"{local_time(start, directory)}–{end.astimezone(zone):%H:%M}"


def call_window(ticket: Ticket, directory: Directory) -> str:
    details = ticket.details
    if not details.get("window_from") or not details.get("window_to"):
        return "—"
    return window_text(datetime.fromisoformat(details["window_from"]), datetime.fromisoformat(details["window_to"]), directory)


def signature(directory: Directory, slug: str) -> str:
    """How an operator's message is signed: with their front-office, never their own name."""
    office = directory.get(slug)
    if office is None or office.is_national:
        return "— " + escape(office_name(directory, slug))
    return "— " + escape(_("{region}: regional volunteer front-office").format(region=office_name(directory, slug)))


def citizen_ticket_line(ticket: Ticket) -> str:
    return _("{number} · {category} · {status}").format(
        number=number(ticket), category=category_name(ticket.category), status=status_for_citizen(ticket)
    )


def my_requests_text(tickets: list[Ticket]) -> str:
    if not tickets:
        return _("You have no requests yet. To ask a person: 💬 Ask an operator or 🆘 Need volunteers' help.")
    lines = [_("<b>My requests</b>"), *(citizen_ticket_line(t) for t in tickets)]
    return "\n".join(lines)


def my_requests_keyboard(tickets: list[Ticket]) -> InlineKeyboardMarkup | None:
    open_ones = [t for t in tickets if t.is_open]
    if not open_ones:
        return None
    builder = InlineKeyboardBuilder()
    for ticket in open_ones:
        builder.button(
            text=_("✖️ Close request {number}").format(number=number(ticket)),
            callback_data=RequestAction(action="close", ticket=ticket.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def rating_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for stars in range(1, 6):
        builder.button(text=f"{stars} ⭐", callback_data=RatingChoice(ticket=ticket.id, stars=stars))
    builder.adjust(5)
    return builder.as_markup()


def citizen_notice(notice: str, ticket: Ticket, directory: Directory) -> str:
    office = escape(office_name(directory, ticket.office))
    if notice == "taken":
        return _("👩‍💼 An operator of {office} has taken your request {number}. The answer will come here.").format(
            office=office, number=number(ticket)
        )
    if notice == "transferred":
        return _("↪️ Your request {number} has been passed to the front-office of {office}.").format(
            number=number(ticket), office=office
        )
    if notice == "reopened":
        if ticket.status is Status.TAKEN:
            return _("🔁 Your request {number} is open again, and your message is with the operator who answered it before.").format(
                number=number(ticket))
        return _("🔁 Your request {number} is open again and passed to the front-office of {office}: an operator will answer here.").format(
            number=number(ticket), office=office)
    if notice == "call_missed":
        if ticket.details.get("window_from") and ticket.details.get("window_to"):
            return _("📵 An operator of {office} called you about request {number} but could not reach you. They will call again: {window} (Astana time). You can also write here.").format(
                office=office, number=number(ticket), window=call_window(ticket, directory))
        return _("📵 An operator of {office} called you about request {number} but could not reach you. They will call again; you can also write here.").format(
            office=office, number=number(ticket))
    if notice == "unconfirmed":
        return _("⚠️ Your last message for request {number} may not have reached the operator: the connection broke before Telegram confirmed it. If it matters, please send it again.").format(
            number=number(ticket)
        )
    # closed
    parts = [_("✅ Your request {number} is closed.").format(number=number(ticket))]
    if ticket.resolution:
        parts.append(_("Answer: {resolution}").format(resolution=escape(ticket.resolution)))
    parts.append(_("How helpful was the answer? Rate it from 1 to 5:"))
    return "\n\n".join(parts)


# --- to operators ----------------------------------------------------------------------------------

def card_text(
    ticket: Ticket, directory: Directory, first: Said | None, for_operator: int, blocked: Block | None = None,
    earlier: tuple[list[Ticket], int] = ([], 0),
) -> str:
    """A ticket as an operator sees it: what, where, in which language, its state and first message,
    whether its author is blocked (`blocked`, the block of `ticket.citizen_id`) and by whom, and the
    citizen's other requests the operator may see (`earlier`: the newest, and how many in all)."""
    lines = [
        _("📨 <b>Request {number}</b> · {category}").format(number=number(ticket), category=category_name(ticket.category)),
        _("Region: {region} · Language: {language}").format(
            region=escape(office_name(directory, ticket.region)), language=LANGUAGE_NAMES.get(ticket.language, ticket.language)
        ),
        _("Opened: {time}").format(time=local_time(ticket.created_at, directory)),
    ]
    if ticket.office != ticket.region:
        lines.append(_("Now at: {office}").format(office=escape(office_name(directory, ticket.office))))
    if ticket.kind == HELP:
        lines.extend(
            f"{_(label)}: {escape(str(ticket.details[key]))}" for key, label in HELP_FIELDS.items() if ticket.details.get(key)
        )
        if ticket.phone:
            lines.append(_("Phone: {phone}").format(phone=escape(ticket.phone)))
    if ticket.kind == CALLBACK and ticket.details.get("window_from"):
        lines.append(_("📞 Call back: {phone}, in the window {window} (Astana time)").format(
            phone=escape(ticket.phone or "—"), window=call_window(ticket, directory)))
    elif ticket.kind == CALLBACK:  # reopened: its window was for the first call
        lines.append(_("Phone: {phone}").format(phone=escape(ticket.phone or "—")))
    if first is not None and (ticket.kind != HELP or first.content.kind != "text"):
        lines.extend(["", content_text(first, PREVIEW_LENGTH)])
    lines.extend(["", card_status(ticket, for_operator)])
    if ticket.citizen_unreachable and ticket.is_open:
        lines.append(_("⚠️ The citizen has blocked the bot: messages do not reach them."))
    if blocked is not None:
        lines.append(
            _("⛔ The author was blocked by {name} on {time}: the front-office does not receive their messages.").format(
                name=escape(blocked.blocked_by_name or "?"), time=local_time(blocked.blocked_at, directory)
            )
        )
    shown, count = earlier
    if count:
        lines.extend(["", _("🗂 The citizen's other requests: {count}").format(count=count)])
        lines.extend(earlier_line(other, directory) for other in shown)
    return "\n".join(lines)


def earlier_line(ticket: Ticket, directory: Directory) -> str:
    """One of the citizen's other requests on a card: tap the number to open it."""
    if ticket.status is Status.NEW:
        state = _("🟡 waiting")
    elif ticket.status is Status.TAKEN:
        state = _("🔵 in work")
    else:
        state = _("⚪️ closed")
    rating = f" · {ticket.rating} ⭐" if ticket.rating else ""
    return f"/ticket_{ticket.id} · {local_time(ticket.created_at, directory)} · {category_name(ticket.category)} · {state}{rating}"


def moved_card_text(ticket: Ticket, directory: Directory, first: Said | None) -> str:
    """A card in the chat of an operator whose office the ticket has left: what it was, where it went."""
    lines = [
        _("📨 <b>Request {number}</b> · {category}").format(number=number(ticket), category=category_name(ticket.category)),
    ]
    if first is not None:
        lines.extend(["", content_text(first, PREVIEW_LENGTH)])
    lines.extend(["", _("↪️ Passed to {office}").format(office=escape(office_name(directory, ticket.office)))])
    return "\n".join(lines)


def card_status(ticket: Ticket, for_operator: int) -> str:
    if ticket.status is Status.NEW:
        return _("🟡 Waiting for an operator")
    if ticket.status is Status.TAKEN:
        if ticket.operator_id == for_operator:
            return _("🟢 Yours: reply to any message of this request to answer the citizen.")
        return _("🔵 Taken by {name}").format(name=escape(ticket.operator_name or "?"))
    closed = _("⚪️ Closed")
    if ticket.resolution:
        closed += ": " + escape(ticket.resolution)
    return closed


def card_keyboard(ticket: Ticket, for_operator: int) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if ticket.status is Status.NEW:
        builder.button(text=_("✋ Take"), callback_data=TicketAction(action="take", ticket=ticket.id))
        builder.button(text=_("↪️ Transfer"), callback_data=TicketAction(action="transfer", ticket=ticket.id))
    elif ticket.status is Status.TAKEN and ticket.operator_id == for_operator:
        if ticket.kind == CALLBACK:
            for outcome in ("called", "no_answer", "reached"):
                builder.button(text=_(CALL_BUTTONS[outcome]), callback_data=TicketAction(action=outcome, ticket=ticket.id))
        builder.button(text=_("💬 Answer this one"), callback_data=TicketAction(action="reply", ticket=ticket.id))
        builder.button(text=_("⚡ Saved replies"), callback_data=SavedReplyUse(action="list", ticket=ticket.id))
        builder.button(text=_("📜 History"), callback_data=TicketAction(action="history", ticket=ticket.id))
        builder.button(text=_("📝 Note"), callback_data=TicketAction(action="note", ticket=ticket.id))
        builder.button(text=_("↪️ Transfer"), callback_data=TicketAction(action="transfer", ticket=ticket.id))
        builder.button(text=_("✅ Close"), callback_data=TicketAction(action="close", ticket=ticket.id))
        builder.button(text=_("↩️ Hand back to the queue"), callback_data=TicketAction(action="hand_back", ticket=ticket.id))
        builder.adjust(*((3,) if ticket.kind == CALLBACK else ()), 2, 2, 2, 1)
        return builder.as_markup()
    else:
        return None
    builder.adjust(2)
    return builder.as_markup()


def relayed_to_operator(ticket: Ticket, said: Said, limit: int | None = None) -> str:
    """The header of a citizen's message as the assignee receives it."""
    header = _("💬 {number}, the citizen:").format(number=number(ticket))
    body = content_text(said, limit)
    return f"{header}\n{body}" if body else header


def history_text(ticket: Ticket, directory: Directory, messages: list[Said]) -> str:
    lines = [_("📜 <b>Request {number}</b>").format(number=number(ticket))]
    for said in messages:
        when = local_time(said.created_at, directory)
        if said.author == "citizen":
            who = _("Citizen")
        elif said.author == "operator":
            who = _("Operator")
        elif said.author == "note":
            # Staff only: the citizen never sees a note, and the history says whose it is.
            who = _("📝 Internal note, {name}").format(name=escape(said.author_name or "?"))
        else:
            who = _("Note")
        event = said.content.extra.get("event")
        if event == "transfer":
            body = _("transferred from {source} to {target}").format(
                source=escape(office_name(directory, said.content.extra["from"])),
                target=escape(office_name(directory, said.content.extra["to"])),
            )
            if said.content.text:
                body += f": {escape(said.content.text)}"
        elif event == "escalated":
            body = _("nobody took it in time; passed up to the national office")
        elif event == "released":
            body = _("back to the front-office: its operator was moved or removed")
        elif event == "handed_back":
            body = _("handed back to the queue by {name}").format(name=escape(said.author_name or "?"))
            if said.content.text:
                body += f": {escape(said.content.text)}"
        elif event == "call":
            body = _(CALL_OUTCOME_NAMES.get(said.content.extra.get("outcome"), CALL_OUTCOME_NAMES["called"]))
            who = escape(said.author_name or who)
        elif event == "reopened":
            body = _("reopened by the citizen")
            if said.content.text:
                body += "; " + _("it had been closed with: {resolution}").format(resolution=escape(said.content.text))
            if said.content.extra.get("rating"):
                body += f" ({said.content.extra['rating']} ⭐"
                if said.content.extra.get("comment"):
                    body += f": {escape(said.content.extra['comment'])}"
                body += ")"
        elif event == "reassigned":
            body = _("{name} gave it to {operator}").format(
                name=escape(said.author_name or "?"), operator=escape(said.content.extra.get("to_name") or "?")
            )
        elif event == "off_duty":
            body = _("back to the queue: {name} went off duty").format(name=escape(said.author_name or "?"))
        else:
            body = content_text(said, PREVIEW_LENGTH)
        lines.append(f"<i>{when}</i> <b>{who}</b>: {body}")
    return _newest_that_fit(lines[0], lines[1:], HISTORY_LENGTH)


def visible_length(html: str) -> int:
    """How long Telegram counts a text of the bot's HTML: tags gone, entities one character, in
    UTF-16 units. (Every person's words in it are escaped, so each `<` starts one of our tags.)"""
    return utf16_length(unescape(_TAG.sub("", html)))


def _newest_that_fit(title: str, lines: list[str], limit: int) -> str:
    """The title and as many of the newest whole lines as fit in `limit` visible units, with "…"
    where older ones were left out. Whole lines of HTML are kept or dropped, never cut."""
    gap = "\n…"
    room = limit - visible_length(title) - utf16_length(gap)
    kept: list[str] = []
    for line in reversed(lines):
        length = visible_length(line) + 1  # and its line break
        if length > room:
            break
        kept.append(line)
        room -= length
    kept.reverse()
    return "\n".join([title, *([gap.strip()] if len(kept) < len(lines) else []), *kept])


def staff_unreachable_notice(operator: Operator, directory: Directory, bot_username: str) -> str:
    """To coordinators: a colleague on duty does not get the bot's messages, so requests do not
    reach them; taken off duty until they open the bot."""
    return _(
        "⚠️ {name} ({office}) does not receive the bot's messages: they have not opened the bot, or have "
        "blocked it. New requests no longer go to them: they are off duty. Ask them to open @{bot} and "
        "press Start, then go on duty with /duty."
    ).format(name=escape(operator.name), office=escape(office_name(directory, operator.office)), bot=bot_username)


def operator_notice(notice: str, ticket: Ticket, directory: Directory) -> str:
    office = escape(office_name(directory, ticket.office))
    texts = {
        "remind": _("⏰ Request {number} ({office}) has been waiting and nobody has taken it yet."),
        "escalated": _("⬆️ Request {number} was not taken in its region in time and has come up to the national office."),
        "unanswered": _("⏰ The citizen of request {number} is waiting for your answer."),
        "citizen_closed": _("The citizen has closed request {number}."),
        "unreachable": _("⚠️ The citizen of request {number} has blocked the bot: your messages no longer reach them."),
        "unconfirmed": _("⚠️ Your last message to the citizen of request {number} may not have reached them: the connection broke before Telegram confirmed it. It is not sent again by itself, so that it never arrives twice; send it again if it matters."),
        "blocked": _("⛔ Request {number} is closed: a coordinator blocked its citizen. Reason: {reason}"),
        "reopened": _("🔁 The citizen has reopened request {number}: its card and their new message follow."),
        "call_again": _("📞 Time to call the citizen of request {number} again: {phone}. Nobody answered last time."),
        "call_due": _("📞 The window the citizen of request {number} chose has begun: call {phone} now."),
        "reopened_queue": _("🔁 The citizen has reopened request {number}: its card follows, and their new message comes when you take it."),
    }
    return texts[notice].format(
        number=number(ticket), office=office, reason=escape(ticket.resolution or ""), phone=escape(ticket.phone or "")
    )


def note_prompt(ticket: Ticket) -> str:
    return _("📝 An internal note on request {number}, for staff only: the citizen does not see it. Write it in one message.").format(
        number=number(ticket)
    )


def note_added(ticket: Ticket) -> str:
    return _("📝 The note is added to request {number}. The citizen does not see it.").format(number=number(ticket))


def note_to_operator(ticket: Ticket, said: Said) -> str:
    """A colleague's note, to the operator holding the request. Not linked to the request: a reply
    to it must not reach the citizen by mistake."""
    return "\n".join([
        _("📝 {name} left a note on your request {number} (the citizen does not see it):").format(
            name=escape(said.author_name or "?"), number=number(ticket)
        ),
        content_text(said),
    ])


def nobody_on_duty_text(ticket: Ticket, directory: Directory) -> str:
    """To coordinators: a new request reaches nobody, as no operator who could take it is on duty."""
    values = {
        "number": number(ticket), "region": escape(office_name(directory, ticket.region)),
        "time": local_time(ticket.created_at, directory), "office": escape(office_name(directory, ticket.office)),
        "id": ticket.id,
    }
    if ticket.office == NATIONAL:
        return _("🚨 Nobody is on duty to take request {number} ({region}, waiting since {time}): no operator of the national office is on duty. Go on duty with /duty and take it (/ticket_{id}), or call your operators.").format(**values)
    return _("🚨 Nobody is on duty to take request {number} ({region}, waiting since {time}): no operator of {office} or of the national office is on duty. Go on duty with /duty and take it (/ticket_{id}), or call your operators.").format(**values)


def hand_back_prompt(ticket: Ticket) -> str:
    return _("↩️ Request {number} goes back to the queue, and your colleagues on duty get its card. Write a note for whoever takes it: what has been done and what is left (one message).").format(
        number=number(ticket)
    )


def handed_back_text(ticket: Ticket, directory: Directory) -> str:
    return _("↩️ Request {number} is back in the queue of {office}.").format(
        number=number(ticket), office=escape(office_name(directory, ticket.office))
    )


def already_open_text(ticket_id: int) -> str:
    """A person with an open request who starts another."""
    return _("Your request №{number} is still open. Write here and it is added to that request, or close it in 📋 My requests to start a new one.").format(
        number=ticket_id
    )


def offices_keyboard(ticket: Ticket, directory: Directory) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    offices = [directory.national, *directory.regions]
    shown = [office for office in offices if office.slug != ticket.office]
    for office in shown:
        builder.button(text=office_name(directory, office.slug), callback_data=TransferTo(ticket=ticket.id, office=office.slug))
    builder.button(text=_("✖️ Cancel"), callback_data=TransferTo(ticket=ticket.id, office=""))
    national_first = 1 if shown[0].is_national else 0
    builder.adjust(*([1] * national_first), *([2] * ((len(shown) - national_first + 1) // 2)), 1)
    return builder.as_markup()


def ticket_step_cancel_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖️ Cancel"), callback_data=TicketAction(action="cancel", ticket=ticket_id))
    return builder.as_markup()


def about_closed_text(ticket: Ticket, directory: Directory) -> str:
    """A citizen who asks an operator soon after a request was closed."""
    return _("Your request {number} ({category}) was closed on {time}. Is this about it, or something new?").format(
        number=number(ticket), category=category_name(ticket.category),
        time=local_time(ticket.closed_at or ticket.created_at, directory),
    )


def about_closed_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🔁 About request {number}").format(number=number(ticket)), callback_data=RequestAction(action="about", ticket=ticket.id))
    builder.button(text=_("🆕 Something new"), callback_data=RequestAction(action="about", ticket=0))
    builder.button(text=_("✖️ Cancel"), callback_data=RequestAction(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def question_cancel_keyboard(call_back: bool = False) -> InlineKeyboardMarkup:
    """Under the prompt for a question: cancel, and (`call_back`) ask for a phone call instead."""
    builder = InlineKeyboardBuilder()
    if call_back:
        builder.button(text=_("📞 Call me back instead"), callback_data=RequestAction(action="call"))
    builder.button(text=_("✖️ Cancel"), callback_data=RequestAction(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def call_windows_keyboard(windows: list[tuple[datetime, datetime]], directory: Directory) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for start, end in windows:
        builder.button(text=window_text(start, end, directory), callback_data=CallWindow(start=int(start.timestamp())))
    builder.button(text=_("✖️ Cancel"), callback_data=RequestAction(action="cancel"))
    builder.adjust(*([2] * (len(windows) // 2)), *([1] * (len(windows) % 2)), 1)
    return builder.as_markup()


def close_confirm_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, close it"), callback_data=RequestAction(action="close_yes", ticket=ticket_id))
    builder.button(text=_("No, keep it open"), callback_data=RequestAction(action="close_no", ticket=ticket_id))
    builder.adjust(2)
    return builder.as_markup()


def no_comment_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("No comment"), callback_data=RequestAction(action="no_comment", ticket=ticket_id))
    return builder.as_markup()
