"""Why someone opens a case outside their own caseload (issue 5, UK GDPR Art. 5(1)(b)).

An officer (or admin) opening a case allocated to another officer says why before the child's
record is sent to them; the reason is kept in the `case.viewed` audit event and is asked once
per person and case for a working day. Leads supervise the whole team, so every case is theirs.
A case allocated to nobody is the team's queue and everyone's caseload.

Writes ask too (issue 18, finding 5): every change an officer or admin makes to a case outside
their caseload needs a purpose given for that case within REMEMBER_FOR (the one given when they
opened it is reused). `for_write` is the one check; `lifecycle.load_case` calls it for every
case loaded to be changed, and the few writes that load a case unlocked call it themselves. The
purpose is kept on the unit of work, and `audit.record` copies it into the detail of that
person's events on that case, so the write's audit row says why.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ...domain import Role
from ...errors import FieldError, Refusal, ValidationFailed
from ...models import AuditEvent, Case, utcnow
from ...permissions import Actor
from . import audit

PURPOSES = {
    "covering": "Covering for a colleague",
    "duty": "Duty officer enquiry",
    "supervision": "Supervision or quality check",
    "other": "Other",
}
OTHER_LIMIT = 200
# "The rest of the session": a working day, the longest a sign-in lasts.
REMEMBER_FOR = timedelta(hours=8)


# Who is asked before a write: staff with a caseload of their own (leads supervise every case;
# a school changes only its own referral, by its own rules).
WRITE_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
WRITE_MESSAGE = ("This case is allocated to another officer. Open the case and say why you are "
                 "working on it before you change it.")


class PurposeRequired(Refusal):
    """The case is outside the actor's caseload and no purpose was given yet."""

    def __init__(self, message: str = "Say why you are opening this case.") -> None:
        super().__init__(message)


def outside_caseload(actor: Actor, case: Case) -> bool:
    if actor.role == Role.LEAD:
        return False
    return case.allocated_officer_id not in (None, actor.user_id)


def parse(form: Any) -> dict[str, str]:
    """The audit detail for a submitted purpose form {purpose, purpose_other}; every error
    at once."""
    data = form if isinstance(form, dict) else {}
    code = str(data.get("purpose") or "")
    other = str(data.get("purpose_other") or "").strip()
    errors = []
    if code not in PURPOSES:
        errors.append(FieldError("purpose", "Select why you are opening this case"))
    elif code == "other" and not other:
        errors.append(FieldError("purpose_other", "Enter why you are opening this case"))
    if len(other) > OTHER_LIMIT:
        errors.append(FieldError("purpose_other", f"Use {OTHER_LIMIT} characters or fewer"))
    if errors:
        raise ValidationFailed(errors)
    return {"purpose": code, "purpose_other": other} if code == "other" else {"purpose": code}


def given_recently(session: Session, *, actor: Actor, case: Case, now: datetime) -> bool:
    """Has this person given a purpose for this case within REMEMBER_FOR?"""
    return live(session, actor=actor, case=case, now=now) is not None


def live(session: Session, *, actor: Actor, case: Case, now: datetime) -> dict[str, str] | None:
    """The purpose this person gave for this case within REMEMBER_FOR (the latest), or None."""
    details = session.exec(
        select(AuditEvent.detail)
        .where(
            AuditEvent.actor_id == actor.user_id,
            AuditEvent.action == "case.viewed",
            AuditEvent.entity_id == case.reference,
            AuditEvent.outcome == "ok",
            col(AuditEvent.at) >= now - REMEMBER_FOR,
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(200)
    ).all()
    for d in details:
        if isinstance(d, dict) and d.get("purpose") in PURPOSES:
            return {k: str(d[k]) for k in ("purpose", "purpose_other") if k in d}
    return None


def check(
    session: Session, *, actor: Actor, case: Case, form: Any, now: datetime
) -> dict[str, str]:
    """The purpose to record with this view ({} when none is needed or it was given earlier
    today). Raises ValidationFailed for a bad form, PurposeRequired when none was given."""
    if not outside_caseload(actor, case):
        return {}
    if form is not None:
        return parse(form)
    if given_recently(session, actor=actor, case=case, now=now):
        return {}
    raise PurposeRequired()


def require_given(session: Session, *, actor: Actor, case: Case, now: datetime) -> None:
    """For the case page's other parts (e.g. the sharing log): nothing of a case outside the
    caseload until its purpose was given on opening it."""
    if outside_caseload(actor, case) and not given_recently(
        session, actor=actor, case=case, now=now
    ):
        raise PurposeRequired()


def needed_for_write(actor: Actor | None, case: Case) -> bool:
    return actor is not None and actor.role in WRITE_ROLES and outside_caseload(actor, case)


def for_write(
    session: Session, *, actor: Actor | None, case: Case, action: str,
    now: datetime | None = None, message: str = WRITE_MESSAGE,
) -> dict[str, str]:
    """The one check before any change to a case: {} for the actor's own caseload (and for
    leads); else the purpose given for this case within REMEMBER_FOR, remembered on this unit
    of work for the write's audit events. None given: the attempt is audited under `action`
    (outcome "refused", reason "purpose_required") and PurposeRequired is raised."""
    if not needed_for_write(actor, case):
        return {}
    assert actor is not None
    given = live(session, actor=actor, case=case, now=now or utcnow())
    if given is None:
        _audit_refused(session, actor=actor, case=case, action=action)
        raise PurposeRequired(message)
    audit.remember_purpose(session, actor_id=actor.user_id, reference=case.reference,
                           given=given)
    return given


def _audit_refused(session: Session, *, actor: Actor, case: Case, action: str) -> None:
    audit.record(session, actor=actor, action=action, outcome="refused", entity_type="case",
                 entity_id=case.reference, child_id=case.child_id,
                 detail={"reason": "purpose_required"})


def label(detail: Any) -> str:
    """"Covering for a colleague", or "Other: <their words>"; "" when none was recorded."""
    if not isinstance(detail, dict) or detail.get("purpose") not in PURPOSES:
        return ""
    if detail["purpose"] == "other":
        return f"Other: {detail.get('purpose_other', '')}"
    return PURPOSES[detail["purpose"]]
