"""The team lead's dashboard and the export of open cases. Framework-free.

Counts come from GROUP BY queries; only the overdue check, the median and the CME figures
(one child counted once however many episodes) read rows, and then only the few columns they
need. The CME figures come from episodes (services/returns), as the DfE return does. Dates
are reckoned in UK time, so a case closed at 00:30 on 1 December (BST or GMT) counts in
December.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ...dates import academic_year_label, academic_year_start, long_date, uk_date, uk_midnight
from ...domain import OPEN_STAGES, RISK_LABELS, STAGE_LABELS, LaDirection, Outcome, Stage
from ...models import (
    Case,
    CaseClosure,
    Child,
    CmeEpisode,
    HomeVisit,
    LaNotification,
    Referral,
    School,
    StageChange,
    User,
)
from ...permissions import Actor, Capability, require
from ..casework.closure import OUTCOMES, outcome_label
from ..casework.targets import Due, due_for
from ..returns.census import overlapping
from ..returns.reasons import reason_labels
from ..school_calendar.school_days import CalendarNotSeeded, SchoolCalendar, load_calendar
from ..trust import audit

NOT_RATED = "Not yet rated"
UNALLOCATED = "Unallocated"
MONTHS_SHOWN = 12

# Closing with one of these means the child was found (each outcome says so in closure.py).
LOCATING_OUTCOMES: frozenset[str] = frozenset(
    code for code, outcome in OUTCOMES.items() if outcome.locates_child)

# Stages whose current target (triage, first visit, LA response) can be overdue.
_DUE_STAGES = (
    Stage.NEW_REFERRAL, Stage.TRIAGE, Stage.ENQUIRIES, Stage.HOME_VISIT,
    Stage.AWAITING_VERIFICATION,
)

CSV_HEADER = (
    "Reference", "Stage", "Risk", "First name", "Last name", "Date of birth", "School",
    "Allocated officer", "Opened", "Days in stage (school days)", "Current target",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class MonthOutcomes:
    month: str  # "Nov 2026"
    counts: list[int]  # one per Dashboard.outcome_keys, same order
    total: int


@dataclass(frozen=True)
class Dashboard:
    as_of: str
    open_total: int
    by_stage: list[Bar]
    by_risk: list[Bar]
    overdue_total: int
    overdue_by_officer: list[Bar]
    outcome_keys: list[str]  # outcomes closed at least once in the window, in Outcome order
    outcome_labels: list[str]
    outcome_colours: list[str]  # each outcome's own colour (closure.OUTCOMES)
    months: list[MonthOutcomes]
    closed_total: int
    median_days: float | None
    median_basis: int
    median_skipped: int  # located cases left out: no term dates for their dates
    cme_now: int = 0  # children CME today, living in the LA (open episodes)
    cme_year: int = 0  # children CME on any day of this academic year so far
    cme_year_label: str = ""  # "2026/27"
    cme_by_reason: list[Bar] = field(default_factory=list)  # today's, by primary reason


def _month_starts(today: date) -> list[date]:
    """First days of the last MONTHS_SHOWN months, oldest first, ending with today's month."""
    index = today.year * 12 + today.month - 1
    return [
        date(i // 12, i % 12 + 1, 1) for i in range(index - MONTHS_SHOWN + 1, index + 1)
    ]


# ---- the dashboard ------------------------------------------------------------------------


def dashboard(session: Session, *, actor: Actor | None, today: date) -> Dashboard:
    actor = require(actor, Capability.DASHBOARD)
    open_case = Case.stage.in_(OPEN_STAGES)

    stage_counts = dict(
        session.exec(select(Case.stage, func.count()).where(open_case).group_by(Case.stage)).all()
    )
    by_stage = [Bar(s, STAGE_LABELS[s], stage_counts.get(s, 0)) for s in OPEN_STAGES]

    risk_counts = dict(
        session.exec(select(Case.risk, func.count()).where(open_case).group_by(Case.risk)).all()
    )
    by_risk = [Bar(k, label, risk_counts.get(k, 0)) for k, label in RISK_LABELS.items()]
    # Anything that is not a known rating (in practice NULL) is still waiting for triage.
    unrated = sum(n for k, n in risk_counts.items() if k not in RISK_LABELS)
    by_risk.append(Bar("none", NOT_RATED, unrated))

    overdue = _overdue_by_officer(session, today)
    keys, months = _outcomes_by_month(session, today)
    median, basis, skipped = _median_days_to_locate(session)
    cme_today = _cme_children(session, today, today)

    result = Dashboard(
        as_of=long_date(today),
        open_total=sum(b.count for b in by_stage),
        by_stage=by_stage,
        by_risk=by_risk,
        overdue_total=sum(b.count for b in overdue),
        overdue_by_officer=overdue,
        outcome_keys=keys,
        outcome_labels=[outcome_label(k) for k in keys],
        outcome_colours=[OUTCOMES[k].colour if k in OUTCOMES else "" for k in keys],
        months=months,
        closed_total=sum(m.total for m in months),
        median_days=median,
        median_basis=basis,
        median_skipped=skipped,
        cme_now=len(cme_today),
        cme_year=len(_cme_children(session, academic_year_start(today), today)),
        cme_year_label=academic_year_label(today),
        cme_by_reason=_by_reason(session, cme_today),
    )
    audit.record(
        session, actor=actor, action="dashboard.view", entity_type="dashboard",
        detail={"open": result.open_total, "overdue": result.overdue_total},
    )
    return result


def _visited():
    return sa.exists().where(HomeVisit.case_id == Case.id, HomeVisit.outcome.is_not(None))


def _response_due_on():
    """Earliest reply still awaited from another LA, as a correlated subquery."""
    return (
        select(func.min(LaNotification.response_due_on))
        .where(
            LaNotification.case_id == Case.id,
            LaNotification.direction == LaDirection.OUTBOUND,
            LaNotification.response_on.is_(None),
        )
        .scalar_subquery()
    )


def _due(
    stage: str, triage_due_on: date | None, first_visit_due_on: date | None, *,
    today: date, visited: bool, response_due_on: date | None,
) -> Due | None:
    return due_for(stage, triage_due_on, first_visit_due_on, today=today, visited=bool(visited),
                   response_due_on=response_due_on)


def _overdue_by_officer(session: Session, today: date) -> list[Bar]:
    rows = session.exec(
        select(
            Case.stage, Case.triage_due_on, Case.first_visit_due_on, Case.allocated_officer_id,
            _visited(), _response_due_on(),
        ).where(Case.stage.in_(_DUE_STAGES))
    ).all()
    counts: Counter[int | None] = Counter()
    for stage, triage_on, visit_on, officer_id, visited, response_on in rows:
        due = _due(stage, triage_on, visit_on, today=today, visited=visited,
                   response_due_on=response_on)
        if due is not None and due.overdue:
            counts[officer_id] += 1
    ids = [i for i in counts if i is not None]
    names = dict(session.exec(select(User.id, User.name).where(User.id.in_(ids))).all())
    bars = [
        Bar(str(i), names.get(i) or f"User {i}", n) for i, n in counts.items() if i is not None
    ]
    bars.sort(key=lambda b: (-b.count, b.label.lower()))
    if counts.get(None):
        bars.append(Bar("unallocated", UNALLOCATED, counts[None]))
    return bars


def _closures():
    """Every approved closure as (case_id, outcome, closed_at).

    CaseClosure keeps one row per closed episode, so reopened cases still count; a case closed
    without a CaseClosure row for its current episode is read from the case itself.
    """
    recorded = select(
        CaseClosure.case_id.label("case_id"),
        CaseClosure.outcome.label("outcome"),
        CaseClosure.closed_at.label("closed_at"),
    ).where(CaseClosure.status == "closed", CaseClosure.closed_at.is_not(None))
    has_row = sa.exists().where(
        CaseClosure.case_id == Case.id,
        CaseClosure.episode == Case.episode,
        CaseClosure.status == "closed",
    )
    from_case = select(
        Case.id.label("case_id"), Case.outcome.label("outcome"),
        Case.closed_at.label("closed_at"),
    ).where(Case.closed_at.is_not(None), Case.outcome.is_not(None), ~has_row)
    return sa.union_all(recorded, from_case).subquery("closures")


def _outcomes_by_month(session: Session, today: date) -> tuple[list[str], list[MonthOutcomes]]:
    starts = _month_starts(today)
    bounds = [uk_midnight(d) for d in starts]
    first_of_next = starts[-1].replace(day=28) + timedelta(days=4)
    bounds.append(uk_midnight(first_of_next.replace(day=1)))
    closures = _closures()
    month_index = sa.case(
        *[
            (sa.and_(closures.c.closed_at >= bounds[i], closures.c.closed_at < bounds[i + 1]), i)
            for i in range(len(starts))
        ],
        else_=None,
    )
    # Bucket in a subquery and group outside it: PostgreSQL will not match a GROUP BY
    # expression whose bound parameters were rendered a second time.
    bucketed = (
        select(month_index.label("month"), closures.c.outcome.label("outcome"))
        .where(closures.c.closed_at >= bounds[0], closures.c.closed_at < bounds[-1])
        .subquery("bucketed")
    )
    counts = {
        (m, o): n
        for m, o, n in session.exec(
            select(bucketed.c.month, bucketed.c.outcome, func.count())
            .group_by(bucketed.c.month, bucketed.c.outcome)
        ).all()
    }
    seen = {o for _m, o in counts}
    keys = [o.value for o in Outcome if o in seen] + sorted(seen - set(Outcome))
    months = []
    for i, start in enumerate(starts):
        row = [counts.get((i, k), 0) for k in keys]
        months.append(MonthOutcomes(month=f"{start:%b %Y}", counts=row, total=sum(row)))
    return keys, months


# ---- children missing education (CME episodes) ---------------------------------------------


def _cme_children(session: Session, first: date, last: date) -> dict[int, str]:
    """Children living in the LA with an episode open on some day from `first` to `last`, each
    once, with the current primary reason of their earliest such episode (as the DfE return
    counts them: services/returns/census.py)."""
    rows = session.exec(
        select(CmeEpisode.child_id, CmeEpisode.primary_reason)
        .where(overlapping(first, last), CmeEpisode.lives_in_la.is_(True))
        .order_by(CmeEpisode.child_id, CmeEpisode.start_date, CmeEpisode.id)
    ).all()
    children: dict[int, str] = {}
    for child_id, reason in rows:
        children.setdefault(child_id, reason)
    return children


def _by_reason(session: Session, children: dict[int, str]) -> list[Bar]:
    """Today's CME children by primary reason: the reasons with anyone, most first (ties in
    DfE's order)."""
    counts = Counter(children.values())
    order = {label: i for i, label in enumerate(reason_labels(session, include_retired=True))}
    ranked = sorted(counts, key=lambda r: (-counts[r], order.get(r, len(order)), r))
    return [Bar(reason, reason, counts[reason]) for reason in ranked]


def _median_days_to_locate(session: Session) -> tuple[float | None, int, int]:
    """Median school days from the start of the child's CME episode to their being located.

    Located = first entry into Located, or an approved closure with a locating outcome,
    whichever came first. The start is that of the case's earliest CME episode; a case with
    no dated episode (a child who was never missing education, only missing from school) is
    left out, as is one whose episode began only after the child was located.
    """
    closures = _closures()
    entered = (
        select(StageChange.case_id.label("case_id"), func.min(StageChange.at).label("at"))
        .where(StageChange.to_stage == Stage.LOCATED)
        .group_by(StageChange.case_id)
        .subquery("entered")
    )
    closed = (
        select(closures.c.case_id.label("case_id"), func.min(closures.c.closed_at).label("at"))
        .where(closures.c.outcome.in_(LOCATING_OUTCOMES))
        .group_by(closures.c.case_id)
        .subquery("closed")
    )
    started = (
        select(CmeEpisode.case_id.label("case_id"),
               func.min(CmeEpisode.start_date).label("on"))
        .where(CmeEpisode.case_id.is_not(None), CmeEpisode.start_date.is_not(None))
        .group_by(CmeEpisode.case_id)
        .subquery("started")
    )
    rows = session.exec(
        select(started.c.on, entered.c.at, closed.c.at)
        .select_from(Case)
        .join(started, started.c.case_id == Case.id)
        .join(entered, entered.c.case_id == Case.id, isouter=True)
        .join(closed, closed.c.case_id == Case.id, isouter=True)
        .where(sa.or_(entered.c.at.is_not(None), closed.c.at.is_not(None)))
    ).all()
    if not rows:
        return None, 0, 0
    calendar = load_calendar(session)
    days, skipped = [], 0
    for started_on, entered_at, closed_at in rows:
        located_on = uk_date(min(t for t in (entered_at, closed_at) if t is not None))
        if started_on > located_on:
            continue  # became CME only after being found: not a search
        try:
            days.append(calendar.school_days_between(started_on, located_on))
        except CalendarNotSeeded:
            skipped += 1
    if not days:
        return None, 0, skipped
    return float(statistics.median(days)), len(days), skipped


# ---- the CSV export -----------------------------------------------------------------------


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet read this text as a formula (= + - @, or a tab or return first)?"""
    return text.startswith(_FORMULA_STARTS)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text


def open_cases_csv(session: Session, *, actor: Actor | None, today: date) -> str:
    actor = require(actor, Capability.DASHBOARD)
    officer = aliased(User)
    rows = session.exec(
        select(
            Case.reference, Case.stage, Case.risk, Case.stage_entered_at, Case.opened_at,
            Case.triage_due_on, Case.first_visit_due_on,
            Child.first_name, Child.last_name, Child.date_of_birth,
            School.name, officer.name, _visited(), _response_due_on(),
        )
        .select_from(Case)
        .join(Child, Child.id == Case.child_id)
        .join(Referral, Referral.id == Case.referral_id)
        .join(School, School.id == Referral.school_id, isouter=True)
        .join(officer, officer.id == Case.allocated_officer_id, isouter=True)
        .where(Case.stage.in_(OPEN_STAGES))
        .order_by(Case.reference)
    ).all()
    calendar = load_calendar(session)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for (
        reference, stage, risk, entered_at, opened_at, triage_on, visit_on,
        first, last, dob, school, officer_name, visited, response_on,
    ) in rows:
        due = _due(stage, triage_on, visit_on, today=today, visited=visited,
                   response_due_on=response_on)
        writer.writerow([
            safe_cell(v)
            for v in (
                reference,
                STAGE_LABELS.get(stage, stage),
                RISK_LABELS.get(risk or "", NOT_RATED),
                first,
                last,
                dob.isoformat(),
                school or "",
                officer_name or UNALLOCATED,
                uk_date(opened_at).isoformat(),
                _school_days_in_stage(calendar, entered_at, today),
                due.label if due else "",
            )
        ])
    audit.record(
        session, actor=actor, action="case.export", entity_type="report",
        entity_id="open_cases", detail={"rows": len(rows)},
    )
    return out.getvalue()


def _school_days_in_stage(calendar: SchoolCalendar, entered_at: datetime, today: date) -> str:
    try:
        return str(calendar.school_days_between(uk_date(entered_at), today))
    except CalendarNotSeeded:
        return ""  # no term dates for that stretch: leave blank rather than guess
