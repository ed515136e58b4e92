"""The CME part of the DfE termly return, as at a census day (statutory-returns §1).

Everything is computed from episode history, so a return built weeks late gives the figures as
they were on census day: an episode counts on census day when it started on or before it and
had not ended by it (end_date is the first day the child was no longer CME), and the primary
reason is the one in force that day. Every figure keeps the child-level list behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from ...dates import (
    academic_year_start,
    compulsory_school_age,
    uk_date,
    uk_midnight,
    year_group,
)
from ...domain import (
    LENGTH_BANDS,
    OPEN_STAGES,
    RETURN_SEX,
    RETURN_SEXES,
    UNINFORMATIVE_REASONS,
    UNKNOWN,
    YEAR_GROUPS,
    Stage,
)
from ...models import Case, Child, CmeEpisode, EpisodeReason
from ...settings import get_settings
from ..school_calendar.school_days import CalendarNotSeeded, SchoolCalendar, load_calendar
from .reasons import reason_labels

MEASURES = (
    "on_census_day",
    "by_sex",
    "by_year_group",
    "by_length",
    "by_reason",
    "any_time_previous_year",
)


@dataclass(frozen=True, slots=True)
class CountedChild:
    """One child behind a figure: who, and the episode that counts them."""

    child_id: int
    name: str
    date_of_birth: date
    sex: str  # Female | Male | Unknown
    year_group: str  # Reception .. Year 11 | Unknown
    episode_id: int
    start_date: date | None
    start_basis: str
    reason: str
    length: str  # a LENGTH_BANDS label | Unknown
    whereabouts_unknown: bool
    case_id: int | None
    past_compulsory_age: bool
    to_confirm: bool = False  # a migrated episode whose start an officer has not confirmed


@dataclass
class CmeReturn:
    census_date: date
    previous_year: tuple[date, date]
    on_census_day: list[CountedChild]
    # A count: its list of children is read only when asked for (previous_year_children).
    any_time_previous_year: int
    reasons: list[str]  # every reason the table shows, in DfE's order
    left_out_elsewhere: int = 0  # children counted by the LA they live in, not this one
    warnings: list[ReturnWarning] = field(default_factory=list)

    def breakdown(self, measure: str) -> dict[str, int]:
        """The counts for one breakdown, every category present even when 0."""
        categories = {
            "by_sex": RETURN_SEXES,
            "by_year_group": (*YEAR_GROUPS, UNKNOWN),
            "by_length": (*(band[0] for band in LENGTH_BANDS), UNKNOWN),
            "by_reason": tuple(self.reasons),
        }[measure]
        counts = dict.fromkeys(categories, 0)
        for child in self.on_census_day:
            counts[_category(child, measure)] = counts.get(_category(child, measure), 0) + 1
        return counts

    def children(self, measure: str, category: str = "") -> list[CountedChild]:
        """The children behind one census-day figure (the previous year's:
        previous_year_children)."""
        if measure == "on_census_day":
            return self.on_census_day
        return [c for c in self.on_census_day if _category(c, measure) == category]

    def as_json(self) -> dict:
        return {
            "on_census_day": len(self.on_census_day),
            "by_sex": self.breakdown("by_sex"),
            "by_year_group": self.breakdown("by_year_group"),
            "by_length": self.breakdown("by_length"),
            "by_reason": self.breakdown("by_reason"),
            "any_time_previous_year": self.any_time_previous_year,
        }


@dataclass(frozen=True)
class ReturnWarning:
    """Something to check before the return goes to DfE, with the children it is about."""

    code: str
    message: str
    child_ids: tuple[int, ...] = ()


def _category(child: CountedChild, measure: str) -> str:
    return {
        "by_sex": child.sex,
        "by_year_group": child.year_group,
        "by_length": child.length,
        "by_reason": child.reason,
    }[measure]


def length_band(start: date | None, census: date) -> str:
    """How long the child had been missing education on census day, as DfE bands it."""
    if start is None:
        return UNKNOWN
    days = (census - start).days
    for label, low, high in LENGTH_BANDS:
        if days >= low and (high is None or days < high):
            return label
    return UNKNOWN


def previous_academic_year(census: date) -> tuple[date, date]:
    start = academic_year_start(census)
    return start.replace(year=start.year - 1), start - timedelta(days=1)


def overlapping(first: date, last: date):
    """Episodes that were open on some day from `first` to `last` (a WHERE clause). An episode
    with no start date counts from the day it was recorded."""
    recorded_by = uk_midnight(last + timedelta(days=1))
    started = or_(
        col(CmeEpisode.start_date) <= last,
        and_(col(CmeEpisode.start_date).is_(None), col(CmeEpisode.created_at) < recorded_by),
    )
    not_ended = or_(col(CmeEpisode.end_date).is_(None), col(CmeEpisode.end_date) > first)
    return and_(started, not_ended)


# What each counted child's line needs: a few columns, not whole rows (the return reads every
# child CME on census day and in the previous year: thousands of lines at the design load).
_LINE = (
    CmeEpisode.id, CmeEpisode.child_id, CmeEpisode.case_id, CmeEpisode.start_date,
    CmeEpisode.start_basis, CmeEpisode.whereabouts_unknown, CmeEpisode.to_confirm,
    Child.first_name, Child.last_name, Child.date_of_birth, Child.sex,
)


def _reason_on(day: date):
    """The episode's primary reason in force on `day`, as a correlated subquery: the last
    change from on or before it; else (it changed only after) its first; else its current."""
    of_episode = EpisodeReason.episode_id == CmeEpisode.id
    in_force = (
        select(EpisodeReason.reason)
        .where(of_episode, col(EpisodeReason.from_date) <= day)
        .order_by(col(EpisodeReason.from_date).desc(), col(EpisodeReason.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(EpisodeReason.reason)
        .where(of_episode)
        .order_by(col(EpisodeReason.from_date), col(EpisodeReason.id))
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(in_force, first, CmeEpisode.primary_reason)


def _lines(session: Session, first: date, last: date, census: date) -> list[CountedChild]:
    """One line per child living in the LA with an episode open on some day from `first` to
    `last` (their earliest such episode), its reason as on `last` and its length on `census`."""
    rows = session.exec(
        select(*_LINE, _reason_on(last))
        .join(Child, Child.id == CmeEpisode.child_id)
        .where(overlapping(first, last), col(CmeEpisode.lives_in_la).is_(True))
        # An undated episode sorts last on both databases (their default NULL order differs).
        .order_by(col(CmeEpisode.child_id), col(CmeEpisode.start_date).asc().nulls_last(),
                  col(CmeEpisode.id))
    ).all()
    lines: dict[int, CountedChild] = {}
    for row in rows:
        if row[1] not in lines:
            lines[row[1]] = _counted(row, census)
    return sorted(lines.values(), key=lambda c: (c.name.split()[-1:], c.name))


@lru_cache(maxsize=16384)
def _school_age(dob: date) -> tuple[date, date]:
    return compulsory_school_age(dob)


@lru_cache(maxsize=65536)
def _year_group(dob: date, census: date) -> str:
    return year_group(dob, census) or UNKNOWN


def _counted(row, census: date) -> CountedChild:
    (episode_id, child_id, case_id, start, basis, unknown, to_confirm, first_name, last_name,
     dob, sex, reason) = row
    return CountedChild(
        child_id=child_id,
        name=" ".join(p for p in (first_name, last_name) if p),
        date_of_birth=dob,
        sex=RETURN_SEX.get(sex, UNKNOWN),
        year_group=_year_group(dob, census),
        episode_id=episode_id,
        start_date=start,
        start_basis=basis,
        reason=reason,
        length=length_band(start, census),
        whereabouts_unknown=unknown,
        case_id=case_id,
        past_compulsory_age=_school_age(dob)[1] < census,
        to_confirm=to_confirm,
    )


def build(session: Session, census: date) -> CmeReturn:
    """The CME figures for `census` day, each with its children (one line per child)."""
    counted = _lines(session, census, census, census)
    first, last = previous_academic_year(census)
    any_time = _children_in(session, first, last)
    labels = reason_labels(session, include_retired=True)
    extra = sorted({c.reason for c in counted} - set(labels))
    result = CmeReturn(census, (first, last), counted, any_time, [*labels, *extra])
    result.left_out_elsewhere = _living_elsewhere(session, census)
    result.warnings = warnings(session, result)
    return result


def _children_in(session: Session, first: date, last: date) -> int:
    """How many children living in the LA were CME on some day from `first` to `last`."""
    return session.exec(
        select(func.count(func.distinct(CmeEpisode.child_id))).where(
            overlapping(first, last), col(CmeEpisode.lives_in_la).is_(True)
        )
    ).one()


def previous_year_children(session: Session, census: date) -> list[CountedChild]:
    """The children CME at any time in the academic year before `census`'s, each once (their
    earliest episode that year), with the reason they had at the year's end."""
    first, last = previous_academic_year(census)
    return _lines(session, first, last, min(last, census))


def _living_elsewhere(session: Session, census: date) -> int:
    return session.exec(
        select(func.count(func.distinct(CmeEpisode.child_id))).where(
            overlapping(census, census), col(CmeEpisode.lives_in_la).is_(False)
        )
    ).one()


# ---------------------------------------------------------------------------------------------
# What to check before sending


# Checks each counted child's line answers on its own: (code, the check, what it says).
_LINE_CHECKS: tuple[tuple[str, Callable[[CountedChild, date], bool], str], ...] = (
    ("no_start_date", lambda c, day: c.start_date is None,
     "{n} counted with no episode start date: their length is reported as Unknown."),
    ("past_csa", lambda c, day: c.past_compulsory_age,
     "{n} counted although past compulsory school age on census day: end their episodes."),
    ("below_csa", lambda c, day: _school_age(c.date_of_birth)[0] > day,
     "{n} counted although not yet of compulsory school age on census day."),
    ("to_confirm", lambda c, day: c.to_confirm,
     "{n} counted from an episode made by the data migration whose start an officer has not "
     "confirmed."),
)


def warnings(session: Session, figures: CmeReturn) -> list[ReturnWarning]:
    counted, day = figures.on_census_day, figures.census_date
    found: list[ReturnWarning] = []
    for code, check, message in _LINE_CHECKS:
        ids = [c.child_id for c in counted if check(c, day)]
        if ids:
            found.append(ReturnWarning(code, message.format(n=_n(ids)), tuple(ids)))
    vague = [c.child_id for c in counted if c.reason in UNINFORMATIVE_REASONS]
    if counted and len(vague) * 10 > len(counted):
        share = round(100 * len(vague) / len(counted))
        found.append(ReturnWarning(
            "vague_reasons", f"{share}% of children counted have the reason Unknown or Not "
            "recorded (more than 10%): DfE may query it.", tuple(vague)))
    missing = cases_without_episode(session, day)
    if missing:
        days = get_settings().episode_missing_school_days
        found.append(ReturnWarning(
            "no_episode", f"{_n(missing)} with an open case but no CME episode, open more than "
            f"{days} school days: decide whether they are CME.", tuple(missing)))
    return found


def _n(ids: list[int]) -> str:
    return f"{len(ids)} {'child' if len(ids) == 1 else 'children'}"


def cases_without_episode(session: Session, census: date) -> list[int]:
    """Children whose case is open past triage now, opened more than N school days before
    census day, with no CME episode open that day: are they CME or not?"""
    days = get_settings().episode_missing_school_days
    open_stages = [s for s in OPEN_STAGES if s not in (Stage.NEW_REFERRAL, Stage.TRIAGE)]
    has_episode = (
        select(CmeEpisode.id)
        .where(CmeEpisode.child_id == Case.child_id, overlapping(census, census))
        .exists()
    )
    opened = dict(
        session.exec(
            select(Case.child_id, func.min(Case.opened_at))
            .where(
                col(Case.stage).in_(open_stages),
                col(Case.opened_at) < uk_midnight(census),
                ~has_episode,
            )
            .group_by(col(Case.child_id))
        ).all()
    )
    calendar = load_calendar(session)
    return sorted(
        child_id
        for child_id, at in opened.items()
        if _school_days(calendar, uk_date(at), census) > days
    )


def _school_days(calendar: SchoolCalendar, start: date, end: date) -> int:
    try:
        return calendar.school_days_between(start, end)
    except CalendarNotSeeded:  # no term dates: working days are the nearest safe reading
        return calendar.working_days_between(start, end)
