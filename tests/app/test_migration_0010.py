"""Migration 0010 on data: one record per UPN (the merge kept, so it can be undone), an episode
for every case past New referral/Triage, the DfE reasons seeded; and back down to 0009 with the
moved rows on their original children. On a scratch database of the run's backend (SQLite, or
PostgreSQL with CME_TEST_DB_URL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from alembic import command
from cme_app.migrations import alembic_config, check_drift, current_revision, upgrade_to_head
from cme_app.models import ChildMerge, CmeEpisode, EpisodeReason
from cme_app.services.returns import census

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def at(y, m, d, hour=10, minute=0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def insert(conn, table: str, **values) -> None:
    """One row with plain Core SQL (the models describe the newest schema, not 0009's)."""
    columns = [sa.column(k, sa.JSON) if isinstance(v, dict | list) else sa.column(k)
               for k, v in values.items()]
    conn.execute(sa.table(table, *columns).insert(), values)


def child(conn, id_, upn, *, year_group=None, first="Asha"):
    insert(conn, "child", id=id_, first_name=first, last_name="Ahmed",
           date_of_birth=date(2014, 3, 2), dob_estimated=False, sex="female", upn=upn,
           year_group=year_group, interpreter_needed=False, sen_status="none",
           looked_after="no", cp_plan="no", child_in_need="no", traveller_family=False,
           created_at=NOW)


def referral_and_case(conn, id_, child_id, stage, submitted, *, outcome=None, closed=None,
                      category="whereabouts_unknown", source="school"):
    insert(conn, "referral", id=id_, public_id=f"public{id_:026d}", status="submitted",
           source_type=source, child_id=child_id, form_data={}, category=category,
           history_of_non_attendance=False, concerns_none_known=True, late=False,
           outside_csa=False, created_at=submitted, updated_at=submitted,
           submitted_at=submitted, version=1)
    insert(conn, "case", id=id_, reference=f"CME-2026-{id_:05d}", child_id=child_id,
           referral_id=id_, stage=stage, stage_entered_at=submitted, opened_at=submitted,
           closed_at=closed, outcome=outcome, episode=1, version=1, updated_at=submitted,
           risk_factors=[], possible_matches=[], joint_visit_required=False, legal_hold=False)


def household(conn, id_, child_id, referral_id):
    insert(conn, "address", id=id_, child_id=child_id, referral_id=referral_id,
           kind="last_known", line1=f"{id_} Harehills Lane", country="United Kingdom",
           source="school", verified=False, created_at=NOW)
    insert(conn, "person", id=id_, child_id=child_id, referral_id=referral_id,
           kind="parent_carer", full_name=f"Parent {id_}", relationship_to_child="Mother",
           parental_responsibility=True, lives_with_child=True, is_emergency_contact=False,
           source="school", created_at=NOW)


def pre_0010_rows(conn) -> None:
    # The same child twice (same UPN), each record with its own referral, case and household.
    child(conn, 1, "A383200000011")
    child(conn, 2, "A383200000011", first="Asha (again)")
    # 23:30 UTC on 9 September is 00:30 on the 10th in UK summer time.
    referral_and_case(conn, 1, 1, "enquiries", at(2026, 9, 9, 23, 30))
    # Its second case is open past triage too: still one open episode for the one child.
    referral_and_case(conn, 2, 2, "home_visit", at(2026, 10, 5))
    household(conn, 1, 1, 1)
    household(conn, 2, 2, 2)
    # Closed, located on roll; closed untraceable; still new; closed as a duplicate.
    child(conn, 3, "B383200000022", first="Ben")
    referral_and_case(conn, 3, 3, "closed", at(2026, 10, 1), outcome="onroll_leeds",
                      closed=at(2026, 11, 20), category="moved_abroad")
    child(conn, 4, None, first="Cara")
    referral_and_case(conn, 4, 4, "closed", at(2026, 9, 14), outcome="untraceable",
                      closed=at(2026, 11, 30), source="other_la")
    child(conn, 5, "", year_group="Year 5", first="Dev")
    referral_and_case(conn, 5, 5, "new_referral", at(2026, 11, 2))
    child(conn, 6, None, first="Eli")
    referral_and_case(conn, 6, 6, "closed", at(2026, 10, 2), outcome="duplicate",
                      closed=at(2026, 10, 9))
    child(conn, 7, None, first="Fin")
    referral_and_case(conn, 7, 7, "triage", at(2026, 10, 5))


def schema(url: str) -> dict[str, object]:
    """Every table's columns (name, nullable), indexes and foreign keys."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            table: (
                sorted((c["name"], c["nullable"]) for c in inspector.get_columns(table)),
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
                sorted((tuple(f["constrained_columns"]), f["referred_table"])
                       for f in inspector.get_foreign_keys(table)),
            )
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def owners(conn) -> dict[str, dict[int, int]]:
    """Whose child each case, referral, address and person row is."""
    return {
        table: dict(conn.execute(sa.text(f'SELECT id, child_id FROM "{table}"')).all())  # noqa: S608
        for table in ("case", "referral", "address", "person")
    }


def check_upgraded(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            live = conn.execute(sa.text(
                "SELECT upn, COUNT(*) FROM child WHERE merged_into_id IS NULL "
                "AND upn IS NOT NULL AND upn <> '' GROUP BY upn")).all()
            assert dict(live) == {"A383200000011": 1, "B383200000022": 1}
            assert dict(conn.execute(sa.text("SELECT id, merged_into_id FROM child")).all()) == {
                1: None, 2: 1, 3: None, 4: None, 5: None, 6: None, 7: None}
            assert owners(conn) == {t: {1: 1, 2: 1, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}
                                    for t in ("case", "referral")} | {
                t: {1: 1, 2: 1} for t in ("address", "person")}
            assert conn.execute(sa.text("SELECT COUNT(*) FROM dfereason WHERE active")
                                ).scalar_one() == 20
            assert "year_group" not in {c["name"] for c in sa.inspect(conn).get_columns("child")}
            # Stored as the app stores UTC (on SQLite naive text, so it compares with its rows).
            stamp = conn.execute(sa.text("SELECT created_at FROM cmeepisode")).first()[0]
            if conn.dialect.name == "sqlite":
                assert isinstance(stamp, str) and "+" not in stamp, stamp
        with Session(engine) as session:
            [merge] = session.exec(select(ChildMerge)).all()
            assert (merge.from_child_id, merge.into_child_id) == (2, 1)
            moved = merge.moved if isinstance(merge.moved, dict) else json.loads(merge.moved)
            assert moved == {"case": [2], "referral": [2], "address": [2], "person": [2]}
            assert merge.undone_at is None and merge.merged_at.tzinfo is not None
            found = {
                e.case_id: e for e in session.exec(select(CmeEpisode)).all()
            }
            # Past triage only: not the triage case, the new one, nor the duplicate; and one
            # open episode per child (case 2 is the merged child's second open case).
            assert set(found) == {1, 3, 4}
            assert all(e.start_basis == "migrated" and e.to_confirm and e.lives_in_la
                       and e.version == 1 for e in found.values())
            enquiries, on_roll, untraceable = found[1], found[3], found[4]
            assert (enquiries.child_id, enquiries.start_date, enquiries.end_date) == (
                1, date(2026, 9, 10), None)
            assert enquiries.primary_reason == "Not recorded"
            assert (on_roll.start_date, on_roll.end_date, on_roll.end_reason) == (
                date(2026, 10, 1), date(2026, 11, 20), "on_roll")
            assert on_roll.primary_reason == "Believed to have moved to another country"
            assert (untraceable.start_date, untraceable.end_date) == (date(2026, 9, 14), None)
            assert untraceable.whereabouts_unknown
            assert untraceable.review_on == date(2026, 11, 30) + timedelta(days=90)
            assert untraceable.primary_reason == "Moved in from another local authority"
            assert untraceable.created_at.tzinfo is not None
            # Named columns: later migrations add columns this revision's table lacks.
            reasons = {episode_id: (reason, from_date) for episode_id, reason, from_date in
                       session.exec(select(EpisodeReason.episode_id, EpisodeReason.reason,
                                           EpisodeReason.from_date)).all()}
            assert reasons == {e.id: (e.primary_reason, e.start_date) for e in found.values()}
            # The return reads the migrated rows: the two open ones, both to confirm.
            figures = census.build(session, date(2026, 12, 3))
            assert {c.child_id for c in figures.on_census_day} == {1, 4}
            to_confirm = next(w for w in figures.warnings if w.code == "to_confirm")
            assert set(to_confirm.child_ids) == {1, 4}
    finally:
        engine.dispose()


def test_0010_merges_by_upn_makes_episodes_and_downgrades_back(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "0009")
    at_0009 = schema(scratch_url)
    engine = sa.create_engine(scratch_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            pre_0010_rows(conn)
            before = owners(conn)
    finally:
        engine.dispose()

    command.upgrade(config, "0010")
    assert current_revision(scratch_url) == "0010"
    check_upgraded(scratch_url)

    command.downgrade(config, "0009")
    assert current_revision(scratch_url) == "0009"
    assert schema(scratch_url) == at_0009
    engine = sa.create_engine(scratch_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert owners(conn) == before  # every moved row is back on its own child
            assert conn.execute(sa.text("SELECT COUNT(*) FROM child")).scalar_one() == 7
            # The typed year group went with 0010 (it is derived from the date of birth now);
            # the column comes back empty.
            assert conn.execute(sa.text("SELECT year_group FROM child WHERE id = 5")
                                ).scalar_one() is None
    finally:
        engine.dispose()

    upgrade_to_head(scratch_url)
    check_upgraded(scratch_url)
    assert check_drift(scratch_url) == []
