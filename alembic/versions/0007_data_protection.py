"""Data protection: legal hold on a case, the sharing log, retention approvals and the
tombstones left after destruction.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:31:30.186588

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retentionapproval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_class", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skipped_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["user.id"], name="fk_retentionapproval_approved_by_id_user"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retentionapproval", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retentionapproval_record_class"), ["record_class"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_retentionapproval_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "tombstone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_class", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["retentionapproval.id"], name="fk_tombstone_approval_id_retention"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sharerecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_by_id", sa.Integer(), nullable=True),
        sa.Column("recipient_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recipient_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("shared_detail", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("lawful_basis", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "lawful_basis_other", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_sharerecord_case_id_case"),
        sa.ForeignKeyConstraint(
            ["shared_by_id"], ["user.id"], name="fk_sharerecord_shared_by_id_user"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sharerecord", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharerecord_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "legal_hold_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
            )
        )
        batch_op.add_column(sa.Column("legal_hold_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_case_legal_hold_by_id_user", "user", ["legal_hold_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_legal_hold_by_id_user", type_="foreignkey")
        batch_op.drop_column("legal_hold_at")
        batch_op.drop_column("legal_hold_by_id")
        batch_op.drop_column("legal_hold_reason")
        batch_op.drop_column("legal_hold")

    with op.batch_alter_table("sharerecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharerecord_case_id"))
    op.drop_table("sharerecord")
    op.drop_table("tombstone")
    with op.batch_alter_table("retentionapproval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retentionapproval_record_id"))
        batch_op.drop_index(batch_op.f("ix_retentionapproval_record_class"))
    op.drop_table("retentionapproval")
