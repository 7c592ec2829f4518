"""The Marathon of Good Deeds: participants log deeds, front-offices review them, and everyone sees
totals of approved deeds. Knows nothing of Telegram.

The kinds of deeds, their units and plausible maximums, and the default dates come from
`bot/content/marathon.toml`; coordinators can move the dates (a row in `marathon_settings`).

Results never scan deeds: each review changes `deed_totals` (per region and kind) and the
participant's `approved_deeds` in its own transaction, so totals, leaderboards and the ranking of
regions read a few indexed rows however many deeds there are.

The package: `model` (kinds, dates, refusals), `settings` (dates and kinds as coordinators set
them), `participants`, `deeds` (logging and reading), `review`, `retention`, `results`, `certificates` (a
participant's record across marathons and the certificates anyone can check). Import from
the package: `from bot.services import marathon`.
"""

from __future__ import annotations

from bot.services.marathon.model import (
    Dates, DatesAcrossYears, DEFAULT_PATH, Kind, LEADERBOARD_SIZE, MarathonError, MAX_DESCRIPTION_LENGTH,
    MAX_LOCALITY_LENGTH, MAX_NAME_LENGTH, MAX_PHOTOS, MAX_REASON_LENGTH, PARTICIPANT_KINDS, Refusal,
    Refused, Rules, State, UNITS,
)
from bot.services.marathon.settings import dates, kind_of, kinds_of, offer_kind, set_dates, set_kind_limit
from bot.services.marathon.participants import join, Participant, participant
from bot.services.marathon.deeds import (
    approved_totals_of, check_date, Deed, deed_with_photo, deeds_of, near_deeds, get_deed, log_deed, parse_amount, Photo, photo_used, photos_like,
)
from bot.services.marathon.review import (
    forget_participant, may_review, next_pending, review, reviewable, ReviewError,
)
from bot.services.marathon.retention import erase_finished_deeds, final_through
from bot.services.marathon.certificates import (
    Certificate, CertificateError, CertificateRevoked, DEEP_LINK_PREFIX, Record, YearOfDeeds, check, issue_participation, issue_to_winners, record,
    withdraw as withdraw_certificate,
)
from bot.services.marathon.results import Leader, leaderboard, plain, region_ranking, totals

__all__ = [
    "Certificate", "CertificateError", "CertificateRevoked", "DEEP_LINK_PREFIX", "Record", "YearOfDeeds", "check", "issue_participation",
    "issue_to_winners", "record", "withdraw_certificate",
    "DEFAULT_PATH", "Dates", "DatesAcrossYears", "Deed", "Kind", "LEADERBOARD_SIZE", "Leader", "MAX_DESCRIPTION_LENGTH",
    "MAX_LOCALITY_LENGTH", "MAX_NAME_LENGTH", "MAX_PHOTOS", "MAX_REASON_LENGTH", "MarathonError",
    "PARTICIPANT_KINDS", "Participant", "Photo", "Refusal", "Refused", "ReviewError", "Rules", "State",
    "UNITS", "approved_totals_of", "check_date", "dates", "deeds_of", "erase_finished_deeds",
    "final_through", "forget_participant", "get_deed", "join", "kind_of", "kinds_of", "leaderboard",
    "deed_with_photo", "near_deeds", "photos_like", "log_deed", "may_review", "next_pending", "offer_kind", "parse_amount", "participant", "photo_used",
    "plain", "region_ranking", "review", "reviewable", "set_dates", "set_kind_limit", "totals",
]
