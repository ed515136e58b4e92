"""Referral submission id: a retried submit finds the referral it already stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_id", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            "uq_referral_school_submission", ["school_id", "submission_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_constraint("uq_referral_school_submission", type_="unique")
        batch_op.drop_column("submission_id")
