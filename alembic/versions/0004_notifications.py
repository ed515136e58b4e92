"""Notifications: the in-app inbox, the email queue, team rules, personal preferences and
the duty officer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 07:17:42.085193

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emailmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["user.id"], name="fk_emailmessage_recipient_id_user"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("emailmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emailmessage_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_emailmessage_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_emailmessage_status"), ["status"], unique=False)

    op.create_table(
        "notificationpreference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("delivery", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_notificationpreference_user_id_user"
        ),
        sa.PrimaryKeyConstraint("user_id", "event"),
    )
    op.create_table(
        "notificationrule",
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("default_delivery", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name="fk_notificationrule_updated_by_id_user"
        ),
        sa.PrimaryKeyConstraint("event"),
    )
    op.create_table(
        "teamsettings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_officer_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["duty_officer_id"], ["user.id"], name="fk_teamsettings_duty_officer_id_user"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name="fk_teamsettings_updated_by_id_user"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("delivery", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["email_id"], ["emailmessage.id"], name="fk_notification_email_id_emailmessage"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["user.id"], name="fk_notification_recipient_id_user"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "dedupe_key", name="uq_notification_recipient_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_email_id"), ["email_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_recipient_id"), ["recipient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_notification_email_id"))
        batch_op.drop_index(batch_op.f("ix_notification_created_at"))

    op.drop_table("notification")
    op.drop_table("teamsettings")
    op.drop_table("notificationrule")
    op.drop_table("notificationpreference")
    with op.batch_alter_table("emailmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emailmessage_status"))
        batch_op.drop_index(batch_op.f("ix_emailmessage_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_emailmessage_next_attempt_at"))

    op.drop_table("emailmessage")
