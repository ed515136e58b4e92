"""What each role sees of the returns: a school its own, in plain words (never whether the LA
already knew the child); the LA every school's, with what was done; a lead the possible
off-rolling list; and the case page the returns about its child."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...dates import short_date
from ...domain import DELETION_GROUNDS, Stage, ground_words
from ...errors import FieldError, NotFound, ValidationFailed
from ...models import Case, DeletionReturn, NewPupilReturn, School, utcnow
from ...permissions import Actor, Capability, require, require_school_user
from ..casework.case_file_types import CaseReturnsPart, NewPupilProposal
from ..casework.closure import school_outcome_text
from ..trust import audit
from .new_pupils import PROPOSED
from .routing import Route

LIST_LIMIT = 200
__all__ = ["CaseReturnsPart", "NewPupilProposal"]  # the case file's part, defined with it


@dataclass(frozen=True)
class SchoolReturnRow:
    public_id: str
    kind: str  # "Deletion" | "New pupil"
    pupil: str
    date_label: str  # "Deleted 3 Dec 2026" | "Joined 3 Dec 2026"
    ground: str
    status: str  # Received | Matched | Being looked into | Closed
    status_colour: str  # grey | green | blue
    next_step: str
    received: str


@dataclass(frozen=True)
class LaReturnRow:
    public_id: str
    kind: str
    school: str
    pupil: str
    date_label: str
    ground: str
    route: str
    case_reference: str
    possible_off_rolling: bool


@dataclass(frozen=True)
class OffRollingRow:
    public_id: str
    school: str
    pupil: str
    ground: str
    deletion_date: str
    case_reference: str
    reviewed: bool
    review_note: str


@dataclass(frozen=True)
class SentReturn:
    """What the school is told straight after sending a return from the page."""

    public_id: str
    pupil: str
    status: str
    status_colour: str
    next_step: str


_ROUTE_WORDS = {
    Route.MATCH_ROLL: "Matched to the new school's roll",
    Route.EHE_LIST: "Elective home education list",
    Route.CME: "CME enquiry opened",
    Route.RECORD: "Recorded only",
}
_COLOURS = {"Received": "grey", "Matched": "green", "Being looked into": "blue",
            "Closed": "green"}


def _school_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(School.id, School.name).where(col(School.id).in_(ids))).all())


@dataclass(frozen=True)
class _StatusFacts:
    """What the school's status words need besides the returns: loaded once per list."""

    school_names: dict[str, str]  # destination URN: name, for registered schools
    cases: dict[int, tuple[str, str | None]]  # case id: (stage, outcome)


def _status_facts(session: Session, rets: list[DeletionReturn]) -> _StatusFacts:
    urns = {r.destination_school_urn for r in rets if r.route == Route.MATCH_ROLL}
    case_ids = {r.case_id for r in rets if r.route == Route.CME and r.case_id}
    return _StatusFacts(
        dict(session.exec(select(School.urn, School.name).where(
            col(School.urn).in_(urns))).all()) if urns else {},
        {i: (stage, outcome) for i, stage, outcome in session.exec(
            select(Case.id, Case.stage, Case.outcome).where(col(Case.id).in_(case_ids)))}
        if case_ids else {})


def _deletion_status(ret: DeletionReturn, facts: _StatusFacts) -> tuple[str, str]:
    if ret.route == Route.MATCH_ROLL:
        dest = facts.school_names.get(ret.destination_school_urn or "")
        if ret.new_pupil_return_id:
            return "Matched", f"{dest} has recorded the pupil as a new pupil. Nothing more to do."
        if dest:
            return "Received", f"Waiting for {dest} to record the pupil as a new pupil."
        return "Received", (f"Recorded as joining school URN {ret.destination_school_urn}, "
                            "outside our area. Nothing more to do.")
    if ret.route == Route.EHE_LIST:
        return "Received", "Passed to the elective home education team."
    if ret.route == Route.CME:
        stage, outcome = facts.cases.get(ret.case_id or 0, ("", None))
        if stage == Stage.CLOSED:
            return "Closed", school_outcome_text(outcome) or "The CME team has finished."
        return "Being looked into", ("The CME team is making enquiries to find the pupil and "
                                     "may contact you for more information.")
    return "Received", "Recorded. Nothing more to do."


def sent_deletion(session: Session, ret: DeletionReturn) -> SentReturn:
    """The confirmation for a deletion return just received: the same words as the list."""
    status, step = _deletion_status(ret, _status_facts(session, [ret]))
    return SentReturn(ret.public_id, f"{ret.first_name} {ret.last_name}", status,
                      _COLOURS[status], step)


def sent_new_pupil(ret: NewPupilReturn) -> SentReturn:
    """Never whether the pupil matched a case: that is not the school's to learn."""
    return SentReturn(ret.public_id, f"{ret.first_name} {ret.last_name}", "Received", "grey",
                      "Recorded. Nothing more to do.")


def school_list(session: Session, *, actor: Actor | None) -> list[SchoolReturnRow]:
    """The school's own returns, newest first. A new pupil is always just 'Received': whether
    the child was known to the CME team is not the school's to learn."""
    actor = require_school_user(actor, Capability.SCHOOL_RETURNS)
    rows: list[tuple[object, SchoolReturnRow]] = []
    deleted = session.exec(select(DeletionReturn).where(
        DeletionReturn.school_id == actor.school_id)
        .order_by(col(DeletionReturn.id).desc()).limit(LIST_LIMIT)).all()
    facts = _status_facts(session, deleted)
    for d in deleted:
        status, step = _deletion_status(d, facts)
        rows.append((d.received_at, SchoolReturnRow(
            d.public_id, "Deletion", f"{d.first_name} {d.last_name}",
            f"Deleted {short_date(d.deletion_date)}", ground_words(d.ground), status,
            _COLOURS[status], step, short_date(d.received_at.date()))))
    for n in session.exec(select(NewPupilReturn).where(
            NewPupilReturn.school_id == actor.school_id)
            .order_by(col(NewPupilReturn.id).desc()).limit(LIST_LIMIT)).all():
        sent = sent_new_pupil(n)
        rows.append((n.received_at, SchoolReturnRow(
            n.public_id, "New pupil", sent.pupil, f"Joined {short_date(n.start_date)}", "",
            sent.status, sent.status_colour, sent.next_step, short_date(n.received_at.date()))))
    rows.sort(key=lambda pair: pair[0], reverse=True)
    audit.record(session, actor=actor, action="school_returns.listed",
                 entity_type="school", entity_id=actor.school_id,
                 detail={"rows": len(rows)})
    return [row for _when, row in rows[:LIST_LIMIT]]


def _case_refs(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Case.id, Case.reference).where(col(Case.id).in_(ids))).all())


def la_list(session: Session, *, actor: Actor | None) -> list[LaReturnRow]:
    """Every school's returns as the LA received them, newest first."""
    actor = require(actor, Capability.RETURNS_LA_VIEW)
    dels = session.exec(select(DeletionReturn).order_by(col(DeletionReturn.id).desc())
                        .limit(LIST_LIMIT)).all()
    news = session.exec(select(NewPupilReturn).order_by(col(NewPupilReturn.id).desc())
                        .limit(LIST_LIMIT)).all()
    names = _school_names(session, {r.school_id for r in [*dels, *news]})
    refs = _case_refs(session, {r.case_id for r in [*dels, *news] if r.case_id})
    rows = [(d.received_at, LaReturnRow(
        d.public_id, "Deletion", names.get(d.school_id, ""), f"{d.first_name} {d.last_name}",
        f"Deleted {short_date(d.deletion_date)}", ground_words(d.ground),
        _ROUTE_WORDS.get(Route(d.route), d.route), refs.get(d.case_id or 0, ""),
        d.possible_off_rolling)) for d in dels]
    rows += [(n.received_at, LaReturnRow(
        n.public_id, "New pupil", names.get(n.school_id, ""), f"{n.first_name} {n.last_name}",
        f"Joined {short_date(n.start_date)}", "",
        "Matches an open case" if n.case_id else "No open case matched",
        refs.get(n.case_id or 0, ""), False)) for n in news]
    rows.sort(key=lambda pair: pair[0], reverse=True)
    audit.record(session, actor=actor, action="school_returns.la_listed",
                 detail={"rows": len(rows)})
    return [row for _when, row in rows[:LIST_LIMIT]]


def off_rolling_list(session: Session, *, actor: Actor | None) -> list[OffRollingRow]:
    """Deletions under H or I the LA never confirmed: not yet reviewed first."""
    actor = require(actor, Capability.OFF_ROLLING_REVIEW)
    flagged = session.exec(select(DeletionReturn).where(
        col(DeletionReturn.possible_off_rolling).is_(True))
        .order_by(col(DeletionReturn.off_rolling_reviewed_at).is_not(None),
                  col(DeletionReturn.id).desc()).limit(LIST_LIMIT)).all()
    names = _school_names(session, {d.school_id for d in flagged})
    refs = _case_refs(session, {d.case_id for d in flagged if d.case_id})
    audit.record(session, actor=actor, action="school_returns.off_rolling_listed",
                 detail={"rows": len(flagged)})
    return [OffRollingRow(
        d.public_id, names.get(d.school_id, ""), f"{d.first_name} {d.last_name}",
        ground_words(d.ground), short_date(d.deletion_date), refs.get(d.case_id or 0, ""),
        d.off_rolling_reviewed_at is not None, d.off_rolling_note or "") for d in flagged]


def off_rolling_waiting(session: Session, *, actor: Actor | None) -> int:
    """How many flagged deletions no lead has reviewed yet (a count: names no child)."""
    require(actor, Capability.OFF_ROLLING_REVIEW)
    return session.exec(select(func.count()).select_from(DeletionReturn).where(
        col(DeletionReturn.possible_off_rolling).is_(True),
        col(DeletionReturn.off_rolling_reviewed_at).is_(None))).one()


def review_off_rolling(session: Session, *, actor: Actor | None, public_id: object,
                       note: object) -> None:
    """A lead looked into a flagged deletion and says what they found or did."""
    actor = require(actor, Capability.OFF_ROLLING_REVIEW)
    ret = session.exec(select(DeletionReturn).where(
        DeletionReturn.public_id == str(public_id or "")[:32],
        col(DeletionReturn.possible_off_rolling).is_(True))).first()
    if ret is None:
        raise NotFound("That deletion return is not on the possible off-rolling list.")
    text = str(note or "").strip()
    if not text or len(text) > 1000:
        raise ValidationFailed([FieldError(
            "off_rolling_note", "Say what you found or did about this deletion (up to 1000 "
            "characters)")])
    ret.off_rolling_reviewed_at, ret.off_rolling_reviewed_by_id = utcnow(), actor.user_id
    ret.off_rolling_note = text
    session.add(ret)
    audit.record(session, actor=actor, action="school_returns.off_rolling_reviewed",
                 entity_type="deletion_return", entity_id=ret.id, child_id=ret.child_id)
    session.flush()


def case_part(session: Session, case: Case) -> CaseReturnsPart:
    """For the case page (its own audit covers this read): the returns about this case."""
    dels = session.exec(select(DeletionReturn).where(DeletionReturn.case_id == case.id)
                        .order_by(col(DeletionReturn.id))).all()
    proposals = session.exec(select(NewPupilReturn).where(
        NewPupilReturn.case_id == case.id, NewPupilReturn.proposal == PROPOSED)
        .order_by(col(NewPupilReturn.id))).all()
    names = _school_names(session, {r.school_id for r in [*dels, *proposals]})
    flags = tuple(
        f"Possible off-rolling: {names.get(d.school_id, 'a school')} deleted this pupil under "
        f"ground {d.ground} ({DELETION_GROUNDS[d.ground].title.lower()}) on "
        f"{short_date(d.deletion_date)} without the LA confirming that joint enquiries were "
        "exhausted." for d in dels if d.possible_off_rolling and not d.off_rolling_reviewed_at)
    lines = tuple(
        f"{names.get(d.school_id, 'A school')} deleted this pupil on "
        f"{short_date(d.deletion_date)}: {ground_words(d.ground)}." for d in dels)
    return CaseReturnsPart(flags, lines, tuple(NewPupilProposal(
        n.id, names.get(n.school_id, ""), short_date(n.start_date),
        "UPN" if n.matched_on == "upn" else "name and date of birth") for n in proposals))
