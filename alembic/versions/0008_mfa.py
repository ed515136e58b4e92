"""MFA: the last accepted authentication-code step per user, and code attempts for throttling.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mfaattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name="fk_mfaattempt_user_id_user"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mfaattempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mfaattempt_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_mfaattempt_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")

    with op.batch_alter_table("mfaattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfaattempt_user_id"))
        batch_op.drop_index(batch_op.f("ix_mfaattempt_at"))

    op.drop_table("mfaattempt")
