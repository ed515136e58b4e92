"""Default term dates (Leeds-like maintained schools) seeded so school-day maths works at once.

These are plausible placeholders, not published dates: the LA confirms or corrects the real
dates in /admin/calendar. Each half-term block is one TermPeriod; gaps between blocks are
holidays. Each year has 195 open days minus 5 INSET = 190 teaching days.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlmodel import Session, select

from ...models.calendar import NonTeachingDay, TermPeriod

__all__ = ["DEFAULT_NON_TEACHING_DAYS", "DEFAULT_TERMS", "TermSeed", "seed_term_dates"]


class TermSeed(NamedTuple):
    school_year: str
    name: str
    starts_on: date
    ends_on: date


DEFAULT_TERMS: tuple[TermSeed, ...] = (
    # 2026-27. Late Summer bank holiday is Mon 31 Aug, so term opens Tue 1 Sep.
    TermSeed("2026-27", "Autumn 1", date(2026, 9, 1), date(2026, 10, 23)),
    TermSeed("2026-27", "Autumn 2", date(2026, 11, 2), date(2026, 12, 18)),
    TermSeed("2026-27", "Spring 1", date(2027, 1, 4), date(2027, 2, 12)),
    # Ends Thu 25 Mar: Good Friday is 26 Mar 2027 (Easter Sunday 28 Mar).
    TermSeed("2026-27", "Spring 2", date(2027, 2, 22), date(2027, 3, 25)),
    # Contains May Day (Mon 3 May 2027).
    TermSeed("2026-27", "Summer 1", date(2027, 4, 12), date(2027, 5, 28)),
    # Half-term 31 May - 4 Jun contains the Spring bank holiday.
    TermSeed("2026-27", "Summer 2", date(2027, 6, 7), date(2027, 7, 21)),
    # 2027-28. Late Summer bank holiday is Mon 30 Aug.
    TermSeed("2027-28", "Autumn 1", date(2027, 9, 1), date(2027, 10, 22)),
    TermSeed("2027-28", "Autumn 2", date(2027, 11, 1), date(2027, 12, 17)),
    # Mon 3 Jan 2028 is the substitute New Year bank holiday.
    TermSeed("2027-28", "Spring 1", date(2028, 1, 4), date(2028, 2, 11)),
    # Easter Sunday is 16 Apr 2028; the break 10-21 Apr spans Good Friday and Easter Monday.
    TermSeed("2027-28", "Spring 2", date(2028, 2, 21), date(2028, 4, 7)),
    # Contains May Day (Mon 1 May 2028).
    TermSeed("2027-28", "Summer 1", date(2028, 4, 24), date(2028, 5, 26)),
    # Half-term 29 May - 2 Jun contains the Spring bank holiday.
    TermSeed("2027-28", "Summer 2", date(2028, 6, 5), date(2028, 7, 20)),
)

DEFAULT_NON_TEACHING_DAYS: dict[date, str] = {
    date(2026, 9, 1): "INSET day",
    date(2027, 1, 4): "INSET day",
    date(2027, 2, 12): "INSET day",
    date(2027, 6, 7): "INSET day",
    date(2027, 7, 21): "INSET day",
    date(2027, 9, 1): "INSET day",
    date(2028, 1, 4): "INSET day",
    date(2028, 2, 21): "INSET day",
    date(2028, 6, 5): "INSET day",
    date(2028, 7, 20): "INSET day",
}


def seed_term_dates(session: Session) -> int:
    """Insert any missing default periods and INSET days; return how many rows were added.

    Keyed by (school_year, name) and by date, so rows the LA has edited are left alone.
    Flushes only: the caller owns the transaction.
    """
    have_terms = {(t.school_year, t.name) for t in session.exec(select(TermPeriod)).all()}
    have_days = set(session.exec(select(NonTeachingDay.on)).all())
    added = 0
    for seed in DEFAULT_TERMS:
        if (seed.school_year, seed.name) not in have_terms:
            session.add(TermPeriod(**seed._asdict()))
            added += 1
    for on, reason in DEFAULT_NON_TEACHING_DAYS.items():
        if on not in have_days:
            session.add(NonTeachingDay(on=on, reason=reason))
            added += 1
    session.flush()
    return added
