"""The case state machine: the stages and the moves between them (docs/glossary.md, Stages).

Every stage move, return to the referrer, closure and reopening goes through here. Each
function re-checks the actor, the case's version and the stage guards, writes a StageChange
row for every stage entered (so the history has no gaps) and an audit event, and explains a
refusal in plain words. The board moves a card at once in the browser and sends one move;
the answer from here is final, and the board shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from ...dates import LONDON
from ...domain import STAGE_LABELS, LaDirection, Risk, Role, Stage, case_reference
from ...errors import FieldError, NotFound, Refusal, ValidationFailed
from ...models import (
    Case,
    EnquiryAction,
    LaNotification,
    Referral,
    SafeguardingContact,
    StageChange,
    User,
    utcnow,
)
from ...permissions import Actor, Capability, allows, require
from ..notify import notifications
from ..trust import audit, purpose
from .risk import record_assessment


class MoveRefused(Refusal):
    """The state machine said no; the message says why in plain words."""


class StaleCase(Refusal):
    """The case changed since the caller last saw it."""


# Stages a case may move to by hand. Closing and reopening have their own functions.
MOVES: dict[str, tuple[str, ...]] = {
    Stage.NEW_REFERRAL: (Stage.TRIAGE,),
    Stage.TRIAGE: (Stage.ENQUIRIES, Stage.HOME_VISIT),
    Stage.ENQUIRIES: (Stage.HOME_VISIT, Stage.AWAITING_VERIFICATION, Stage.LOCATED),
    Stage.HOME_VISIT: (Stage.ENQUIRIES, Stage.AWAITING_VERIFICATION, Stage.LOCATED),
    Stage.AWAITING_VERIFICATION: (Stage.ENQUIRIES, Stage.LOCATED),
    Stage.LOCATED: (Stage.ENQUIRIES,),
}


# ---------------------------------------------------------------------------------------------
# Loading


def load_case(
    session: Session, *, actor: Actor, reference: str, action: str, lock: bool = True
) -> Case:
    """The case for `reference` (locked for update unless only read); NotFound, audited,
    if there is none. A case locked to be changed that is outside the actor's caseload needs
    the purpose given for it (`purpose.for_write`: PurposeRequired, audited, without one)."""
    reference = case_reference(reference)
    query = select(Case).where(Case.reference == reference)
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome="not_found",
            entity_type="case",
            entity_id=reference,
        )
        raise NotFound("No case with that reference.")
    if lock:
        purpose.for_write(session, actor=actor, case=case, action=action)
    return case


def check_version(session: Session, case: Case, version: Any) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version != case.version:
        who = session.get(User, case.updated_by_id) if case.updated_by_id else None
        at = case.updated_at.astimezone(LONDON).strftime("%H:%M") if case.updated_at else ""
        name = who.name if who else "someone else"
        raise StaleCase(
            f"{case.reference} was changed by {name} at {at}. You are now seeing the latest."
        )


# The case's own fields an audit event shows before and after a change (ids and codes only).
AUDITED_CASE_FIELDS = ("stage", "version", "risk", "allocated_officer_id", "outcome", "episode")


def case_state(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in AUDITED_CASE_FIELDS}


def touch(case: Case, actor: Actor) -> None:
    """A change to the case itself: a new version, by this actor, now."""
    case.version += 1
    case.updated_at = utcnow()
    case.updated_by_id = actor.user_id


def enter_stage(
    session: Session, case: Case, to_stage: str, actor: Actor, reason: str | None = None
) -> None:
    """Put the case in `to_stage`, with its StageChange row. Guards are the caller's job."""
    session.add(
        StageChange(
            case_id=case.id,
            from_stage=case.stage,
            to_stage=to_stage,
            by_id=actor.user_id,
            reason=reason,
        )
    )
    case.stage = to_stage
    case.stage_entered_at = utcnow()
    touch(case, actor)
    session.add(case)


# ---------------------------------------------------------------------------------------------
# Moves


@dataclass(frozen=True)
class GuardFacts:
    """What the move guards read from other tables, for many cases at once (the board asks
    for the moves of every card it shows, in two queries rather than two per card)."""

    notified: frozenset[int]  # cases with a CSC / MASH / Front Door notification
    waiting: frozenset[int]  # cases waiting on another LA, or on a pending enquiry


def guard_facts(session: Session, case_ids: list[int]) -> GuardFacts:
    if not case_ids:
        return GuardFacts(frozenset(), frozenset())
    notified = session.exec(
        select(SafeguardingContact.case_id).where(
            col(SafeguardingContact.case_id).in_(case_ids),
            SafeguardingContact.kind == "notification",
        )
    ).all()
    open_la = select(LaNotification.case_id).where(
        col(LaNotification.case_id).in_(case_ids),
        LaNotification.direction == LaDirection.OUTBOUND,
        col(LaNotification.response_on).is_(None),
    )
    pending = select(EnquiryAction.case_id).where(
        col(EnquiryAction.case_id).in_(case_ids), EnquiryAction.result == "pending"
    )
    waiting = session.exec(open_la.union(pending)).scalars().all()
    return GuardFacts(frozenset(notified), frozenset(waiting))


@dataclass
class _Move:
    """One proposed move, as the guards see it; other tables are read once, when needed."""

    session: Session
    actor: Actor
    case: Case
    to_stage: str
    facts: GuardFacts | None = None

    def guard_facts(self) -> GuardFacts:
        if self.facts is None:
            self.facts = guard_facts(self.session, [self.case.id])
        return self.facts


def _on_the_map(m: _Move) -> str | None:
    """The stage machine itself: where a case may go from where it is."""
    there = STAGE_LABELS.get(m.to_stage, m.to_stage)
    if m.case.stage == Stage.CLOSED:
        return "This case is closed. A team lead can reopen it from the case page."
    if m.case.stage == Stage.RETURNED:
        return "This referral is with the school for more information."
    if m.to_stage == Stage.CLOSED:
        return "Choose an outcome on the case page to close a case."
    if m.to_stage == m.case.stage:
        return f"The case is already in {there}."
    if m.to_stage not in MOVES.get(m.case.stage, ()):
        return f"A case can't move from {STAGE_LABELS.get(m.case.stage, m.case.stage)} to {there}."
    return None


def _theirs_to_move(m: _Move) -> str | None:
    """Officers move their own cases (and any new referral); leads move any."""
    if m.actor.role != Role.OFFICER or m.case.stage == Stage.NEW_REFERRAL:
        return None
    if m.case.allocated_officer_id != m.actor.user_id:
        return "Only the allocated officer or a team lead can move this case."
    return None


def _triage_done(m: _Move) -> str | None:
    """Leaving Triage needs a risk and an officer; a Red case also needs a CSC, MASH or Front
    Door notification recorded first (BR-L2)."""
    if m.case.stage != Stage.TRIAGE:
        return None
    if not m.case.risk:
        return "Set the risk (Red, Amber or Green) before the case leaves Triage."
    if m.case.allocated_officer_id is None:
        return "Allocate an officer before the case leaves Triage."
    if m.case.risk == Risk.RED and m.case.id not in m.guard_facts().notified:
        return ("A Red case can't leave Triage until a CSC, MASH or Front Door notification "
                "is recorded.")
    return None


def _something_awaited(m: _Move) -> str | None:
    """Awaiting verification means waiting on something recorded."""
    if m.to_stage == Stage.AWAITING_VERIFICATION and m.case.id not in m.guard_facts().waiting:
        return ("Record what you are waiting for first: a notification to another LA, or an "
                "enquiry with the result 'Information pending'.")
    return None


MOVE_GUARDS = (_on_the_map, _theirs_to_move, _triage_done, _something_awaited)


def move_refusal(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    to_stage: str,
    facts: GuardFacts | None = None,
) -> str | None:
    """Why `actor` may not move `case` to `to_stage` now, or None if they may: the first
    guard that says no.

    `facts` (from `guard_facts`) answers the guards' lookups instead of querying per case."""
    if not allows(actor.role, Capability.CASE_MOVE):
        return "Only CME officers and team leads can move cases."
    move = _Move(session, actor, case, to_stage, facts)
    return next((why for guard in MOVE_GUARDS if (why := guard(move))), None)


def allowed_moves(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    today: date | None = None,
    facts: GuardFacts | None = None,
) -> list[str]:
    """The non-closing stages `actor` may move `case` to right now."""
    return [
        stage
        for stage in MOVES.get(case.stage, ())
        if move_refusal(session, actor=actor, case=case, to_stage=stage, facts=facts) is None
    ]


def move_case(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    to_stage: str,
    version: int,
    today: date | None = None,
) -> Case:
    actor = require(actor, Capability.CASE_MOVE)
    case = load_case(session, actor=actor, reference=reference, action="case.moved")
    check_version(session, case, version)
    to_stage = str(to_stage or "")[:30]
    reason = move_refusal(session, actor=actor, case=case, to_stage=to_stage)
    if reason:
        audit.record(
            session,
            actor=actor,
            action="case.moved",
            outcome="refused",
            entity_type="case",
            entity_id=case.reference,
            child_id=case.child_id,
            detail={"from": case.stage, "to": to_stage, "reason": reason},
        )
        raise MoveRefused(reason)
    before, was = case.stage, case_state(case)
    enter_stage(session, case, to_stage, actor)
    audit.record(
        session,
        actor=actor,
        action="case.moved",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"from": before, "to": to_stage, **audit.changes(was, case_state(case))},
    )
    if to_stage == Stage.LOCATED:
        # Every CME child found living in Leeds gets a School Attendance Service keyworker.
        from .securing import keyworker_due  # securing reads cases through this module

        keyworker_due(session, case=case, actor=actor, today=today or date.today())
    session.flush()
    return case


# ---------------------------------------------------------------------------------------------
# Return to referrer (SC-06)


def return_to_referrer(
    session: Session, *, actor: Actor | None, reference: str, note: str, version: int
) -> Case:
    actor = require(actor, Capability.CASE_MOVE)
    case = load_case(session, actor=actor, reference=reference, action="referral.returned")
    check_version(session, case, version)
    note = (note or "").strip()
    if case.stage not in (Stage.NEW_REFERRAL, Stage.TRIAGE):
        raise MoveRefused("Only a referral in New referral or Triage can be returned.")
    referral = session.get(Referral, case.referral_id)
    if referral is None or referral.school_id is None:
        raise MoveRefused("Only a school's referral can be returned to the school.")
    if len(note) < 10:
        raise ValidationFailed(
            [FieldError("return_note", "Tell the school what more information is needed")]
        )
    was = case_state(case) | {"referral_status": referral.status}
    referral.status = "returned"
    referral.return_note = note[:2000]
    referral.returned_at = utcnow()
    referral.returned_by_id = actor.user_id
    session.add(referral)
    enter_stage(session, case, Stage.RETURNED, actor, reason=note[:1000])
    audit.record(
        session,
        actor=actor,
        action="referral.returned",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={
            "note": note[:200],
            **audit.changes(was, case_state(case) | {"referral_status": referral.status}),
        },
    )
    notifications.referral_returned(
        session, case=case, school_id=referral.school_id, when=referral.returned_at
    )
    return case


def resubmitted(session: Session, *, actor: Actor, case: Case) -> None:
    """The school sent a returned referral back: the same case re-enters New referral."""
    enter_stage(session, case, Stage.NEW_REFERRAL, actor, reason="Resubmitted by the school")


# ---------------------------------------------------------------------------------------------
# Reopening (SC-20)


def reopen_case(
    session: Session, *, actor: Actor | None, reference: str, reason: str, version: int
) -> Case:
    """Lead only, with a reason: a new episode in Enquiries, at least Amber."""
    actor = require(actor, Capability.CASE_REOPEN)
    case = load_case(session, actor=actor, reference=reference, action="case.reopened")
    check_version(session, case, version)
    reason = (reason or "").strip()
    if case.stage != Stage.CLOSED:
        raise MoveRefused("Only a closed case can be reopened.")
    if len(reason) < 10:
        raise ValidationFailed([FieldError("reopen_reason", "Give the reason for reopening")])
    was = case_state(case)
    case.episode += 1
    case.outcome = None
    case.closed_at = None
    if case.risk not in (Risk.RED, Risk.AMBER):
        record_assessment(
            session,
            case=case,
            actor=actor,
            risk=Risk.AMBER,
            kind="reopened",
            reason="A repeat CME episode is at least Amber (BR-L18).",
        )
    enter_stage(session, case, Stage.ENQUIRIES, actor, reason=reason[:1000])
    audit.record(
        session,
        actor=actor,
        action="case.reopened",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={
            "episode": case.episode,
            "reason": reason[:200],
            **audit.changes(was, case_state(case)),
        },
    )
    session.flush()
    return case


def load_open_case(session: Session, actor: Actor, reference: str, action: str) -> Case:
    case = load_case(session, actor=actor, reference=reference, action=action)
    if case.stage in (Stage.CLOSED, Stage.RETURNED):
        raise MoveRefused("This case is not open, so it can't be changed.")
    return case
