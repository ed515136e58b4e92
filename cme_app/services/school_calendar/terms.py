"""Term dates and non-teaching days, kept by administrators at /admin/calendar (BR-L17).

Every school-day count (days in stage, the 20-school-day untraceable rule, school-day targets)
comes from these rows through services/school_calendar/school_days.py, so a change here
moves those counts on open cases at once. Only admins change anything; every change is
audited with before/after.

A school year "2028-29" runs 1 September 2028 to 31 August 2029: the span school_days.py's
`academic_year_of` gives, so a term can never count towards the wrong year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from ...dates import long_date, short_date
from ...errors import FieldError, NotAllowed, NotFound, ValidationFailed
from ...models.calendar import NonTeachingDay, TermPeriod
from ...permissions import Actor, Capability, allows, require
from ..trust import audit
from .school_days import SchoolCalendar, academic_year_of, load_calendar

NAME_LIMIT = 60
REASON_LIMIT = 100
_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
# Key of the PostgreSQL advisory lock held by every change, so two admins' overlap checks
# can't both pass (SQLite already serialises writers with BEGIN IMMEDIATE, cme_app/db.py).
CALENDAR_LOCK_KEY = 0x434D4543  # "CMEC"


# ----- words and dates ------------------------------------------------------------------------


def school_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def year_bounds(start_year: int) -> tuple[date, date]:
    return date(start_year, 9, 1), date(start_year + 1, 8, 31)


def day_label(d: date) -> str:
    """As people read it: "Tue 1 Sep 2026"."""
    return f"{d:%a} {short_date(d)}"


def parse_school_year(value: object) -> int | None:
    """The start year of "2028-29", or None if it is not two years in a row."""
    match = _SCHOOL_YEAR.match(str(value or "").strip())
    if not match:
        return None
    start = int(match.group(1))
    if not 2000 <= start <= 2098 or int(match.group(2)) != (start + 1) % 100:
        return None
    return start


def _parse_day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None


def school_year_of(change: object) -> str | None:
    """The school year a term or a non-teaching day belongs to (None for anything else)."""
    if isinstance(change, TermPeriod):
        return change.school_year
    if isinstance(change, NonTeachingDay):
        return school_year_label(academic_year_of(change.on))
    return None


# ----- reading --------------------------------------------------------------------------------


@dataclass
class TermRow:
    id: int
    school_year: str
    name: str
    starts_on: str  # ISO, for the change form
    ends_on: str
    first_day: str  # as people read it
    last_day: str
    school_days: int


@dataclass
class DayRow:
    id: int
    on: str
    label: str
    reason: str


@dataclass
class BankHolidayRow:
    on: str
    label: str
    name: str
    in_term: bool


@dataclass
class SchoolYearView:
    label: str
    first_day: str  # "1 September 2028"
    last_day: str
    terms: list[TermRow]
    non_teaching_days: list[DayRow]
    bank_holidays: list[BankHolidayRow]
    school_days: int


@dataclass
class CalendarOverview:
    years: list[str]  # every year with terms, plus the current and next school year
    missing: list[str]  # the current or next school year with no terms


def overview(session: Session, *, actor: Actor | None, today: date) -> CalendarOverview:
    require(actor, Capability.CALENDAR_MANAGE)
    have = set(session.exec(select(TermPeriod.school_year).distinct()).all())
    now = academic_year_of(today)
    wanted = [school_year_label(now), school_year_label(now + 1)]
    return CalendarOverview(
        years=sorted(have | set(wanted)),
        missing=[y for y in wanted if y not in have],
    )


def _in_any_term(terms: list[TermPeriod], d: date) -> bool:
    return any(t.starts_on <= d <= t.ends_on for t in terms)


def school_year(session: Session, *, actor: Actor | None, label: str) -> SchoolYearView:
    """One school year: its terms with their school days, non-teaching days and the bank
    holidays that fall in it (read-only: England and Wales, from the `holidays` package)."""
    require(actor, Capability.CALENDAR_MANAGE)
    start = parse_school_year(label)
    if start is None:
        raise ValidationFailed([FieldError("school_year", "Enter the school year in the "
                                                          "format 2028-29")])
    label = school_year_label(start)
    first, last = year_bounds(start)
    terms = session.exec(
        select(TermPeriod).where(TermPeriod.school_year == label).order_by(TermPeriod.starts_on)
    ).all()
    days = session.exec(
        select(NonTeachingDay).where(NonTeachingDay.on >= first, NonTeachingDay.on <= last)
        .order_by(NonTeachingDay.on)
    ).all()
    cal = load_calendar(session)
    rows = []
    for t in terms:
        count = cal.school_days_between(t.starts_on - timedelta(days=1), t.ends_on)
        rows.append(TermRow(
            id=t.id, school_year=t.school_year, name=t.name,
            starts_on=t.starts_on.isoformat(), ends_on=t.ends_on.isoformat(),
            first_day=day_label(t.starts_on), last_day=day_label(t.ends_on), school_days=count,
        ))
    bank = SchoolCalendar(terms=[])  # the package's list, nothing else
    holidays = []
    d = first
    while d <= last:
        name = bank.bank_holiday_name(d)
        if name:
            holidays.append(BankHolidayRow(on=d.isoformat(), label=day_label(d), name=name,
                                           in_term=_in_any_term(terms, d)))
        d += timedelta(days=1)
    return SchoolYearView(
        label=label,
        first_day=long_date(first),
        last_day=long_date(last),
        terms=rows,
        non_teaching_days=[DayRow(id=n.id, on=n.on.isoformat(), label=day_label(n.on),
                                  reason=n.reason) for n in days],
        bank_holidays=holidays,
        school_days=sum(r.school_days for r in rows),
    )


# ----- changing -------------------------------------------------------------------------------


def _require_editor(session: Session, actor: Actor | None, action: str) -> Actor:
    if actor is not None and not allows(actor.role, Capability.CALENDAR_MANAGE):
        audit.record(session, actor=actor, action=action, outcome="refused",
                     entity_type="calendar")
        raise NotAllowed("Only an administrator can change the school calendar.")
    actor = require(actor, Capability.CALENDAR_MANAGE)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CALENDAR_LOCK_KEY})
    return actor


def _term_facts(t: TermPeriod) -> dict:
    return {"school_year": t.school_year, "name": t.name,
            "starts_on": t.starts_on.isoformat(), "ends_on": t.ends_on.isoformat()}


def _check_term(
    session: Session,
    *,
    school_year_text: object,
    name: object,
    starts_on: object,
    ends_on: object,
    term_id: int | None,
) -> tuple[str, str, date, date]:
    """Every rule for one term period, all errors at once, in form order."""
    errors: list[FieldError] = []
    start_year = _check_school_year(school_year_text, errors)
    label = school_year_label(start_year) if start_year is not None else ""
    term_name = _check_term_name(session, name, label, term_id, errors)
    first = _check_term_day("starts_on", "First day", starts_on, start_year, errors)
    last = _check_term_day("ends_on", "Last day", ends_on, start_year, errors)
    if first and last and last < first:
        errors.append(FieldError("ends_on", "Last day must be the same as or after the first day"))
        last = None
    if first and last and (other := _overlapping_term(session, first, last, term_id)):
        errors.append(FieldError(
            "starts_on",
            f"These dates overlap {other.name} {other.school_year} "
            f"({day_label(other.starts_on)} to {day_label(other.ends_on)}): terms cannot overlap",
        ))
    if errors:
        raise ValidationFailed(errors)
    return label, term_name, first, last


def _check_school_year(raw: object, errors: list[FieldError]) -> int | None:
    written = str(raw or "").strip()
    start_year = parse_school_year(written)
    if not written:
        errors.append(FieldError("school_year", "Enter the school year"))
    elif start_year is None:
        errors.append(FieldError("school_year",
                                 "Enter the school year as two years in a row, like 2028-29"))
    return start_year


def _check_words(raw: object, field: str, missing: str, what: str, limit: int,
                 errors: list[FieldError]) -> str:
    """Text with its spacing tidied: it must be there, and no longer than `limit`."""
    words = " ".join(str(raw or "").split())
    if not words:
        errors.append(FieldError(field, missing))
    elif len(words) > limit:
        errors.append(FieldError(field, f"{what} must be {limit} characters or fewer"))
    return words


def _check_term_name(session: Session, raw: object, label: str, term_id: int | None,
                     errors: list[FieldError]) -> str:
    """One name per term within a school year (any case)."""
    term_name = _check_words(raw, "name", "Enter the term name", "Term name", NAME_LIMIT, errors)
    if term_name and len(term_name) <= NAME_LIMIT and label:
        same = session.exec(select(TermPeriod).where(TermPeriod.school_year == label)).all()
        if any(t.name.casefold() == term_name.casefold() and t.id != term_id for t in same):
            errors.append(FieldError("name", f"There is already a term called {term_name} in "
                                             f"{label}: choose a different name"))
    return term_name


def _check_term_day(field: str, words: str, raw: object, start_year: int | None,
                    errors: list[FieldError]) -> date | None:
    """A term's first or last day: a real weekday inside its school year."""
    value = _parse_day(raw)
    if not str(raw or "").strip():
        errors.append(FieldError(field, f"Enter the {words.lower()} of the term"))
    elif value is None:
        errors.append(FieldError(field, f"{words} must be a real date"))
    elif value.weekday() >= 5:
        errors.append(FieldError(field, f"{words} must be a weekday (Monday to Friday)"))
    elif start_year is not None and not (
        year_bounds(start_year)[0] <= value <= year_bounds(start_year)[1]
    ):
        a, b = year_bounds(start_year)
        errors.append(FieldError(field, f"{words} must be in the "
                                        f"{school_year_label(start_year)} school year "
                                        f"({long_date(a)} to {long_date(b)})"))
    else:
        return value
    return None


def _overlapping_term(session: Session, first: date, last: date,
                      term_id: int | None) -> TermPeriod | None:
    """Another term sharing a day with first..last (terms never overlap)."""
    for other in session.exec(
        select(TermPeriod).where(TermPeriod.starts_on <= last, TermPeriod.ends_on >= first)
    ).all():
        if other.id != term_id:
            return other
    return None


def add_term(
    session: Session,
    *,
    actor: Actor | None,
    school_year: object,
    name: object,
    starts_on: object,
    ends_on: object,
) -> TermPeriod:
    actor = _require_editor(session, actor, "calendar.term_added")
    label, term_name, first, last = _check_term(
        session, school_year_text=school_year, name=name, starts_on=starts_on, ends_on=ends_on,
        term_id=None,
    )
    term = TermPeriod(school_year=label, name=term_name, starts_on=first, ends_on=last)
    session.add(term)
    session.flush()
    audit.record(session, actor=actor, action="calendar.term_added", entity_type="term_period",
                 entity_id=term.id, detail={"before": None, "after": _term_facts(term)})
    return term


def _load_term(session: Session, term_id: object) -> TermPeriod:
    if not isinstance(term_id, int) or isinstance(term_id, bool):
        raise NotFound("That term is no longer on the calendar.")
    term = session.get(TermPeriod, term_id)
    if term is None:
        raise NotFound("That term is no longer on the calendar.")
    return term


def change_term(
    session: Session,
    *,
    actor: Actor | None,
    term_id: int,
    school_year: object,
    name: object,
    starts_on: object,
    ends_on: object,
) -> TermPeriod:
    """Correct a term. A non-teaching day it holds must stay inside a term: otherwise the
    change is refused, naming the day, so nothing disappears from the calendar unseen."""
    actor = _require_editor(session, actor, "calendar.term_changed")
    term = _load_term(session, term_id)
    label, term_name, first, last = _check_term(
        session, school_year_text=school_year, name=name, starts_on=starts_on, ends_on=ends_on,
        term_id=term.id,
    )
    others = [t for t in session.exec(select(TermPeriod)).all() if t.id != term.id]
    held = session.exec(
        select(NonTeachingDay).where(NonTeachingDay.on >= term.starts_on,
                                     NonTeachingDay.on <= term.ends_on)
        .order_by(NonTeachingDay.on)
    ).all()
    for day in held:
        if not first <= day.on <= last and not _in_any_term(others, day.on):
            field = "starts_on" if day.on < first else "ends_on"
            raise ValidationFailed([FieldError(
                field,
                f"{day_label(day.on)} is a non-teaching day ({day.reason}) and would no longer "
                "be in a term: remove it first, or keep it inside the term",
            )])
    before = _term_facts(term)
    term.school_year, term.name, term.starts_on, term.ends_on = label, term_name, first, last
    session.add(term)
    session.flush()
    audit.record(session, actor=actor, action="calendar.term_changed", entity_type="term_period",
                 entity_id=term.id, detail={"before": before, "after": _term_facts(term)})
    return term


def remove_term(session: Session, *, actor: Actor | None, term_id: int) -> list[date]:
    """Remove a term and the non-teaching days inside it (they mean nothing outside a term);
    returns those days."""
    actor = _require_editor(session, actor, "calendar.term_removed")
    term = _load_term(session, term_id)
    others = [t for t in session.exec(select(TermPeriod)).all() if t.id != term.id]
    held = [d for d in session.exec(
        select(NonTeachingDay).where(NonTeachingDay.on >= term.starts_on,
                                     NonTeachingDay.on <= term.ends_on)
    ).all() if not _in_any_term(others, d.on)]
    before = _term_facts(term) | {
        "non_teaching_days": [{"on": d.on.isoformat(), "reason": d.reason} for d in held]
    }
    for day in held:
        session.delete(day)
    session.delete(term)
    session.flush()
    audit.record(session, actor=actor, action="calendar.term_removed", entity_type="term_period",
                 entity_id=term_id, detail={"before": before, "after": None})
    return [d.on for d in held]


def add_non_teaching_day(
    session: Session, *, actor: Actor | None, on: object, reason: object
) -> NonTeachingDay:
    """An INSET day or closure for every school: a weekday inside a term, not a bank holiday
    (already no school day), not listed twice."""
    actor = _require_editor(session, actor, "calendar.non_teaching_day_added")
    errors: list[FieldError] = []
    day = _parse_day(on)
    if not str(on or "").strip():
        errors.append(FieldError("on", "Enter the date"))
    elif day is None:
        errors.append(FieldError("on", "Date must be a real date"))
    elif day.weekday() >= 5:
        errors.append(FieldError("on", "Date must be a weekday (Monday to Friday)"))
    elif (holiday := SchoolCalendar(terms=[]).bank_holiday_name(day)) is not None:
        errors.append(FieldError("on", f"{day_label(day)} is a bank holiday ({holiday}), so it "
                                       "is not a school day already"))
    elif not _in_any_term(session.exec(select(TermPeriod)).all(), day):
        errors.append(FieldError("on", f"{day_label(day)} is not in a term: add the term first, "
                                       "or choose a date inside one"))
    elif (listed := session.exec(select(NonTeachingDay).where(NonTeachingDay.on == day)).first()):
        errors.append(FieldError("on", f"{day_label(day)} is already a non-teaching day "
                                       f"({listed.reason})"))
    words = _check_words(reason, "reason", "Enter the reason, for example INSET day", "Reason",
                         REASON_LIMIT, errors)
    if errors:
        raise ValidationFailed(errors)
    row = NonTeachingDay(on=day, reason=words)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="calendar.non_teaching_day_added",
                 entity_type="non_teaching_day", entity_id=row.id,
                 detail={"before": None, "after": {"on": day.isoformat(), "reason": words}})
    return row


def remove_non_teaching_day(session: Session, *, actor: Actor | None, day_id: int) -> date:
    actor = _require_editor(session, actor, "calendar.non_teaching_day_removed")
    row = None
    if isinstance(day_id, int) and not isinstance(day_id, bool):
        row = session.get(NonTeachingDay, day_id)
    if row is None:
        raise NotFound("That non-teaching day is no longer on the calendar.")
    before = {"on": row.on.isoformat(), "reason": row.reason}
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="calendar.non_teaching_day_removed",
                 entity_type="non_teaching_day", entity_id=day_id,
                 detail={"before": before, "after": None})
    return date.fromisoformat(before["on"])
