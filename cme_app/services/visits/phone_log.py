"""POST /api/v1/visits: the phone's visit log (docs/visits-api.md).

The phone works offline, so it sends each visit whole, as often as it needs to, keyed by a
uuid it made: check-in (Start visit), record (Save visit) and check-out (End visit). The server
stores each phase once and never overwrites it, so a replay of any earlier version is harmless.
A visit that arrives after the case changed (closed, moved on, reassigned) is still kept, with
a plain-words flag for a lead, and changes nothing else on the case. What the phone caches is
in phone_list.py; how each phase is checked, in visit_checks.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ...domain import STAGE_LABELS, Stage
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import AuditEvent, Case, HomeVisit, User, utcnow
from ...permissions import Actor, Capability, allows, require
from ..casework.lifecycle import load_case
from ..notify import notifications
from ..trust import audit, purpose
from . import lone_working
from .visit_checks import new_phases, whole_number

FLAG_LIMIT = 600
NO_PURPOSE = ("{reference} is allocated to another officer. Open the case, say why you are "
              "working on it, then save this visit again. It stays on this phone until it is "
              "sent.")


def _client_uuid(value: object) -> str:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else ""
    except ValueError:
        return ""


def _find(session: Session, client_uuid: str) -> HomeVisit | None:
    """The visit, locked until commit, so two sends of its next phase at once store it once."""
    return session.exec(
        select(HomeVisit)
        .where(HomeVisit.client_uuid == client_uuid)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _refuse(session: Session, actor: Actor, case: Case, client_uuid: str, why: str) -> None:
    audit.record(
        session,
        actor=actor,
        action="visit.synced",
        outcome="refused",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"uuid": client_uuid, "reason": why},
    )
    raise NotAllowed("You can't log a visit on this case.")


def _covering(session: Session, actor: Actor, case: Case, client_uuid: str) -> None:
    """A new visit on a colleague's case (covering for them): only with the purpose the officer
    gave for this case when they opened it (on the case page, within purpose.REMEMBER_FOR);
    the visit's audit events carry it. Without one the phone is told why and what to do, and
    its outbox keeps the visit (issue 18, finding 5). A case allocated to nobody is not yet
    anyone's to visit: refused as before."""
    if not purpose.needed_for_write(actor, case):
        _refuse(session, actor, case, client_uuid, "not_allocated")
    purpose.for_write(session, actor=actor, case=case, action="visit.synced",
                      message=NO_PURPOSE.format(reference=case.reference))


def _carry_purpose(session: Session, actor: Actor, case: Case) -> None:
    """The next phase of a visit the server already holds is never refused for want of a
    purpose (an officer checking out must always get through); if one is live it is kept."""
    if purpose.needed_for_write(actor, case):
        given = purpose.live(session, actor=actor, case=case, now=utcnow())
        if given:
            audit.remember_purpose(session, actor_id=actor.user_id, reference=case.reference,
                                   given=given)


def _was_allocated(session: Session, case: Case, user_id: int) -> bool:
    """Allocated now, or at some time before (reassigned while out on the visit)."""
    if case.allocated_officer_id == user_id:
        return True
    changes = session.exec(
        select(AuditEvent.detail).where(
            AuditEvent.action == "case.allocated",
            AuditEvent.entity_type == "case",
            AuditEvent.entity_id == case.reference,
            AuditEvent.outcome == "ok",
        )
    ).all()

    def officer(side: object) -> object:  # {"allocated_officer_id": n}; older events: n
        return side.get("allocated_officer_id") if isinstance(side, dict) else side

    return any(
        user_id in (officer(change.get("before")), officer(change.get("after")))
        for change in changes
        if isinstance(change, dict)
    )


def _conflicts(session: Session, *, doc: dict, case: Case, actor: Actor) -> dict[str, str]:
    """Why a lead must look at this visit, in plain words, keyed by a code for the audit."""
    seen = doc.get("seen_case") if isinstance(doc.get("seen_case"), dict) else {}
    found: dict[str, str] = {}
    if case.stage == Stage.CLOSED:
        found["closed"] = "The case was closed before this visit reached the server."
    elif case.stage == Stage.RETURNED:
        found["returned"] = (
            "The referral had gone back to the school before this visit reached the server."
        )
    elif isinstance(seen.get("stage"), str) and seen["stage"] != case.stage:
        found["stage_moved"] = (
            f"The case moved from {STAGE_LABELS.get(seen['stage'], 'another stage')} to "
            f"{STAGE_LABELS.get(case.stage, case.stage)} while the visit was being logged."
        )
    # A lead, or an officer covering a colleague's case: reassigned while the visit was logged.
    if (allows(actor.role, Capability.WHOLE_CASELOAD)
            or not _was_allocated(session, case, actor.user_id)):
        seen_officer = whole_number(seen.get("officer_id"))
        reassigned = seen_officer is not None and seen_officer != case.allocated_officer_id
    else:
        reassigned = case.allocated_officer_id != actor.user_id
    if reassigned:
        officer = (
            session.get(User, case.allocated_officer_id) if case.allocated_officer_id else None
        )
        found["reassigned"] = (
            f"The case is now allocated to {officer.name}."
            if officer
            else "The case is no longer allocated to an officer."
        )
    return found


def _apply_flags(visit: HomeVisit, reasons: dict[str, str]) -> list[str]:
    """Add reasons not already on the visit; the codes added. A new reason puts a visit a
    lead already reviewed back in front of the leads."""
    current = visit.flag_reason or ""
    added = [code for code, text in reasons.items() if text not in current]
    if added:
        text = " ".join([current, *(reasons[c] for c in added)]).strip()
        visit.flag_reason = text[:FLAG_LIMIT]
        visit.flag_reviewed_at = visit.flag_reviewed_by_id = None
    return added


def _insert(session: Session, visit: HomeVisit) -> bool:
    """Insert a new visit in a savepoint. If another request stored the same uuid first (the
    unique key decides), undo just the insert and say so, so the caller re-reads."""
    try:
        with session.begin_nested():
            session.add(visit)
        return True
    except IntegrityError:
        return False


def _check_owner(session: Session, actor: Actor, case: Case, visit: HomeVisit) -> None:
    if visit.officer_id != actor.user_id or visit.case_id != case.id:
        _refuse(session, actor, case, visit.client_uuid, "not_your_visit")


def _answer(visit: HomeVisit, case: Case) -> dict[str, Any]:
    return {
        "client_uuid": visit.client_uuid,
        "reference": case.reference,
        "checked_in": visit.checked_in_at is not None,
        "recorded": visit.outcome is not None,
        "checked_out": visit.checked_out_at is not None,
        "flagged": bool(visit.flag_reason),
        "flag_reason": visit.flag_reason,
        "synced_at": visit.synced_at.isoformat() if visit.synced_at else None,
    }


def _store_record(session: Session, actor: Actor, case: Case, visit: HomeVisit,
                  values: dict[str, Any], now: datetime) -> None:
    for name, value in values.items():
        setattr(visit, name, value)
    visit.recorded_at = now
    # Which fields were written, never their text (names of people spoken to, notes).
    detail = {"uuid": visit.client_uuid, "outcome": visit.outcome, "fields": sorted(values)}
    audit.case_event(session, actor=actor, case=case, action="visit.recorded", detail=detail)


def _store_check_out(session: Session, actor: Actor, case: Case, visit: HomeVisit,
                     at: datetime, now: datetime) -> None:
    """The officer is back: their visit's open lone-working alerts are resolved with it."""
    visit.checked_out_at = at
    resolved = lone_working.resolve_for_visit(
        session, visit=visit, actor=actor, note="Checked out", now=now
    )
    detail = {
        "uuid": visit.client_uuid,
        "alerts_resolved": resolved,
        "before": {"checked_out_at": None},
        "after": {"checked_out_at": at.isoformat()},
    }
    audit.case_event(session, actor=actor, case=case, action="visit.checked_out", detail=detail)


def _flag(session: Session, actor: Actor, case: Case, visit: HomeVisit, doc: dict) -> None:
    """Flag the visit for the leads if the case changed while it was logged."""
    reasons = _conflicts(session, doc=doc, case=case, actor=actor)
    added = _apply_flags(visit, reasons)
    session.add(visit)
    if added:
        audit.case_event(
            session, actor=actor, case=case, action="visit.flagged",
            detail={"uuid": visit.client_uuid, "reasons": added},
        )
        notifications.visit_flagged(
            session, case=case, visit_uuid=visit.client_uuid,
            flags={code: reasons[code] for code in added},
        )


def _store(session: Session, *, actor: Actor, case: Case, visit: HomeVisit,
           phases: dict[str, Any], doc: dict, now: datetime) -> None:
    """Write the new record and check-out phases, flag the visit if the case changed, and
    audit each step. A visit with no flag marks the case updated so open boards refresh."""
    if "record" in phases:
        _store_record(session, actor, case, visit, phases["record"], now)
    if "check_out" in phases:
        _store_check_out(session, actor, case, visit, phases["check_out"], now)
    visit.synced_at = now
    _flag(session, actor, case, visit, doc)
    if not visit.flag_reason:
        case.updated_at = utcnow()
        case.updated_by_id = actor.user_id
        session.add(case)
    session.flush()


def _check_in(session: Session, *, actor: Actor, case: Case, client_uuid: str, doc: dict,
              phases: dict[str, Any], now: datetime) -> tuple[HomeVisit, dict[str, Any], bool]:
    """Store a visit's first send. If another request stored the same uuid first, go on from
    its row, checking again what is new to it. Returns the visit, the phases still to store
    and whether this call checked the visit in."""
    row = HomeVisit(
        client_uuid=client_uuid,
        case_id=case.id,
        officer_id=actor.user_id,
        created_offline=doc.get("created_offline") is True,
        synced_at=now,
        **phases.pop("check_in"),
    )
    if _insert(session, row):
        detail = {"uuid": client_uuid, "offline": row.created_offline}
        audit.case_event(session, actor=actor, case=case, action="visit.checked_in", detail=detail)
        return row, phases, True
    visit = _find(session, client_uuid)
    _check_owner(session, actor, case, visit)
    return visit, new_phases(session, doc=doc, visit=visit, case=case, actor=actor, now=now), False


def sync_visit(
    session: Session, *, actor: Actor | None, payload: dict, now: datetime | None = None
) -> dict[str, Any]:
    """Store what is new in one visit document and say which phases the server now holds.

    Idempotent on `client_uuid`: a phase already stored is never overwritten, and two first
    sends of one uuid at once give one row. The uuid belongs to its officer and case: an
    officer logs visits on cases allocated to them (now or before); a lead on any case."""
    actor = require(actor, Capability.VISIT_LOG)
    now = now or utcnow()
    doc = payload if isinstance(payload, dict) else {}
    client_uuid = _client_uuid(doc.get("client_uuid"))
    if not client_uuid:
        raise ValidationFailed([FieldError("client_uuid", "The visit has no valid id")])
    case = load_case(
        session, actor=actor, reference=doc.get("case_reference"), action="visit.synced",
        lock=False,
    )
    visit = _find(session, client_uuid)
    if visit is not None:
        _check_owner(session, actor, case, visit)
        _carry_purpose(session, actor, case)
    elif not (allows(actor.role, Capability.WHOLE_CASELOAD)
              or _was_allocated(session, case, actor.user_id)):
        _covering(session, actor, case, client_uuid)
    phases = new_phases(session, doc=doc, visit=visit, case=case, actor=actor, now=now)
    checked_in = False
    if visit is None:
        visit, phases, checked_in = _check_in(
            session, actor=actor, case=case, client_uuid=client_uuid, doc=doc, phases=phases,
            now=now,
        )
    if checked_in or phases:  # else a replay of what the server holds: nothing changes
        _store(session, actor=actor, case=case, visit=visit, phases=phases, doc=doc, now=now)
    return _answer(visit, case)
