"""Home visits from the phone: check-in/out, the full visit record, offline sync flags,
lone-working alerts, and the case's warning markers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:50:04.421032

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loneworkingalert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["homevisit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loneworkingalert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loneworkingalert_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_loneworkingalert_visit_id"), ["visit_id"], unique=False
        )

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "warning_markers", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "joint_visit_required", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )

    with op.batch_alter_table("homevisit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("risk_check_done", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "risk_check_notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("accompanied", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("second_officer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("buddy_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expected_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expected_end_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("people_spoken_to", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("neighbours_spoken", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "neighbours_said", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("calling_card_left", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("opinion", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "safeguarding_raised", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("mash_reference", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(
            sa.Column("next_action", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
        )
        batch_op.add_column(sa.Column("next_action_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("record_saved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("created_offline", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("flag_reason", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True)
        )
        batch_op.add_column(
            sa.Column("flag_reviewed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("flag_reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("buddy_alerted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("lead_alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("outcome", existing_type=sa.VARCHAR(length=40), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_homevisit_checked_in_at"), ["checked_in_at"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_homevisit_flag_reviewed_by_id_user", "user", ["flag_reviewed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_homevisit_second_officer_id_user", "user", ["second_officer_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_homevisit_buddy_id_user", "user", ["buddy_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("homevisit", schema=None) as batch_op:
        batch_op.drop_constraint("fk_homevisit_flag_reviewed_by_id_user", type_="foreignkey")
        batch_op.drop_constraint("fk_homevisit_second_officer_id_user", type_="foreignkey")
        batch_op.drop_constraint("fk_homevisit_buddy_id_user", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_homevisit_checked_in_at"))
        batch_op.alter_column("outcome", existing_type=sa.VARCHAR(length=40), nullable=False)
        batch_op.drop_column("lead_alerted_at")
        batch_op.drop_column("buddy_alerted_at")
        batch_op.drop_column("flag_reviewed_by_id")
        batch_op.drop_column("flag_reviewed_at")
        batch_op.drop_column("flag_reason")
        batch_op.drop_column("synced_at")
        batch_op.drop_column("created_offline")
        batch_op.drop_column("record_saved_at")
        batch_op.drop_column("next_action_due")
        batch_op.drop_column("next_action")
        batch_op.drop_column("mash_reference")
        batch_op.drop_column("safeguarding_raised")
        batch_op.drop_column("opinion")
        batch_op.drop_column("calling_card_left")
        batch_op.drop_column("neighbours_said")
        batch_op.drop_column("neighbours_spoken")
        batch_op.drop_column("people_spoken_to")
        batch_op.drop_column("checked_out_at")
        batch_op.drop_column("expected_end_at")
        batch_op.drop_column("expected_minutes")
        batch_op.drop_column("checked_in_at")
        batch_op.drop_column("buddy_id")
        batch_op.drop_column("second_officer_id")
        batch_op.drop_column("accompanied")
        batch_op.drop_column("risk_check_notes")
        batch_op.drop_column("risk_check_done")

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("joint_visit_required")
        batch_op.drop_column("warning_markers")

    with op.batch_alter_table("loneworkingalert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loneworkingalert_visit_id"))
        batch_op.drop_index(batch_op.f("ix_loneworkingalert_recipient_id"))

    op.drop_table("loneworkingalert")
