"""What an announcement is: its audience, its versions (one for all or one per language), its
state, and the limits of its text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.config import SUPPORTED_LANGUAGES
from bot.db.models import Announcement as AnnouncementRow
from bot.db.models import AnnouncementRecipient, Participant, User
from bot.db.models import Operator as OperatorRow
from bot.services.lengths import TELEGRAM_CAPTION, TELEGRAM_TEXT


ALL = "all"  # the key of the one version for everyone
MAX_TEXT = TELEGRAM_TEXT  # Telegram's limits, in UTF-16 units of the visible text (sent as written)
MAX_CAPTION = TELEGRAM_CAPTION
MAX_NETWORK_ATTEMPTS = 5  # then a recipient whose sends keep failing is given up

# The tables, for the package's statements.
_announcements = AnnouncementRow.__table__
_recipients = AnnouncementRecipient.__table__
_users = User.__table__
_participants = Participant.__table__
_operators = OperatorRow.__table__
_COLUMNS = tuple(_announcements.c)


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    REGION = "region"
    PARTICIPANTS = "participants"
    OPERATORS = "operators"
    LANGUAGE = "language"


class State(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    UNCONFIRMED = "unconfirmed"  # maybe delivered (its answer was lost): never sent again
    RETRY = "pending"  # not sent yet: tried again later


class AnnouncementError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    value: str | None = None  # the region's slug, or the language

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(AudienceKind(data["kind"]), data.get("value"))


@dataclass(frozen=True, slots=True)
class Version:
    """What one language's recipients see: the text in the bot's HTML (the coordinator's own
    formatting kept), and a photo's Telegram file id when there is one (the text is its caption)."""

    html: str
    photo: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"html": self.html, "photo": self.photo}


def version_for(versions: dict[str, Any], language: str) -> Version:
    """The version a person of `language` receives: their language's, else the one for all."""
    data = versions.get(language) or versions[ALL]
    return Version(data["html"], data.get("photo"))


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    created_by: int
    language: str
    audience: Audience
    versions: dict[str, Any]
    state: State
    total: int
    sent: int
    failed: int
    blocked: int
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    unconfirmed: int = 0  # of `failed`: delivery unknown

    @property
    def done_count(self) -> int:
        return self.sent + self.failed + self.blocked

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done_count)

    @property
    def finished(self) -> bool:
        return self.state in (State.CANCELLED, State.DONE)

    @classmethod
    def from_row(cls, row: Any) -> Announcement:
        return cls(
            row["id"], row["created_by"], row["language"], Audience.from_json(row["audience"]), row["versions"],
            State(row["state"]), row["total"], row["sent"], row["failed"], row["blocked"],
            row["progress_chat_id"], row["progress_message_id"], row["created_at"], row["unconfirmed"],
        )


def validate_versions(versions: dict[str, Version]) -> None:
    if not versions or not (set(versions) == {ALL} or set(versions) == set(SUPPORTED_LANGUAGES)):
        raise AnnouncementError("an announcement has one version for all, or one per language")
