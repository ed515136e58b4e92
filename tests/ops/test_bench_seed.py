"""The benchmark data generator (bench/seed.py) writes what it says, at a small scale, on the
test run's backend (SQLite, or PostgreSQL with CME_TEST_DB_URL)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, func, select

from bench import seed as bench_seed
from cme_app.db import make_engine
from cme_app.models import Case, HomeVisit
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from cme_app.services.trust import audit, auth
from tests.factories import actor_for


def test_seed_writes_the_requested_counts_and_the_app_keeps_working(scratch_url):
    counts = bench_seed.seed(
        scratch_url, bench_seed.Counts(referrals=120, open_cases=40, schools=7, visits=None)
    )
    assert counts.rows == {
        "schools": 7, "users": 2 + bench_seed.N_OFFICERS + 2 + 7, "referrals": 120,
        "cases": 120, "visits": 20 * 120, "open_cases": 40,
    }
    engine = make_engine(scratch_url)
    try:
        with Session(engine) as session:
            stages = dict(session.exec(
                select(Case.stage, func.count()).group_by(Case.stage)
            ).all())
            assert stages["closed"] == 80
            assert set(stages) - {"closed"} <= set(bench_seed.OPEN_STAGES)
            assert len(set(stages) - {"closed"}) >= 4  # spread over the columns
            risks = set(session.exec(
                select(Case.risk).where(Case.stage.not_in(("closed", "new_referral")))
            ).all())
            assert {"red", "amber", "green"} <= risks
            visited = session.exec(select(func.count(func.distinct(HomeVisit.case_id)))).one()
            assert visited == 120
            # Every account signs in with the one password; no audit events, chain intact.
            user = auth.check_password(session, email=bench_seed.school_email(3),
                                       password=bench_seed.PASSWORD)
            assert user.role == "school"
            assert audit.verify_chain(session).ok
            # Explicit ids did not leave sequences behind: the app can still add a case.
            case = referrals.submit(session, actor=actor_for(user),
                                    form=example_referral_form(today=date.today()))
            assert case.id > 120 and case.referral_id > 120
            session.commit()
    finally:
        engine.dispose()


def test_seed_total_visits_option(scratch_url):
    counts = bench_seed.seed(
        scratch_url, bench_seed.Counts(referrals=30, open_cases=10, schools=3, visits=500)
    )
    assert counts.rows["visits"] == 500 and counts.rows["open_cases"] == 10
