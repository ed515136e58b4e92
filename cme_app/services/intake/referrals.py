"""A school drafting, submitting and resubmitting its referrals.

What the school sees afterwards is in referral_view.py, the rule that a school sees only its
own in visibility.py, what a submitted form is stored as in form_records.py, and the case it
opens in opening.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from ...domain import ReferralStatus, Risk
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...models import Case, Child, Referral, utcnow
from ...permissions import Actor, Capability, require_school_user
from ...settings import get_settings
from ..casework import lifecycle
from ..notify import notifications
from ..school_returns import deletions
from ..trust import audit
from . import form_records
from . import referral_form as rf
from .opening import open_case, refresh_triage_facts
from .visibility import visible_to

EDITABLE = (ReferralStatus.DRAFT, ReferralStatus.RETURNED)
# What the referral form makes when it opens (secrets.token_hex(16)); see `submit`.
SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


def is_submission_id(value: object) -> bool:
    return isinstance(value, str) and SUBMISSION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Receipt:
    """What the school's confirmation shows once a referral is submitted."""

    reference: str
    late: bool


def _editable_referral(
    session: Session, actor: Actor, public_id: str, action: str, *, lock: bool = False
) -> Referral:
    """The school's own draft, or its referral sent back for more information."""
    query = select(Referral).where(
        Referral.public_id == (public_id or "")[:32],
        visible_to(actor),
        Referral.status.in_(EDITABLE),
    )
    # Submitting locks the draft: a second tab submitting it at the same moment waits, then
    # finds it no longer editable, instead of opening a second case for it.
    referral = session.exec(query.with_for_update() if lock else query).first()
    if referral is None:
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome="not_found",
            entity_type="referral",
            entity_id=(public_id or "")[:32],
        )
        raise NotFound("Draft not found.")
    return referral


def save_draft(
    session: Session, *, actor: Actor | None, form: dict, public_id: str | None = None
) -> Referral:
    """Keep a half-finished referral. Nothing is validated; only the school can resume it."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    data = rf.clean_form_data(form)
    return keep_draft(session, actor=actor, public_id=public_id, action="referral.draft_saved",
                      new_data=lambda _old: data)


def keep_draft(
    session: Session, *, actor: Actor, public_id: str | None,
    new_data: Callable[[dict], dict], action: str, skip_unchanged: bool = False,
) -> Referral:
    """Write the school's draft (a new one if `public_id` is empty) as `new_data(old form)`,
    audited with the names of the fields that changed (the values are the child's details).
    `skip_unchanged`: an existing draft that would not change is neither written nor audited."""
    if public_id:
        referral = _editable_referral(session, actor, public_id, "referral.draft_saved")
    else:
        referral = Referral(school_id=actor.school_id, created_by_id=actor.user_id)
    old = dict(referral.form_data or {})
    data = new_data(old)
    changed = sorted(k for k in old.keys() | data.keys() if old.get(k) != data.get(k))
    if skip_unchanged and referral.id is not None and not changed:
        return referral
    referral.form_data = data
    referral.updated_at = utcnow()
    session.add(referral)
    session.flush()
    audit.record(session, actor=actor, action=action, entity_type="referral",
                 entity_id=referral.public_id, detail={"fields_changed": changed})
    return referral


def open_draft(session: Session, *, actor: Actor | None, public_id: str) -> dict[str, str]:
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    referral = _editable_referral(session, actor, public_id, "referral.draft_open")
    audit.record(
        session,
        actor=actor,
        action="referral.draft_open",
        entity_type="referral",
        entity_id=referral.public_id,
        child_id=referral.child_id,
    )
    return dict(referral.form_data or {})


def submit(
    session: Session,
    *,
    actor: Actor | None,
    form: dict,
    public_id: str | None = None,
    today: date | None = None,
    submission_id: str | None = None,
) -> Case:
    """Validate and submit. Creates the child's records and a case in 'New referral'.

    Raises ValidationFailed (with every field error) and writes nothing if any rule fails.

    `submission_id` is the random id of the form instance. If this school already stored a
    referral under it (the first attempt committed, but its answer never reached the browser),
    that referral's case is returned, audited as a repeat, and nothing new is written. The id
    is scoped to the school, so another school's id finds nothing of theirs.
    """
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    if submission_id is not None and not is_submission_id(submission_id):
        raise NotAllowed("This form has expired. Reload the page and submit it again.")
    if submission_id is not None:
        stored = stored_submission(session, actor=actor, submission_id=submission_id)
        if stored is not None:
            return stored
    today = today or date.today()
    data = rf.clean_form_data(form)
    referral = (
        _editable_referral(session, actor, public_id, "referral.submitted", lock=True)
        if public_id
        else None
    )
    errors = rf.validate(data, today=today)
    flagged = {e.field for e in errors}
    errors += [e for e in form_records.length_errors(data) if e.field not in flagged]
    if errors:
        raise ValidationFailed(errors)

    resubmission = referral is not None and referral.status == ReferralStatus.RETURNED
    if referral is None:
        referral = Referral(school_id=actor.school_id, created_by_id=actor.user_id)
    child = _store_child(session, data, referral, resubmission=resubmission)
    _mark_submitted(referral, data, today=today, submission_id=submission_id)
    session.add(referral)
    session.flush()
    form_records.write(session, data, child, referral)
    session.flush()
    if resubmission:
        case, changed = _reopen_returned(session, actor, referral, child, today)
    else:
        case = open_case(session, actor=actor, referral=referral, child=child, today=today)
        changed = {}
    audit.record(
        session,
        actor=actor,
        action="referral.resubmitted" if resubmission else "referral.submitted",
        entity_type="case",
        entity_id=case.reference,
        child_id=child.id,
        detail={"referral": referral.public_id, "late": referral.late, **changed},
    )
    notifications.referral_arrived(
        session, case=case, red=case.proposed_risk == Risk.RED, resubmitted=resubmission
    )
    deletions.deletion_from_referral(session, actor=actor, case=case, referral=referral,
                                     child=child)
    return case


def submit_with_receipt(
    session: Session,
    *,
    actor: Actor | None,
    form: dict,
    public_id: str | None = None,
    submission_id: str | None = None,
) -> Receipt:
    """`submit`, answered with what the school's confirmation shows."""
    case = submit(session, actor=actor, form=form, public_id=public_id,
                  submission_id=submission_id)
    return Receipt(reference=case.reference, late=session.get(Referral, case.referral_id).late)


def _store_child(
    session: Session, data: dict[str, str], referral: Referral, *, resubmission: bool
) -> Child:
    """The child as the form describes them. A resubmission corrects the same child and
    replaces everything else the school wrote last time."""
    if resubmission:
        child = session.get(Child, referral.child_id)
        form_records.clear(session, referral)
        fresh = form_records.child_from(data).model_dump(exclude={"id", "created_at"})
        for field, value in fresh.items():
            setattr(child, field, value)
    else:
        child = form_records.child_from(data)
    session.add(child)
    session.flush()
    referral.child_id = child.id
    return child


def _mark_submitted(
    referral: Referral, data: dict[str, str], *, today: date, submission_id: str | None
) -> None:
    """Copy the form's answers onto the referral and mark it submitted (late, or outside
    compulsory school age, as of today)."""
    start, end = rf.compulsory_school_age(rf.parse_date(data["date_of_birth"]))
    aware = rf.parse_date(data["date_school_aware"])
    now = utcnow()
    referral.form_data = data
    referral.status = ReferralStatus.SUBMITTED
    for name in ("referrer_name", "referrer_job_title", "referrer_phone", "referrer_email",
                 "on_roll_status", "category"):
        setattr(referral, name, data[name])
    started_late = rf.never_started(data)
    referral.date_last_attended = None if started_late else rf.parse_date(
        data.get("date_last_attended"))
    referral.expected_start_date = rf.parse_date(data.get("expected_start_date")) \
        if started_late else None
    referral.leave_ends_on = rf.parse_date(data.get("leave_ends_on")) \
        if data["category"] == "not_returned_after_leave" else None
    deleted = data["on_roll_status"] == "deleted"
    referral.roll_deleted_on = rf.parse_date(data.get("roll_deleted_on")) if deleted else None
    referral.roll_deletion_ground = data.get("roll_deletion_ground") if deleted else None
    referral.absence_codes_confirmed = data.get("absence_codes_confirmed") == "yes"
    referral.date_school_aware = aware
    referral.absence_days = int(data["absence_days"]) if data.get("absence_days") else None
    for name in ("absence_codes", "believed_destination", "proposed_deletion_ground",
                 "concerns_narrative"):
        setattr(referral, name, data.get(name) or None)
    referral.history_of_non_attendance = rf.is_checked(data.get("history_of_non_attendance"))
    referral.concerns_none_known = rf.is_checked(data.get(f"concern-{rf.NONE_KNOWN}"))
    referral.late = rf.is_late(aware, today, weeks=get_settings().late_referral_weeks)
    referral.outside_csa = not (start <= today <= end)
    referral.submitted_at = now
    referral.updated_at = now
    referral.submission_id = submission_id


def _reopen_returned(
    session: Session, actor: Actor, referral: Referral, child: Child, today: date
) -> tuple[Case, dict]:
    """A returned referral comes back: its case moves on and triage starts again from the
    new answers. Returns the case and what changed on it, for the audit trail."""
    case = session.exec(select(Case).where(Case.referral_id == referral.id)).one()
    was = lifecycle.case_state(case)
    lifecycle.resubmitted(session, actor=actor, case=case)
    refresh_triage_facts(session, case=case, referral=referral, child=child, today=today)
    return case, audit.changes(was, lifecycle.case_state(case))


def stored_submission(session: Session, *, actor: Actor, submission_id: str) -> Case | None:
    """The case of the referral this school already submitted under `submission_id`."""
    found = session.exec(
        select(Referral, Case)
        .join(Case, Case.referral_id == Referral.id)
        .where(visible_to(actor), Referral.submission_id == submission_id)
    ).first()
    if found is None:
        return None
    referral, case = found
    audit.record(
        session,
        actor=actor,
        action="referral.submit_repeated",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"referral": referral.public_id},
    )
    return case
