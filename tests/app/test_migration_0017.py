"""Migration 0017 on data: every case already in the database gets its search document (the
backfill), found through the index; and back down to 0014 with the index gone. On a scratch
database of the run's backend (SQLite, or PostgreSQL with CME_TEST_DB_URL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from alembic import command
from cme_app.migrations import alembic_config, check_drift, upgrade_to_head
from cme_app.models.search import FTS_TABLE
from tests.app.test_migration_0010 import insert

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _case_at_0014(conn) -> None:
    insert(conn, "school", id=1, urn="107999", name="Aire Valley Primary", la_code="383",
           created_at=NOW)
    insert(conn, "child", id=1, first_name="Zoë", last_name="Kowalski",
           date_of_birth=date(2015, 4, 3), dob_estimated=False, sex="female",
           upn="K383200012401", interpreter_needed=False, sen_status="none", looked_after="no",
           cp_plan="no", child_in_need="no", traveller_family=False, created_at=NOW)
    insert(conn, "referral", id=1, public_id="public" + "0" * 26, status="submitted",
           source_type="school", school_id=1, child_id=1, form_data={},
           history_of_non_attendance=False, concerns_none_known=True, late=False,
           outside_csa=False, created_at=NOW, updated_at=NOW, submitted_at=NOW, version=1)
    insert(conn, "case", id=1, reference="CME-2026-00001", child_id=1, referral_id=1,
           stage="closed", stage_entered_at=NOW, opened_at=NOW, closed_at=NOW,
           outcome="onroll_leeds", episode=1, version=1, updated_at=NOW, risk_factors=[],
           possible_matches=[], joint_visit_required=False, legal_hold=False,
           reported_missing_to_police=False)
    insert(conn, "address", id=1, child_id=1, referral_id=1, kind="home", line1="1 Moor Road",
           postcode="LS6 1AB", country="United Kingdom", source="school", verified=False,
           created_at=NOW)


def _found(conn, term: str) -> list[int]:
    if conn.dialect.name == "sqlite":
        return list(conn.execute(sa.text(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :t"),  # noqa: S608
            {"t": f'"{term}"'}).scalars())
    return list(conn.execute(sa.text("SELECT case_id FROM case_search WHERE body ILIKE :t"),
                             {"t": f"%{term}%"}).scalars())


def test_0017_backfills_every_case_and_goes_back_down(scratch_url):
    cfg = alembic_config(scratch_url)
    command.upgrade(cfg, "0014")
    engine = sa.create_engine(scratch_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            _case_at_0014(conn)
        upgrade_to_head(scratch_url)
        with engine.connect() as conn:
            body = conn.execute(sa.text("SELECT body FROM case_search")).scalar_one()
            for part in ("cme-2026-00001", "zoe", "kowalski", "k383200012401", "2015-04-03",
                         "03/04/2015", "ls61ab", "aire valley primary"):
                assert part in body
            assert _found(conn, "walsk") == [1]
            assert _found(conn, "nobody") == []
        assert check_drift(scratch_url) == []
        command.downgrade(cfg, "0014")
        names = set(sa.inspect(engine).get_table_names())
        assert not {n for n in names if n.startswith("case_search")}
    finally:
        engine.dispose()
