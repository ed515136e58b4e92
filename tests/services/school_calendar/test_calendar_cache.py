"""The school calendar is built once per database, UK day and process (issue 19), and a change
of term dates or non-teaching days is seen at once, by every session."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from cme_app.models.calendar import TermPeriod
from cme_app.services.school_calendar import school_days
from cme_app.services.school_calendar import terms as term_admin
from cme_app.services.school_calendar.school_days import load_calendar

D = date


def _statements(engine, action):
    seen = []

    def before(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        result = action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return result, seen


def _calendar_reads(statements) -> int:
    return sum(s.startswith("SELECT") and ("FROM termperiod" in s or "FROM nonteachingday" in s)
               for s in statements)


def test_the_calendar_is_built_once_a_day_and_kept(session, team, db, monkeypatch):
    first = load_calendar(session)
    session.commit()  # SQLite: each session's transaction holds the write lock
    with Session(db) as other:
        again, seen = _statements(db, lambda: load_calendar(other))
    assert again is first and _calendar_reads(seen) == 0

    monkeypatch.setattr(school_days, "uk_today", lambda: D(2099, 1, 1))
    with Session(db) as other:
        tomorrow, seen = _statements(db, lambda: load_calendar(other))
    assert tomorrow is not first and _calendar_reads(seen) == 2  # terms and days, read again



def test_a_kept_calendar_is_rebuilt_after_a_minute_for_other_workers_changes(
    session, team, db, monkeypatch
):
    """Another worker process's change never reaches this process's flush listener: after
    KEEP_SECONDS the calendar is read again, so every worker sees it within a minute."""
    first = load_calendar(session)
    session.commit()
    now = school_days.monotonic()
    monkeypatch.setattr(school_days, "monotonic", lambda: now + school_days.KEEP_SECONDS - 1)
    with Session(db) as other:
        kept, seen = _statements(db, lambda: load_calendar(other))
    assert kept is first and _calendar_reads(seen) == 0
    monkeypatch.setattr(school_days, "monotonic", lambda: now + school_days.KEEP_SECONDS + 1)
    with Session(db) as other:
        rebuilt, seen = _statements(db, lambda: load_calendar(other))
    assert rebuilt is not first and _calendar_reads(seen) == 2

def test_a_new_non_teaching_day_is_seen_at_once_by_every_session(session, team, db):
    day = D(2026, 11, 30)  # a Monday in the seeded autumn term
    assert load_calendar(session).school_days_between(D(2026, 11, 27), day) == 1
    session.commit()

    with Session(db, expire_on_commit=False) as admin_session:
        term_admin.add_non_teaching_day(admin_session, actor=team["admin"], on=day.isoformat(),
                                        reason="INSET day")
        # The admin's own unit of work sees its change before it commits...
        assert load_calendar(admin_session).school_days_between(D(2026, 11, 27), day) == 0
        admin_session.commit()
    # ...and once committed every other session does, without waiting for tomorrow.
    with Session(db) as other:
        assert load_calendar(other).school_days_between(D(2026, 11, 27), day) == 0


def test_a_changed_term_is_seen_at_once_and_an_undone_one_is_not(session, team, db):
    term = session.exec(select(TermPeriod).where(TermPeriod.starts_on <= D(2026, 11, 30),
                                                 TermPeriod.ends_on >= D(2026, 11, 30))).one()
    assert load_calendar(session).is_school_day(D(2026, 11, 30))
    ends = term.ends_on
    session.commit()

    # A change rolled back leaves the calendar as it was.
    with Session(db) as undone:
        term_admin.change_term(undone, actor=team["admin"], term_id=term.id,
                               school_year=term.school_year, name=term.name,
                               starts_on=term.starts_on.isoformat(), ends_on="2026-11-27")
        assert not load_calendar(undone).is_school_day(D(2026, 11, 30))
        undone.rollback()
    with Session(db) as other:
        assert load_calendar(other).is_school_day(D(2026, 11, 30))

    with Session(db) as admin_session:
        term_admin.change_term(admin_session, actor=team["admin"], term_id=term.id,
                               school_year=term.school_year, name=term.name,
                               starts_on=term.starts_on.isoformat(), ends_on="2026-11-27")
        admin_session.commit()
    with Session(db) as other:
        cal = load_calendar(other)
        assert not cal.is_school_day(D(2026, 11, 30))
        assert cal.is_school_day(D(2026, 11, 27)) and ends > D(2026, 11, 27)
