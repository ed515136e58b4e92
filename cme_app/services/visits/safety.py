"""Visit safety on the case: the warning markers and joint-visit rule officers read before
every visit, and the lead's review of a visit that arrived after its case had moved on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from ...dates import short_date
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import Case, Child, HomeVisit, User, utcnow
from ...permissions import Actor, Capability, allows, require
from ..casework import lifecycle
from ..casework.lifecycle import check_version, load_case, load_open_case
from ..trust import audit

MARKERS_LIMIT = 1000


@dataclass(frozen=True)
class FlaggedVisit:
    """A visit the server kept although its case had changed, waiting for a lead's review."""

    visit_id: int
    reference: str
    child_name: str
    visited_on: str
    officer: str
    flag_reason: str


def set_visit_safety(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    warning_markers: str,
    joint_visit_required: bool,
    version: int,
) -> Case:
    """What an officer must read before a visit, and whether one may go alone. The allocated
    officer or a lead. The audit keeps the flag, never the markers' words."""
    action = "case.visit_safety_changed"
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, action)
    mine = case.allocated_officer_id == actor.user_id
    if not (mine or allows(actor.role, Capability.WHOLE_CASELOAD)):
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome="refused",
            entity_type="case",
            entity_id=case.reference,
            child_id=case.child_id,
        )
        raise NotAllowed("Only the allocated officer or a team lead can change visit safety.")
    check_version(session, case, version)
    markers = str(warning_markers or "").strip()
    if len(markers) > MARKERS_LIMIT:
        raise ValidationFailed(
            [FieldError("warning_markers", f"Use {MARKERS_LIMIT} characters or fewer")]
        )
    joint = joint_visit_required is True
    before = case.joint_visit_required
    markers_changed = markers != (case.warning_markers or "")
    if not markers_changed and joint == before:
        return case
    case.warning_markers = markers or None
    case.joint_visit_required = joint
    lifecycle.touch(case, actor)
    session.add(case)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action=action,
        detail={
            "before": {"joint_visit_required": before},
            "after": {"joint_visit_required": joint},
            "markers_changed": markers_changed,
        },
    )
    session.flush()
    return case


def review_visit_flag(
    session: Session, *, actor: Actor | None, reference: str, visit_id: int
) -> HomeVisit:
    """A lead has looked at a flagged visit. Closed cases too: a visit logged offline may reach
    the server after its case was closed."""
    action = "visit.flag_reviewed"
    actor = require(actor, Capability.VISIT_FLAG_REVIEW)
    case = load_case(session, actor=actor, reference=reference, action=action)
    ok_id = isinstance(visit_id, int) and not isinstance(visit_id, bool)
    visit = session.get(HomeVisit, visit_id) if ok_id else None
    if visit is None or visit.case_id != case.id or not visit.flag_reason:
        raise lifecycle.MoveRefused("That visit is not waiting for review on this case.")
    if visit.flag_reviewed_at is not None:
        return visit  # another lead got there first; nothing more to record
    visit.flag_reviewed_at = utcnow()
    visit.flag_reviewed_by_id = actor.user_id
    session.add(visit)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action=action,
        detail={
            "visit_id": visit.id,
            "client_uuid": visit.client_uuid,
            "before": {"flag_reviewed_by_id": None},
            "after": {"flag_reviewed_by_id": actor.user_id},
        },
    )
    session.flush()
    return visit


def flagged_visits(session: Session, *, actor: Actor | None) -> list[FlaggedVisit]:
    """Every flagged visit no lead has reviewed yet, oldest first, in one query."""
    actor = require(actor, Capability.VISIT_FLAG_REVIEW)
    found = session.exec(
        select(HomeVisit, Case.reference, Child.first_name, Child.last_name, User.name)
        .join(Case, Case.id == HomeVisit.case_id)
        .join(Child, Child.id == Case.child_id)
        .join(User, User.id == HomeVisit.officer_id, isouter=True)
        .where(col(HomeVisit.flag_reason).is_not(None), col(HomeVisit.flag_reviewed_at).is_(None))
        .order_by(HomeVisit.id)
    ).all()
    return [
        FlaggedVisit(
            visit_id=v.id,
            reference=ref,
            child_name=f"{first} {last}",
            visited_on=short_date(v.visited_on),
            officer=officer or "",
            flag_reason=v.flag_reason,
        )
        for v, ref, first, last, officer in found
    ]
