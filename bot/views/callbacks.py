"""Callback data of every inline button. Each stays well under Telegram's 64 bytes."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Purpose(StrEnum):
    """Where a language or region button was shown: first set-up, the settings, or joining the
    marathon."""

    ONBOARDING = "o"
    SETTINGS = "s"
    MARATHON = "m"


class LanguageChoice(CallbackData, prefix="lang"):
    code: str
    purpose: Purpose


class ConsentChoice(CallbackData, prefix="consent"):
    agree: bool


class RegionChoice(CallbackData, prefix="reg"):
    slug: str
    purpose: Purpose


class SettingsAction(CallbackData, prefix="set"):
    action: str  # "language", "region", "announcements", "privacy", "back"


class KnowledgeView(StrEnum):
    TOPICS = "ts"
    TOPIC = "t"
    ANSWER = "a"


class KnowledgeNav(CallbackData, prefix="kb"):
    view: KnowledgeView
    topic: str = ""
    question: str = ""
    page: int = 0


class ForgetChoice(CallbackData, prefix="forget"):
    confirm: bool


class TicketAction(CallbackData, prefix="tk"):
    """An operator's button on a ticket card."""

    action: str  # "take", "reply", "transfer", "close", "history", "note", "hand_back", "open", "cancel"
    ticket: int


class SavedReplyUse(CallbackData, prefix="sr"):
    """An operator's saved reply on a request: "list" the usable ones (in a new message), "page"
    turns the list's pages, "show" one (its version in the citizen's language), "send" it, "edit"
    it (the version in `language`), "cancel"."""

    action: str
    ticket: int
    reply: int = 0
    language: str = ""
    shown: int = 0  # "send": a checksum of the text shown, so a text changed since is not sent unread
    page: int = 0  # "page": which page of the list to show (from 0)


class DutyChoice(CallbackData, prefix="dt"):
    """Going off duty with requests in hand: keep them, or hand them back to the office's queue.
    `held`: a checksum of the requests asked about; pressed when they are no longer the same (an
    old question), the button does nothing."""

    hand_back: bool
    held: int = 0


class DeskView(CallbackData, prefix="dk"):
    """/desk: "back" shows the desk again (every office, for the national office: its `page`),
    "office" one office's page (its operators' `page`), "held" lists the requests `operator` holds
    (0: those waiting, at `office` or everywhere) from `office`'s page, "pick" offers who may be
    given `ticket`, "to" gives it to `operator`. Lists longer than a screen are shown a `page` at a
    time (from 0)."""

    action: str
    operator: int = 0
    ticket: int = 0
    office: str = ""
    page: int = 0


class CallWindow(CallbackData, prefix="cw"):
    """"Call me back": the window the citizen chose, by its start (Unix time)."""

    start: int


class TransferTo(CallbackData, prefix="tt"):
    """Where an operator transfers a ticket: a region's slug or `national`; "" cancels."""

    ticket: int
    office: str


class RequestAction(CallbackData, prefix="rq"):
    """A citizen's button about their own requests."""

    action: str  # "ask" (start a question: answers sent before AskFromAnswer), "close", "close_yes", "close_no", "cancel",
    # "about" (a new question is about the request closed lately, `ticket`; 0: something new)
    ticket: int = 0


class RatingChoice(CallbackData, prefix="rate"):
    ticket: int
    stars: int


class HelpFormStep(CallbackData, prefix="hf"):
    """The help form's buttons: a category, or an action on the summary."""

    action: str  # "category", "send", "edit", "field", "cancel", "now"
    value: str = ""


class MarathonNav(CallbackData, prefix="mr"):
    """The marathon's screens and the steps of joining and logging a deed."""

    action: str  # "home", "join", "as", "anonymous", "keep_region", "log", "kind", "date", "photos_done",
    #              "confirm", "back", "cancel", "mine", "results", "record", "certificate", "record_file"
    value: str = ""


class DeedReview(CallbackData, prefix="dr"):
    action: str  # "approve", "reject", "reason", "other", "correct", "next"; an approval taken back:
    #              "retract", "retract_reason", "retract_other"
    deed: int
    value: str = ""


class WinnersChoice(CallbackData, prefix="win"):
    confirm: bool


class AnnouncementStep(CallbackData, prefix="an"):
    """A coordinator composing an announcement: versions, audience, the preview's choices."""

    action: str  # "one", "per_language", "audience", "region", "language", "send", "audience_again", "cancel"
    value: str = ""


class AnnouncementControl(CallbackData, prefix="anc"):
    """The buttons of an announcement's progress message."""

    announcement: int
    action: str  # "pause", "resume", "cancel"


class EraseChoice(CallbackData, prefix="er"):
    """A coordinator confirms erasing the data of a ticket's citizen."""

    ticket: int
    confirm: bool


class AskFromAnswer(CallbackData, prefix="rqa"):
    """"Ask an operator" under a knowledge-base answer: the request it opens remembers the answer
    (its topic and question ids, 10 characters each at most)."""

    topic: str
    question: str


class StatsPeriod(CallbackData, prefix="stp"):
    """The period of /stats: "week", "month", "marathon", "custom" (typed dates), "cancel"."""

    period: str


class KnowledgeEdit(CallbackData, prefix="ke"):
    """The knowledge base's editor (/faq). `action`: "topics", "topic", "question", "preview", "field"
    (choose a language for `field`), "edit" (write `field` in `language`), "new_topic", "new_question",
    "remove", "removed" (confirmed), "save", "cancel", "history", "undo". Ids: 10 characters at most."""

    action: str
    topic: str = ""
    question: str = ""
    field: str = ""  # "title", "question", "answer", "ways"
    language: str = ""
    number: int = 0  # a revision's id (undo; the history's older page)
