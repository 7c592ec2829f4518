"""certificates: withdrawn by the coordinators (revoked) apart from replaced by a new one (issue 20)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07

`withdrawn_at` is set both when a new shown name replaces a certificate and when coordinators
withdraw one issued in error (`/certificates withdraw CODE`). Only the first may be issued again:
`revoked` keeps /certificates and the participant's button from handing a revoked one back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certificates", sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("certificates", "revoked")
