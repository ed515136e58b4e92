"""The termly DfE CME/EHE return (statutory-returns §1): census days, the figures as at a census
day with the child-level list behind each one, the EHE team's imported counts, and the exports.

The CME arithmetic is census.py's; this module adds who may see what, the audit trail and the
census-day rules. Census days are data a lead sets (DfE changes them each year): each is a
Thursday, one per date. Viewing a list of named children is audited, one event per list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from ...dates import academic_year_start, long_date
from ...errors import FieldError, NotFound, ValidationFailed
from ...models import Case, CensusDate, Child, DfeReason
from ...numbers import digits
from ...permissions import Actor, Capability, allows, require
from ..trust import audit
from . import census as cme_census
from . import ehe, reasons
from .census import MEASURES, CmeReturn, CountedChild

VIEW, MANAGE = Capability.DFE_RETURN_VIEW, Capability.DFE_RETURN_MANAGE
THURSDAY = 3
SEASONS = ("Autumn", "Spring", "Summer")

# How each figure is named on the page and in the exports.
MEASURE_LABELS = {
    "on_census_day": "on census day",
    "by_sex": "by sex",
    "by_year_group": "by year group",
    "by_length": "by length of time missing education",
    "by_reason": "by primary reason",
    "any_time_previous_year": "at any time in the previous academic year",
}
TOTAL_MEASURES = ("on_census_day", "any_time_previous_year")
NOT_A_CENSUS_DAY = "That census day is not set. Choose one from the list."


# ---------------------------------------------------------------------------------------------
# Census days


@dataclass(frozen=True)
class CensusDay:
    id: int
    on: str  # ISO date
    label: str  # "Thursday 1 October 2026"
    term: str  # "Autumn 2026"
    short: str  # "1 October 2026"


@dataclass(frozen=True)
class Suggestion:
    on: str
    label: str
    term: str


def day_label(on: date) -> str:
    return f"{on:%A} {long_date(on)}"


def census_days(session: Session, *, actor: Actor | None) -> list[CensusDay]:
    require(actor, VIEW)
    rows = session.exec(select(CensusDate).order_by(col(CensusDate.census_date))).all()
    return [CensusDay(r.id or 0, r.census_date.isoformat(), day_label(r.census_date), r.term,
                      long_date(r.census_date)) for r in rows]


def default_census_day(days: list[date], today: date) -> date | None:
    """The most recent census day on or before today, else the next one (None: none set)."""
    past = [d for d in days if d <= today]
    if past:
        return max(past)
    return min(days) if days else None


def _nth_thursday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(THURSDAY - first.weekday()) % 7 + 7 * (n - 1))


def suggested_census_days(today: date) -> list[Suggestion]:
    """DfE's usual pattern for the academic year `today` is in: the first Thursday in October,
    the third Thursday in January and the third Thursday in May. Suggestions only: the lead
    confirms each (DfE publishes the real dates)."""
    start = academic_year_start(today).year
    days = (
        (_nth_thursday(start, 10, 1), f"Autumn {start}"),
        (_nth_thursday(start + 1, 1, 3), f"Spring {start + 1}"),
        (_nth_thursday(start + 1, 5, 3), f"Summer {start + 1}"),
    )
    return [Suggestion(d.isoformat(), day_label(d), term) for d, term in days]


def open_suggestions(days: list[date], today: date) -> list[Suggestion]:
    """The suggestions still to confirm: offered only while the lead has set no census day of
    this academic year other than DfE's usual ones."""
    suggested = suggested_census_days(today)
    usual = {date.fromisoformat(s.on) for s in suggested}
    year = academic_year_start(today)
    if any(d not in usual and academic_year_start(d) == year for d in days):
        return []
    return [s for s in suggested if date.fromisoformat(s.on) not in days]


def _check_day(session: Session, on: str, term: str) -> tuple[date, str]:
    errors: list[FieldError] = []
    day = None
    try:
        day = date.fromisoformat(str(on or "").strip())
    except ValueError:
        errors.append(FieldError("on", "Enter the census day as a date, for example 1 10 2026"))
    if day is not None and day.weekday() != THURSDAY:
        errors.append(FieldError(
            "on", f"The census day must be a Thursday: {long_date(day)} is a {day:%A}"))
    elif day is not None and session.exec(
            select(CensusDate.id).where(CensusDate.census_date == day)).first() is not None:
        errors.append(FieldError("on", f"{long_date(day)} is already a census day"))
    label = " ".join(str(term or "").split())
    if not _term_ok(label):
        errors.append(FieldError("term", "Enter the term as a season and year, for example "
                                         "Spring 2027"))
    if errors:
        raise ValidationFailed(errors)
    return day, label  # type: ignore[return-value]


def _term_ok(label: str) -> bool:
    season, _, year = label.partition(" ")
    return season in SEASONS and len(year) == 4 and digits(year)


def add_census_day(session: Session, *, actor: Actor | None, on: str, term: str) -> CensusDate:
    actor = require(actor, MANAGE)
    day, label = _check_day(session, on, term)
    row = CensusDate(census_date=day, term=label, set_by_id=actor.user_id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="census_day.added", entity_type="census_day",
                 entity_id=day.isoformat(), detail={"term": label})
    return row


def remove_census_day(session: Session, *, actor: Actor | None, census_id: int) -> CensusDate:
    """Off the list; the EHE counts imported for it stay, and come back if it is set again."""
    actor = require(actor, MANAGE)
    row = session.get(CensusDate, census_id) if isinstance(census_id, int) else None
    if row is None:
        raise NotFound("That census day is no longer on the list.")
    session.delete(row)
    audit.record(session, actor=actor, action="census_day.removed", entity_type="census_day",
                 entity_id=row.census_date.isoformat(), detail={"term": row.term})
    session.flush()
    return row


def set_census_day(session: Session, value: object) -> CensusDate:
    """The census day a page asked for, if it is one the lead set."""
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError:
        raise NotFound(NOT_A_CENSUS_DAY) from None
    row = session.exec(select(CensusDate).where(CensusDate.census_date == day)).first()
    if row is None:
        raise NotFound(NOT_A_CENSUS_DAY)
    return row


# ---------------------------------------------------------------------------------------------
# The figures


@dataclass(frozen=True)
class WarningRow:
    code: str
    message: str
    children: int


@dataclass(frozen=True)
class ReturnView:
    census_date: str
    label: str
    term: str
    cme: dict
    ehe: dict
    warnings: list[WarningRow]
    left_out_elsewhere: int


def as_json(session: Session, census: date, figures: CmeReturn | None = None) -> dict:
    """The return in the agreed JSON shape: every key present, zeros included."""
    figures = figures or cme_census.build(session, census)
    return {"census_date": census.isoformat(), "cme": figures.as_json(),
            "ehe": ehe.figures(session, census)}


def view_return(session: Session, *, actor: Actor | None, census: object) -> ReturnView:
    actor = require(actor, VIEW)
    row = set_census_day(session, census)
    figures = cme_census.build(session, row.census_date)
    shape = as_json(session, row.census_date, figures)
    audit.record(session, actor=actor, action="dfe_return.viewed", entity_type="dfe_return",
                 entity_id=row.census_date.isoformat(),
                 detail={"on_census_day": shape["cme"]["on_census_day"]})
    return ReturnView(
        census_date=row.census_date.isoformat(), label=day_label(row.census_date),
        term=row.term, cme=shape["cme"], ehe=shape["ehe"],
        warnings=[WarningRow(w.code, w.message, len(w.child_ids)) for w in figures.warnings],
        left_out_elsewhere=figures.left_out_elsewhere,
    )


# ---------------------------------------------------------------------------------------------
# The children behind a figure


@dataclass(frozen=True)
class ChildRow:
    child_id: int
    name: str
    date_of_birth: str
    sex: str
    year_group: str
    start: str  # "6 December 2026" | "Not known"
    reason: str
    missing_for: str  # the length band
    case_reference: str  # "" when the viewer may not see cases, or the child has none


@dataclass(frozen=True)
class ChildList:
    title: str
    rows: list[ChildRow]
    case_links: bool  # whether the viewer may open the cases


def _case_refs(session: Session, counted: list[CountedChild], child_ids: list[int]
               ) -> dict[int, str]:
    """Each child's case: the episode's own, else the child's most recently opened one."""
    ids = sorted({*child_ids, *(c.child_id for c in counted)})
    if not ids:
        return {}
    rows = session.exec(
        select(Case.id, Case.child_id, Case.reference)
        .where(col(Case.child_id).in_(ids)).order_by(col(Case.opened_at), col(Case.id))
    ).all()
    by_case = {case_id: ref for case_id, _child, ref in rows}
    latest = {child: ref for _id, child, ref in rows}
    episode_case = {c.child_id: c.case_id for c in counted}
    return {i: by_case.get(episode_case.get(i)) or latest.get(i, "") for i in ids}


def _row(child: CountedChild, refs: dict[int, str]) -> ChildRow:
    return ChildRow(
        child_id=child.child_id, name=child.name, date_of_birth=long_date(child.date_of_birth),
        sex=child.sex, year_group=child.year_group,
        start=long_date(child.start_date) or "Not known", reason=child.reason,
        missing_for=child.length, case_reference=refs.get(child.child_id, ""),
    )


def _uncounted_rows(session: Session, ids: list[int], refs: dict[int, str]) -> list[ChildRow]:
    """Children a warning names who are not counted (an open case but no episode)."""
    if not ids:
        return []
    children = session.exec(select(Child).where(col(Child.id).in_(ids))).all()
    return [
        ChildRow(child_id=c.id or 0, name=f"{c.first_name} {c.last_name}",
                 date_of_birth=long_date(c.date_of_birth), sex="", year_group="",
                 start="No episode", reason="", missing_for="", case_reference=refs.get(c.id, ""))
        for c in sorted(children, key=lambda c: (c.last_name, c.first_name))
    ]


def _check_figure(figures: CmeReturn, measure: str, category: str) -> None:
    if measure not in MEASURES:
        raise ValidationFailed([FieldError("measure", "Choose a figure of the return")])
    if measure not in TOTAL_MEASURES and category not in figures.breakdown(measure):
        raise ValidationFailed([FieldError("category", "Choose a figure of the return")])


def children(session: Session, *, actor: Actor | None, census: object, measure: str,
             category: str = "") -> ChildList:
    """The children behind one figure, as at census day. Audited: the list names children."""
    actor = require(actor, VIEW)
    row = set_census_day(session, census)
    figures = cme_census.build(session, row.census_date)
    measure, category = str(measure or ""), str(category or "")
    _check_figure(figures, measure, category)
    counted = (cme_census.previous_year_children(session, row.census_date)
               if measure == "any_time_previous_year" else figures.children(measure, category))
    links = allows(actor.role, Capability.CASE_VIEW)
    refs = _case_refs(session, counted, []) if links else {}
    title = f"CME {MEASURE_LABELS[measure]}" + (f": {category}" if category else "")
    _audit_list(session, actor, row.census_date, measure, category, len(counted))
    return ChildList(title, [_row(c, refs) for c in counted], links)


def warning_children(session: Session, *, actor: Actor | None, census: object,
                     code: str) -> ChildList:
    """The children one warning is about. Audited like any other list."""
    actor = require(actor, VIEW)
    row = set_census_day(session, census)
    figures = cme_census.build(session, row.census_date)
    found = next((w for w in figures.warnings if w.code == str(code or "")), None)
    if found is None:
        raise NotFound("That warning no longer applies: the figures have changed.")
    counted = [c for c in figures.on_census_day if c.child_id in set(found.child_ids)]
    others = sorted(set(found.child_ids) - {c.child_id for c in counted})
    links = allows(actor.role, Capability.CASE_VIEW)
    refs = _case_refs(session, counted, others) if links else {}
    rows = [_row(c, refs) for c in counted] + _uncounted_rows(session, others, refs)
    _audit_list(session, actor, row.census_date, f"warning:{found.code}", "", len(rows))
    return ChildList(found.message, rows, links)


def _audit_list(session: Session, actor: Actor, census: date, measure: str, category: str,
                count: int) -> None:
    audit.record(session, actor=actor, action="dfe_return.children_viewed",
                 entity_type="dfe_return", entity_id=census.isoformat(),
                 detail={"census_date": census.isoformat(), "measure": measure,
                         "category": category, "children": count})


# ---------------------------------------------------------------------------------------------
# The EHE team's counts


def import_ehe(session: Session, *, actor: Actor | None, census: object, text: str) -> int:
    """Replace the census day's EHE counts with the EHE team's CSV; a bad file changes
    nothing. The number of figures stored."""
    actor = require(actor, MANAGE)
    row = set_census_day(session, census)
    stored = ehe.replace_counts(session, row.census_date, ehe.parse(text), actor.user_id)
    audit.record(session, actor=actor, action="ehe.imported", entity_type="dfe_return",
                 entity_id=row.census_date.isoformat(), detail={"figures": stored})
    return stored


@dataclass(frozen=True)
class ReasonRow:
    label: str
    active: bool


def reason_list(session: Session, *, actor: Actor | None) -> list[ReasonRow]:
    """DfE's reason list as the lead manages it: in use, then retired."""
    require(actor, MANAGE)
    reasons.ensure_reasons(session)
    rows = session.exec(
        select(DfeReason).order_by(col(DfeReason.position), col(DfeReason.label))).all()
    return sorted((ReasonRow(r.label, r.active) for r in rows), key=lambda r: not r.active)


def may_manage(actor: Actor | None) -> bool:
    return actor is not None and allows(actor.role, MANAGE)
