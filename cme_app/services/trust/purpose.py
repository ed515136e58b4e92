"""Why someone opens a case outside their own caseload (issue 5, UK GDPR Art. 5(1)(b)).

An officer (or admin) opening a case allocated to another officer says why before the child's
record is sent to them; the reason is kept in the `case.viewed` audit event and is asked once
per person and case for a working day. Leads supervise the whole team, so every case is theirs.
A case allocated to nobody is the team's queue and everyone's caseload.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ...domain import Role
from ...errors import FieldError, Refusal, ValidationFailed
from ...models import AuditEvent, Case
from ...permissions import Actor

PURPOSES = {
    "covering": "Covering for a colleague",
    "duty": "Duty officer enquiry",
    "supervision": "Supervision or quality check",
    "other": "Other",
}
OTHER_LIMIT = 200
# "The rest of the session": a working day, the longest a sign-in lasts.
REMEMBER_FOR = timedelta(hours=8)


class PurposeRequired(Refusal):
    """The case is outside the actor's caseload and no purpose was given yet."""

    def __init__(self) -> None:
        super().__init__("Say why you are opening this case.")


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
    return any(isinstance(d, dict) and d.get("purpose") in PURPOSES for d in details)


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


def label(detail: Any) -> str:
    """"Covering for a colleague", or "Other: <their words>"; "" when none was recorded."""
    if not isinstance(detail, dict) or detail.get("purpose") not in PURPOSES:
        return ""
    if detail["purpose"] == "other":
        return f"Other: {detail.get('purpose_other', '')}"
    return PURPOSES[detail["purpose"]]
