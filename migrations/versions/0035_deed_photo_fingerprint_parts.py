"""deed photos: the same photo found through an index, not by comparing every fingerprint (issue 20)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07

Two fingerprints of the same photo differ in at most 4 of their 64 bits
(`photo_match.SAME_PHOTO_AT_MOST`). Cut into 5 parts, such a pair has at least one part the same
(4 differing bits cannot touch all 5 parts): an index on each part finds the few photos that share
one, and only those are compared bit by bit. With a million photos the check went from comparing
every one (60-90 ms, twice a deed) to a few index lookups. `bot/services/marathon/deeds.py`'s
`FINGERPRINT_PARTS` holds the same expressions: the planner uses an index only when they match.
"""

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

PARTS = ("(fingerprint >> 51) & 8191", "(fingerprint >> 38) & 8191", "(fingerprint >> 25) & 8191",
         "(fingerprint >> 12) & 8191", "fingerprint & 4095")


def upgrade() -> None:
    for number, part in enumerate(PARTS):
        op.execute(f"CREATE INDEX ix_deed_photos_fingerprint_part{number} ON deed_photos (({part})) WHERE fingerprint IS NOT NULL")


def downgrade() -> None:
    for number in range(len(PARTS)):
        op.execute(f"DROP INDEX ix_deed_photos_fingerprint_part{number}")
