"""Drafting, submitting and viewing school referrals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ...dates import long_date
from ...domain import AddressKind, ReferralStatus, Risk, Role, Stage
from ...errors import NotAllowed, NotFound, ValidationFailed
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    DslAppraisal,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    School,
    StageChange,
    utcnow,
)
from ...models import Person as PersonRow
from ...permissions import CASE_VIEWERS, Actor, require_role, require_school_user
from ...settings import get_settings
from ..casework import lifecycle, risk, targets
from ..casework.closure import school_outcome_text
from ..casework.references import next_case_reference
from ..notify import notifications
from ..school_calendar.school_days import load_calendar
from ..trust import audit
from . import referral_form as rf

EDITABLE = (ReferralStatus.DRAFT, ReferralStatus.RETURNED)
# What the referral form makes when it opens (secrets.token_hex(16)); see `submit`.
SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


def is_submission_id(value: object) -> bool:
    return isinstance(value, str) and SUBMISSION_ID.fullmatch(value) is not None

SCHOOL_STATUS: dict[str, str] = {
    Stage.NEW_REFERRAL: "Received",
    Stage.TRIAGE: "Being checked by the CME team",
    Stage.ENQUIRIES: "Enquiries under way",
    Stage.HOME_VISIT: "Enquiries under way",
    Stage.AWAITING_VERIFICATION: "Enquiries under way",
    Stage.LOCATED: "Child found – securing education",
    Stage.CLOSED: "Closed",
}


@dataclass(frozen=True)
class ReferralRow:
    """One line in the school's list of referrals."""

    public_id: str
    reference: str
    child_name: str
    submitted_on: str
    status: str
    late: bool
    is_draft: bool


@dataclass(frozen=True)
class ReferralView:
    """What a school may see of one of its submitted referrals (no LA case notes)."""

    reference: str
    status: str
    submitted_at: str
    late: bool
    outside_csa: bool
    child_name: str
    date_of_birth: str
    upn: str
    home_address: str
    category: str
    date_last_attended: str
    date_school_aware: str
    concerns: list[str]
    enquiries: list[list[str]]
    people: list[list[str]]
    school_name: str
    return_note: str = ""
    draft_id: str = ""
    outcome: str = ""
    school_notice: str = ""


def _status_text(referral: Referral, case: Case | None) -> str:
    if referral.status == ReferralStatus.DRAFT:
        return "Draft – not sent"
    if referral.status == ReferralStatus.RETURNED:
        return "More information needed"
    if case is None:
        return "Received"
    return SCHOOL_STATUS.get(case.stage, "Received")


def _editable_referral(
    session: Session, actor: Actor, public_id: str, action: str, *, lock: bool = False
) -> Referral:
    query = select(Referral).where(
        Referral.public_id == (public_id or "")[:32],
        Referral.school_id == actor.school_id,
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
    actor = require_school_user(actor)
    data = rf.clean_form_data(form)
    if public_id:
        referral = _editable_referral(session, actor, public_id, "referral.draft_saved")
    else:
        referral = Referral(school_id=actor.school_id, created_by_id=actor.user_id)
    old = dict(referral.form_data or {})
    # The names of the fields that changed: the values are the child's details.
    changed = sorted(k for k in old.keys() | data.keys() if old.get(k) != data.get(k))
    referral.form_data = data
    referral.updated_at = utcnow()
    session.add(referral)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="referral.draft_saved",
        entity_type="referral",
        entity_id=referral.public_id,
        detail={"fields_changed": changed},
    )
    return referral


def open_draft(session: Session, *, actor: Actor | None, public_id: str) -> dict[str, str]:
    actor = require_school_user(actor)
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
    actor = require_school_user(actor)
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
    if errors:
        raise ValidationFailed(errors)

    resubmission = referral is not None and referral.status == ReferralStatus.RETURNED
    if referral is None:
        referral = Referral(school_id=actor.school_id, created_by_id=actor.user_id)
    if resubmission:
        child = session.get(Child, referral.child_id)
        _clear_household(session, referral)
        for field, value in _child_from(data).model_dump(exclude={"id", "created_at"}).items():
            setattr(child, field, value)
    else:
        child = _child_from(data)
    session.add(child)
    session.flush()

    dob = rf.parse_date(data["date_of_birth"])
    start, end = rf.compulsory_school_age(dob)
    aware = rf.parse_date(data["date_school_aware"])
    now = utcnow()
    referral.child_id = child.id
    referral.form_data = data
    referral.status = ReferralStatus.SUBMITTED
    referral.referrer_name = data["referrer_name"]
    referral.referrer_job_title = data["referrer_job_title"]
    referral.referrer_phone = data["referrer_phone"]
    referral.referrer_email = data["referrer_email"]
    referral.on_roll_status = data["on_roll_status"]
    referral.category = data["category"]
    referral.date_last_attended = rf.parse_date(data["date_last_attended"])
    referral.date_school_aware = aware
    referral.absence_days = int(data["absence_days"]) if data.get("absence_days") else None
    referral.absence_codes = data.get("absence_codes") or None
    referral.history_of_non_attendance = rf.is_checked(data.get("history_of_non_attendance"))
    referral.believed_destination = data.get("believed_destination") or None
    referral.proposed_deletion_ground = data.get("proposed_deletion_ground") or None
    referral.concerns_none_known = rf.is_checked(data.get(f"concern-{rf.NONE_KNOWN}"))
    referral.concerns_narrative = data.get("concerns_narrative") or None
    referral.late = rf.is_late(aware, today, weeks=get_settings().late_referral_weeks)
    referral.outside_csa = not (start <= today <= end)
    referral.submitted_at = now
    referral.updated_at = now
    referral.submission_id = submission_id
    session.add(referral)
    session.flush()

    _write_household(session, data, child, referral)
    session.flush()
    changed: dict = {}
    if resubmission:
        case = session.exec(select(Case).where(Case.referral_id == referral.id)).one()
        was = lifecycle.case_state(case)
        lifecycle.resubmitted(session, actor=actor, case=case)
        refresh_triage_facts(session, case=case, referral=referral, child=child, today=today)
        changed = audit.changes(was, lifecycle.case_state(case))
    else:
        case = open_case(session, actor=actor, referral=referral, child=child, today=today)
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
    return case


def stored_submission(session: Session, *, actor: Actor, submission_id: str) -> Case | None:
    """The case of the referral this school already submitted under `submission_id`."""
    found = session.exec(
        select(Referral, Case)
        .join(Case, Case.referral_id == Referral.id)
        .where(Referral.school_id == actor.school_id, Referral.submission_id == submission_id)
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


def open_case(
    session: Session, *, actor: Actor, referral: Referral, child: Child, today: date
) -> Case:
    """A new case in New referral for a submitted or logged referral."""
    now = utcnow()
    case = Case(
        reference=next_case_reference(session, year=now.year),
        child_id=child.id,
        referral_id=referral.id,
        stage=Stage.NEW_REFERRAL,
        stage_entered_at=now,
        opened_at=now,
        updated_by_id=actor.user_id,
    )
    session.add(case)
    session.flush()
    session.add(StageChange(case_id=case.id, to_stage=Stage.NEW_REFERRAL, by_id=actor.user_id))
    refresh_triage_facts(session, case=case, referral=referral, child=child, today=today)
    return case


def refresh_triage_facts(
    session: Session, *, case: Case, referral: Referral, child: Child, today: date
) -> None:
    """What triage starts from: the proposed risk and its factors, the triage due date and
    any existing cases that look like the same child or household (BR-L2, BR-L3, SC-18)."""
    factors = risk.factors_from_referral(session, referral, child)
    case.risk_factors = factors
    case.proposed_risk = risk.propose(factors)
    case.triage_due_on = targets.triage_due(case.proposed_risk, today, load_calendar(session))
    case.possible_matches = possible_matches(session, case=case, child=child)
    session.add(case)
    session.flush()


def possible_matches(session: Session, *, case: Case, child: Child) -> list[str]:
    """Other cases with the same UPN, the same name and date of birth, or a shared last
    known address (same first line and postcode)."""
    same_child = [
        (Child.first_name == child.first_name)
        & (Child.last_name == child.last_name)
        & (Child.date_of_birth == child.date_of_birth)
    ]
    if child.upn:
        same_child.append(Child.upn == child.upn)
    refs = set(
        session.exec(
            select(Case.reference)
            .join(Child, Child.id == Case.child_id)
            .where(Case.id != case.id, or_(*same_child))
        ).all()
    )
    homes = session.exec(
        select(Address.line1, Address.postcode).where(
            Address.child_id == child.id,
            Address.kind == AddressKind.LAST_KNOWN,
            col(Address.postcode).is_not(None),
        )
    ).all()
    for line1, postcode in homes:
        other = aliased(Address)
        refs.update(
            session.exec(
                select(Case.reference)
                .join(other, other.child_id == Case.child_id)
                .where(
                    Case.id != case.id,
                    other.kind == AddressKind.LAST_KNOWN,
                    other.postcode == postcode,
                    func.lower(other.line1) == line1.lower(),
                )
            ).all()
        )
    return sorted(refs)


def _clear_household(session: Session, referral: Referral) -> None:
    """A resubmission replaces what the school wrote last time (the form holds it all)."""
    for model in (Address, PersonRow):
        for row in session.exec(select(model).where(model.referral_id == referral.id)).all():
            session.delete(row)
    for model in (ReferralEnquiry, ReferralConcern, DslAppraisal):
        for row in session.exec(select(model).where(model.referral_id == referral.id)).all():
            session.delete(row)
    session.flush()


def _child_from(data: dict[str, str]) -> Child:
    return Child(
        first_name=data["first_name"],
        middle_names=data.get("middle_names") or None,
        last_name=data["last_name"],
        known_as=data.get("known_as") or None,
        date_of_birth=rf.parse_date(data["date_of_birth"]),
        sex=data["sex"],
        upn=rf.normalise_upn(data.get("upn", "")) or None,
        year_group=data.get("year_group") or None,
        first_language=data.get("first_language") or None,
        interpreter_needed=rf.is_checked(data.get("interpreter_needed")),
        sen_status=data["sen_status"],
        looked_after=data["looked_after"],
        cp_plan=data["cp_plan"],
        child_in_need=data["child_in_need"],
        traveller_family=rf.is_checked(data.get("traveller_family")),
    )


def _write_household(session: Session, data: dict[str, str], child: Child, referral: Referral):
    common = {"child_id": child.id, "referral_id": referral.id}
    session.add(
        Address(
            **common,
            kind=AddressKind.LAST_KNOWN,
            line1=data["home_line1"],
            line2=data.get("home_line2") or None,
            town=data.get("home_town") or None,
            postcode=rf.normalise_postcode(data["home_postcode"]),
            source="school",
        )
    )
    for _, row in rf.rows(data, "address"):
        session.add(
            Address(
                **common,
                kind=row["kind"],
                line1=row["line1"],
                town=row["town"] or None,
                postcode=rf.normalise_postcode(row["postcode"]) or None,
                country=row["country"] or "United Kingdom",
                source=row["source"] if row["source"] in rf.ADDRESS_SOURCE_CHOICES else "school",
            )
        )
    for _, row in rf.rows(data, "person"):
        session.add(
            PersonRow(
                **common,
                kind=row["kind"],
                full_name=row["full_name"],
                relationship_to_child=row["relationship"],
                phone=row["phone"] or None,
                email=row["email"] or None,
                lives_with_child=rf.is_checked(row["lives_with_child"]),
                parental_responsibility=rf.is_checked(row["parental_responsibility"]),
                is_emergency_contact=rf.is_checked(row["emergency_contact"]),
                school_name=row["school_name"] or None,
                date_of_birth=rf.parse_date(row["date_of_birth"]),
            )
        )
    for _, row in rf.rows(data, "enquiry"):
        session.add(
            ReferralEnquiry(
                referral_id=referral.id,
                kind=row["kind"],
                made_on=rf.parse_date(row["made_on"]),
                time_of_day=row["time_of_day"] if row["time_of_day"] in ("AM", "PM") else None,
                contacted=row["contacted"],
                method=row["method"],
                result=row["result"],
            )
        )
    for kind in rf.ENQUIRY_KINDS:
        reason = data.get(f"reason-{kind.code}")
        if reason:
            session.add(
                ReferralEnquiry(referral_id=referral.id, kind=kind.code, not_possible_reason=reason)
            )
    for code in rf.CONCERNS:
        if rf.is_checked(data.get(f"concern-{code}")):
            session.add(ReferralConcern(referral_id=referral.id, concern=code))
    session.add(
        DslAppraisal(
            referral_id=referral.id,
            dsl_name=data["dsl_name"],
            known_to_csc=data["known_to_csc"],
            cp_plan=data["cp_plan"],
            child_in_need=data["child_in_need"],
            looked_after=data["looked_after"],
            significant_harm=data["significant_harm"],
            mash_referred_on=rf.parse_date(data.get("mash_referred_on")),
            mash_reference=data.get("mash_reference") or None,
            appraisal=data["dsl_appraisal"],
        )
    )


def list_for_school(
    session: Session, *, actor: Actor | None, limit: int = 200
) -> list[ReferralRow]:
    """The school's own referrals, newest first. Drafts included; other schools' never."""
    actor = require_school_user(actor)
    results = session.exec(
        select(Referral, Case, Child)
        .join(Case, Case.referral_id == Referral.id, isouter=True)
        .join(Child, Child.id == Referral.child_id, isouter=True)
        .where(Referral.school_id == actor.school_id)
        .order_by(Referral.updated_at.desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    audit.record(
        session,
        actor=actor,
        action="referral.list",
        entity_type="school",
        entity_id=actor.school_id,
        detail={"count": len(results)},
    )
    out = []
    for referral, case, child in results:
        if child is not None:
            name = f"{child.first_name} {child.last_name}"
        else:
            form = referral.form_data or {}
            name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p)
        out.append(
            ReferralRow(
                public_id=referral.public_id,
                reference=case.reference if case else "",
                child_name=name or "Unnamed child",
                submitted_on=long_date(referral.submitted_at),
                status=_status_text(referral, case),
                late=referral.late,
                is_draft=referral.status == ReferralStatus.DRAFT,
            )
        )
    return out


def view_referral(session: Session, *, actor: Actor | None, reference: str) -> ReferralView:
    """One submitted referral. A school sees only its own: others get NotFound, audited."""
    actor = require_role(actor, Role.SCHOOL, *CASE_VIEWERS)
    reference = (reference or "").strip().upper()[:16]
    query = (
        select(Referral, Case, Child, School)
        .join(Case, Case.referral_id == Referral.id)
        .join(Child, Child.id == Referral.child_id)
        .join(School, School.id == Referral.school_id, isouter=True)
        .where(Case.reference == reference)
    )
    if actor.is_school:
        query = query.where(Referral.school_id == actor.school_id)
    row = session.exec(query).first()
    if row is None:
        audit.record(
            session,
            actor=actor,
            action="referral.view",
            outcome="not_found",
            entity_type="case",
            entity_id=reference,
        )
        raise NotFound("Referral not found.")
    referral, case, child, school = row
    audit.record(
        session,
        actor=actor,
        action="referral.view",
        entity_type="case",
        entity_id=case.reference,
        child_id=child.id,
    )
    home = session.exec(
        select(Address).where(
            Address.referral_id == referral.id, Address.kind == AddressKind.LAST_KNOWN
        )
    ).first()
    enquiries = session.exec(
        select(ReferralEnquiry)
        .where(ReferralEnquiry.referral_id == referral.id)
        .order_by(ReferralEnquiry.id)
    ).all()
    people = session.exec(
        select(PersonRow).where(PersonRow.referral_id == referral.id).order_by(PersonRow.id)
    ).all()
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    returned = referral.status == ReferralStatus.RETURNED
    closed = case.stage == Stage.CLOSED
    closure = (
        session.exec(
            select(CaseClosure).where(
                CaseClosure.case_id == case.id,
                CaseClosure.episode == case.episode,
                CaseClosure.status == "closed",
            )
        ).first()
        if closed
        else None
    )
    return ReferralView(
        reference=case.reference,
        status=_status_text(referral, case),
        submitted_at=long_date(referral.submitted_at),
        late=referral.late,
        outside_csa=referral.outside_csa,
        child_name=f"{child.first_name} {child.last_name}",
        date_of_birth=long_date(child.date_of_birth) or "Not given",
        upn=child.upn or "Not given",
        home_address=", ".join(p for p in (home.line1, home.line2, home.town, home.postcode) if p)
        if home
        else "Not given",
        category=rf.CATEGORY_CHOICES.get(referral.category or "", "Not given"),
        date_last_attended=long_date(referral.date_last_attended) or "Not given",
        date_school_aware=long_date(referral.date_school_aware) or "Not given",
        concerns=[rf.CONCERNS.get(c, c) for c in concerns] or ["None known"],
        enquiries=[
            [
                rf.ENQUIRY_LABELS.get(e.kind, e.kind),
                long_date(e.made_on) if e.made_on else "Not possible",
                e.contacted or "",
                rf.METHOD_CHOICES.get(e.method or "", ""),
                e.result or e.not_possible_reason or "",
            ]
            for e in enquiries
        ],
        people=[[p.full_name, p.relationship_to_child, p.phone or ""] for p in people],
        school_name=school.name if school else "",
        return_note=(referral.return_note or "") if returned else "",
        draft_id=referral.public_id if returned and actor.is_school else "",
        outcome=school_outcome_text(case.outcome) if closed else "",
        school_notice=(closure.school_notice or "") if closure else "",
    )
