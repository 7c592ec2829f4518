"""A participant's record across marathons, and the certificates anyone can check by their code.
Knows nothing of Telegram.

The record is `participation_years`: approved deeds and amounts per year and kind, changed in the
review's transaction (`count_review`). A marathon runs within a calendar year (September to
Volunteer Day, 5 December), so a deed's year is its marathon's.

A certificate names the participant as they were shown when it was issued (a new shown name or
region gives a new certificate and withdraws the old one, so a check never puts another name on a
printed certificate), and says what it certifies when it is checked: a deed rejected later is gone from it, and a certificate of a participant who withdrew their consent (/forget) is
withdrawn. A participant has one certificate of participation a year (asking again gives the same
code) and one per nomination won.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.marathon.participants import Participant, participant

# Read off paper and typed by hand: no 0/o, 1/l/i. 31^10 codes: not guessed.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10
CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
DEEP_LINK_PREFIX = "cert_"


class CertificateError(ValueError):
    """Nothing to certify: no approved deed that year (or not a participant)."""


class CertificateRevoked(CertificateError):
    """The coordinators withdrew this certificate: it is not issued again."""


@dataclass(frozen=True, slots=True)
class YearOfDeeds:
    year: int
    deeds: int
    amounts: dict[str, Decimal]  # kind -> approved amount
    counts: dict[str, int]  # kind -> approved deeds


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate as it stands when read. Withdrawn: nothing about the participant is left."""

    code: str
    year: int
    nomination: dict[str, str] | None  # the nomination's names as issued; None: participation
    nomination_slug: str | None
    issued_at: datetime
    withdrawn: bool
    display_name: str | None = None  # None: anonymous
    participant_kind: str | None = None
    region: str | None = None
    deeds: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    participant_id: int | None = None

    @property
    def valid(self) -> bool:
        """Withdrawn, or a participation no approved deed proves any longer, certifies nothing."""
        return not self.withdrawn and (self.nomination is not None or self.deeds > 0)


@dataclass(frozen=True, slots=True)
class Record:
    participant: Participant
    years: list[YearOfDeeds]  # newest first
    certificates: list[Certificate]  # newest first
    wins: list[tuple[int, dict[str, str]]]  # (year, nomination's names), newest first

    @property
    def deeds(self) -> int:
        return sum(year.deeds for year in self.years)


def year_of(deed_date: date) -> int:
    return deed_date.year


_COUNT = text(
    """
    INSERT INTO participation_years (participant_id, year, kind, deeds, amount)
    VALUES (:who, :year, :kind, CAST(:sign AS integer), CAST(:sign AS integer) * CAST(:amount AS numeric))
    ON CONFLICT (participant_id, year, kind) DO UPDATE
    SET deeds = participation_years.deeds + EXCLUDED.deeds, amount = participation_years.amount + EXCLUDED.amount
    """
)


async def count_review(session: AsyncSession, participant_id: int | None, deed_date: date, kind: str, amount: Decimal,
                       sign: int) -> None:
    """An approval (+1) or an approval taken back (-1) in the participant's record."""
    if participant_id is not None:
        await session.execute(_COUNT, {"who": participant_id, "year": year_of(deed_date), "kind": kind, "sign": sign,
                                       "amount": amount})


_YEARS = text(
    "SELECT year, kind, deeds, amount FROM participation_years WHERE participant_id = :who AND deeds > 0 ORDER BY year DESC, kind"
)


async def years_of(session: AsyncSession, telegram_id: int) -> list[YearOfDeeds]:
    years: dict[int, YearOfDeeds] = {}
    for year, kind, deeds, amount in (await session.execute(_YEARS, {"who": telegram_id})).all():
        found = years.setdefault(year, YearOfDeeds(year, 0, {}, {}))
        found.amounts[kind] = amount
        found.counts[kind] = deeds
    return [YearOfDeeds(y.year, sum(y.counts.values()), y.amounts, y.counts) for y in years.values()]


_READ = text(
    """
    SELECT c.code, c.year, c.nomination_name, c.nomination, c.issued_at, c.withdrawn_at IS NOT NULL OR c.participant_id IS NULL,
           c.shown_name, p.kind, c.region, c.participant_id
    FROM certificates AS c LEFT JOIN participants AS p ON p.telegram_id = c.participant_id
    WHERE c.code = :code
    """
)
_OF_PARTICIPANT = text(
    "SELECT code FROM certificates WHERE participant_id = :who AND withdrawn_at IS NULL ORDER BY year DESC, issued_at DESC"
)
_AMOUNTS = text("SELECT kind, deeds, amount FROM participation_years WHERE participant_id = :who AND year = :year AND deeds > 0")


async def check(session: AsyncSession, code: str) -> Certificate | None:
    """The certificate with this code as it stands now; None if there is none."""
    code = code.strip().lower()
    if not CODE.fullmatch(code):
        return None
    row = (await session.execute(_READ, {"code": code})).first()
    if row is None:
        return None
    code, year, nomination, slug, issued_at, withdrawn, display_name, kind, region, who = row
    if withdrawn:
        return Certificate(code, year, nomination, slug, issued_at, True)
    deeds, amounts = 0, {}
    for kind_slug, count, amount in (await session.execute(_AMOUNTS, {"who": who, "year": year})).all():
        deeds += count
        amounts[kind_slug] = amount
    return Certificate(code, year, nomination, slug, issued_at, False, display_name, kind, region, deeds, amounts, who)


_ISSUE = text(
    """
    INSERT INTO certificates (code, participant_id, year, nomination, nomination_name, issued_by, shown_name, region)
    SELECT :code, :who, :year, :nomination, CAST(:names AS jsonb), :by, p.display_name, p.region
    FROM participants AS p WHERE p.telegram_id = :who
    ON CONFLICT DO NOTHING
    RETURNING code
    """
)
_ISSUED = text(
    """
    SELECT c.code, c.shown_name IS NOT DISTINCT FROM p.display_name AND c.region = p.region
    FROM certificates AS c JOIN participants AS p ON p.telegram_id = c.participant_id
    WHERE c.participant_id = :who AND c.year = :year
      AND coalesce(c.nomination, '') = coalesce(CAST(:nomination AS text), '') AND c.withdrawn_at IS NULL
    """
)
_RENAMED = text("UPDATE certificates SET withdrawn_at = now() WHERE code = :code")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def _issue(session: AsyncSession, telegram_id: int, year: int, nomination: tuple[str, dict[str, str]] | None,
                 by: int | None) -> tuple[str, bool]:
    """The code of the participant's certificate (issued now if there was none), and whether it is new."""
    slug, names = nomination or (None, None)
    params = {"who": telegram_id, "year": year, "nomination": slug, "names": json.dumps(names) if names else None, "by": by}
    for _ in range(5):
        code = (await session.execute(_ISSUE, {**params, "code": new_code()})).scalar()
        if code is not None:
            return code, True
        issued = (await session.execute(_ISSUED, params)).first()
        if issued is not None:
            code, same_name = issued
            if same_name:
                return code, False
            await session.execute(_RENAMED, {"code": code})  # shown differently now: a new one
            continue
        # Neither: the code drawn was another certificate's (1 in 10^14): draw again.
    raise RuntimeError("no free certificate code in 5 draws")


async def issue_participation(session: AsyncSession, telegram_id: int, year: int) -> Certificate:
    """The participant's certificate of participation in `year` (the same code if asked again).
    CertificateError if no deed of theirs was approved that year."""
    if not any(y.year == year for y in await years_of(session, telegram_id)):
        raise CertificateError(f"no approved deed in {year}")
    if (await session.execute(_REVOKED, {"who": telegram_id, "year": year})).first() is not None:
        raise CertificateRevoked(f"the certificate of {year} was withdrawn")
    code, _ = await _issue(session, telegram_id, year, None, None)
    return await check(session, code)


_WINNERS_WITHOUT = text(
    """
    SELECT n.participant_id, m.slug, m.name FROM nominees AS n JOIN nominations AS m ON m.slug = n.nomination
    WHERE n.winner AND NOT EXISTS (
        SELECT 1 FROM certificates AS c WHERE c.participant_id = n.participant_id AND c.year = :year
          AND c.nomination = n.nomination AND (c.withdrawn_at IS NULL OR c.revoked))
    ORDER BY m.created_at, m.slug, n.participant_id
    """
)


async def issue_to_winners(session: AsyncSession, year: int, by: int | None) -> int:
    """A certificate to every winner of a nomination who has none for `year` yet, each owed to
    them (the PDF made in their language when sent). Returns how many were issued."""
    issued = 0
    for who, slug, names in (await session.execute(_WINNERS_WITHOUT, {"year": year})).all():
        code, new = await _issue(session, who, year, (slug, dict(names)), by)
        if new:
            await outbox.owe(session, who, "certificate", {"code": code})
            issued += 1
    if issued:
        await outbox.wake_workers(session)
    return issued


_WITHDRAW = text(
    "UPDATE certificates SET withdrawn_at = now(), participant_id = NULL, issued_by = NULL WHERE participant_id = :who"
)


async def withdraw_all(session: AsyncSession, telegram_id: int) -> None:
    """The participant withdrew their consent: their certificates say so from now on."""
    await session.execute(_WITHDRAW, {"who": telegram_id})


_WITHDRAW_ONE = text(
    "UPDATE certificates SET withdrawn_at = now(), revoked = true WHERE code = :code AND withdrawn_at IS NULL RETURNING participant_id"
)
_REVOKED = text("SELECT 1 FROM certificates WHERE participant_id = :who AND year = :year AND nomination IS NULL AND revoked")


async def withdraw(session: AsyncSession, code: str, by: int, by_name: str) -> bool:
    """A coordinator withdraws a certificate issued in error (a winner's deeds found false): its
    check says so from now on; recorded in the audit log. False if no such certificate holds."""
    code = code.strip().lower()
    if not CODE.fullmatch(code) or (await session.execute(_WITHDRAW_ONE, {"code": code})).first() is None:
        return False
    from bot.services import personal_data  # (it reads the marathon package: imported here)

    await personal_data.audit(session, personal_data.Action.CERTIFICATE_WITHDRAWN, {"code": code}, actor_id=by, actor=by_name)
    return True


_WINS_NOW = text(
    """
    SELECT m.slug, m.name FROM nominees AS n JOIN nominations AS m ON m.slug = n.nomination
    WHERE n.participant_id = :who AND n.winner ORDER BY m.created_at, m.slug
    """
)


async def record(session: AsyncSession, telegram_id: int, this_year: int) -> Record | None:
    """The participant's whole participation: years, certificates, nominations won (those of the
    current marathon count for `this_year` until their certificate is issued). None: not a participant."""
    joined = await participant(session, telegram_id)
    if joined is None:
        return None
    certificates = [await check(session, code) for code in (await session.execute(_OF_PARTICIPANT, {"who": telegram_id})).scalars()]
    wins = [(c.year, c.nomination) for c in certificates if c.nomination is not None]
    certified = {c.nomination_slug for c in certificates if c.year == this_year}
    for slug, names in (await session.execute(_WINS_NOW, {"who": telegram_id})).all():
        if slug not in certified:
            wins.append((this_year, dict(names)))
    wins.sort(key=lambda win: -win[0])
    return Record(joined, await years_of(session, telegram_id), certificates, wins)
