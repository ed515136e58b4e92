"""School-day and working-day arithmetic (BR-L17, SC-23) and term-date seeding."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from sqlmodel import func, select

from cme_app.models.calendar import NonTeachingDay, TermPeriod
from cme_app.services.school_calendar.default_terms import seed_term_dates
from cme_app.services.school_calendar.school_days import (
    CalendarNotSeeded,
    SchoolCalendar,
    load_calendar,
)

D = date

# Autumn 2026: one-week half-term 26-30 Oct 2026.
AUTUMN_2026 = [(D(2026, 9, 1), D(2026, 10, 23)), (D(2026, 11, 2), D(2026, 12, 18))]
# Spring 2 / Summer 1 2027: two-week Easter break 29 Mar - 9 Apr, May Day Mon 3 May.
EASTER_2027 = [(D(2027, 2, 22), D(2027, 3, 25)), (D(2027, 4, 12), D(2027, 5, 28))]


# ----- SC-23 ------------------------------------------------------------------------------


def test_sc23_twentieth_school_day_after_one_week_half_term():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    last_attended = D(2026, 10, 23)  # Friday before half-term
    twentieth = cal.nth_school_day_of_absence(last_attended, 20)
    assert twentieth == D(2026, 11, 27)  # Friday of the 4th teaching week after half-term
    assert (twentieth - last_attended).days == 35  # 5 calendar weeks, not 4
    assert cal.nth_school_day_of_absence(last_attended, 1) == D(2026, 11, 2)
    assert cal.school_days_between(last_attended, D(2026, 11, 27)) == 20
    assert cal.school_days_between(last_attended, D(2026, 11, 26)) == 19
    assert cal.school_days_between(last_attended, D(2026, 10, 30)) == 0  # half-term week


def test_sc23_inset_day_pushes_by_one_school_day():
    cal = SchoolCalendar(terms=AUTUMN_2026, non_teaching_days={D(2026, 11, 2): "INSET day"})
    assert cal.nth_school_day_of_absence(D(2026, 10, 23), 20) == D(2026, 11, 30)
    assert cal.is_school_day(D(2026, 11, 2)) is False


def test_sc23_bank_holiday_pushes_by_one_school_day():
    extra = {D(2026, 11, 16): "One-off bank holiday"}
    cal = SchoolCalendar(terms=AUTUMN_2026, bank_holidays=extra)
    assert cal.nth_school_day_of_absence(D(2026, 10, 23), 20) == D(2026, 11, 30)


def test_sc23_bank_holiday_and_inset_push_by_one_each():
    cal = SchoolCalendar(
        terms=AUTUMN_2026,
        non_teaching_days={D(2026, 11, 2): "INSET day"},
        bank_holidays={D(2026, 11, 16): "One-off bank holiday"},
    )
    assert cal.nth_school_day_of_absence(D(2026, 10, 23), 20) == D(2026, 12, 1)


def test_real_may_day_in_span_pushes_twentieth_day_after_easter():
    last_attended = D(2027, 3, 25)  # last day before the Easter break
    real = SchoolCalendar(terms=EASTER_2027)
    no_bank_holidays = SchoolCalendar(terms=EASTER_2027, bank_holidays={})
    assert no_bank_holidays.nth_school_day_of_absence(last_attended, 20) == D(2027, 5, 7)
    assert real.nth_school_day_of_absence(last_attended, 20) == D(2027, 5, 10)


# ----- bank holidays ----------------------------------------------------------------------


def test_may_day_is_neither_school_nor_working_day():
    cal = SchoolCalendar(terms=EASTER_2027)
    assert cal.bank_holiday_name(D(2027, 5, 3)) == "May Day"
    assert cal.is_school_day(D(2027, 5, 3)) is False
    assert cal.is_working_day(D(2027, 5, 3)) is False
    assert cal.is_school_day(D(2027, 5, 4)) is True
    assert cal.school_days_between(D(2027, 4, 30), D(2027, 5, 7)) == 4
    assert cal.add_school_days(D(2027, 4, 30), 1) == D(2027, 5, 4)
    assert cal.is_working_day(D(2028, 5, 1)) is False  # May Day 2028


def test_christmas_and_new_year_substitute_days_2027_28():
    # Spring term naively starting Mon 3 Jan 2028, the substitute New Year bank holiday.
    cal = SchoolCalendar(terms=[(D(2027, 11, 1), D(2027, 12, 17)), (D(2028, 1, 3), D(2028, 2, 11))])
    assert cal.is_school_day(D(2028, 1, 3)) is False
    assert cal.add_school_days(D(2027, 12, 17), 1) == D(2028, 1, 4)
    for substitute in (D(2027, 12, 27), D(2027, 12, 28), D(2028, 1, 3)):
        assert cal.is_working_day(substitute) is False
    assert cal.add_working_days(D(2027, 12, 24), 1) == D(2027, 12, 29)
    assert cal.add_working_days(D(2027, 12, 31), 1) == D(2028, 1, 4)
    assert cal.working_days_between(D(2027, 12, 24), D(2028, 1, 4)) == 4


def test_christmas_2026_boxing_day_substitute():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    assert cal.is_working_day(D(2026, 12, 28)) is False  # Boxing Day (observed)
    assert cal.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)
    assert cal.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_england_and_wales_share_bank_holidays():
    for year in (2026, 2027, 2028):
        eng = holidays.country_holidays("GB", subdiv="ENG", years=year)
        wls = holidays.country_holidays("GB", subdiv="WLS", years=year)
        assert dict(eng) == dict(wls)


# ----- working days -----------------------------------------------------------------------


def test_school_holidays_are_working_days():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    assert cal.is_working_day(D(2026, 10, 26)) is True
    assert cal.is_school_day(D(2026, 10, 26)) is False
    assert cal.add_working_days(D(2026, 10, 23), 1) == D(2026, 10, 26)
    assert cal.add_working_days(D(2026, 10, 23), 5) == D(2026, 10, 30)
    assert cal.working_days_between(D(2026, 10, 23), D(2026, 11, 2)) == 6
    assert cal.school_days_between(D(2026, 10, 23), D(2026, 11, 2)) == 1


def test_working_days_across_bank_holidays():
    cal = SchoolCalendar(terms=EASTER_2027)
    # Good Friday 26 Mar and Easter Monday 29 Mar 2027.
    assert cal.add_working_days(D(2027, 3, 25), 1) == D(2027, 3, 30)
    assert cal.working_days_between(D(2027, 3, 25), D(2027, 4, 2)) == 4
    # Late Summer bank holiday Mon 31 Aug 2026, across a weekend.
    assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 1)


def test_inset_day_is_still_a_working_day():
    cal = SchoolCalendar(terms=AUTUMN_2026, non_teaching_days={D(2026, 9, 1): "INSET day"})
    assert cal.is_working_day(D(2026, 9, 1)) is True
    assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 1)
    assert cal.add_school_days(D(2026, 8, 31), 1) == D(2026, 9, 2)


def test_zero_days_and_reversed_spans():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    saturday = D(2026, 10, 24)
    assert cal.add_working_days(saturday, 0) == saturday  # "same working day" targets
    assert cal.add_school_days(saturday, 0) == saturday
    assert cal.school_days_between(D(2026, 11, 27), D(2026, 11, 2)) == 0
    assert cal.working_days_between(D(2026, 11, 27), D(2026, 11, 27)) == 0
    with pytest.raises(ValueError):
        cal.add_school_days(saturday, -1)
    with pytest.raises(ValueError):
        cal.nth_school_day_of_absence(saturday, 0)


def test_working_days_need_no_term_dates():
    cal = SchoolCalendar(terms=[])
    assert cal.add_working_days(D(2030, 5, 3), 1) == D(2030, 5, 7)  # May Day Mon 6 May 2030
    assert cal.working_days_between(D(2029, 12, 31), D(2031, 1, 1)) == 253


# ----- coverage ---------------------------------------------------------------------------


def test_covers_whole_school_years_with_term_dates():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    assert cal.covers(D(2026, 8, 31)) is False
    assert cal.covers(D(2026, 9, 1)) is True
    assert cal.covers(D(2027, 8, 31)) is True
    assert cal.covers(D(2027, 9, 1)) is False
    assert cal.covered_spans == [(D(2026, 9, 1), D(2027, 8, 31))]


def test_uncovered_dates_raise_calendar_not_seeded():
    cal = SchoolCalendar(terms=AUTUMN_2026)
    with pytest.raises(CalendarNotSeeded, match="2026-08-28"):
        cal.is_school_day(D(2026, 8, 28))
    with pytest.raises(CalendarNotSeeded):
        cal.school_days_between(D(2026, 7, 17), D(2026, 9, 10))
    with pytest.raises(CalendarNotSeeded):
        cal.add_school_days(D(2026, 7, 17), 5)
    with pytest.raises(CalendarNotSeeded, match="2027-09-01"):
        cal.add_school_days(D(2026, 12, 18), 1)  # no later term dates on record


def test_walk_does_not_skip_an_unseeded_school_year():
    cal = SchoolCalendar(terms=[(D(2027, 6, 7), D(2027, 7, 21)), (D(2028, 9, 4), D(2028, 10, 20))])
    assert cal.covers(D(2027, 12, 1)) is False
    with pytest.raises(CalendarNotSeeded, match="2027-09-01"):
        cal.add_school_days(D(2027, 7, 19), 5)
    with pytest.raises(CalendarNotSeeded):
        cal.school_days_between(D(2027, 7, 19), D(2028, 9, 10))


# ----- seeding and loading ----------------------------------------------------------------


def _counts(session) -> tuple[int, int]:
    terms = session.exec(select(func.count()).select_from(TermPeriod)).one()
    days = session.exec(select(func.count()).select_from(NonTeachingDay)).one()
    return terms, days


def test_seed_term_dates_is_idempotent(session):
    assert seed_term_dates(session) == 22  # 12 half-term blocks + 10 INSET days
    session.commit()
    assert _counts(session) == (12, 10)
    assert seed_term_dates(session) == 0
    session.commit()
    assert _counts(session) == (12, 10)


def test_seed_adds_only_missing_rows_and_keeps_edits(session):
    seed_term_dates(session)
    session.commit()
    spring2 = session.exec(
        select(TermPeriod).where(TermPeriod.school_year == "2026-27", TermPeriod.name == "Spring 2")
    ).one()
    autumn1 = session.exec(
        select(TermPeriod).where(TermPeriod.school_year == "2026-27", TermPeriod.name == "Autumn 1")
    ).one()
    inset = session.exec(select(NonTeachingDay).where(NonTeachingDay.on == D(2027, 1, 4))).one()
    autumn1.ends_on = D(2026, 10, 22)  # LA correction
    session.add(autumn1)
    session.delete(spring2)
    session.delete(inset)
    session.commit()

    assert seed_term_dates(session) == 2
    session.commit()
    assert _counts(session) == (12, 10)
    session.refresh(autumn1)
    assert autumn1.ends_on == D(2026, 10, 22)


def test_load_calendar_matches_pure_instance_for_autumn_2026(session):
    seed_term_dates(session)
    session.commit()
    loaded = load_calendar(session)
    pure = SchoolCalendar(terms=AUTUMN_2026, non_teaching_days={D(2026, 9, 1): "INSET day"})

    d = D(2026, 9, 1)
    while d <= D(2026, 12, 31):
        assert loaded.is_school_day(d) == pure.is_school_day(d), d
        d += timedelta(days=1)
    for cal in (loaded, pure):
        assert cal.nth_school_day_of_absence(D(2026, 10, 23), 20) == D(2026, 11, 27)
        assert cal.add_school_days(D(2026, 8, 31), 1) == D(2026, 9, 2)  # after the INSET day
        assert cal.school_days_between(D(2026, 8, 31), D(2026, 12, 18)) == 73


def test_seeded_years_have_190_teaching_days(session):
    seed_term_dates(session)
    session.commit()
    cal = load_calendar(session)
    assert cal.covered_spans == [(D(2026, 9, 1), D(2028, 8, 31))]
    assert cal.school_days_between(D(2026, 8, 31), D(2027, 8, 31)) == 190
    assert cal.school_days_between(D(2027, 8, 31), D(2028, 8, 31)) == 190
    # Spring bank holidays fall inside the May half-terms; May Days inside Summer 1.
    assert cal.is_school_day(D(2027, 5, 31)) is False
    assert cal.is_school_day(D(2028, 5, 1)) is False
    with pytest.raises(CalendarNotSeeded, match="2028-09-01"):
        cal.add_school_days(D(2028, 7, 19), 5)


def test_load_calendar_on_empty_database(session):
    cal = load_calendar(session)
    assert cal.covers(D(2026, 11, 28)) is False
    with pytest.raises(CalendarNotSeeded):
        cal.is_school_day(D(2026, 11, 27))
    assert cal.add_working_days(D(2026, 11, 27), 1) == D(2026, 11, 30)
