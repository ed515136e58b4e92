"""What a school sees of its referrals: its list, and one referral's page (which LA staff
open too). Which referrals each may see is visibility.py's rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from ...dates import long_date
from ...domain import AddressKind, ReferralStatus, Stage, case_reference
from ...errors import NotFound
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    School,
    StageChange,
)
from ...models import Person as PersonRow
from ...permissions import Actor, Capability, require, require_school_user
from ..casework.closure import school_outcome_text
from ..trust import audit
from . import referral_form as rf
from .visibility import visible_to

NOT_GIVEN = "Not given"
SCHOOL_STATUS: dict[str, str] = {
    Stage.NEW_REFERRAL: "Received",
    Stage.TRIAGE: "Being checked by the CME team",
    Stage.ENQUIRIES: "Enquiries under way",
    Stage.HOME_VISIT: "Enquiries under way",
    Stage.AWAITING_VERIFICATION: "Enquiries under way",
    Stage.LOCATED: "Child found – securing education",
    Stage.CLOSED: "Closed",
    Stage.RETURNED: "More information needed",
}
# What happens next at each status, in the school's words: what the team does and what the
# school does now.
NEXT_STEPS: dict[str, str] = {
    "Received": "The CME team will check your referral and decide how urgent it is. Keep the "
    "child on your roll and tell the team at once if the child comes back.",
    "Being checked by the CME team": "The team is checking what is already known about the "
    "child and how urgent the referral is. They may call you for more information.",
    "More information needed": "The CME team needs more information before it can go on. Add "
    "it to the referral and resubmit it.",
    "Enquiries under way": "The CME team is making its own enquiries, which may include a home "
    "visit and checks with other councils. Tell the team at once if you hear where the child "
    "is.",
    "Child found – securing education": "The CME team has found the child and is making sure "
    "they get an education. Keep the child on your roll until the team or a new school "
    "confirms where the child is being educated; the team will tell you.",
    "Closed": "The CME team has closed the case. The outcome above says what it means for "
    "your school, including whether you can now remove the child from your roll.",
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
    # [date, status in words, what happens next], oldest first.
    history: list[list[str]] = field(default_factory=list)
    return_note: str = ""
    draft_id: str = ""
    outcome: str = ""
    school_notice: str = ""


def status_text(referral: Referral, case: Case | None) -> str:
    """The referral's status in the school's words."""
    if referral.status == ReferralStatus.DRAFT:
        return "Draft – not sent"
    if referral.status == ReferralStatus.RETURNED:
        return "More information needed"
    if case is None:
        return "Received"
    return SCHOOL_STATUS.get(case.stage, "Received")


# ----- the school's list ----------------------------------------------------------------------


def list_for_school(
    session: Session, *, actor: Actor | None, limit: int = 200
) -> list[ReferralRow]:
    """The school's own referrals, newest first. Drafts included; other schools' never."""
    actor = require_school_user(actor, Capability.REFERRAL_WRITE)
    results = session.exec(
        select(Referral, Case, Child)
        .join(Case, Case.referral_id == Referral.id, isouter=True)
        .join(Child, Child.id == Referral.child_id, isouter=True)
        .where(visible_to(actor))
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
    return [_row(referral, case, child) for referral, case, child in results]


def _as_referred(referral: Referral, child: Child) -> tuple[str, str, str]:
    """The child's name, date of birth and UPN as this referral gave them. Once the LA merges
    two records of one child, the record may hold what another school wrote: a school sees
    only its own form's words (issue 15)."""
    form = referral.form_data or {}
    if not form.get("first_name"):  # written without a form (another LA's, older data)
        return (f"{child.first_name} {child.last_name}", long_date(child.date_of_birth),
                child.upn or "")
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p)
    born = rf.parse_date(str(form.get("date_of_birth") or ""))
    return name, long_date(born), rf.normalise_upn(str(form.get("upn") or ""))


def _row(referral: Referral, case: Case | None, child: Child | None) -> ReferralRow:
    if child is not None:
        name = _as_referred(referral, child)[0]
    else:  # a draft: the names as typed so far
        form = referral.form_data or {}
        name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p)
    return ReferralRow(
        public_id=referral.public_id,
        reference=case.reference if case else "",
        child_name=name or "Unnamed child",
        submitted_on=long_date(referral.submitted_at),
        status=status_text(referral, case),
        late=referral.late,
        is_draft=referral.status == ReferralStatus.DRAFT,
    )


# ----- one referral ---------------------------------------------------------------------------


def view_referral(session: Session, *, actor: Actor | None, reference: str) -> ReferralView:
    """One submitted referral. A school sees only its own: others get NotFound, audited."""
    actor = require(actor, Capability.REFERRAL_VIEW)
    reference = case_reference(reference)
    row = session.exec(
        select(Referral, Case, Child, School)
        .join(Case, Case.referral_id == Referral.id)
        .join(Child, Child.id == Referral.child_id)
        .join(School, School.id == Referral.school_id, isouter=True)
        .where(Case.reference == reference, visible_to(actor))
    ).first()
    if row is None:
        audit.record(session, actor=actor, action="referral.view", outcome="not_found",
                     entity_type="case", entity_id=reference)
        raise NotFound("Referral not found.")
    referral, case, child, school = row
    name, born, upn = _as_referred(referral, child)
    audit.record(session, actor=actor, action="referral.view", entity_type="case",
                 entity_id=case.reference, child_id=child.id)
    return ReferralView(
        reference=case.reference,
        status=status_text(referral, case),
        submitted_at=long_date(referral.submitted_at),
        late=referral.late,
        outside_csa=referral.outside_csa,
        child_name=name,
        date_of_birth=born or NOT_GIVEN,
        upn=upn or NOT_GIVEN,
        home_address=_home_address(session, referral),
        category=rf.CATEGORY_CHOICES.get(referral.category or "", NOT_GIVEN),
        date_last_attended=long_date(referral.date_last_attended) or (
            f"Never started (expected {long_date(referral.expected_start_date)})"
            if referral.expected_start_date else NOT_GIVEN),
        date_school_aware=long_date(referral.date_school_aware) or NOT_GIVEN,
        concerns=_concerns(session, referral),
        enquiries=_enquiries(session, referral),
        people=_people(session, referral),
        school_name=school.name if school else "",
        history=_history(session, case, referral),
        **_returned(referral, actor),
        **_outcome(session, case),
    )


def _history(session: Session, case: Case, referral: Referral) -> list[list[str]]:
    """The referral's statuses over time in the school's words, each with what happens next.
    Stages the school sees as one status (enquiries, a home visit) read as one; the team's
    reasons for a move stay with the team."""
    rows: list[list[str]] = []
    if referral.submitted_at is None:
        return rows
    changes = session.exec(
        select(StageChange.to_stage, StageChange.at)
        .where(StageChange.case_id == case.id).order_by(StageChange.at, StageChange.id)
    ).all()
    for stage, at in [(Stage.NEW_REFERRAL, referral.submitted_at), *changes]:
        words = SCHOOL_STATUS.get(stage, "Received")
        if rows and rows[-1][1] == words:
            continue
        rows.append([long_date(at), words, NEXT_STEPS.get(words, "")])
    return rows


def _home_address(session: Session, referral: Referral) -> str:
    home = session.exec(
        select(Address).where(
            Address.referral_id == referral.id, Address.kind == AddressKind.LAST_KNOWN
        )
    ).first()
    if home is None:
        return NOT_GIVEN
    return ", ".join(p for p in (home.line1, home.line2, home.town, home.postcode) if p)


def _concerns(session: Session, referral: Referral) -> list[str]:
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    return [rf.CONCERNS.get(c, c) for c in concerns] or ["None known"]


def _enquiries(session: Session, referral: Referral) -> list[list[str]]:
    """[kind, date, who, how, result] for each enquiry, logged or not possible."""
    enquiries = session.exec(
        select(ReferralEnquiry)
        .where(ReferralEnquiry.referral_id == referral.id)
        .order_by(ReferralEnquiry.id)
    ).all()
    return [
        [
            rf.ENQUIRY_LABELS.get(e.kind, e.kind),
            long_date(e.made_on) if e.made_on else "Not possible",
            e.contacted or "",
            rf.METHOD_CHOICES.get(e.method or "", ""),
            e.result or e.not_possible_reason or "",
        ]
        for e in enquiries
    ]


def _people(session: Session, referral: Referral) -> list[list[str]]:
    people = session.exec(
        select(PersonRow).where(PersonRow.referral_id == referral.id).order_by(PersonRow.id)
    ).all()
    return [[p.full_name, p.relationship_to_child, p.phone or ""] for p in people]


def _returned(referral: Referral, actor: Actor) -> dict[str, str]:
    """The team's note when it sent the referral back, and (to the school) its draft."""
    if referral.status != ReferralStatus.RETURNED:
        return {"return_note": "", "draft_id": ""}
    return {
        "return_note": referral.return_note or "",
        "draft_id": referral.public_id if actor.is_school else "",
    }


def _outcome(session: Session, case: Case) -> dict[str, str]:
    """Once the case is closed: its outcome in the school's words, and the team's notice."""
    if case.stage != Stage.CLOSED:
        return {"outcome": "", "school_notice": ""}
    closure = session.exec(
        select(CaseClosure).where(
            CaseClosure.case_id == case.id,
            CaseClosure.episode == case.episode,
            CaseClosure.status == "closed",
        )
    ).first()
    return {
        "outcome": school_outcome_text(case.outcome),
        "school_notice": (closure.school_notice or "") if closure else "",
    }
