"""Working a case: the case file view, triage and allocation, and the records officers add
(safeguarding contacts, the enquiry pathway log, visits, inter-LA notifications, overseas
verification, household links), plus logging inbound referrals (SC-17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from ...dates import LONDON, age_on, clock, short_date, short_date_time
from ...domain import (
    RISK_LABELS,
    STAGE_LABELS,
    LaDirection,
    Role,
    SourceType,
    Stage,
)
from ...models import (
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
from ...permissions import CASE_VIEWERS, Actor, Capability, allows, require_role
from ..forms import YES_NO
from ..intake import referral_form as rf
from ..trust import audit, purpose
from . import lifecycle, risk, targets
from .lifecycle import CASEWORKERS, OUTCOME_LABELS, load_case
from .pathway import (
    ENQUIRY_KINDS,
    ENQUIRY_METHODS,
    ENQUIRY_RESULTS,
    SAFEGUARDING_AGENCIES,
    VISIT_OUTCOMES,
)
from .records import OVERSEAS_EVIDENCE, SAFEGUARDING_KINDS, address_rows

RISK_KIND_LABELS = {
    "proposed": "Proposed",
    "triaged": "Triaged",
    "override": "Overridden",
    "reopened": "Reopened",
}


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
                short_date_time(a.at),
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
        triage_due=short_date(case.triage_due_on),
        first_visit_due=short_date(case.first_visit_due_on),
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
        addresses=address_rows(session, child),
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
                short_date(e.made_on) if e.made_on else "Not possible",
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
                short_date_time(c.contacted_at),
                c.contacted_by,
                c.reference,
                c.notes or "",
            ]
            for c in contacts
        ],
        enquiries=[
            [
                short_date(e.done_on),
                ENQUIRY_KINDS.get(e.kind, e.kind),
                ENQUIRY_METHODS.get(e.method, e.method),
                e.contacted,
                ENQUIRY_RESULTS.get(e.result, e.result),
                e.summary,
                e.next_action or "",
                short_date(e.next_action_due),
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
                short_date(n.sent_on),
                short_date(n.response_due_on),
                short_date(n.acknowledged_on),
                short_date(n.response_on),
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
                short_date(o.received_on),
                names.get(o.verified_by_id, ""),
            ]
            for o in overseas
        ],
        timeline=[
            [
                short_date_time(s.at),
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
                short_date_time(c.closed_at),
            ]
            for c in closures
        ],
        pending_closure=[
            OUTCOME_LABELS.get(pending.outcome, pending.outcome),
            names.get(pending.proposed_by_id, ""),
            short_date_time(pending.proposed_at),
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
        can_notify_la=allows(actor.role, Capability.LA_NOTIFY) and open_case,
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
            ["Checked in", clock(v.checked_in_at)],
            ["Checked out", clock(v.checked_out_at) if v.checked_out_at else "Not yet"],
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
            due = f" (due {short_date(v.next_action_due)})" if v.next_action_due else ""
            rows.append(["Next action", v.next_action + due])
    rows = [r for r in rows if r[1]]
    status, status_text = "", ""
    if from_phone and v.checked_out_at is None:
        expected = v.expected_end_at
        overdue = expected is not None and now > expected
        status = "overdue" if overdue else "in_progress"
        status_text = "In progress — expected back " + (clock(expected) if expected else "")
    offline = ""
    if v.created_offline and v.synced_at:
        sent = v.synced_at.astimezone(LONDON)
        offline = "Recorded offline, sent " + (
            clock(v.synced_at) if sent.date() == v.visited_on else short_date_time(v.synced_at)
        )
    review = ""
    if v.flag_reason and v.flag_reviewed_at:
        who = names.get(v.flag_reviewed_by_id, "a team lead")
        review = f"Reviewed by {who}, {short_date_time(v.flag_reviewed_at)}"
    return VisitRow(
        id=v.id,
        heading=short_date(v.visited_on) + (f", {part}" if part else ""),
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
        ["Date of birth",
         f"{short_date(child.date_of_birth)} (age {age_on(child.date_of_birth, today)})"],
        ["Sex", rf.SEX_CHOICES.get(child.sex, child.sex)],
        ["UPN", child.upn or "Not given"],
        ["Year group", child.year_group or ""],
        ["SEN", rf.SEN_CHOICES.get(child.sen_status, child.sen_status)],
        ["First language", child.first_language or ""],
        ["Interpreter needed", "Yes" if child.interpreter_needed else "No"],
    ]
    return [r for r in rows if r[1]]




def _referral_rows(session: Session, referral: Referral) -> list[list[str]]:
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    dsl = session.exec(select(DslAppraisal).where(DslAppraisal.referral_id == referral.id)).first()
    rows = [
        ["Submitted", short_date_time(referral.submitted_at)],
        ["Reason for referral", rf.CATEGORY_CHOICES.get(referral.category or "", "")],
        ["Date last attended", short_date(referral.date_last_attended)],
        ["Date school became aware", short_date(referral.date_school_aware)],
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














# ---------------------------------------------------------------------------------------------
# Records officers add. Appends don't bump the case's version (they can't clash with a move),
# but they do mark it updated so open boards refresh.
























# ---------------------------------------------------------------------------------------------
# Visit safety and review (domain.md 7.2)











# ---------------------------------------------------------------------------------------------
# Inbound referrals (BR-L10, SC-17)


