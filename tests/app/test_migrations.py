"""The committed Alembic migrations build exactly the schema the models describe.

If a model gains, loses or changes a column/table/index without a matching revision in
alembic/versions, ``test_*_no_drift`` fails and lists the differences.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

from cme_app.migrations import (
    alembic_config,
    check_drift,
    current_revision,
    downgrade_to,
    upgrade_to_head,
)
from cme_app.models import School
from tests.conftest import TEST_DB_URL


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config(TEST_DB_URL)).get_heads()
    assert len(heads) == 1, f"expected one migration head, found {heads}"
    return heads[0]


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_single_head():
    assert _head()


def test_test_database_is_at_head_with_no_drift(engine):
    assert current_revision(TEST_DB_URL) == _head()
    diffs = check_drift(TEST_DB_URL)
    assert diffs == [], f"models and migrations differ; add a revision: {diffs}"


def test_empty_database_upgrades_to_head_with_no_drift(scratch_url):
    upgrade_to_head(scratch_url)
    assert current_revision(scratch_url) == _head()
    assert set(SQLModel.metadata.tables) <= _tables(scratch_url)
    diffs = check_drift(scratch_url)
    assert diffs == [], f"models and migrations differ; add a revision: {diffs}"


def test_downgrade_base_then_upgrade_head_round_trips(scratch_url):
    upgrade_to_head(scratch_url)
    downgrade_to(scratch_url, "base")
    assert current_revision(scratch_url) is None
    assert _tables(scratch_url) - {"alembic_version"} == set()

    upgrade_to_head(scratch_url)
    assert current_revision(scratch_url) == _head()
    assert check_drift(scratch_url) == []
    # Upgrading again is a no-op.
    upgrade_to_head(scratch_url)
    assert current_revision(scratch_url) == _head()


def test_app_engine_reads_and_writes_after_migration(scratch_url):
    """The app's own engine (BEGIN IMMEDIATE on SQLite) works on a migrated database."""
    from cme_app.db import make_engine

    upgrade_to_head(scratch_url)
    engine = make_engine(scratch_url)
    try:
        with Session(engine) as s:
            s.add(School(urn="999999", name="Migration Test School"))
            s.commit()
        with Session(engine) as s:
            assert s.exec(select(School.name)).one() == "Migration Test School"
    finally:
        engine.dispose()


def test_drift_check_notices_a_model_change(engine):
    """Guard for the guard: a column the migrations don't have is reported."""
    changed = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["school"].append_column(sa.Column("not_migrated", sa.String(20)))
    changed.tables["user"].c.name.type = sa.String(999)

    db = sa.create_engine(TEST_DB_URL, poolclass=sa.pool.NullPool)
    try:
        with db.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, changed)
    finally:
        db.dispose()
    flat = repr(diffs)
    assert "not_migrated" in flat
    assert any(d[0][0] == "modify_type" for d in diffs if isinstance(d, list)), diffs
