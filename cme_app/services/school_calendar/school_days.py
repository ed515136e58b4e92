"""School-day and working-day arithmetic (BR-L17, SC-23). Framework-free.

School days: weekdays inside a term period that are neither bank holidays nor non-teaching
(INSET) days. Working days: weekdays that are not bank holidays; school holidays count.
Bank holidays are England's from the `holidays` package (England and Wales share one list).

Build one `SchoolCalendar` per request/render and reuse it: lookups are set/bisect based.
`load_calendar` keeps the one it built, per database and per UK day, in this process: a
referral submit no longer reads and builds the calendar each time (issue 19). Any flush that
adds, changes or removes a term or a non-teaching day (the admin's calendar pages, seeding)
drops it, and again when that transaction commits or rolls back; until then the changing
session builds its own, uncached. Another worker process cannot see that flush, so a kept
calendar is also rebuilt after KEEP_SECONDS: every worker sees a change within a minute.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from itertools import chain
from threading import Lock
from time import monotonic
from weakref import WeakKeyDictionary

import holidays
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from ...dates import uk_today
from ...models.calendar import NonTeachingDay, TermPeriod

__all__ = ["CalendarNotSeeded", "SchoolCalendar", "academic_year_of", "forget_calendars",
           "load_calendar"]


class CalendarNotSeeded(LookupError):
    """A school-day question was asked about a date with no term dates on record."""

    def __init__(self, d: date, covered: list[tuple[date, date]]) -> None:
        spans = ", ".join(f"{a.isoformat()} to {b.isoformat()}" for a, b in covered) or "none"
        super().__init__(
            f"No term dates for {d.isoformat()} (covered: {spans}); "
            "add the school year's term dates in /admin/calendar"
        )
        self.date = d


def academic_year_of(d: date) -> int:
    """The calendar year the school year containing `d` starts in (1 Sep to 31 Aug)."""
    return d.year if d.month >= 9 else d.year - 1


@lru_cache(maxsize=64)
def _england_bank_holidays(year: int) -> dict[date, str]:
    # Static per year, so cache across calendars; ENG == WLS in the package.
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year))


class SchoolCalendar:
    def __init__(
        self,
        terms: Iterable[tuple[date, date]],
        non_teaching_days: Mapping[date, str] | None = None,
        bank_holidays: Mapping[date, str] | None = None,
    ) -> None:
        """`bank_holidays` overrides the package's list (tests, or a one-off LA closure list)."""
        self._terms = sorted((s, e) for s, e in terms if s <= e)
        self.non_teaching_days: dict[date, str] = dict(non_teaching_days or {})
        self._fixed_bank_holidays = dict(bank_holidays) if bank_holidays is not None else None

        years = {academic_year_of(d) for span in self._terms for d in span}
        self._covered = _merge_year_spans(years)

        school_days: list[int] = []
        for start, end in self._terms:
            d = start
            while d <= end:
                if (
                    d.weekday() < 5
                    and not self.is_bank_holiday(d)
                    and d not in self.non_teaching_days
                ):
                    school_days.append(d.toordinal())
                d += timedelta(days=1)
        # Overlapping periods would duplicate days; dedupe before sorting.
        self._school_days = sorted(set(school_days))
        self._school_day_set = frozenset(self._school_days)
        self._working_days: dict[int, list[int]] = {}

    # ----- coverage -------------------------------------------------------------------

    @property
    def covered_spans(self) -> list[tuple[date, date]]:
        """Inclusive (1 Sep, 31 Aug) spans of the school years that have term dates."""
        return list(self._covered)

    def covers(self, d: date) -> bool:
        return any(a <= d <= b for a, b in self._covered)

    def _require_covered(self, first: date, last: date) -> None:
        # Every date in [first, last] must sit in one contiguous covered span, so a walk
        # never silently skips an unseeded school year.
        for a, b in self._covered:
            if a <= first <= b:
                if last > b:
                    raise CalendarNotSeeded(b + timedelta(days=1), self._covered)
                return
        raise CalendarNotSeeded(first, self._covered)

    # ----- day classification ---------------------------------------------------------

    def bank_holiday_name(self, d: date) -> str | None:
        if self._fixed_bank_holidays is not None:
            return self._fixed_bank_holidays.get(d)
        return _england_bank_holidays(d.year).get(d)

    def is_bank_holiday(self, d: date) -> bool:
        return self.bank_holiday_name(d) is not None

    def is_school_day(self, d: date) -> bool:
        self._require_covered(d, d)
        return d.toordinal() in self._school_day_set

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and not self.is_bank_holiday(d)

    # ----- school-day arithmetic --------------------------------------------------------

    def add_school_days(self, d: date, n: int) -> date:
        """The nth school day strictly after `d` (n=0 returns `d` unchanged)."""
        _check_n(n)
        if n == 0:
            return d
        i = bisect_right(self._school_days, d.toordinal()) + n - 1
        if i >= len(self._school_days):
            # Runs off the end of the seeded years: report the first unseeded date.
            first = d + timedelta(days=1)
            self._require_covered(first, first)
            end = next(b for a, b in self._covered if a <= first <= b)
            raise CalendarNotSeeded(end + timedelta(days=1), self._covered)
        result = date.fromordinal(self._school_days[i])
        self._require_covered(d + timedelta(days=1), result)
        return result

    def nth_school_day_of_absence(self, last_attended: date, n: int) -> date:
        """Date of the nth school day missed after the last attendance (SC-23)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        return self.add_school_days(last_attended, n)

    def school_days_between(self, start: date, end: date) -> int:
        """School days in (start, end]: days missed after last attending `start`, up to `end`."""
        if end <= start:
            return 0
        self._require_covered(start + timedelta(days=1), end)
        return bisect_right(self._school_days, end.toordinal()) - bisect_right(
            self._school_days, start.toordinal()
        )

    # ----- working-day arithmetic -------------------------------------------------------

    def _working_days_in(self, year: int) -> list[int]:
        days = self._working_days.get(year)
        if days is None:
            d, days = date(year, 1, 1), []
            while d.year == year:
                if self.is_working_day(d):
                    days.append(d.toordinal())
                d += timedelta(days=1)
            self._working_days[year] = days
        return days

    def add_working_days(self, d: date, n: int) -> date:
        """The nth working day strictly after `d` (n=0 returns `d` unchanged)."""
        _check_n(n)
        if n == 0:
            return d
        year = d.year
        days = self._working_days_in(year)
        i = bisect_right(days, d.toordinal()) + n - 1
        while i >= len(days):
            i -= len(days)
            year += 1
            days = self._working_days_in(year)
        return date.fromordinal(days[i])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        if end <= start:
            return 0
        total = 0
        for year in range(start.year, end.year + 1):
            days = self._working_days_in(year)
            total += bisect_right(days, end.toordinal()) - bisect_right(days, start.toordinal())
        return total


def _check_n(n: int) -> None:
    if n < 0:
        raise ValueError("n must be zero or more")


def _merge_year_spans(years: set[int]) -> list[tuple[date, date]]:
    spans: list[tuple[date, date]] = []
    for y in sorted(years):
        if spans and spans[-1][1] == date(y, 8, 31):
            spans[-1] = (spans[-1][0], date(y + 1, 8, 31))
        else:
            spans.append((date(y, 9, 1), date(y + 1, 8, 31)))
    return spans


# Built calendars: per engine, (UK day, built at (monotonic), calendar). Dropped whole by
# `forget_calendars`; rebuilt after KEEP_SECONDS (other workers' changes).
KEEP_SECONDS = 60.0
_CACHE: WeakKeyDictionary = WeakKeyDictionary()
_CACHE_LOCK = Lock()
_CHANGED_KEY = "cme.calendar_changed"  # session.info: this transaction changed the calendar


def forget_calendars() -> None:
    """Drop every kept calendar (the term dates or non-teaching days changed)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _build(session: Session) -> SchoolCalendar:
    terms = session.exec(select(TermPeriod.starts_on, TermPeriod.ends_on)).all()
    closures = dict(session.exec(select(NonTeachingDay.on, NonTeachingDay.reason)).all())
    return SchoolCalendar(terms=terms, non_teaching_days=closures)


def load_calendar(session: Session) -> SchoolCalendar:
    """The school calendar as stored; kept per database and UK day (see the module's note).
    Callers must not change what it returns."""
    if session.info.get(_CHANGED_KEY):
        return _build(session)  # this transaction's own, uncommitted, term dates
    engine, today = session.get_bind().engine, uk_today()
    with _CACHE_LOCK:
        kept = _CACHE.get(engine)
    if kept is not None and kept[0] == today and monotonic() - kept[1] < KEEP_SECONDS:
        return kept[2]
    calendar = _build(session)
    with _CACHE_LOCK:
        _CACHE[engine] = (today, monotonic(), calendar)
    return calendar


@event.listens_for(OrmSession, "after_flush")
def _calendar_flushed(session, _flush_context) -> None:
    if any(isinstance(row, TermPeriod | NonTeachingDay)
           for row in chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED_KEY] = True
        forget_calendars()


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _calendar_settled(session) -> None:
    if session.info.pop(_CHANGED_KEY, None):
        forget_calendars()
