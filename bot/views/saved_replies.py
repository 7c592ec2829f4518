"""Saved replies as the staff see them: the list on a request, one reply ready to send (or said to be
missing in the citizen's language), and /replies, where coordinators keep an office's list."""

from __future__ import annotations

import zlib
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import SUPPORTED_LANGUAGES
from bot.i18n import LANGUAGE_NAMES
from bot.services.directory import Directory
from bot.services.lengths import cut, utf16_length
from bot.services.saved_replies import MOST_PER_OFFICE, Problem, SavedReply
from bot.services.tickets import MAX_TEXT_LENGTH, Ticket
from bot.views.callbacks import SavedReplyUse
from bot.views.common import in_parts, office_name


def checksum(text: str) -> int:
    """Of a text shown to an operator: a Send sends it only if it still reads so."""
    return zlib.crc32(text.encode())


def language_name(code: str) -> str:
    return "«" + LANGUAGE_NAMES.get(code, code) + "»"


# --- on a request (operators) ---------------------------------------------------------------------------

SHOWN_LENGTH = 1200  # of each version on /replies' screens, in UTF-16 units


# A page of the list: an office's 50 and the national 50 would be 101 buttons with ✖️ Cancel, over
# Telegram's 100 (and a wall to scroll on a phone). 10 rows of two, then ◀️ ▶️ and ✖️ Cancel.
REPLIES_PER_PAGE = 20


def _pages(replies: list[SavedReply]) -> int:
    return max(1, -(-len(replies) // REPLIES_PER_PAGE))


def _page(replies: list[SavedReply], page: int) -> int:
    """The page to show: one that exists (the list may have shrunk since a ▶️ was shown)."""
    return min(max(page, 0), _pages(replies) - 1)


def choose_text(ticket: Ticket, replies: list[SavedReply], directory: Directory, page: int = 0) -> str:
    if not replies:
        return _("There are no saved replies for {office} yet. Coordinators add them with /replies.").format(
            office=escape(office_name(directory, ticket.office))
        )
    text = _("⚡ Saved replies for request №{number}. The citizen's language: {language}. ⚠️ marks a reply that has no version in it.").format(
        number=ticket.id, language=language_name(ticket.language)
    )
    if _pages(replies) > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=_page(replies, page) + 1, pages=_pages(replies))
    return text


def choose_keyboard(ticket: Ticket, replies: list[SavedReply], page: int = 0) -> InlineKeyboardMarkup:
    """A page of the replies (the office's own first, then the national ones), ◀️ ▶️ between pages
    and ✖️ Cancel on each."""
    page = _page(replies, page)
    shown = replies[page * REPLIES_PER_PAGE:(page + 1) * REPLIES_PER_PAGE]
    builder = InlineKeyboardBuilder()
    for reply in shown:
        mark = "" if reply.text_in(ticket.language) else " ⚠️"
        builder.button(text=f"{reply.name}{mark}", callback_data=SavedReplyUse(action="show", ticket=ticket.id, reply=reply.id))
    turns = 0
    if page > 0:
        builder.button(text="◀️", callback_data=SavedReplyUse(action="page", ticket=ticket.id, page=page - 1))
        turns += 1
    if page < _pages(replies) - 1:
        builder.button(text="▶️", callback_data=SavedReplyUse(action="page", ticket=ticket.id, page=page + 1))
        turns += 1
    builder.button(text=_("✖️ Cancel"), callback_data=SavedReplyUse(action="cancel", ticket=ticket.id))
    builder.adjust(*([2] * (len(shown) // 2)), *([1] * (len(shown) % 2)), *([turns] if turns else []), 1)
    return builder.as_markup()


def ready_text(ticket: Ticket, reply: SavedReply) -> str:
    """The reply in the citizen's language, as they will read it (above the office's signature)."""
    return "\n\n".join([
        _("⚡ “{name}” for the citizen of request №{number}, in {language}:").format(
            name=escape(reply.name), number=ticket.id, language=language_name(ticket.language)
        ),
        escape(reply.texts[ticket.language]),
    ])


def ready_keyboard(ticket: Ticket, reply: SavedReply) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("📨 Send"),
        callback_data=SavedReplyUse(action="send", ticket=ticket.id, reply=reply.id, shown=checksum(reply.texts[ticket.language])),
    )
    builder.button(
        text=_("✏️ Edit first"),
        callback_data=SavedReplyUse(action="edit", ticket=ticket.id, reply=reply.id, language=ticket.language),
    )
    builder.button(text=_("✖️ Cancel"), callback_data=SavedReplyUse(action="cancel", ticket=ticket.id))
    builder.adjust(2, 1)
    return builder.as_markup()


def missing_text(ticket: Ticket, reply: SavedReply) -> str:
    """The reply has no version in the citizen's language: said, and nothing is sent."""
    return _("“{name}” has no version in {language}, the language of the citizen of request №{number}. It exists in: {existing}. Write the answer yourself (you may start from another version), or ask a coordinator to add it in /replies.").format(
        name=escape(reply.name), language=language_name(ticket.language), number=ticket.id,
        existing=", ".join(language_name(code) for code in SUPPORTED_LANGUAGES if reply.text_in(code)),
    )


def missing_keyboard(ticket: Ticket, reply: SavedReply) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED_LANGUAGES:
        if reply.text_in(code):
            builder.button(
                text=_("✏️ Start from {language}").format(language=LANGUAGE_NAMES[code]),
                callback_data=SavedReplyUse(action="edit", ticket=ticket.id, reply=reply.id, language=code),
            )
    builder.button(text=_("✖️ Cancel"), callback_data=SavedReplyUse(action="cancel", ticket=ticket.id))
    builder.adjust(1)
    return builder.as_markup()


def sent_text(ticket: Ticket, reply: SavedReply) -> str:
    return "\n\n".join([
        _("✓ “{name}” sent to the citizen of request №{number}:").format(name=escape(reply.name), number=ticket.id),
        escape(reply.texts[ticket.language]),
    ])


def edit_prompt(ticket: Ticket) -> str:
    return _("✏️ Copy the next message, change what is needed and send it: it goes to the citizen of request №{number}.").format(
        number=ticket.id
    )


def no_current_text() -> str:
    return _("Choose the request first: press 💬 Answer this one on its card, or open it with /my. Then /r lists the saved replies.")


def unknown_name_text(name: str) -> str:
    return _("There is no saved reply “{name}”. /r lists those you can use.").format(name=escape(name))


# --- keeping the list (coordinators) ----------------------------------------------------------------

PART_LENGTH = 4000  # as bot/views/common.py's in_parts: under Telegram's 4,096, counted on the HTML

def kept_texts(office: str, replies: list[SavedReply], directory: Directory) -> list[str]:
    """An office's replies (up to 50, with the languages each misses) and how to change them, in as
    many messages as Telegram's 4,096 characters need; a line, and the usage, is never cut."""
    lines = [_("<b>Saved replies of {office}</b>").format(office=escape(office_name(directory, office)))]
    if not replies:
        lines.append(_("None yet."))
    for reply in replies:
        present = " ".join(code for code in SUPPORTED_LANGUAGES if reply.text_in(code))
        missing = [language_name(code) for code in reply.missing]
        line = f"• <code>{escape(reply.name)}</code> ({present})"
        if missing:
            line += " ⚠️ " + _("missing: {languages}").format(languages=", ".join(missing))
        lines.append(line)
    blocks = ["\n".join(lines), usage_text()]
    messages: list[str] = []
    for block in blocks:
        for part in in_parts(block):
            if messages and utf16_length(messages[-1]) + 2 + utf16_length(part) <= PART_LENGTH:
                messages[-1] += "\n\n" + part
            else:
                messages.append(part)
    return messages


def one_text(office: str, reply: SavedReply, directory: Directory) -> str:
    lines = [_("<b>“{name}”</b> of {office}").format(name=escape(reply.name), office=escape(office_name(directory, office)))]
    for code in SUPPORTED_LANGUAGES:
        text = reply.text_in(code)
        # Each version up to a third of a message: three long ones still fit in one.
        lines.extend(["", f"<b>{language_name(code)}</b>", escape(cut(text, SHOWN_LENGTH)) if text else _("⚠️ no version yet")])
    return "\n".join(lines)


def usage_text() -> str:
    return _(
        "To add or change a reply, send /replies set, its short name, the language (kk, ru or en) and on the next lines its text, "
        "for example:\n<code>/replies set thanks ru\nСпасибо, что обратились!</code>\n"
        "/replies show <i>name</i> shows one; /replies delete <i>name</i> deletes it, /replies delete <i>name</i> <i>language</i> one version. "
        "The national office's coordinators first name the region: /replies almaty set …"
    )


def problem_text(problem: Problem) -> str:
    return {
        Problem.BAD_NAME: _("A short name is 1 to 32 lower-case letters, digits or “_”, for example: thanks, registration."),
        Problem.BAD_LANGUAGE: _("The language is kk, ru or en."),
        Problem.EMPTY: _("The reply's text is missing: write it on the lines after the command."),
        Problem.TOO_LONG: _("A saved reply is at most {limit} characters (an emoji counts as two).").format(limit=MAX_TEXT_LENGTH),
        Problem.NOT_FOUND: _("There is no such saved reply (or no version of it in that language)."),
        Problem.TOO_MANY: _("An office keeps at most {count} saved replies: delete one first.").format(count=MOST_PER_OFFICE),
    }[problem]


def saved_text() -> str:
    return _("✅ Saved. Operators can use it at once.")


def deleted_text() -> str:
    return _("🗑 Deleted.")


def unknown_office_text() -> str:
    return _("There is no such front-office. Write the region as in /office, for example: almaty.")
