"""Triage, risk and allocation (BR-L1..L3): the factors an officer records propose Red,
Amber or Green; a lead may override with a reason and allocates an officer. A new or changed
risk resets the first-visit target."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from ...domain import (
    RISK_LABELS,
)
from ...errors import FieldError, ValidationFailed
from ...models import (
    Case,
    User,
    utcnow,
)
from ...permissions import Actor, Capability, allows, require
from ..notify import notifications
from ..school_calendar.school_days import load_calendar
from ..trust import audit
from . import lifecycle, risk, targets
from .lifecycle import check_version, load_open_case
from .risk import record_assessment


def _after_risk(session: Session, case: Case, actor: Actor, before: str | None) -> None:
    """A new or changed risk resets the first-visit target from today (BR-L3)."""
    if case.risk != before or case.first_visit_due_on is None:
        today = date.today()
        case.first_visit_due_on = targets.first_visit_due(case.risk, today, load_calendar(session))
    case.version += 1
    case.updated_at = utcnow()
    case.updated_by_id = actor.user_id
    session.add(case)
    session.flush()


def record_triage(
    session: Session, *, actor: Actor | None, reference: str, factors: list[str], version: int
) -> Case:
    actor = require(actor, Capability.CASE_TRIAGE)
    case = load_open_case(session, actor, reference, "case.triaged")
    check_version(session, case, version)
    chosen = risk.clean_factors(factors)
    before, was = case.risk, lifecycle.case_state(case)
    proposal = risk.propose(chosen)
    risk.record_assessment(
        session, case=case, actor=actor, risk=proposal, kind="triaged", factors=chosen
    )
    _after_risk(session, case, actor, before)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="case.triaged",
        detail={
            "proposed": proposal,
            "factors": chosen,
            **audit.changes(was, lifecycle.case_state(case)),
        },
    )
    return case


def override_risk(
    session: Session, *, actor: Actor | None, reference: str, risk: str, reason: str, version: int
) -> Case:
    """A lead's judgement over the proposal, with the reason kept (BR-L2)."""
    actor = require(actor, Capability.CASE_RISK_OVERRIDE)
    case = load_open_case(session, actor, reference, "case.risk_overridden")
    check_version(session, case, version)
    level, reason = str(risk or ""), (reason or "").strip()
    errors = []
    if level not in RISK_LABELS:
        errors.append(FieldError("risk", "Choose Red, Amber or Green"))
    if len(reason) < 10:
        errors.append(FieldError("reason", "Give the reason for overriding the risk"))
    if errors:
        raise ValidationFailed(errors)
    before, was = case.risk, lifecycle.case_state(case)
    record_assessment(
        session, case=case, actor=actor, risk=level, kind="override", reason=reason[:2000]
    )
    _after_risk(session, case, actor, before)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="case.risk_overridden",
        detail={"reason": reason[:200], **audit.changes(was, lifecycle.case_state(case))},
    )
    return case


def allocate(
    session: Session, *, actor: Actor | None, reference: str, officer_id: int, version: int
) -> Case:
    actor = require(actor, Capability.CASE_ALLOCATE)
    case = load_open_case(session, actor, reference, "case.allocated")
    check_version(session, case, version)
    officer = session.get(User, officer_id) if isinstance(officer_id, int) else None
    if officer is None or not allows(officer.role, Capability.CASELOAD) or not officer.is_active:
        raise ValidationFailed([FieldError("officer_id", "Choose an officer")])
    before, was = case.allocated_officer_id, lifecycle.case_state(case)
    case.allocated_officer_id = officer.id
    lifecycle.touch(case, actor)
    session.add(case)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="case.allocated",
        detail=audit.changes(was, lifecycle.case_state(case)),
    )
    if before != officer.id:
        notifications.case_allocated(session, case=case, officer_id=officer.id, actor=actor)
    session.flush()
    return case
