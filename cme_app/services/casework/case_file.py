"""The case file: everything the LA holds on one case, as the case page shows it.

Viewing is audited (BR-D7, SC-22), with the purpose when the case is outside the viewer's
caseload (PurposeRequired until one is given). Each part of the file is built by its own small
function from rows read once (`_Records`); the types are in case_file_types.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from ...dates import age_on, long_date, short_date, short_date_time, year_group
from ...domain import (
    INBOUND_REPLIES,
    REFERRAL_CHANNELS,
    RISK_LABELS,
    STAGE_LABELS,
    AddressKind,
    LaDirection,
    Role,
    SourceType,
    Stage,
    ground_words,
)
from ...models import (
    Address,
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
from ...permissions import Actor, Capability, allows, require, roles_with
from ..documents import documents
from ..intake import child_records
from ..intake import referral_form as rf
from ..returns import episodes
from ..school_returns.views import case_part as school_returns_part
from ..trust import audit, purpose
from ..visits.history import visit_row
from . import lifecycle, risk, securing, targets
from .board import origin_label
from .case_file_types import (
    AddressRow,
    CaseAbilities,
    CaseFile,
    CaseSummary,
    CheckItem,
    Choice,
    ClosureRow,
    EnquiryRow,
    FactorChoice,
    LaNotificationRow,
    LinkedCase,
    OverseasRow,
    PendingClosure,
    PersonRow,
    PossibleMatch,
    ReferrerEnquiry,
    RiskDecision,
    Row,
    SafeguardingRow,
    StageChangeRow,
    StageMove,
)
from .closure import outcome_label, untraceable_checklist
from .lifecycle import load_case
from .pathway import (
    ENQUIRY_KINDS,
    ENQUIRY_METHODS,
    ENQUIRY_RESULTS,
    SAFEGUARDING_AGENCIES,
)
from .records import OVERSEAS_EVIDENCE, SAFEGUARDING_KINDS, address_rows

RISK_KIND_LABELS = {
    "proposed": "Proposed",
    "triaged": "Triaged",
    "override": "Overridden",
    "reopened": "Reopened",
}
YES_NO_UNKNOWN = {"yes": "Yes", "no": "No", "unknown": "Not known"}


def source_label(referral: Referral, school: School | None) -> str:
    """As the board card says it: the school, or "Health (Leeds Community Healthcare)"."""
    if referral.source_type == SourceType.OTHER_LA and not referral.source_name:
        return "Other LA (not named)"
    return origin_label(referral.source_type, referral.source_name, school.name if school else None)


@dataclass
class _Records:
    """Every row the case file shows, read once, and the names of everyone they mention."""

    case: Case
    child: Child
    referral: Referral
    school: School | None
    assessments: list[RiskAssessment]
    contacts: list[SafeguardingContact]
    enquiries: list[EnquiryAction]
    visits: list[HomeVisit]
    notices: list[LaNotification]
    overseas: list[OverseasVerification]
    changes: list[StageChange]
    closures: list[CaseClosure]
    links: list[tuple[CaseLink, str]]
    names: dict[int, str]

    @classmethod
    def load(cls, session: Session, case: Case) -> _Records:
        def rows(model, order):
            return list(session.exec(
                select(model).where(model.case_id == case.id).order_by(order)).all())

        referral = session.get(Referral, case.referral_id)
        found = cls(
            case=case,
            child=session.get(Child, case.child_id),
            referral=referral,
            school=session.get(School, referral.school_id) if referral.school_id else None,
            assessments=rows(RiskAssessment, RiskAssessment.id),
            contacts=rows(SafeguardingContact, SafeguardingContact.contacted_at),
            enquiries=rows(EnquiryAction, EnquiryAction.done_on),
            visits=sorted(rows(HomeVisit, HomeVisit.id),
                          key=lambda v: (v.visited_on, v.checked_in_at or v.recorded_at, v.id)),
            notices=rows(LaNotification, LaNotification.sent_on),
            overseas=rows(OverseasVerification, OverseasVerification.received_on),
            changes=rows(StageChange, StageChange.id),
            closures=rows(CaseClosure, CaseClosure.id),
            links=_links(session, case),
            names={},
        )
        found.names = _names(session, found.people_named())
        return found

    def people_named(self) -> set[int | None]:
        return (
            {self.case.allocated_officer_id}
            | {a.by_id for a in self.assessments}
            | {c.recorded_by_id for c in self.contacts}
            | {e.by_id for e in self.enquiries}
            | {i for v in self.visits for i in (v.officer_id, v.second_officer_id, v.buddy_id)}
            | {v.flag_reviewed_by_id for v in self.visits}
            | {o.verified_by_id for o in self.overseas}
            | {s.by_id for s in self.changes}
            | {c.proposed_by_id for c in self.closures}
            | {c.approved_by_id for c in self.closures}
        )

    def name(self, user_id: int | None, default: str = "") -> str:
        return self.names.get(user_id, default) if user_id else default


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(wanted))).all())


def _links(session: Session, case: Case) -> list[tuple[CaseLink, str]]:
    """Links from this case and to it, with the other case's reference."""
    out = session.exec(
        select(CaseLink, Case.reference).join(Case, Case.id == CaseLink.linked_case_id)
        .where(CaseLink.case_id == case.id)
    ).all()
    back = session.exec(
        select(CaseLink, Case.reference).join(Case, Case.id == CaseLink.case_id)
        .where(CaseLink.linked_case_id == case.id)
    ).all()
    return [*out, *back]


# ---------------------------------------------------------------------------------------------
# Viewing


def view_case(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    today: date | None = None,
    now: datetime | None = None,
    purpose_form: dict | None = None,
) -> CaseFile:
    """Everything the LA holds on one case, audited as viewed."""
    actor = require(actor, Capability.CASE_VIEW)
    today = today or date.today()
    now = now or utcnow()
    case = load_case(session, actor=actor, reference=reference, action="case.viewed", lock=False)
    _record_view(session, actor, case, purpose_form, now)
    r = _Records.load(session, case)
    due = _due(r, today)
    return CaseFile(
        reference=case.reference,
        version=case.version,
        stage=case.stage,
        stage_label=STAGE_LABELS.get(case.stage, case.stage),
        episode=case.episode,
        is_open=_is_open(case),
        **_risk_part(session, r, actor, due),
        **_referral_part(session, r),
        **_household_part(session, r, today),
        **child_records.case_file_part(session, actor=actor, case=case),
        **_records_part(r, now, today),
        **_stages_part(session, r, actor, today),
        warning_markers=case.warning_markers or "",
        joint_visit_required=case.joint_visit_required,
        cme_episode=episodes.episode_panel(session, case.child_id),
        can=_abilities(actor, case, r.referral),
        school_returns=school_returns_part(session, case),
        police_report=police_report_words(case),
        police_reported_on=case.police_reported_on.isoformat()
        if case.police_reported_on else "",
        police_reference=case.police_reference or "",
        securing=securing.panel(session, actor=actor, case=case, today=today),
        documents=documents.case_part(session, actor=actor, case=case),
        summary=_summary(session, r.child, due, today),
    )


def _record_view(session: Session, actor: Actor, case: Case, form: dict | None,
                 now: datetime) -> None:
    try:
        reason = purpose.check(session, actor=actor, case=case, form=form, now=now)
    except purpose.PurposeRequired:
        audit.record(
            session, actor=actor, action="case.viewed", entity_type="case",
            entity_id=case.reference, child_id=case.child_id, outcome="purpose_required",
        )
        raise
    audit.case_event(session, actor=actor, case=case, action="case.viewed", detail=reason)


def _is_open(case: Case) -> bool:
    return case.stage not in (Stage.CLOSED, Stage.RETURNED)


def _abilities(actor: Actor, case: Case, referral: Referral) -> CaseAbilities:
    is_open = _is_open(case)

    def may(capability: Capability) -> bool:
        return is_open and allows(actor.role, capability)

    lead = actor.role == Role.LEAD
    allocated = actor.role == Role.OFFICER and case.allocated_officer_id == actor.user_id
    may_visit = is_open and (lead or allocated)
    return CaseAbilities(
        triage=may(Capability.CASE_TRIAGE),
        override=may(Capability.CASE_RISK_OVERRIDE),
        allocate=may(Capability.CASE_ALLOCATE),
        record=may(Capability.CASE_RECORD),
        notify_la=may(Capability.LA_NOTIFY),
        return_to_referrer=allows(actor.role, Capability.CASE_MOVE)
        and case.stage in (Stage.NEW_REFERRAL, Stage.TRIAGE)
        and referral.school_id is not None,
        # Leads close directly; an officer proposes and a lead approves.
        propose=is_open and actor.role == Role.OFFICER,
        close=may(Capability.CASE_CLOSE),
        reopen=allows(actor.role, Capability.CASE_REOPEN) and case.stage == Stage.CLOSED,
        edit_safety=may_visit,
        start_visit=may_visit,
        review_visits=allows(actor.role, Capability.VISIT_FLAG_REVIEW),
        # The episode is the child's, not the case's: a closed case's untraceable child
        # is still CME and reviewed from here.
        record_episode=allows(actor.role, Capability.EPISODE_RECORD)
        and case.stage != Stage.RETURNED,
        # About the child's record, not this case: open or closed alike.
        match_children=allows(actor.role, Capability.CHILD_MATCH),
        undo_merge=allows(actor.role, Capability.CHILD_MERGE_UNDO),
    )


# ---------------------------------------------------------------------------------------------
# Parts of the file


def _due(r: _Records, today: date) -> targets.Due | None:
    """The one response target that matters now (the header's tag and the summary's next
    action). Only a recorded visit meets the first-visit target; a check-in alone doesn't."""
    return targets.current_due(r.case, today=today, visited=any(v.outcome for v in r.visits),
                               response_due_on=_response_due(r.notices))


def _next_action(due: targets.Due | None) -> str:
    if due is None:
        return ""
    words = f"{due.what} due by {long_date(due.on)}"
    if due.overdue:
        return words + " (overdue)"
    return words + " (today)" if due.today else words


def _summary(session: Session, child: Child, due: targets.Due | None,
             today: date) -> CaseSummary:
    """Who, where and what is due next, for the top of the case page."""
    names = " ".join(p for p in (child.first_name, child.last_name) if p)
    if child.known_as:
        names += f" (known as {child.known_as})"
    last_known = session.exec(
        select(Address).where(Address.child_id == child.id,
                              Address.kind == AddressKind.LAST_KNOWN)
        .order_by(col(Address.id).desc()).limit(1)
    ).first()
    address = ", ".join(p for p in (last_known.line1, last_known.line2, last_known.town,
                                    last_known.postcode) if p) if last_known else ""
    if last_known and last_known.country != "United Kingdom":
        address += f", {last_known.country}"
    born = (f"{long_date(child.date_of_birth)} (age {age_on(child.date_of_birth, today)})"
            if child.date_of_birth else "Not known")
    return CaseSummary(name=names, born=born, address=address or "Not known",
                       next_action=_next_action(due), next_action_state=due.state if due else "")


def _risk_part(session: Session, r: _Records, actor: Actor, due: targets.Due | None) -> dict:
    case = r.case
    return dict(
        risk=case.risk or "",
        risk_label=RISK_LABELS.get(case.risk or "", "Not rated"),
        risk_factor_labels=risk.factor_labels(case.risk_factors),
        proposed_risk_label=RISK_LABELS.get(case.proposed_risk or "", ""),
        risk_rationale=case.risk_rationale or "",
        risk_history=[
            RiskDecision(short_date_time(a.at), RISK_LABELS.get(a.risk, a.risk),
                         RISK_KIND_LABELS.get(a.kind, a.kind),
                         "; ".join(risk.factor_labels(a.factors)), a.reason or "",
                         r.name(a.by_id))
            for a in r.assessments
        ],
        factor_choices=[
            FactorChoice(code, label, code in risk.RED_FACTORS, code in (case.risk_factors or []))
            for code, label in risk.RISK_FACTORS.items()
        ],
        officer=r.name(case.allocated_officer_id, "Unallocated"),
        officer_id=str(case.allocated_officer_id or ""),
        officer_choices=_officer_choices(session) if actor.role == Role.LEAD else [],
        due_label=due.label if due else "",
        due_state=due.state if due else "",
        triage_due=short_date(case.triage_due_on),
        first_visit_due=short_date(case.first_visit_due_on),
    )


def _officer_choices(session: Session) -> list[Choice]:
    officers = session.exec(
        select(User.id, User.name)
        .where(col(User.role).in_(roles_with(Capability.CASELOAD)), col(User.is_active).is_(True))
        .order_by(User.name)
    ).all()
    return [Choice(str(i), n) for i, n in officers]


def _referral_part(session: Session, r: _Records) -> dict:
    referral = r.referral
    anonymous = referral.source_type == SourceType.PUBLIC and not referral.referrer_name
    referrer = (
        ("Name", "Withheld: anonymous referral" if anonymous else referral.referrer_name),
        ("Job title", referral.referrer_job_title),
        ("Phone", referral.referrer_phone),
        ("Email", referral.referrer_email),
        ("How it came in", REFERRAL_CHANNELS.get(referral.received_via or "", "")),
    )
    enquiries = session.exec(
        select(ReferralEnquiry).where(ReferralEnquiry.referral_id == referral.id)
        .order_by(ReferralEnquiry.id)
    ).all()
    return dict(
        source_label=source_label(referral, r.school),
        school_name=r.school.name if r.school else "",
        referrer_rows=[Row(label, value) for label, value in referrer if value],
        referral_rows=_referral_rows(session, referral),
        referral_enquiries=[
            ReferrerEnquiry(
                rf.ENQUIRY_LABELS.get(e.kind, e.kind),
                short_date(e.made_on) if e.made_on else "Not possible",
                e.contacted or "",
                rf.METHOD_CHOICES.get(e.method or "", ""),
                e.result or e.not_possible_reason or "",
            )
            for e in enquiries
        ],
    )


def _referral_rows(session: Session, referral: Referral) -> list[Row]:
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    rows = [
        ("Submitted", short_date_time(referral.submitted_at)),
        ("Reason for referral", rf.CATEGORY_CHOICES.get(referral.category or "", "")),
        ("Date last attended", short_date(referral.date_last_attended)),
        ("Expected start date", short_date(referral.expected_start_date)),
        ("Agreed leave ended", short_date(referral.leave_ends_on)),
        ("Removed from the school's roll",
         f"{short_date(referral.roll_deleted_on)}: {ground_words(referral.roll_deletion_ground)}"
         if referral.roll_deleted_on else ""),
        # A referral the team logged keeps the day it arrived in the same column.
        ("Date school became aware" if referral.school_id else "Date received",
         short_date(referral.date_school_aware)),
        ("Submitted after 4 weeks", "Yes" if referral.late else ""),
        ("Outside compulsory school age", "Yes" if referral.outside_csa else ""),
        ("Believed destination", referral.believed_destination or ""),
        ("Specific concerns", "; ".join(rf.CONCERNS.get(c, c) for c in concerns) or "None known"),
        ("Concerns in detail", referral.concerns_narrative or ""),
    ]
    dsl = session.exec(select(DslAppraisal).where(DslAppraisal.referral_id == referral.id)).first()
    if dsl is not None:
        rows += [
            ("DSL", dsl.dsl_name),
            ("Known to children's social care",
             rf.CSC_CHOICES.get(dsl.known_to_csc, YES_NO_UNKNOWN.get(dsl.known_to_csc, ""))),
            ("Child protection plan", YES_NO_UNKNOWN.get(dsl.cp_plan, "")),
            ("Child in need", YES_NO_UNKNOWN.get(dsl.child_in_need, "")),
            ("Looked after", YES_NO_UNKNOWN.get(dsl.looked_after, "")),
            ("Significant harm suspected", YES_NO_UNKNOWN.get(dsl.significant_harm, "")),
            ("MASH reference", dsl.mash_reference or ""),
            ("Social worker told", _told(dsl.social_worker_told, dsl.social_worker_told_on)),
            ("Virtual school told", _told(dsl.virtual_school_told, dsl.virtual_school_told_on)),
            ("DSL appraisal", dsl.appraisal),
        ]
    return [Row(label, value) for label, value in rows if value]


def police_report_words(case: Case) -> str:
    if not case.reported_missing_to_police:
        return ""
    words = "Reported missing to police"
    if case.police_reported_on:
        words += f" on {long_date(case.police_reported_on)}"
    return words + (f" (reference {case.police_reference})" if case.police_reference else "")


def _told(told: str | None, on: date | None) -> str:
    if told == "yes":
        return f"Yes, {short_date(on)}" if on else "Yes"
    return "No" if told == "no" else ""


def _household_part(session: Session, r: _Records, today: date) -> dict:
    child = r.child
    people = session.exec(select(Person).where(Person.child_id == child.id).order_by(Person.id))
    return dict(
        child_name=f"{child.first_name} {child.last_name}",
        child_rows=_child_rows(child, today),
        addresses=[AddressRow(*a) for a in address_rows(session, child)],
        people=[
            PersonRow(p.full_name, p.relationship_to_child, p.phone or "",
                      "Yes" if p.lives_with_child else "No")
            for p in people.all()
        ],
        possible_matches=_matches(session, r.case, child),
        links=[
            LinkedCase(ref, "Same household" if link.kind == "household" else "Duplicate",
                       link.reason)
            for link, ref in r.links
        ],
    )


def _child_rows(child: Child, today: date) -> list[Row]:
    names = " ".join(p for p in (child.first_name, child.middle_names, child.last_name) if p)
    born = f"{short_date(child.date_of_birth)} (age {age_on(child.date_of_birth, today)})"
    rows = [
        ("Name", names),
        ("Known as", child.known_as or ""),
        ("Date of birth", born),
        ("Sex", rf.SEX_CHOICES.get(child.sex, child.sex)),
        ("UPN", child.upn or "Not given"),
        ("Year group", year_group(child.date_of_birth, today) or "Not of school age"),
        ("SEN", rf.SEN_CHOICES.get(child.sen_status, child.sen_status)),
        ("First language", child.first_language or ""),
        ("Interpreter needed", "Yes" if child.interpreter_needed else "No"),
    ]
    return [Row(label, value) for label, value in rows if value]


def _matches(session: Session, case: Case, child: Child) -> list[PossibleMatch]:
    """Other households' cases at the same address (Case.possible_matches)."""
    if not case.possible_matches:
        return []
    found = session.exec(
        select(Case, Child).join(Child, Child.id == Case.child_id)
        .where(col(Case.reference).in_(case.possible_matches), Case.child_id != child.id)
        .order_by(Case.reference)
    ).all()
    return [
        PossibleMatch(other.reference, f"{other_child.first_name} {other_child.last_name}",
                      "Same home address", STAGE_LABELS.get(other.stage, other.stage))
        for other, other_child in found
    ]


def _records_part(r: _Records, now: datetime, today: date) -> dict:
    return dict(
        safeguarding=[
            SafeguardingRow(SAFEGUARDING_KINDS.get(c.kind, c.kind),
                            SAFEGUARDING_AGENCIES.get(c.agency, c.agency),
                            short_date_time(c.contacted_at), c.contacted_by, c.reference,
                            c.notes or "")
            for c in r.contacts
        ],
        enquiries=[
            EnquiryRow(short_date(e.done_on), ENQUIRY_KINDS.get(e.kind, e.kind),
                       ENQUIRY_METHODS.get(e.method, e.method), e.contacted,
                       ENQUIRY_RESULTS.get(e.result, e.result), e.summary, e.next_action or "",
                       short_date(e.next_action_due), r.name(e.by_id))
            for e in r.enquiries
        ],
        visits=[visit_row(v, r.names, now) for v in r.visits],
        la_notifications=[_la_row(n, today) for n in r.notices],
        overseas=[
            OverseasRow(o.country, o.organisation,
                        OVERSEAS_EVIDENCE.get(o.evidence_type, o.evidence_type),
                        "Yes" if o.independent else "No", short_date(o.received_on),
                        r.name(o.verified_by_id))
            for o in r.overseas
        ],
    )


def _la_row(n: LaNotification, today: date) -> LaNotificationRow:
    overdue = n.response_on is None and n.response_due_on is not None and n.response_due_on < today
    return LaNotificationRow(
        id=n.id,
        direction="To" if n.direction == LaDirection.OUTBOUND else "From",
        la_name=n.la_name,
        sent_on=short_date(n.sent_on),
        response_due=short_date(n.response_due_on),
        acknowledged_on=short_date(n.acknowledged_on),
        response_on=short_date(n.response_on),
        response=n.response or "",
        response_overdue=overdue,
        inbound=n.direction == LaDirection.INBOUND,
        reply_kind=INBOUND_REPLIES.get(n.reply_kind or "", ""),
        outcome_sent=(f"Outcome sent to {n.la_name} on {long_date(n.outcome_sent_on)}"
                      if n.outcome_sent_on else ""),
        outcome_text=n.outcome_sent or "",
    )


def _response_due(notices: list[LaNotification]) -> date | None:
    due = [
        n.response_due_on
        for n in notices
        if n.direction == LaDirection.OUTBOUND and n.response_on is None and n.response_due_on
    ]
    return min(due) if due else None


def _stages_part(session: Session, r: _Records, actor: Actor, today: date) -> dict:
    case = r.case
    pending = next((c for c in r.closures if c.status == "proposed"), None)
    closed_now = next(
        (c for c in r.closures if c.status == "closed" and c.episode == case.episode), None
    )
    return dict(
        timeline=[
            StageChangeRow(short_date_time(s.at), STAGE_LABELS.get(s.from_stage or "", ""),
                           STAGE_LABELS.get(s.to_stage, s.to_stage), r.name(s.by_id),
                           s.reason or "")
            for s in r.changes
        ],
        closures=[
            ClosureRow(str(c.episode), outcome_label(c.outcome), c.status.capitalize(),
                       r.name(c.proposed_by_id), r.name(c.approved_by_id),
                       short_date_time(c.closed_at))
            for c in r.closures
        ],
        pending=_pending(pending, r) if pending else PendingClosure(),
        school_notice=(closed_now.school_notice or "") if closed_now else "",
        **_moves(session, case, actor),
        untraceable_checklist=[
            CheckItem(label, done) for label, done in untraceable_checklist(session, case)
        ],
    )


def _pending(closure: CaseClosure, r: _Records) -> PendingClosure:
    evidence = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in closure.evidence.items() if v)
    return PendingClosure(closure.outcome, outcome_label(closure.outcome),
                          r.name(closure.proposed_by_id), short_date_time(closure.proposed_at),
                          evidence)


def _moves(session: Session, case: Case, actor: Actor) -> dict:
    """The moves open now, and (for those who move cases) why the others are not yet."""
    allowed, blocked = [], []
    for stage in lifecycle.MOVES.get(case.stage, ()):
        why = lifecycle.move_refusal(session, actor=actor, case=case, to_stage=stage)
        if why is None:
            allowed.append(StageMove(stage, STAGE_LABELS[stage]))
        elif allows(actor.role, Capability.CASE_MOVE):
            blocked.append(StageMove(stage, STAGE_LABELS[stage], why))
    return dict(allowed_moves=allowed, blocked_moves=blocked)


# ---------------------------------------------------------------------------------------------
# One visit


