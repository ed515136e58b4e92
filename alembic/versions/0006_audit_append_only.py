"""Audit trail: append-only events and the chain head.

Triggers refuse UPDATE and DELETE on `auditevent` (and TRUNCATE on PostgreSQL), and DELETE of
the one `auditchainhead` row, whatever the caller. The head row is filled from the events
already recorded, so `cme-app audit verify` works at once on an existing database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:32:01.125097

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit events are append-only"

_ABORT = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
SQLITE_TRIGGERS = {
    "auditevent_no_update": f"BEFORE UPDATE ON auditevent {_ABORT}",
    "auditevent_no_delete": f"BEFORE DELETE ON auditevent {_ABORT}",
    "auditchainhead_no_delete": f"BEFORE DELETE ON auditchainhead {_ABORT}",
}

PG_TRIGGERS = {
    "auditevent_no_change": "BEFORE UPDATE OR DELETE ON auditevent FOR EACH ROW",
    "auditevent_no_truncate": "BEFORE TRUNCATE ON auditevent FOR EACH STATEMENT",
    "auditchainhead_no_delete": "BEFORE DELETE OR TRUNCATE ON auditchainhead FOR EACH STATEMENT",
}


def upgrade() -> None:
    op.create_table(
        "auditchainhead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO auditchainhead (id, count, last_id, last_hash) "
        "SELECT 1, COUNT(*), MAX(id), "
        "(SELECT hash FROM auditevent ORDER BY id DESC LIMIT 1) FROM auditevent"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME; END $$"
        )
        for name, when in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION audit_append_only()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, when in PG_TRIGGERS.items():
            table = when.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("auditchainhead")
