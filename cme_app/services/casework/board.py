"""The case board (/board): one column per stage, filtered and counted in SQL, with small
display-ready cards. Framework-free; the page state only adapts these functions.

Query budget for a whole board, whatever the number of cases: one count query, one query per
column with cards, two for the move guards' facts (lifecycle.guard_facts), two for the school
calendar and two for the audit event. Nothing is queried per card.

After a move the page needs only the moved card (`moved_card`): one card query, the guard
facts and the calendar, whatever the number of cases on the board, and no view audit row (the
move itself is audited by lifecycle.move_case).

Which board views are audited (`case.list`), and why: every view a person asks for — the page
load, a filter change (it shows other children: a new view the DPO must be able to trace),
"Show more" (it shows children not shown before). Not the board's own automatic reloads — the
live update's refresh (a colleague's change pushed to every open board) and the reload after a
refused stale move (`UNAUDITED_REASONS`): they repeat a view already recorded, for every open
tab at every change, and would bury the audit trail in rows no one asked for (issue 19:
"viewing the board is audited once per load, not per refresh").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, exists, func, or_
from sqlmodel import Session, col, select

from ...dates import age_on, uk_date, uk_now
from ...domain import (
    BOARD_STAGES,
    OPEN_STAGES,
    RISK_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    LaDirection,
    Stage,
)
from ...models import Case, CaseClosure, Child, HomeVisit, LaNotification, Referral, School, User
from ...permissions import Actor, Capability, allows, require, roles_with
from ...settings import get_settings
from ..intake.child_ids import has_proposed_match
from ..school_calendar.school_days import CalendarNotSeeded, SchoolCalendar, load_calendar
from ..trust import audit
from . import lifecycle
from .closure import outcome_label
from .risk import clean_factors, factor_labels
from .targets import current_due

__all__ = [
    "CARD_LIMIT",
    "BoardCard",
    "BoardColumn",
    "BoardFilters",
    "BoardMove",
    "FilterOptions",
    "Option",
    "board_stamp",
    "can_move",
    "cases_by_stage",
    "filter_options",
    "load_board",
    "moved_card",
    "parse_filters",
]

CARD_LIMIT = 20  # cards first shown per column; "Show more" adds as many again
MAX_CARD_LIMIT = 200
MAX_PINNED = 10
# Reloads the board does by itself, repeating a view already audited (see the module docstring).
UNAUDITED_REASONS = frozenset({"refresh", "stale"})

RISK_FILTERS: dict[str, str] = {**RISK_LABELS, "none": "Not rated"}
UNALLOCATED = "none"
_URN = re.compile(r"\d{5,8}")
_USER_ID = re.compile(r"[1-9]\d{0,8}")
_FACTORS_SHOWN = 3


# ----- DTOs (small, frozen, primitives only: they live in Reflex state) ---------------------


@dataclass(frozen=True)
class BoardCard:
    reference: str
    version: int
    child_name: str
    age: int
    origin: str  # the school, or the source of a non-school referral
    risk: str  # red | amber | green | "" (not rated): the colour
    risk_label: str  # Red | Amber | Green | Not rated: the word
    factors: str  # the factors behind the rating, as a short visible list
    officer: str  # allocated officer's name, or "Unallocated"
    in_stage: str  # "4 school days in stage"; for closed cards, when and how it closed
    due_label: str  # "Triage overdue", "First visit due 3 Dec", or ""
    due_state: str  # overdue | today | due | ""
    possible_match: bool
    closure_proposed: bool
    moves: tuple[str, ...] = ()  # stages this user may move the case to now
    moves_note: str = ""  # why there are none, when there are none


@dataclass(frozen=True)
class BoardColumn:
    stage: str
    label: str
    count: int  # every case in this stage that matches the filters, not only those shown
    cards: tuple[BoardCard, ...] = ()

    @classmethod
    def empty(cls, stage: str) -> BoardColumn:
        return cls(stage=stage, label=STAGE_LABELS[stage], count=0)


@dataclass(frozen=True)
class BoardMove:
    """A move's answer to the board: the moved card, where it left and where it went (its
    place in the new column) and the two columns' new counts. The board applies it to its copy
    of the columns; no other card is sent."""

    seq: int = 0  # one more per move answered, so the same move twice is applied twice
    card: BoardCard | None = None
    from_stage: str = ""
    to_stage: str = ""
    index: int = 0
    from_count: int = 0
    to_count: int = 0


@dataclass(frozen=True)
class BoardFilters:
    risk: str = ""  # red | amber | green | none (not rated) | ""
    officer: str = ""  # a user id, "none" (unallocated) or ""
    school: str = ""  # a school URN or ""

    def query(self) -> dict[str, str]:
        """The filters as URL query parameters (only those set)."""
        return {k: v for k, v in (("risk", self.risk), ("officer", self.officer),
                                  ("school", self.school)) if v}

    @property
    def active(self) -> bool:
        return bool(self.risk or self.officer or self.school)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FilterOptions:
    officers: tuple[Option, ...] = ()
    schools: tuple[Option, ...] = ()

    def keep_known(self, filters: BoardFilters) -> BoardFilters:
        """Drop an officer or school the lists don't offer (a stale or hand-edited URL)."""
        officers = {o.value for o in self.officers}
        schools = {o.value for o in self.schools}
        return BoardFilters(
            risk=filters.risk,
            officer=filters.officer if filters.officer in officers else "",
            school=filters.school if filters.school in schools else "",
        )


def parse_filters(params: Mapping[str, object]) -> BoardFilters:
    """Filters from a query string or a browser event; anything malformed is ignored."""

    def get(name: str) -> str:
        value = params.get(name)
        return value.strip()[:20] if isinstance(value, str) else ""

    risk = get("risk").lower()
    officer = get("officer").lower()
    school = get("school")
    return BoardFilters(
        risk=risk if risk in RISK_FILTERS else "",
        officer=officer if officer == UNALLOCATED or _USER_ID.fullmatch(officer) else "",
        school=school if _URN.fullmatch(school) else "",
    )


def can_move(actor: Actor | None) -> bool:
    return actor is not None and allows(actor.role, Capability.CASE_MOVE)


# ----- queries -----------------------------------------------------------------------------


def _on_board(now: datetime):
    """Open cases, and closed ones closed within the recent window."""
    since = now - timedelta(days=get_settings().board_recent_closed_days)
    return or_(
        col(Case.stage).in_([str(s) for s in OPEN_STAGES]),
        and_(Case.stage == Stage.CLOSED, col(Case.closed_at) >= since),
    )


def _filtered(stmt, filters: BoardFilters):
    if filters.risk == "none":
        stmt = stmt.where(col(Case.risk).is_(None))
    elif filters.risk:
        stmt = stmt.where(Case.risk == filters.risk)
    if filters.officer == UNALLOCATED:
        stmt = stmt.where(col(Case.allocated_officer_id).is_(None))
    elif filters.officer:
        stmt = stmt.where(Case.allocated_officer_id == int(filters.officer))
    if filters.school:
        from_school = (
            select(Referral.id)
            .join(School, School.id == Referral.school_id)
            .where(School.urn == filters.school)
        )
        stmt = stmt.where(col(Case.referral_id).in_(from_school))
    return stmt


def _counts(session: Session, filters: BoardFilters, now: datetime, stages: list[str]):
    stmt = (
        select(Case.stage, func.count())
        .where(_on_board(now), col(Case.stage).in_(stages))
        .group_by(Case.stage)
    )
    return dict(session.exec(_filtered(stmt, filters)).all())


# Red first, then Amber, then cases not yet rated, then Green; oldest in stage first.
_RISK_RANK = case(
    (Case.risk == "red", 0), (Case.risk == "amber", 1), (col(Case.risk).is_(None), 2), else_=3
)


def _card_select(filters: BoardFilters, now: datetime):
    """Everything a card shows, in one row per case (no query per card)."""
    return _filtered(_card_columns().where(_on_board(now)), filters)


@lru_cache(maxsize=64)
def _one_card_select(filters: BoardFilters):
    """The card query for one case, its id bound when run (`case_id`). Built once per filter
    set: building this SELECT costs more than running it (bench/card_move.py --profile)."""
    return _filtered(_card_columns(), filters).where(Case.id == bindparam("case_id"))


@lru_cache(maxsize=1)
def _card_columns():
    """Built once: building it cost more than running it, and its alias (has_proposed_match)
    made anew gave every call a new cache key, so SQLAlchemy compiled each query afresh."""
    visited = exists().where(
        HomeVisit.case_id == Case.id, col(HomeVisit.outcome).is_not(None)
    )
    response_due = (
        select(func.min(LaNotification.response_due_on))
        .where(
            LaNotification.case_id == Case.id,
            LaNotification.direction == LaDirection.OUTBOUND,
            col(LaNotification.response_on).is_(None),
        )
        .correlate(Case)
        .scalar_subquery()
    )
    proposed = exists().where(CaseClosure.case_id == Case.id, CaseClosure.status == "proposed")
    stmt = (
        select(
            Case,
            Child.first_name,
            Child.last_name,
            Child.date_of_birth,
            Referral.source_type,
            Referral.source_name,
            School.name,
            func.coalesce(func.nullif(User.name, ""), User.email),
            visited.label("visited"),
            response_due.label("response_due_on"),
            proposed.label("closure_proposed"),
            has_proposed_match(Case.child_id).label("child_match"),
        )
        .join(Child, Child.id == Case.child_id)
        .join(Referral, Referral.id == Case.referral_id)
        .join(School, School.id == Referral.school_id, isouter=True)
        .join(User, User.id == Case.allocated_officer_id, isouter=True)
    )
    return stmt


def _card_rows(session: Session, stage: str, filters: BoardFilters, now: datetime, limit: int):
    stmt = _card_select(filters, now).where(Case.stage == stage)
    if stage == Stage.CLOSED:
        stmt = stmt.order_by(col(Case.closed_at).desc(), col(Case.id).desc())
    else:
        stmt = stmt.order_by(_RISK_RANK, Case.stage_entered_at, Case.id)
    return list(session.exec(stmt.limit(limit)).all())


def _pinned_rows(
    session: Session, references: list[str], stages: list[str], filters: BoardFilters,
    now: datetime,
):
    stmt = _card_select(filters, now).where(
        col(Case.reference).in_(references), col(Case.stage).in_(stages)
    )
    return list(session.exec(stmt.order_by(Case.id)).all())


# ----- card text ---------------------------------------------------------------------------


def origin_label(source_type: str | None, source_name: str | None, school: str | None) -> str:
    if school:
        return school
    label = SOURCE_LABELS.get(source_type or "", "Other source")
    return f"{label} ({source_name})" if source_name else label


def risk_text(case_: Case) -> tuple[str, str, str]:
    """(colour, word, factors) for a card. Unrated cases say what the factors propose."""
    labels = factor_labels(clean_factors(case_.risk_factors))  # Red factors first
    if len(labels) > _FACTORS_SHOWN:
        first = ", ".join(labels[: _FACTORS_SHOWN - 1])
        shown = f"{first} and {len(labels) - _FACTORS_SHOWN + 1} more"
    else:
        shown = ", ".join(labels)
    if case_.risk in RISK_LABELS:
        return case_.risk, RISK_LABELS[case_.risk], shown
    word = "Not rated"
    if case_.proposed_risk in RISK_LABELS:
        word += f" (proposed {RISK_LABELS[case_.proposed_risk]})"
    return "", word, shown


def in_stage_text(cal: SchoolCalendar, entered: datetime, today: date) -> str:
    try:
        days = cal.school_days_between(uk_date(entered), today)
    except CalendarNotSeeded:
        return "– school days in stage"
    return f"{days} school day{'' if days == 1 else 's'} in stage"


def closed_text(case_: Case) -> str:
    when = f"Closed {uk_date(case_.closed_at):%-d %b}" if case_.closed_at else "Closed"
    outcome = outcome_label(case_.outcome)
    return f"{when}: {outcome}" if outcome else when


def _cards(
    session: Session,
    actor: Actor,
    rows,
    cal: SchoolCalendar,
    today: date,
    facts: lifecycle.GuardFacts | None,
):
    movable = can_move(actor)
    cards = []
    for (case_, first, last, dob, source_type, source_name, school, officer, visited,
         response_due_on, closure_proposed, child_match) in rows:
        colour, word, factors = risk_text(case_)
        is_open = case_.stage != Stage.CLOSED
        due = (
            current_due(case_, today=today, visited=bool(visited), response_due_on=response_due_on)
            if is_open
            else None
        )
        moves: tuple[str, ...] = ()
        note = ""
        if movable and is_open:
            moves = tuple(
                str(s)
                for s in lifecycle.allowed_moves(
                    session, actor=actor, case=case_, today=today, facts=facts
                )
            )
            candidates = lifecycle.MOVES.get(case_.stage, ())
            if not moves and candidates:
                note = lifecycle.move_refusal(
                    session, actor=actor, case=case_, to_stage=candidates[0], facts=facts
                ) or ""
        cards.append(
            BoardCard(
                reference=case_.reference,
                version=case_.version,
                child_name=f"{first} {last}",
                age=age_on(dob, today),
                origin=origin_label(source_type, source_name, school),
                risk=colour,
                risk_label=word,
                factors=factors,
                officer=officer or "Unallocated",
                in_stage=in_stage_text(cal, case_.stage_entered_at, today)
                if is_open
                else closed_text(case_),
                due_label=due.label if due else "",
                due_state=due.state if due else "",
                # Another household at the address, or another record that may be this child.
                possible_match=bool(case_.possible_matches) or bool(child_match),
                closure_proposed=bool(closure_proposed),
                moves=moves,
                moves_note=note,
            )
        )
    return tuple(cards)


# ----- the board ---------------------------------------------------------------------------


def _limit(limits: Mapping[str, int], stage: str) -> int:
    try:
        return max(1, min(int(limits.get(stage, CARD_LIMIT)), MAX_CARD_LIMIT))
    except (TypeError, ValueError):
        return CARD_LIMIT


def load_board(
    session: Session,
    *,
    actor: Actor | None,
    filters: BoardFilters = BoardFilters(),
    limits: Mapping[str, int] | None = None,
    stages: Iterable[str] | None = None,
    today: date | None = None,
    now: datetime | None = None,
    pinned: Iterable[str] = (),
    reason: str = "load",
) -> dict[str, BoardColumn]:
    """The board's columns (all, or only `stages`), each with its full count and first cards.

    `limits` maps a stage to how many cards to show (default CARD_LIMIT, at most 200).
    `pinned` cases (ones this user just moved) are added to their column when the limit would
    hide them, so a moved card never vanishes from the mover's board; one more query.
    """
    actor = require(actor, Capability.CASE_VIEW)
    now = now or uk_now()
    today = today or uk_date(now)
    wanted = [str(s) for s in BOARD_STAGES if stages is None or s in set(stages)]
    limits = limits or {}
    counts = _counts(session, filters, now, wanted)
    cal = load_calendar(session)
    rows = {
        stage: _card_rows(session, stage, filters, now, _limit(limits, stage))
        if counts.get(stage)
        else []
        for stage in wanted
    }
    shown = {r[0].reference for stage_rows in rows.values() for r in stage_rows}
    missing = [ref for ref in list(pinned)[:MAX_PINNED] if ref not in shown]
    if missing:
        for row in _pinned_rows(session, missing, wanted, filters, now):
            rows[row[0].stage].append(row)
    open_ids = [r[0].id for stage in wanted if stage != Stage.CLOSED for r in rows[stage]]
    facts = lifecycle.guard_facts(session, open_ids) if can_move(actor) else None
    columns = {
        stage: BoardColumn(
            stage=stage,
            label=STAGE_LABELS[stage],
            count=counts.get(stage, 0),
            cards=_cards(session, actor, rows[stage], cal, today, facts),
        )
        for stage in wanted
    }
    if reason in UNAUDITED_REASONS:
        return columns
    audit.record(
        session,
        actor=actor,
        action="case.list",
        entity_type="board",
        detail={
            "reason": reason,
            "stages": wanted,
            "filters": filters.query(),
            "shown": [c.reference for column in columns.values() for c in column.cards],
        },
    )
    return columns


def moved_card(
    session: Session,
    *,
    actor: Actor | None,
    case_: Case,
    filters: BoardFilters = BoardFilters(),
    today: date | None = None,
    now: datetime | None = None,
) -> BoardCard | None:
    """The card of a case just moved, as its new column shows it; None when the filters hide
    it. One card query, the guard facts and the calendar: the same few queries whatever the
    number of cases. Not audited as a view: the move that showed it is audited."""
    actor = require(actor, Capability.CASE_VIEW)
    now = now or uk_now()
    today = today or uk_date(now)
    # A case just moved is in an open stage, so on the board: only the filters can hide it.
    row = session.exec(_one_card_select(filters), params={"case_id": case_.id}).first()
    if row is None:
        return None
    facts = (lifecycle.guard_facts(session, [case_.id])
             if can_move(actor) and row[0].stage != Stage.CLOSED else None)
    return _cards(session, actor, [row], load_calendar(session), today, facts)[0]


def card_rank(card: BoardCard) -> int:
    """A card's place by risk in an open column: Red, Amber, not rated, Green (as `_RISK_RANK`)."""
    return {"red": 0, "amber": 1, "": 2}.get(card.risk, 3)


def with_moved_card(column: BoardColumn, card: BoardCard) -> tuple[BoardColumn, int]:
    """`column` with `card` inserted in the column's sort order, and counted; and where it went.
    A moved case has just entered its stage, so it goes last among the cards of its risk
    (oldest in stage first)."""
    others = [c for c in column.cards if c.reference != card.reference]
    at = next((i for i, c in enumerate(others) if card_rank(c) > card_rank(card)), len(others))
    cards = (*others[:at], card, *others[at:])
    count = column.count + (len(others) == len(column.cards))
    return BoardColumn(stage=column.stage, label=column.label, count=count, cards=cards), at


def without_card(column: BoardColumn, reference: str) -> BoardColumn:
    """`column` without the card of `reference`, and counted one fewer if it was there."""
    cards = tuple(c for c in column.cards if c.reference != reference)
    removed = len(column.cards) - len(cards)
    return BoardColumn(stage=column.stage, label=column.label,
                       count=max(0, column.count - removed), cards=cards)


def cases_by_stage(
    session: Session, *, actor: Actor | None, today: date | None = None
) -> list[BoardColumn]:
    """Every board column, unfiltered, in board order."""
    return list(load_board(session, actor=actor, today=today).values())


def board_stamp(session: Session, *, actor: Actor | None, today: date | None = None) -> str:
    """A cheap fingerprint of everything a card shows; one query. When it is unchanged the
    board need not be reloaded."""
    require(actor, Capability.CASE_VIEW)
    row = session.exec(
        select(
            select(func.max(Case.updated_at)).scalar_subquery(),
            select(func.count(Case.id)).scalar_subquery(),
            select(func.max(CaseClosure.id)).scalar_subquery(),
            select(func.count(CaseClosure.id))
            .where(CaseClosure.status == "proposed")
            .scalar_subquery(),
            select(func.max(HomeVisit.id)).scalar_subquery(),
            select(func.max(LaNotification.id)).scalar_subquery(),
            select(func.count(LaNotification.id))
            .where(col(LaNotification.response_on).is_(None))
            .scalar_subquery(),
        )
    ).one()
    today = today or uk_date(uk_now())
    return "|".join(str(v) for v in (*row, today))


def filter_options(session: Session, *, actor: Actor | None) -> FilterOptions:
    """Officers and leads (plus "Unallocated"), and the schools that have cases; two queries."""
    require(actor, Capability.CASE_VIEW)
    staff = session.exec(
        select(User.id, User.name, User.email)
        .where(col(User.role).in_(roles_with(Capability.CASELOAD)), col(User.is_active))
        .order_by(User.name, User.id)
    ).all()
    schools = session.exec(
        select(School.urn, School.name)
        .where(col(School.id).in_(
            select(Referral.school_id).join(Case, Case.referral_id == Referral.id)
        ))
        .order_by(School.name)
    ).all()
    return FilterOptions(
        officers=(
            Option(UNALLOCATED, "Unallocated"),
            *(Option(str(uid), name or email) for uid, name, email in staff),
        ),
        schools=tuple(Option(urn, f"{name} ({urn})") for urn, name in schools),
    )

