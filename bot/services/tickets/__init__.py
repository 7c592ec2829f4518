"""Tickets: what the knowledge base could not answer, in the hands of a front-office. Knows nothing
of Telegram.

A ticket is a citizen's free question or request for volunteers' help. It starts `new` at the
citizen's regional office; every on-duty operator there (the national office's when the region has
none on duty) is owed a card. The first operator to take it answers it; the citizen and the operator
then talk through the bot. It ends `closed`, by either side, and the citizen may rate it.

Every message a change causes is owed through the outbox in the change's transaction, and every
time limit is a timer row, so neither a crash nor a restart loses them:
- T1 (`Limits.remind_after`): a ticket nobody took reminds the operators who got its card;
- T2 (`Limits.escalate_after`): still nobody, and it goes up to the national office;
- T3 (`Limits.answer_after`): a citizen's message unanswered that long reminds the assignee.

Who may act: an operator of the ticket's office, or of the national office, which sees every region.

The package: `model` (what a ticket is), `reading`, `citizens`, `operators`, `owed` (what a change
owes people, the clocks), `deadlines` (the time limits' timers, deliveries that failed); `queries`
holds the statements they share. Import from the package: `from bot.services import tickets`.
"""

from __future__ import annotations

from bot.services.tickets.model import (
    ALREADY_OPEN,
    ALREADY_THEIRS,
    TOO_LATE,
    CALLBACK,
    CALL_OUTCOMES,
    CALL_WINDOW,
    CALL_RETRY,
    CANNOT_TAKE,
    CAPTIONED_KINDS,
    CLOSED,
    CONTENT_KINDS,
    Content,
    HELP,
    HELP_CATEGORIES,
    Limits,
    MAX_CAPTION_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_STAFF_NOTE_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_FOUND,
    NOT_YOURS,
    NO_OPEN_TICKET,
    Notice,
    PASSED_ON,
    QUESTION,
    RECENT_TICKETS,
    SAME_OFFICE,
    Said,
    Status,
    TAKEN_BY_OTHER,
    Ticket,
    TicketError,
)
from bot.services.tickets.reading import (
    EARLIER_SHOWN,
    cards_in_chat,
    earlier_of,
    first_from_citizen,
    get_message,
    get_ticket,
    history,
    history_for,
    link,
    linked_ticket,
    ticket_of_bot_message,
    open_ticket_of,
    queue,
    replied_ticket,
    taken_by,
    ticket_for,
    tickets_of,
)
from bot.services.tickets.owed import (
    notify,
    use_limits,
)
from bot.services.tickets.citizens import (
    recently_closed,
    reopen,
    citizen_says,
    close_by_citizen,
    comment,
    open_ticket,
    rate,
)
from bot.services.tickets.operators import (
    add_note,
    call_made,
    answerable,
    close_by_operator,
    close_for_block,
    close_for_forgotten,
    hand_back,
    hand_back_all,
    make_current,
    operator_says,
    release_tickets_of,
    take,
    transfer,
)
from bot.services.tickets.relaying import (
    TooLong,
    copies_in_chat,
    edit_said,
    first_of_album,
    record_copy,
)
from bot.services.tickets.deadlines import (
    citizen_blocked,
    citizen_is_back,
    relay_unconfirmed,
)

__all__ = [
    "ALREADY_OPEN", "ALREADY_THEIRS", "TOO_LATE", "CALLBACK", "CALL_OUTCOMES", "CALL_WINDOW", "CALL_RETRY", "recently_closed", "reopen", "CANNOT_TAKE", "CAPTIONED_KINDS", "CLOSED", "CONTENT_KINDS",
    "EARLIER_SHOWN", "HELP", "HELP_CATEGORIES", "MAX_CAPTION_LENGTH", "MAX_COMMENT_LENGTH",
    "MAX_NOTE_LENGTH", "MAX_STAFF_NOTE_LENGTH", "MAX_TEXT_LENGTH", "NOT_FOUND", "NOT_YOURS",
    "NO_OPEN_TICKET", "PASSED_ON", "QUESTION", "RECENT_TICKETS", "SAME_OFFICE", "TAKEN_BY_OTHER",
    "Content", "Limits", "Notice", "Said", "Status", "Ticket", "TicketError", "TooLong", "add_note", "call_made",
    "answerable", "cards_in_chat", "citizen_blocked", "citizen_is_back", "citizen_says", "ticket_of_bot_message",
    "close_by_citizen", "close_by_operator", "close_for_block", "close_for_forgotten", "comment",
    "copies_in_chat", "earlier_of", "edit_said", "first_of_album", "first_from_citizen", "get_message", "get_ticket",
    "hand_back", "hand_back_all", "history", "history_for", "link", "linked_ticket", "make_current",
    "notify", "use_limits", "open_ticket", "open_ticket_of", "operator_says", "queue", "rate", "record_copy",
    "relay_unconfirmed", "release_tickets_of", "replied_ticket", "take", "taken_by", "ticket_for",
    "tickets_of", "transfer",
]
