"""The search index: one folded search document per case (cme_app/models/search.py).

SQLite: `case_search` plus an FTS5 `trigram` index over it, kept in step by triggers.
PostgreSQL: `case_search` with a GIN `gin_trgm_ops` index on `body` (extension pg_trgm).
Every existing case gets its document here (the backfill).

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 12:50:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(body, content='case_search', "
    "content_rowid='case_id', tokenize='trigram')",
    "CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
    "CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) "
    "VALUES ('delete', old.case_id, old.body); END",
    "CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, body) "
    "VALUES ('delete', old.case_id, old.body); "
    "INSERT INTO case_search_fts(rowid, body) VALUES (new.case_id, new.body); END",
)
POSTGRES_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_case_search_body_trgm ON case_search USING gin (body gin_trgm_ops)",
)


def upgrade() -> None:
    op.create_table(
        'case_search',
        sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id'),
    )
    bind = op.get_bind()
    for statement in SQLITE_DDL if bind.dialect.name == "sqlite" else POSTGRES_DDL:
        op.execute(statement)
    from cme_app.models.search import reindex  # the same documents the app writes

    reindex(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("case_search_au", "case_search_ad", "case_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_case_search_body_trgm")
    op.drop_table('case_search')
