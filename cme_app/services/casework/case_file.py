"""Working a case: the case file view, triage and allocation, and the records officers add
(safeguarding contacts, the enquiry pathway log, visits, inter-LA notifications, overseas
verification, household links), plus logging inbound referrals (SC-17)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from ...domain import (
    RISK_LABELS,
    STAGE_LABELS,
    AddressKind,
    LaDirection,
    ReferralStatus,
    Risk,
    Role,
    SourceType,
    Stage,
)
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import (
    Address,
    AuditEvent,
    Case,
    CaseClosure,
    CaseLink,
    Child,
    DslAppraisal,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    OverseasVerification,
    Person,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    RiskAssessment,
    SafeguardingContact,
    School,
    StageChange,
    User,
    utcnow,
)
from ...permissions import CASE_VIEWERS, Actor, require_role
from ..forms import YES_NO, Form
from ..intake import referral_form as rf
from ..intake.referrals import open_case
from ..notify import notifications
from ..school_calendar.school_days import load_calendar
from ..trust import audit, purpose
from . import lifecycle, risk, targets
from .lifecycle import CASEWORKERS, LONDON, OUTCOME_LABELS, check_version, load_case
from .pathway import (
    ENQUIRY_KINDS,
    ENQUIRY_METHODS,
    ENQUIRY_RESULTS,
    SAFEGUARDING_AGENCIES,
    VISIT_OUTCOMES,
)
from .references import age_on
from .risk import record_assessment

INBOUND_SOURCES = {
    SourceType.OTHER_LA: "Another local authority",
    SourceType.NEW_TO_COUNTRY: "New to the country",
}
SEX_CHOICES = rf.SEX_CHOICES
OVERSEAS_EVIDENCE = {
    "school_letter": "Letter or email from the school on letterhead",
    "enrolment_certificate": "Enrolment certificate",
    "consulate": "Embassy or consulate confirmation",
    "phone_call": "Documented phone call to the school",
    "parent_statement": "Statement from the parent",
}
SAFEGUARDING_KINDS = {"notification": "Notification", "consultation": "Consultation"}
RISK_KIND_LABELS = {
    "proposed": "Proposed",
    "triaged": "Triaged",
    "override": "Overridden",
    "reopened": "Reopened",
}
NOTIFIERS = (Role.OFFICER, Role.LEAD, Role.ADMIN)


# ---------------------------------------------------------------------------------------------
# The case file


@dataclass(frozen=True)
class VisitRow:
    """One home visit as the case page shows it (domain.md 4.8)."""

    id: int
    heading: str  # "28 Nov 2026, AM"
    status: str  # in_progress | overdue | "" (ended, or logged afterwards at a desk)
    status_text: str  # "In progress – expected back 10:30"
    rows: list[list[str]]  # [label, value], only what this visit holds
    notes: str  # facts observed
    opinion: str  # the officer's opinion, kept apart from the facts
    offline_note: str  # "Recorded offline, sent 10:31"
    flag_reason: str  # why a lead must look at it (the case changed while it was offline)
    flag_review: str  # "Reviewed by Lee Lead, 28 Nov 2026 11:02", or "" while waiting


@dataclass(frozen=True)
class CaseFile:
    reference: str
    version: int
    stage: str
    stage_label: str
    episode: int
    is_open: bool
    risk: str
    risk_label: str
    risk_factor_labels: list[str]
    proposed_risk_label: str
    risk_rationale: str
    risk_history: list[list[str]]
    factor_choices: list[list[str]]
    officer: str
    officer_id: str
    officer_choices: list[list[str]]
    due_label: str
    due_state: str
    triage_due: str
    first_visit_due: str
    source_label: str
    school_name: str
    referrer_rows: list[list[str]]
    child_name: str
    child_rows: list[list[str]]
    addresses: list[list[str]]
    people: list[list[str]]
    referral_rows: list[list[str]]
    referral_enquiries: list[list[str]]
    possible_matches: list[list[str]]
    links: list[list[str]]
    safeguarding: list[list[str]]
    enquiries: list[list[str]]
    visits: list[VisitRow]
    la_notifications: list[list[str]]
    overseas: list[list[str]]
    timeline: list[list[str]]
    closures: list[list[str]]
    pending_closure: list[str]
    pending_outcome: str
    school_notice: str
    allowed_moves: list[list[str]]
    blocked_moves: list[list[str]]  # [stage code, label, why not yet] (caseworkers only)
    untraceable_checklist: list[list[str]]
    can_triage: bool
    can_override: bool
    can_allocate: bool
    can_record: bool
    can_notify_la: bool
    can_return: bool
    can_propose: bool
    can_close: bool
    can_reopen: bool
    # Lone-working safety (domain.md 7.2): read before every visit.
    warning_markers: str
    joint_visit_required: bool
    can_edit_safety: bool
    can_start_visit: bool
    can_review_visits: bool


def _d(value: date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else ""


def _dt(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%b %Y %H:%M}"


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(wanted))).all())


def source_label(referral: Referral, school: School | None) -> str:
    if referral.source_type == SourceType.OTHER_LA:
        return f"Other LA ({referral.source_name or 'not named'})"
    if referral.source_type == SourceType.NEW_TO_COUNTRY:
        return "New to country"
    return school.name if school else "School"


def view_case(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    today: date | None = None,
    now: datetime | None = None,
    purpose_form: dict | None = None,
) -> CaseFile:
    """Everything the LA holds on one case. Viewing it is audited (BR-D7, SC-22), with the
    purpose when the case is outside the actor's caseload (PurposeRequired until given)."""
    actor = require_role(actor, *CASE_VIEWERS)
    today = today or date.today()
    now = now or utcnow()
    case = load_case(session, actor=actor, reference=reference, action="case.viewed", lock=False)
    try:
        reason = purpose.check(session, actor=actor, case=case, form=purpose_form, now=now)
    except purpose.PurposeRequired:
        audit.record(
            session, actor=actor, action="case.viewed", entity_type="case",
            entity_id=case.reference, child_id=case.child_id, outcome="purpose_required",
        )
        raise
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action="case.viewed",
        detail=reason,
    )
    child = session.get(Child, case.child_id)
    referral = session.get(Referral, case.referral_id)
    school = session.get(School, referral.school_id) if referral.school_id else None

    def rows(model, order):
        return session.exec(select(model).where(model.case_id == case.id).order_by(order)).all()

    assessments = rows(RiskAssessment, RiskAssessment.id)
    contacts = rows(SafeguardingContact, SafeguardingContact.contacted_at)
    enquiries = rows(EnquiryAction, EnquiryAction.done_on)
    visits = sorted(
        rows(HomeVisit, HomeVisit.id),
        key=lambda v: (v.visited_on, v.checked_in_at or v.recorded_at, v.id),
    )
    notices = rows(LaNotification, LaNotification.sent_on)
    overseas = rows(OverseasVerification, OverseasVerification.received_on)
    changes = rows(StageChange, StageChange.id)
    closures = rows(CaseClosure, CaseClosure.id)
    links = session.exec(
        select(CaseLink, Case.reference)
        .join(Case, Case.id == CaseLink.linked_case_id)
        .where(CaseLink.case_id == case.id)
    ).all()
    back_links = session.exec(
        select(CaseLink, Case.reference)
        .join(Case, Case.id == CaseLink.case_id)
        .where(CaseLink.linked_case_id == case.id)
    ).all()
    names = _names(
        session,
        {case.allocated_officer_id}
        | {a.by_id for a in assessments}
        | {c.recorded_by_id for c in contacts}
        | {e.by_id for e in enquiries}
        | {i for v in visits for i in (v.officer_id, v.second_officer_id, v.buddy_id)}
        | {v.flag_reviewed_by_id for v in visits}
        | {o.verified_by_id for o in overseas}
        | {s.by_id for s in changes}
        | {c.proposed_by_id for c in closures}
        | {c.approved_by_id for c in closures},
    )
    open_case = case.stage not in (Stage.CLOSED, Stage.RETURNED)
    caseworker = actor.role in CASEWORKERS
    lead = actor.role == Role.LEAD
    # Only a recorded visit meets the first-visit target; a check-in alone doesn't.
    due = targets.current_due(
        case,
        today=today,
        visited=any(v.outcome for v in visits),
        response_due_on=_response_due(notices),
    )
    allocated = case.allocated_officer_id == actor.user_id
    may_visit = open_case and (lead or (actor.role == Role.OFFICER and allocated))
    pending = next((c for c in closures if c.status == "proposed"), None)
    closed_now = next(
        (c for c in closures if c.status == "closed" and c.episode == case.episode), None
    )
    officers = (
        session.exec(
            select(User.id, User.name)
            .where(col(User.role).in_([Role.OFFICER, Role.LEAD]), User.is_active == True)  # noqa: E712
            .order_by(User.name)
        ).all()
        if lead
        else []
    )
    return CaseFile(
        reference=case.reference,
        version=case.version,
        stage=case.stage,
        stage_label=STAGE_LABELS.get(case.stage, case.stage),
        episode=case.episode,
        is_open=open_case,
        risk=case.risk or "",
        risk_label=RISK_LABELS.get(case.risk or "", "Not rated"),
        risk_factor_labels=risk.factor_labels(case.risk_factors),
        proposed_risk_label=RISK_LABELS.get(case.proposed_risk or "", ""),
        risk_rationale=case.risk_rationale or "",
        risk_history=[
            [
                _dt(a.at),
                RISK_LABELS.get(a.risk, a.risk),
                RISK_KIND_LABELS.get(a.kind, a.kind),
                "; ".join(risk.factor_labels(a.factors)),
                a.reason or "",
                names.get(a.by_id, ""),
            ]
            for a in assessments
        ],
        factor_choices=[
            [
                code,
                label,
                "red" if code in risk.RED_FACTORS else "amber",
                "1" if code in (case.risk_factors or []) else "",
            ]
            for code, label in risk.RISK_FACTORS.items()
        ],
        officer=names.get(case.allocated_officer_id, "Unallocated"),
        officer_id=str(case.allocated_officer_id or ""),
        officer_choices=[[str(i), n] for i, n in officers],
        due_label=due.label if due else "",
        due_state=due.state if due else "",
        triage_due=_d(case.triage_due_on),
        first_visit_due=_d(case.first_visit_due_on),
        source_label=source_label(referral, school),
        school_name=school.name if school else "",
        referrer_rows=[
            [label, value]
            for label, value in (
                ("Name", referral.referrer_name),
                ("Job title", referral.referrer_job_title),
                ("Phone", referral.referrer_phone),
                ("Email", referral.referrer_email),
            )
            if value
        ],
        child_name=f"{child.first_name} {child.last_name}",
        child_rows=_child_rows(child, today),
        addresses=_addresses(session, child),
        people=[
            [
                p.full_name,
                p.relationship_to_child,
                p.phone or "",
                "Yes" if p.lives_with_child else "No",
            ]
            for p in session.exec(
                select(Person).where(Person.child_id == child.id).order_by(Person.id)
            ).all()
        ],
        referral_rows=_referral_rows(session, referral),
        referral_enquiries=[
            [
                rf.ENQUIRY_LABELS.get(e.kind, e.kind),
                _d(e.made_on) if e.made_on else "Not possible",
                e.contacted or "",
                rf.METHOD_CHOICES.get(e.method or "", ""),
                e.result or e.not_possible_reason or "",
            ]
            for e in session.exec(
                select(ReferralEnquiry)
                .where(ReferralEnquiry.referral_id == referral.id)
                .order_by(ReferralEnquiry.id)
            ).all()
        ],
        possible_matches=_matches(session, case, child),
        links=[
            [ref, "Same household" if link.kind == "household" else "Duplicate", link.reason]
            for link, ref in [*links, *back_links]
        ],
        safeguarding=[
            [
                SAFEGUARDING_KINDS.get(c.kind, c.kind),
                SAFEGUARDING_AGENCIES.get(c.agency, c.agency),
                _dt(c.contacted_at),
                c.contacted_by,
                c.reference,
                c.notes or "",
            ]
            for c in contacts
        ],
        enquiries=[
            [
                _d(e.done_on),
                ENQUIRY_KINDS.get(e.kind, e.kind),
                ENQUIRY_METHODS.get(e.method, e.method),
                e.contacted,
                ENQUIRY_RESULTS.get(e.result, e.result),
                e.summary,
                e.next_action or "",
                _d(e.next_action_due),
                names.get(e.by_id, ""),
            ]
            for e in enquiries
        ],
        visits=[_visit_row(v, names, now) for v in visits],
        la_notifications=[
            [
                str(n.id),
                "To" if n.direction == LaDirection.OUTBOUND else "From",
                n.la_name,
                _d(n.sent_on),
                _d(n.response_due_on),
                _d(n.acknowledged_on),
                _d(n.response_on),
                n.response or "",
                "1"
                if n.response_on is None and n.response_due_on and n.response_due_on < today
                else "",
            ]
            for n in notices
        ],
        overseas=[
            [
                o.country,
                o.organisation,
                OVERSEAS_EVIDENCE.get(o.evidence_type, o.evidence_type),
                "Yes" if o.independent else "No",
                _d(o.received_on),
                names.get(o.verified_by_id, ""),
            ]
            for o in overseas
        ],
        timeline=[
            [
                _dt(s.at),
                STAGE_LABELS.get(s.from_stage or "", ""),
                STAGE_LABELS.get(s.to_stage, s.to_stage),
                names.get(s.by_id, ""),
                s.reason or "",
            ]
            for s in changes
        ],
        closures=[
            [
                str(c.episode),
                OUTCOME_LABELS.get(c.outcome, c.outcome),
                c.status.capitalize(),
                names.get(c.proposed_by_id, ""),
                names.get(c.approved_by_id, ""),
                _dt(c.closed_at),
            ]
            for c in closures
        ],
        pending_closure=[
            OUTCOME_LABELS.get(pending.outcome, pending.outcome),
            names.get(pending.proposed_by_id, ""),
            _dt(pending.proposed_at),
            "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in pending.evidence.items() if v),
        ]
        if pending
        else [],
        pending_outcome=pending.outcome if pending else "",
        school_notice=(closed_now.school_notice or "") if closed_now else "",
        allowed_moves=[
            [s, STAGE_LABELS[s]]
            for s in lifecycle.allowed_moves(session, actor=actor, case=case, today=today)
        ],
        blocked_moves=[
            [s, STAGE_LABELS[s], reason]
            for s in lifecycle.MOVES.get(case.stage, ())
            if caseworker
            and (reason := lifecycle.move_refusal(session, actor=actor, case=case, to_stage=s))
        ],
        untraceable_checklist=[
            [label, "1" if done else ""]
            for label, done in lifecycle.untraceable_checklist(session, case)
        ],
        can_triage=caseworker and open_case,
        can_override=lead and open_case,
        can_allocate=lead and open_case,
        can_record=caseworker and open_case,
        can_notify_la=actor.role in NOTIFIERS and open_case,
        can_return=caseworker
        and case.stage in (Stage.NEW_REFERRAL, Stage.TRIAGE)
        and referral.school_id is not None,
        can_propose=actor.role == Role.OFFICER and open_case,
        can_close=lead and open_case,
        can_reopen=lead and case.stage == Stage.CLOSED,
        warning_markers=case.warning_markers or "",
        joint_visit_required=case.joint_visit_required,
        can_edit_safety=may_visit,
        can_start_visit=may_visit,
        can_review_visits=lead,
    )


def _clock(value: datetime) -> str:
    return f"{value.astimezone(LONDON):%H:%M}"


def _visit_row(v: HomeVisit, names: dict[int, str], now: datetime) -> VisitRow:
    """Everything one visit holds, in words, leaving out what it doesn't hold: a visit logged
    afterwards at a desk has no check-in and none of the phone record's details."""
    from_phone = v.checked_in_at is not None
    part = ""
    if from_phone:
        part = "AM" if v.checked_in_at.astimezone(LONDON).hour < 12 else "PM"
    officer = names.get(v.officer_id, "")
    if from_phone:
        second = names.get(v.second_officer_id, "")
        officers = f"{officer} with {second}" if v.accompanied and second else officer
        officers += " (accompanied)" if v.accompanied else " (alone)"
    else:
        officers = officer
    rows = [["Address visited", v.address], ["Officers", officers]]
    if from_phone:
        rows += [
            ["Buddy", names.get(v.buddy_id, "")],
            [
                "Pre-visit safety check",
                ("Warning markers reviewed" if v.risk_check_done else "Not done")
                + (f": {v.risk_check_notes}" if v.risk_check_notes else ""),
            ],
            ["Checked in", _clock(v.checked_in_at)],
            ["Checked out", _clock(v.checked_out_at) if v.checked_out_at else "Not yet"],
        ]
    rows.append(
        ["Outcome", VISIT_OUTCOMES.get(v.outcome, v.outcome) if v.outcome else "Not recorded yet"]
    )
    if v.outcome:
        seen = ("Yes, seen alone" if v.seen_alone else "Yes, not alone") if v.child_seen else "No"
        rows.append(["Child seen", seen])
    if v.outcome and from_phone:
        people = [
            f"{p.get('name') or p.get('description') or 'Not named'}"
            + (f" ({p['relationship']})" if p.get("relationship") else "")
            for p in v.people_spoken_to or []
            if isinstance(p, dict)
        ]
        rows += [
            ["People spoken to", "\n".join(people) or "None"],
            [
                "Neighbours spoken to",
                f"Yes: {v.neighbours_said}"
                if v.neighbours_spoken and v.neighbours_said
                else YES_NO["yes" if v.neighbours_spoken else "no"],
            ],
            ["Calling card left", YES_NO["yes" if v.calling_card_left else "no"]],
            [
                "Safeguarding concern raised",
                f"Yes, MASH reference {v.mash_reference}" if v.safeguarding_raised else "No",
            ],
        ]
        if v.next_action:
            due = f" (due {_d(v.next_action_due)})" if v.next_action_due else ""
            rows.append(["Next action", v.next_action + due])
    rows = [r for r in rows if r[1]]
    status, status_text = "", ""
    if from_phone and v.checked_out_at is None:
        expected = v.expected_end_at
        overdue = expected is not None and now > expected
        status = "overdue" if overdue else "in_progress"
        status_text = "In progress — expected back " + (_clock(expected) if expected else "")
    offline = ""
    if v.created_offline and v.synced_at:
        sent = v.synced_at.astimezone(LONDON)
        offline = "Recorded offline, sent " + (
            _clock(v.synced_at) if sent.date() == v.visited_on else _dt(v.synced_at)
        )
    review = ""
    if v.flag_reason and v.flag_reviewed_at:
        who = names.get(v.flag_reviewed_by_id, "a team lead")
        review = f"Reviewed by {who}, {_dt(v.flag_reviewed_at)}"
    return VisitRow(
        id=v.id,
        heading=_d(v.visited_on) + (f", {part}" if part else ""),
        status=status,
        status_text=status_text,
        rows=rows,
        notes=v.notes or "",
        opinion=v.opinion or "",
        offline_note=offline,
        flag_reason=v.flag_reason or "",
        flag_review=review,
    )


def _response_due(notices: list[LaNotification]) -> date | None:
    due = [
        n.response_due_on
        for n in notices
        if n.direction == LaDirection.OUTBOUND and n.response_on is None and n.response_due_on
    ]
    return min(due) if due else None


def _child_rows(child: Child, today: date) -> list[list[str]]:
    rows = [
        ["Name", " ".join(p for p in (child.first_name, child.middle_names, child.last_name) if p)],
        ["Known as", child.known_as or ""],
        ["Date of birth", f"{_d(child.date_of_birth)} (age {age_on(child.date_of_birth, today)})"],
        ["Sex", rf.SEX_CHOICES.get(child.sex, child.sex)],
        ["UPN", child.upn or "Not given"],
        ["Year group", child.year_group or ""],
        ["SEN", rf.SEN_CHOICES.get(child.sen_status, child.sen_status)],
        ["First language", child.first_language or ""],
        ["Interpreter needed", "Yes" if child.interpreter_needed else "No"],
    ]
    return [r for r in rows if r[1]]


def _addresses(session: Session, child: Child) -> list[list[str]]:
    kinds = {AddressKind.LAST_KNOWN: "Last known", **rf.ADDRESS_KIND_CHOICES}
    return [
        [
            kinds.get(a.kind, a.kind),
            ", ".join(p for p in (a.line1, a.line2, a.town, a.postcode) if p)
            + ("" if a.country == "United Kingdom" else f", {a.country}"),
            a.source.replace("_", " ").capitalize(),
            _d(a.from_date),
        ]
        for a in session.exec(
            select(Address).where(Address.child_id == child.id).order_by(Address.id)
        ).all()
    ]


def _referral_rows(session: Session, referral: Referral) -> list[list[str]]:
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    dsl = session.exec(select(DslAppraisal).where(DslAppraisal.referral_id == referral.id)).first()
    rows = [
        ["Submitted", _dt(referral.submitted_at)],
        ["Reason for referral", rf.CATEGORY_CHOICES.get(referral.category or "", "")],
        ["Date last attended", _d(referral.date_last_attended)],
        ["Date school became aware", _d(referral.date_school_aware)],
        ["Submitted after 4 weeks", "Yes" if referral.late else ""],
        ["Outside compulsory school age", "Yes" if referral.outside_csa else ""],
        ["Believed destination", referral.believed_destination or ""],
        ["Specific concerns", "; ".join(rf.CONCERNS.get(c, c) for c in concerns) or "None known"],
        ["Concerns in detail", referral.concerns_narrative or ""],
    ]
    if dsl is not None:
        yn = {"yes": "Yes", "no": "No", "unknown": "Not known"}
        rows += [
            ["DSL", dsl.dsl_name],
            ["Known to children's social care", yn.get(dsl.known_to_csc, "")],
            ["Child protection plan", yn.get(dsl.cp_plan, "")],
            ["Child in need", yn.get(dsl.child_in_need, "")],
            ["Looked after", yn.get(dsl.looked_after, "")],
            ["Significant harm suspected", yn.get(dsl.significant_harm, "")],
            ["MASH reference", dsl.mash_reference or ""],
            ["DSL appraisal", dsl.appraisal],
        ]
    return [r for r in rows if r[1]]


def _matches(session: Session, case: Case, child: Child) -> list[list[str]]:
    if not case.possible_matches:
        return []
    found = session.exec(
        select(Case, Child)
        .join(Child, Child.id == Case.child_id)
        .where(col(Case.reference).in_(case.possible_matches))
    ).all()
    result = []
    for other, other_child in found:
        if child.upn and other_child.upn == child.upn:
            why = "Same UPN"
        elif (other_child.first_name, other_child.last_name, other_child.date_of_birth) == (
            child.first_name,
            child.last_name,
            child.date_of_birth,
        ):
            why = "Same name and date of birth"
        else:
            why = "Same home address"
        result.append(
            [
                other.reference,
                f"{other_child.first_name} {other_child.last_name}",
                why,
                STAGE_LABELS.get(other.stage, other.stage),
            ]
        )
    return result


# ---------------------------------------------------------------------------------------------
# Triage, risk and allocation


def _open_case_for(session: Session, actor: Actor, reference: str, action: str) -> Case:
    case = load_case(session, actor=actor, reference=reference, action=action)
    if case.stage in (Stage.CLOSED, Stage.RETURNED):
        raise lifecycle.MoveRefused("This case is not open, so it can't be changed.")
    return case


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
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.triaged")
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
    actor = require_role(actor, Role.LEAD)
    case = _open_case_for(session, actor, reference, "case.risk_overridden")
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
    actor = require_role(actor, Role.LEAD)
    case = _open_case_for(session, actor, reference, "case.allocated")
    check_version(session, case, version)
    officer = session.get(User, officer_id) if isinstance(officer_id, int) else None
    if officer is None or officer.role not in CASEWORKERS or not officer.is_active:
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


def approve_closure(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    version: int,
    today: date | None = None,
) -> Case:
    """A lead approves the closure an officer proposed, with the officer's evidence (SC-19).
    The same rules as any closure apply again now."""
    actor = require_role(actor, Role.LEAD)
    case = load_case(session, actor=actor, reference=reference, action="case.closed")
    check_version(session, case, version)
    pending = lifecycle.pending_closure(session, case)
    if pending is None:
        raise lifecycle.MoveRefused("There is no closure waiting for approval.")
    return lifecycle.close_case(
        session,
        actor=actor,
        reference=reference,
        outcome=pending.outcome,
        evidence=dict(pending.evidence or {}),
        version=version,
        today=today,
    )


# ---------------------------------------------------------------------------------------------
# Records officers add. Appends don't bump the case's version (they can't clash with a move),
# but they do mark it updated so open boards refresh.


def _touched(session: Session, case: Case, actor: Actor) -> None:
    case.updated_at = utcnow()
    case.updated_by_id = actor.user_id
    session.add(case)
    session.flush()


def _recorded(
    session: Session, actor: Actor, case: Case, action: str, detail: dict, row: Any
) -> None:
    """An added (or answered) record: its id and codes go into the audit event."""
    _touched(session, case, actor)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action=action,
        detail={"id": row.id, **detail},
    )


def record_safeguarding(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> SafeguardingContact:
    """A CSC / MASH / Front Door notification or consultation (BR-L5, SC-05, SC-13)."""
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.safeguarding_recorded")
    f = Form(form, date.today())
    kind = f.choice("kind", SAFEGUARDING_KINDS, "Choose notification or consultation")
    agency = f.choice("agency", SAFEGUARDING_AGENCIES, "Choose CSC, MASH or Front Door")
    on = f.day("contacted_on", "date of contact")
    at = str(f.data.get("contacted_time") or "").strip()
    try:
        clock = time.fromisoformat(at) if at else time(12, 0)
    except ValueError:
        f.errors.append(FieldError("contacted_time", "Enter the time like 14:30"))
        clock = time(12, 0)
    by = f.text("contacted_by", "Enter who made the contact", limit=120)
    ref = f.text("contact_reference", "Enter the reference CSC, MASH or Front Door gave", limit=60)
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    row = SafeguardingContact(
        case_id=case.id,
        kind=kind,
        agency=agency,
        contacted_at=datetime.combine(on, clock, tzinfo=LONDON),
        contacted_by=by,
        reference=ref,
        notes=notes or None,
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    detail = {"kind": kind, "agency": agency}
    _recorded(session, actor, case, "case.safeguarding_recorded", detail, row)
    return row


def log_enquiry(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> EnquiryAction:
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.enquiry_logged")
    f = Form(form, date.today())
    kind = f.choice("kind", ENQUIRY_KINDS, "Choose the type of enquiry")
    done_on = f.day("done_on", "date of the enquiry")
    method = f.choice("method", ENQUIRY_METHODS, "Choose how the enquiry was made")
    contacted = f.text("contacted", "Enter who was contacted")
    result = f.choice("result", ENQUIRY_RESULTS, "Choose the result")
    summary = f.text("summary", "Enter a summary of what was found", limit=4000)
    next_action = f.text("next_action", "", required=False, limit=1000)
    next_due = f.day("next_action_due", "next action due date", required=False, future=True)
    f.check()
    row = EnquiryAction(
        case_id=case.id,
        kind=kind,
        done_on=done_on,
        method=method,
        contacted=contacted,
        result=result,
        summary=summary,
        next_action=next_action or None,
        next_action_due=next_due,
        by_id=actor.user_id,
    )
    session.add(row)
    _recorded(session, actor, case, "case.enquiry_logged", {"kind": kind, "result": result}, row)
    return row


def record_visit(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    form: dict,
    client_uuid: str | None = None,
) -> HomeVisit:
    """A home visit; the first one meets the first-visit target. Idempotent on client_uuid."""
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.visit_recorded")
    if client_uuid:
        try:
            client_uuid = str(uuid.UUID(str(client_uuid)))
        except ValueError:
            raise ValidationFailed([FieldError("client_uuid", "Invalid visit id")]) from None
        existing = session.exec(
            select(HomeVisit).where(HomeVisit.client_uuid == client_uuid)
        ).first()
        if existing is not None:
            if existing.case_id != case.id:
                raise NotAllowed("That visit belongs to another case.")
            return existing
    f = Form(form, date.today())
    visited_on = f.day("visited_on", "date of the visit")
    address = f.text("address", "Enter the address visited", limit=400)
    outcome = f.choice("outcome", VISIT_OUTCOMES, "Choose the outcome of the visit")
    child_seen = f.choice("child_seen", YES_NO, "Say whether the child was seen") == "yes"
    seen_alone = child_seen and f.yes("seen_alone")
    notes = f.text("notes", "", required=False, limit=4000)
    f.check()
    row = HomeVisit(
        client_uuid=client_uuid or str(uuid.uuid4()),
        case_id=case.id,
        visited_on=visited_on,
        address=address,
        outcome=outcome,
        child_seen=child_seen,
        seen_alone=seen_alone,
        notes=notes or None,
        officer_id=actor.user_id,
    )
    session.add(row)
    _recorded(session, actor, case, "case.visit_recorded", {"outcome": outcome}, row)
    return row


def _shared_data(session: Session, case: Case) -> dict:
    """The data set an outbound LA notification carries (domain.md 4.9), as sent."""
    child = session.get(Child, case.child_id)
    referral = session.get(Referral, case.referral_id)
    school = session.get(School, referral.school_id) if referral.school_id else None
    return {
        "child": {
            "names": [n for n in (child.first_name, child.middle_names, child.last_name) if n],
            "known_as": child.known_as,
            "date_of_birth": child.date_of_birth.isoformat(),
            "sex": child.sex,
            "upn": child.upn,
        },
        "last_school": {"name": school.name, "urn": school.urn} if school else None,
        "date_last_attended": referral.date_last_attended.isoformat()
        if referral.date_last_attended
        else None,
        "addresses": _addresses(session, child),
        "household": [
            [p.full_name, p.relationship_to_child, p.phone or "", p.school_name or ""]
            for p in session.exec(select(Person).where(Person.child_id == child.id)).all()
        ],
        "vulnerabilities": risk.factor_labels(case.risk_factors),
        "enquiries_made": [
            ENQUIRY_KINDS.get(k, k)
            for k in session.exec(
                select(EnquiryAction.kind).where(EnquiryAction.case_id == case.id)
            ).all()
        ],
    }


def send_la_notification(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> LaNotification:
    """Notify another LA's CME team (BR-L8, SC-10). The case then waits on their answer."""
    actor = require_role(actor, *NOTIFIERS)
    case = _open_case_for(session, actor, reference, "case.la_notified")
    today = date.today()
    f = Form(form, today)
    la_name = f.text("la_name", "Enter the local authority's name", limit=120)
    la_code = f.text("la_code", "", required=False, limit=3)
    if la_code and not (la_code.isdigit() and len(la_code) == 3):
        f.errors.append(FieldError("la_code", "LA code must be 3 digits, like 380"))
    contact = f.text("contact", "Enter the contact officer or secure email")
    question = f.text("question", "Enter what you are asking the LA", limit=2000)
    f.check()
    row = LaNotification(
        case_id=case.id,
        direction=LaDirection.OUTBOUND,
        la_name=la_name,
        la_code=la_code or None,
        contact=contact,
        question=question,
        data_shared=_shared_data(session, case),
        sent_on=today,
        response_due_on=targets.la_response_due(today, load_calendar(session)),
        by_id=actor.user_id,
    )
    session.add(row)
    was = lifecycle.case_state(case)
    if case.stage in (Stage.ENQUIRIES, Stage.HOME_VISIT) and actor.role in CASEWORKERS:
        lifecycle.enter_stage(
            session, case, Stage.AWAITING_VERIFICATION, actor, reason=f"Notified {la_name}"
        )
    detail = {"la": la_name, "shared": True, **audit.changes(was, lifecycle.case_state(case))}
    _recorded(session, actor, case, "case.la_notified", detail, row)
    session.flush()
    return row


def _refuse_overwrite(session: Session, case: Case, row: LaNotification, pairs) -> None:
    """A reply someone else already recorded is never silently replaced: two people recording
    the same reply from their open pages, the second is told and shown the latest."""
    if not any(new and old and new != old for new, old in pairs):
        return
    events = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.action == "case.la_response_recorded",
            AuditEvent.entity_id == case.reference,
        )
        .order_by(col(AuditEvent.id).desc())
    ).all()
    last = next((e for e in events if (e.detail or {}).get("notification") == row.id), None)
    who = session.get(User, last.actor_id) if last and last.actor_id else None
    at = last.at.astimezone(LONDON).strftime("%H:%M") if last else ""
    raise lifecycle.StaleCase(
        f"The reply from {row.la_name} on {case.reference} was changed by "
        f"{who.name if who else 'someone else'} at {at}. You are now seeing the latest."
    )


def record_la_response(
    session: Session, *, actor: Actor | None, reference: str, notification_id: int, form: dict
) -> LaNotification:
    actor = require_role(actor, *NOTIFIERS)
    case = _open_case_for(session, actor, reference, "case.la_response_recorded")
    row = session.get(LaNotification, notification_id) if isinstance(notification_id, int) else None
    if row is None or row.case_id != case.id:
        raise ValidationFailed([FieldError("notification_id", "Choose a notification")])
    f = Form(form, date.today())
    ack = f.day("acknowledged_on", "date it was acknowledged", required=False)
    answered = f.day("response_on", "date of the response", required=False)
    response = f.text("response", "", required=False, limit=4000)
    if not (ack or answered or response):
        f.errors.append(FieldError("acknowledged_on", "Enter the acknowledgement or response"))
    if answered and not response:
        f.errors.append(FieldError("response", "Enter what the LA said"))
    if response and not answered:
        f.errors.append(FieldError("response_on", "Enter the date of the response"))
    f.check()
    _refuse_overwrite(
        session, case, row, ((ack, row.acknowledged_on), (answered, row.response_on),
                             (response, row.response))
    )

    def state() -> dict[str, Any]:  # dates as ISO text; the response text only as a length
        return {
            "acknowledged_on": row.acknowledged_on and row.acknowledged_on.isoformat(),
            "response_on": row.response_on and row.response_on.isoformat(),
            "response_chars": len(row.response or ""),
        }

    was = state()
    row.acknowledged_on = ack or row.acknowledged_on
    row.response_on = answered or row.response_on
    row.response = response or row.response
    session.add(row)
    detail = {"notification": row.id, **audit.changes(was, state())}
    _recorded(session, actor, case, "case.la_response_recorded", detail, row)
    return row


def record_overseas(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> OverseasVerification:
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.overseas_recorded")
    f = Form(form, date.today())
    country = f.text("country", "Enter the country", limit=80)
    organisation = f.text("organisation", "Enter the school or agency abroad")
    evidence = f.choice("evidence_type", OVERSEAS_EVIDENCE, "Choose the type of evidence")
    independent = f.choice("independent", YES_NO, "Say whether the evidence is independent")
    received_on = f.day("received_on", "date the evidence was received")
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    if evidence == "parent_statement" and independent == "yes":
        raise ValidationFailed(
            [FieldError("independent", "A statement from the parent is not independent")]
        )
    row = OverseasVerification(
        case_id=case.id,
        country=country,
        organisation=organisation,
        evidence_type=evidence,
        independent=independent == "yes",
        received_on=received_on,
        translated=f.yes("translated"),
        notes=notes or None,
        verified_by_id=actor.user_id,
    )
    session.add(row)
    detail = {"independent": row.independent}
    _recorded(session, actor, case, "case.overseas_recorded", detail, row)
    return row


def link_household(
    session: Session, *, actor: Actor | None, reference: str, other_reference: str, reason: str
) -> CaseLink:
    """Siblings referred separately (SC-18): separate cases, linked as one household."""
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, "case.linked")
    other_ref = str(other_reference or "").strip().upper()[:20]
    reason = (reason or "").strip()
    other = session.exec(select(Case).where(Case.reference == other_ref)).first()
    errors = []
    if other is None or other.id == case.id:
        errors.append(FieldError("other_reference", "Enter the reference of another case"))
    if len(reason) < 5:
        errors.append(FieldError("link_reason", "Give the reason for linking"))
    if errors:
        raise ValidationFailed(errors)
    link = CaseLink(
        case_id=case.id,
        linked_case_id=other.id,
        kind="household",
        reason=reason[:1000],
        by_id=actor.user_id,
    )
    session.add(link)
    _recorded(session, actor, case, "case.linked", {"with": other.reference}, link)
    return link


# ---------------------------------------------------------------------------------------------
# Visit safety and review (domain.md 7.2)

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
    actor = require_role(actor, *CASEWORKERS)
    case = _open_case_for(session, actor, reference, action)
    if actor.role == Role.OFFICER and case.allocated_officer_id != actor.user_id:
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
    actor = require_role(actor, Role.LEAD)
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
    actor = require_role(actor, Role.LEAD)
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
            visited_on=_d(v.visited_on),
            officer=officer or "",
            flag_reason=v.flag_reason,
        )
        for v, ref, first, last, officer in found
    ]


# ---------------------------------------------------------------------------------------------
# Inbound referrals (BR-L10, SC-17)


def log_inbound(session: Session, *, actor: Actor | None, form: dict) -> Case:
    """A notification from another LA, or a child new to the country: a New referral card."""
    actor = require_role(actor, *NOTIFIERS)
    today = date.today()
    f = Form(form, today)
    source = f.choice("source_type", INBOUND_SOURCES, "Choose where the referral came from")
    la_name = f.text(
        "la_name",
        "Enter the local authority that notified you",
        required=source == SourceType.OTHER_LA,
        limit=120,
    )
    la_code = f.text("la_code", "", required=False, limit=3)
    if la_code and not (la_code.isdigit() and len(la_code) == 3):
        f.errors.append(FieldError("la_code", "LA code must be 3 digits, like 384"))
    received_on = f.day("received_on", "date it was received")
    first = f.text("first_name", "Enter the child's first name", limit=100)
    last = f.text("last_name", "Enter the child's last name", limit=100)
    dob = f.day("date_of_birth", "child's date of birth")
    sex = f.choice("sex", SEX_CHOICES, "Choose the child's sex")
    upn = f.text("upn", "", required=False, limit=13).upper()
    if upn and (error := rf.upn_error(upn)):
        f.errors.append(FieldError("upn", error))
    line1 = f.text("line1", "Enter the first line of the address")
    town = f.text("town", "", required=False, limit=100)
    postcode = f.text("postcode", "", required=False, limit=10)
    parent = f.text("parent_name", "", required=False)
    phone = f.text("parent_phone", "", required=False, limit=40)
    summary = f.text("summary", "Enter what the notification says", limit=4000)
    f.check()
    child = Child(first_name=first, last_name=last, date_of_birth=dob, sex=sex, upn=upn or None)
    session.add(child)
    session.flush()
    referral = Referral(
        status=ReferralStatus.SUBMITTED,
        source_type=source,
        created_by_id=actor.user_id,
        child_id=child.id,
        source_name=la_name or None,
        source_la_code=la_code or None,
        concerns_narrative=summary,
        date_school_aware=received_on,
        submitted_at=utcnow(),
        form_data={},
    )
    session.add(referral)
    session.flush()
    source_tag = "other_agency"
    session.add(
        Address(
            child_id=child.id,
            referral_id=referral.id,
            kind=AddressKind.LAST_KNOWN,
            line1=line1,
            town=town or None,
            postcode=rf.normalise_postcode(postcode) or None,
            source=source_tag,
        )
    )
    if parent:
        session.add(
            Person(
                child_id=child.id,
                referral_id=referral.id,
                kind="parent_carer",
                full_name=parent,
                relationship_to_child="Parent or carer",
                phone=phone or None,
                source=source_tag,
            )
        )
    session.flush()
    case = open_case(session, actor=actor, referral=referral, child=child, today=today)
    if source == SourceType.OTHER_LA:
        session.add(
            LaNotification(
                case_id=case.id,
                direction=LaDirection.INBOUND,
                la_name=la_name,
                la_code=la_code or None,
                contact="",
                question=summary[:2000],
                sent_on=received_on,
                by_id=actor.user_id,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="referral.inbound_logged",
        entity_type="case",
        entity_id=case.reference,
        child_id=child.id,
        detail={"source": source},
    )
    notifications.referral_arrived(session, case=case, red=case.proposed_risk == Risk.RED)
    session.flush()
    return case
