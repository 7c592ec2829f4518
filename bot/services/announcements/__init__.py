"""Coordinators' announcements: who receives one, and how its delivery is recorded. Knows nothing
of Telegram; the sending loop is `bot/jobs/announcements.py`.

An announcement's recipients are written once, by the announcer as its sending starts (one
INSERT … SELECT, `write_recipients`; the coordinator's Send press only counts the audience, so it
does not wait for 100,000 rows), each with the language they use the bot in. Delivery then only walks that list:
a recipient is claimed (`pending` → `sending`, committed before the send), and after the send
recorded as `sent`, `failed`, `blocked` or `unconfirmed`, or put back to `pending` to try again
(429, a connection never made). So a restart resumes where the list stopped, and a send that may
have reached Telegram is never repeated: an announcement reaches each person at most once. Delivery
that is unknown (the connection broke before Telegram answered, a process died mid-send: see
`recover`) is `unconfirmed`, counted as not delivered (in `failed`) and apart (`unconfirmed`).

The package: `model` (what an announcement, its audience and versions are), `composing` (the
audience, creating one, the coordinators' controls, the progress message), `delivery` (claiming
recipients, recording each send, recovering after a crash, finishing). Import from the package.
"""

from __future__ import annotations

from bot.services.announcements.model import (
    ALL,
    Announcement,
    AnnouncementError,
    Audience,
    AudienceKind,
    MAX_CAPTION,
    MAX_NETWORK_ATTEMPTS,
    MAX_TEXT,
    Outcome,
    State,
    validate_versions,
    Version,
    version_for,
)
from bot.services.announcements.composing import (
    audience_of,
    claim_progress_edit,
    control,
    count_by_language,
    create,
    forget_progress_shown,
    get,
    may_address,
    offices_of,
    progress_digest,
    recent,
    set_progress_message,
    write_recipients,
)
from bot.services.announcements.delivery import (
    claim,
    finish,
    mark_unreachable,
    next_running,
    person_is_back,
    Recipient,
    record,
    recover,
)

__all__ = [
    "write_recipients",
    "ALL",
    "Announcement",
    "AnnouncementError",
    "Audience",
    "audience_of",
    "AudienceKind",
    "claim",
    "claim_progress_edit",
    "control",
    "count_by_language",
    "create",
    "finish",
    "forget_progress_shown",
    "get",
    "mark_unreachable",
    "MAX_CAPTION",
    "MAX_NETWORK_ATTEMPTS",
    "MAX_TEXT",
    "may_address",
    "next_running",
    "offices_of",
    "Outcome",
    "person_is_back",
    "progress_digest",
    "recent",
    "Recipient",
    "record",
    "recover",
    "set_progress_message",
    "State",
    "validate_versions",
    "Version",
    "version_for",
]
