"""The case state machine (domain.md 5.2-5.3, design.md rule 6).

Every stage move, return to the referrer, closure and reopening goes through here. Each
function re-checks the actor, the case's version and the stage guards, writes a StageChange
row for every stage entered (so the history has no gaps) and an audit event, and explains a
refusal in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from ...dates import LONDON, long_date
from ...domain import OPEN_STAGES, STAGE_LABELS, LaDirection, Outcome, Risk, Role, Stage
from ...errors import FieldError, NotFound, Refusal, ValidationFailed
from ...models import (
    Case,
    CaseClosure,
    CaseLink,
    Child,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    OverseasVerification,
    Referral,
    SafeguardingContact,
    StageChange,
    User,
    utcnow,
)
from ...permissions import Actor, require_role
from ...settings import get_settings
from ..intake.referral_form import compulsory_school_age, parse_date
from ..notify import notifications
from ..school_calendar.school_days import CalendarNotSeeded, load_calendar
from ..trust import audit
from .pathway import UNTRACEABLE_CHECKS
from .risk import record_assessment

CASEWORKERS = (Role.OFFICER, Role.LEAD)


class MoveRefused(Refusal):
    """The state machine said no; the message says why in plain words."""


class StaleCase(Refusal):
    """The case changed since the caller last saw it."""


OUTCOME_LABELS: dict[str, str] = {
    Outcome.ONROLL_LEEDS: "Located – on roll at a Leeds school",
    Outcome.ONROLL_OTHER_LA: "On roll at a school in another LA",
    Outcome.TRANSFERRED_OTHER_LA: "Transferred to another LA",
    Outcome.LEFT_UK_VERIFIED: "Left the UK – verified",
    Outcome.LEFT_UK_UNVERIFIED: "Left the UK – not verified",
    Outcome.EHE: "Electively home educated",
    Outcome.OTHER_SUITABLE_EDUCATION: "Other suitable education",
    Outcome.NOT_CME_ATTENDANCE: "Not CME – attendance matter",
    Outcome.UNTRACEABLE: "Untraceable – enquiries exhausted",
    Outcome.CEASED_CSA: "Ceased compulsory school age",
    Outcome.DECEASED: "Deceased",
    Outcome.DUPLICATE: "Duplicate referral",
}

# What the referring school reads on its referral (plain words, no LA case notes).
SCHOOL_OUTCOME_TEXT: dict[str, str] = {
    Outcome.ONROLL_LEEDS: "Child found and on roll at a Leeds school",
    Outcome.ONROLL_OTHER_LA: "Child found and on roll at a school in another area. You may "
    "remove the pupil from roll under ground A once you have confirmation.",
    Outcome.TRANSFERRED_OTHER_LA: "Child lives in another area; that area's CME team has "
    "the case. You may proceed under ground A once the child is on roll there.",
    Outcome.LEFT_UK_VERIFIED: "Child has left the UK and is on roll abroad. Send the CTF to "
    "MMMMMMM.",
    Outcome.LEFT_UK_UNVERIFIED: "Child is believed to have left the UK. Send a lost CTF to "
    "XXXXXXX.",
    Outcome.EHE: "Child is electively home educated. Deletion under ground F applies once the "
    "notified date has passed.",
    Outcome.OTHER_SUITABLE_EDUCATION: "Child is receiving suitable education elsewhere",
    Outcome.NOT_CME_ATTENDANCE: "Not CME – attendance matter; continue attendance procedures",
    Outcome.UNTRACEABLE: "Joint reasonable enquiries exhausted – see the notice below",
    Outcome.CEASED_CSA: "Child is no longer of compulsory school age",
    Outcome.DECEASED: "Case closed",
    Outcome.DUPLICATE: "Closed – the CME team already holds a referral for this child",
}

# Stages a case may move to by hand. Closing and reopening have their own functions.
MOVES: dict[str, tuple[str, ...]] = {
    Stage.NEW_REFERRAL: (Stage.TRIAGE,),
    Stage.TRIAGE: (Stage.ENQUIRIES, Stage.HOME_VISIT),
    Stage.ENQUIRIES: (Stage.HOME_VISIT, Stage.AWAITING_VERIFICATION, Stage.LOCATED),
    Stage.HOME_VISIT: (Stage.ENQUIRIES, Stage.AWAITING_VERIFICATION, Stage.LOCATED),
    Stage.AWAITING_VERIFICATION: (Stage.ENQUIRIES, Stage.LOCATED),
    Stage.LOCATED: (Stage.ENQUIRIES,),
}


@dataclass(frozen=True)
class EvidenceField:
    name: str
    label: str
    kind: str  # text | textarea | date | urn | case_ref
    required: bool = True
    hint: str = ""


_AFTER_TRIAGE = (
    Stage.TRIAGE,
    Stage.ENQUIRIES,
    Stage.HOME_VISIT,
    Stage.AWAITING_VERIFICATION,
    Stage.LOCATED,
)
_ENQUIRING = (Stage.ENQUIRIES, Stage.HOME_VISIT, Stage.AWAITING_VERIFICATION)


@dataclass(frozen=True)
class OutcomeRule:
    from_stages: tuple[str, ...]
    fields: tuple[EvidenceField, ...] = ()


OUTCOME_RULES: dict[str, OutcomeRule] = {
    Outcome.ONROLL_LEEDS: OutcomeRule(
        _AFTER_TRIAGE,
        (
            EvidenceField("school_urn", "School URN", "urn", hint="6 digits, for example 107999"),
            EvidenceField("start_date", "Start date", "date"),
            EvidenceField("confirmed_by", "Confirmed by (school or admissions)", "text"),
            EvidenceField(
                "sas_keyworker",
                "School Attendance Service keyworker",
                "text",
                required=False,
                hint="If attendance support is needed",
            ),
        ),
    ),
    Outcome.ONROLL_OTHER_LA: OutcomeRule(
        _AFTER_TRIAGE,
        (
            EvidenceField("la_name", "Local authority", "text"),
            EvidenceField("school_name", "School", "text"),
            EvidenceField("confirmed_by", "Confirmed by (that LA or school)", "text"),
        ),
    ),
    Outcome.TRANSFERRED_OTHER_LA: OutcomeRule(
        _ENQUIRING, (EvidenceField("summary", "Summary of the LA's response", "textarea"),)
    ),
    Outcome.LEFT_UK_VERIFIED: OutcomeRule(_ENQUIRING),
    Outcome.LEFT_UK_UNVERIFIED: OutcomeRule(
        _ENQUIRING,
        (
            EvidenceField("reasons", "Why the child is believed to have left the UK", "textarea"),
            EvidenceField("checks_done", "Checks done", "textarea"),
        ),
    ),
    Outcome.EHE: OutcomeRule(
        _AFTER_TRIAGE,
        (
            EvidenceField("notice_date", "Date of the parent's written notice", "date"),
            EvidenceField("ehe_accepted_on", "Date the EHE team accepted", "date"),
        ),
    ),
    Outcome.OTHER_SUITABLE_EDUCATION: OutcomeRule(
        _AFTER_TRIAGE,
        (
            EvidenceField("provider", "Provider (independent school, AP or EOTAS)", "text"),
            EvidenceField("confirmed_on", "Date the provider confirmed", "date"),
        ),
    ),
    Outcome.NOT_CME_ATTENDANCE: OutcomeRule(
        _AFTER_TRIAGE,
        (EvidenceField("residence_evidence", "Evidence the child still lives there", "textarea"),),
    ),
    Outcome.UNTRACEABLE: OutcomeRule(
        _ENQUIRING,
        (EvidenceField("off_roll_date", "Off-roll date agreed with the school", "date"),),
    ),
    Outcome.CEASED_CSA: OutcomeRule(OPEN_STAGES),
    Outcome.DECEASED: OutcomeRule(
        OPEN_STAGES, (EvidenceField("source", "Who confirmed it, and when", "text"),)
    ),
    Outcome.DUPLICATE: OutcomeRule(
        _AFTER_TRIAGE,
        (
            EvidenceField(
                "duplicate_of",
                "Case it duplicates",
                "case_ref",
                hint="The case reference, like CME-2026-00042",
            ),
            EvidenceField("reason", "Reason for merging", "textarea"),
        ),
    ),
}


# ---------------------------------------------------------------------------------------------
# Loading


def load_case(
    session: Session, *, actor: Actor, reference: str, action: str, lock: bool = True
) -> Case:
    """The case for `reference` (locked for update unless only read); NotFound, audited,
    if there is none."""
    reference = str(reference or "")[:20]
    query = select(Case).where(Case.reference == reference)
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome="not_found",
            entity_type="case",
            entity_id=reference,
        )
        raise NotFound("No case with that reference.")
    return case


def check_version(session: Session, case: Case, version: Any) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version != case.version:
        who = session.get(User, case.updated_by_id) if case.updated_by_id else None
        at = case.updated_at.astimezone(LONDON).strftime("%H:%M") if case.updated_at else ""
        name = who.name if who else "someone else"
        raise StaleCase(
            f"{case.reference} was changed by {name} at {at}. You are now seeing the latest."
        )


# The case's own fields an audit event shows before and after a change (ids and codes only).
AUDITED_CASE_FIELDS = ("stage", "version", "risk", "allocated_officer_id", "outcome", "episode")


def case_state(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in AUDITED_CASE_FIELDS}


def touch(case: Case, actor: Actor) -> None:
    """A change to the case itself: a new version, by this actor, now."""
    case.version += 1
    case.updated_at = utcnow()
    case.updated_by_id = actor.user_id


def enter_stage(
    session: Session, case: Case, to_stage: str, actor: Actor, reason: str | None = None
) -> None:
    """Put the case in `to_stage`, with its StageChange row. Guards are the caller's job."""
    session.add(
        StageChange(
            case_id=case.id,
            from_stage=case.stage,
            to_stage=to_stage,
            by_id=actor.user_id,
            reason=reason,
        )
    )
    case.stage = to_stage
    case.stage_entered_at = utcnow()
    touch(case, actor)
    session.add(case)


# ---------------------------------------------------------------------------------------------
# Moves


def _has_safeguarding(session: Session, case: Case, kind: str) -> bool:
    return (
        session.exec(
            select(SafeguardingContact.id).where(
                SafeguardingContact.case_id == case.id, SafeguardingContact.kind == kind
            )
        ).first()
        is not None
    )


@dataclass(frozen=True)
class GuardFacts:
    """What the move guards read from other tables, for many cases at once (the board asks
    for the moves of every card it shows, in two queries rather than two per card)."""

    notified: frozenset[int]  # cases with a CSC / MASH / Front Door notification
    waiting: frozenset[int]  # cases waiting on another LA, or on a pending enquiry


def guard_facts(session: Session, case_ids: list[int]) -> GuardFacts:
    if not case_ids:
        return GuardFacts(frozenset(), frozenset())
    notified = session.exec(
        select(SafeguardingContact.case_id).where(
            col(SafeguardingContact.case_id).in_(case_ids),
            SafeguardingContact.kind == "notification",
        )
    ).all()
    open_la = select(LaNotification.case_id).where(
        col(LaNotification.case_id).in_(case_ids),
        LaNotification.direction == LaDirection.OUTBOUND,
        col(LaNotification.response_on).is_(None),
    )
    pending = select(EnquiryAction.case_id).where(
        col(EnquiryAction.case_id).in_(case_ids), EnquiryAction.result == "pending"
    )
    waiting = session.exec(open_la.union(pending)).scalars().all()
    return GuardFacts(frozenset(notified), frozenset(waiting))


def move_refusal(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    to_stage: str,
    facts: GuardFacts | None = None,
) -> str | None:
    """Why `actor` may not move `case` to `to_stage` now, or None if they may.

    `facts` (from `guard_facts`) answers the guards' lookups instead of querying per case."""
    if actor.role not in CASEWORKERS:
        return "Only CME officers and team leads can move cases."
    here = STAGE_LABELS.get(case.stage, case.stage)
    there = STAGE_LABELS.get(to_stage, to_stage)
    if case.stage == Stage.CLOSED:
        return "This case is closed. A team lead can reopen it from the case page."
    if case.stage == Stage.RETURNED:
        return "This referral is with the school for more information."
    if to_stage == Stage.CLOSED:
        return "Choose an outcome on the case page to close a case."
    if to_stage == case.stage:
        return f"The case is already in {there}."
    if to_stage not in MOVES.get(case.stage, ()):
        return f"A case can't move from {here} to {there}."
    new_untouched = case.stage == Stage.NEW_REFERRAL
    if (
        actor.role == Role.OFFICER
        and not new_untouched
        and case.allocated_officer_id != actor.user_id
    ):
        return "Only the allocated officer or a team lead can move this case."
    if case.stage == Stage.TRIAGE:
        if not case.risk:
            return "Set the risk (Red, Amber or Green) before the case leaves Triage."
        if case.allocated_officer_id is None:
            return "Allocate an officer before the case leaves Triage."
        facts = facts or guard_facts(session, [case.id])
        if case.risk == Risk.RED and case.id not in facts.notified:
            return (
                "A Red case can't leave Triage until a CSC, MASH or Front Door notification "
                "is recorded."
            )
    if to_stage == Stage.AWAITING_VERIFICATION:
        facts = facts or guard_facts(session, [case.id])
    if to_stage == Stage.AWAITING_VERIFICATION and case.id not in facts.waiting:
        return (
            "Record what you are waiting for first: a notification to another LA, or an "
            "enquiry with the result 'Information pending'."
        )
    return None


def allowed_moves(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    today: date | None = None,
    facts: GuardFacts | None = None,
) -> list[str]:
    """The non-closing stages `actor` may move `case` to right now."""
    return [
        stage
        for stage in MOVES.get(case.stage, ())
        if move_refusal(session, actor=actor, case=case, to_stage=stage, facts=facts) is None
    ]


def move_case(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    to_stage: str,
    version: int,
    today: date | None = None,
) -> Case:
    actor = require_role(actor, *CASEWORKERS)
    case = load_case(session, actor=actor, reference=reference, action="case.moved")
    check_version(session, case, version)
    to_stage = str(to_stage or "")[:30]
    reason = move_refusal(session, actor=actor, case=case, to_stage=to_stage)
    if reason:
        audit.record(
            session,
            actor=actor,
            action="case.moved",
            outcome="refused",
            entity_type="case",
            entity_id=case.reference,
            child_id=case.child_id,
            detail={"from": case.stage, "to": to_stage, "reason": reason},
        )
        raise MoveRefused(reason)
    before, was = case.stage, case_state(case)
    enter_stage(session, case, to_stage, actor)
    audit.record(
        session,
        actor=actor,
        action="case.moved",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"from": before, "to": to_stage, **audit.changes(was, case_state(case))},
    )
    session.flush()
    return case


# ---------------------------------------------------------------------------------------------
# Return to referrer (SC-06)


def return_to_referrer(
    session: Session, *, actor: Actor | None, reference: str, note: str, version: int
) -> Case:
    actor = require_role(actor, *CASEWORKERS)
    case = load_case(session, actor=actor, reference=reference, action="referral.returned")
    check_version(session, case, version)
    note = (note or "").strip()
    if case.stage not in (Stage.NEW_REFERRAL, Stage.TRIAGE):
        raise MoveRefused("Only a referral in New referral or Triage can be returned.")
    referral = session.get(Referral, case.referral_id)
    if referral is None or referral.school_id is None:
        raise MoveRefused("Only a school's referral can be returned to the school.")
    if len(note) < 10:
        raise ValidationFailed(
            [FieldError("return_note", "Tell the school what more information is needed")]
        )
    was = case_state(case) | {"referral_status": referral.status}
    referral.status = "returned"
    referral.return_note = note[:2000]
    referral.returned_at = utcnow()
    referral.returned_by_id = actor.user_id
    session.add(referral)
    enter_stage(session, case, Stage.RETURNED, actor, reason=note[:1000])
    audit.record(
        session,
        actor=actor,
        action="referral.returned",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={
            "note": note[:200],
            **audit.changes(was, case_state(case) | {"referral_status": referral.status}),
        },
    )
    notifications.referral_returned(
        session, case=case, school_id=referral.school_id, when=referral.returned_at
    )
    return case


def resubmitted(session: Session, *, actor: Actor, case: Case) -> None:
    """The school sent a returned referral back: the same case re-enters New referral."""
    enter_stage(session, case, Stage.NEW_REFERRAL, actor, reason="Resubmitted by the school")


# ---------------------------------------------------------------------------------------------
# Closing (domain.md 5.3)


def clean_evidence(outcome: str, evidence: Any) -> dict[str, str]:
    rule = OUTCOME_RULES.get(outcome)
    raw = evidence if isinstance(evidence, dict) else {}
    if rule is None:
        return {}
    return {f.name: str(raw.get(f.name) or "").strip()[:2000] for f in rule.fields}


def _field_errors(session: Session, case: Case, outcome: str, evidence: dict) -> list[FieldError]:
    errors = []
    for f in OUTCOME_RULES[outcome].fields:
        value = evidence.get(f.name, "")
        if not value:
            if f.required:
                errors.append(FieldError(f.name, f"Enter the {f.label[0].lower()}{f.label[1:]}"))
            continue
        if f.kind == "date" and parse_date(value) is None:
            errors.append(FieldError(f.name, f"{f.label} must be a real date"))
        if f.kind == "urn" and not (value.isdigit() and len(value) == 6):
            errors.append(FieldError(f.name, "School URN must be 6 digits, like 107999"))
        if f.kind == "case_ref":
            other = session.exec(select(Case).where(Case.reference == value.upper())).first()
            if other is None or other.id == case.id:
                errors.append(FieldError(f.name, "Enter the reference of another case"))
    return errors


def closure_blockers(session: Session, *, case: Case, outcome: str, today: date) -> list[str]:
    """The rules (besides the evidence fields) that stop this closure now, in plain words."""
    if outcome not in OUTCOME_RULES:
        return ["Choose an outcome."]
    if case.stage == Stage.CLOSED:
        return ["This case is already closed."]
    if case.stage not in OUTCOME_RULES[outcome].from_stages:
        return [
            f"A case in {STAGE_LABELS.get(case.stage, case.stage)} can't be closed as "
            f"'{OUTCOME_LABELS[outcome]}'."
        ]
    blockers: list[str] = []
    if outcome == Outcome.TRANSFERRED_OTHER_LA:
        answered = session.exec(
            select(LaNotification.id).where(
                LaNotification.case_id == case.id,
                LaNotification.direction == LaDirection.OUTBOUND,
                col(LaNotification.acknowledged_on).is_not(None),
                col(LaNotification.response_on).is_not(None),
            )
        ).first()
        if answered is None:
            blockers.append(
                "Record the other LA's acknowledgement and response to your notification first."
            )
    if outcome == Outcome.LEFT_UK_VERIFIED:
        independent = session.exec(
            select(OverseasVerification.id).where(
                OverseasVerification.case_id == case.id,
                OverseasVerification.independent == True,  # noqa: E712
            )
        ).first()
        if independent is None:
            blockers.append(
                "Record independent evidence from the school or agency abroad first "
                "(not from the parent)."
            )
    if (
        outcome == Outcome.LEFT_UK_UNVERIFIED
        and case.risk == Risk.RED
        and not _has_safeguarding(session, case, "consultation")
    ):
        blockers.append("A Red case needs a recorded CSC consultation before this closure.")
    if outcome == Outcome.UNTRACEABLE:
        blockers.extend(_untraceable_blockers(session, case, today))
    if outcome == Outcome.CEASED_CSA:
        child = session.get(Child, case.child_id)
        if child is not None and compulsory_school_age(child.date_of_birth)[1] >= today:
            blockers.append("The child is still of compulsory school age.")
    return blockers


def untraceable_checklist(session: Session, case: Case) -> list[tuple[str, bool]]:
    kinds = set(
        session.exec(select(EnquiryAction.kind).where(EnquiryAction.case_id == case.id)).all()
    )
    visits = session.exec(
        select(func.count())
        .select_from(HomeVisit)
        .where(HomeVisit.case_id == case.id, col(HomeVisit.outcome).is_not(None))
    ).one()
    rows = [(label, bool(kinds.intersection(group))) for label, group in UNTRACEABLE_CHECKS]
    rows.append(("At least one home visit", visits > 0))
    open_la = session.exec(
        select(LaNotification.id).where(
            LaNotification.case_id == case.id,
            LaNotification.direction == LaDirection.OUTBOUND,
            col(LaNotification.response_on).is_(None),
        )
    ).first()
    rows.append(("Every notification to another LA answered", open_la is None))
    return rows


def _untraceable_blockers(session: Session, case: Case, today: date) -> list[str]:
    blockers = [
        f"Not done yet: {label}."
        for label, done in untraceable_checklist(session, case)
        if not done
    ]
    referral = session.get(Referral, case.referral_id)
    last = referral.date_last_attended if referral else None
    if last is not None:
        needed = get_settings().untraceable_min_school_days
        try:
            absent = load_calendar(session).school_days_between(last, today)
        except CalendarNotSeeded:
            blockers.append("Term dates are missing, so school days can't be counted.")
        else:
            if absent < needed:
                blockers.append(
                    f"Ground I requires ≥ {needed} continuous school days' absence "
                    f"(so far {absent})."
                )
    return blockers


def _validate_closure(
    session: Session, case: Case, outcome: str, evidence: dict, today: date
) -> None:
    if outcome not in OUTCOME_RULES:
        raise ValidationFailed([FieldError("outcome", "Choose an outcome")])
    errors = _field_errors(session, case, outcome, evidence)
    if errors:
        raise ValidationFailed(errors)
    blockers = closure_blockers(session, case=case, outcome=outcome, today=today)
    if blockers:
        raise MoveRefused(" ".join(blockers))


def pending_closure(session: Session, case: Case) -> CaseClosure | None:
    return session.exec(
        select(CaseClosure).where(CaseClosure.case_id == case.id, CaseClosure.status == "proposed")
    ).first()


def propose_closure(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    outcome: str,
    evidence: dict,
    version: int,
    today: date | None = None,
) -> CaseClosure:
    """An officer's closure, waiting for a lead's approval (SC-19). The same rules apply."""
    actor = require_role(actor, *CASEWORKERS)
    today = today or date.today()
    case = load_case(session, actor=actor, reference=reference, action="case.closure_proposed")
    check_version(session, case, version)
    outcome = str(outcome or "")
    evidence = clean_evidence(outcome, evidence)
    _validate_closure(session, case, outcome, evidence, today)
    was = case_state(case)
    pending = pending_closure(session, case)
    if pending is not None:
        pending.status = "withdrawn"
        session.add(pending)
    closure = CaseClosure(
        case_id=case.id,
        episode=case.episode,
        outcome=outcome,
        evidence=evidence,
        status="proposed",
        proposed_by_id=actor.user_id,
    )
    session.add(closure)
    touch(case, actor)
    session.add(case)
    session.flush()
    changed = audit.changes(
        was | {"proposal": pending.id if pending else None},
        case_state(case) | {"proposal": closure.id},
    )
    audit.record(
        session,
        actor=actor,
        action="case.closure_proposed",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"outcome": outcome, **changed},
    )
    session.flush()
    return closure


def close_case(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    outcome: str,
    evidence: dict,
    version: int,
    today: date | None = None,
) -> Case:
    """Close the case with an outcome. Only leads close; this also approves a proposal."""
    actor = require_role(actor, Role.LEAD)
    today = today or date.today()
    case = load_case(session, actor=actor, reference=reference, action="case.closed")
    check_version(session, case, version)
    outcome = str(outcome or "")
    evidence = clean_evidence(outcome, evidence)
    _validate_closure(session, case, outcome, evidence, today)
    was = case_state(case)
    closure = pending_closure(session, case)
    if closure is None or closure.outcome != outcome:
        if closure is not None:
            closure.status = "withdrawn"
            session.add(closure)
        closure = CaseClosure(
            case_id=case.id,
            episode=case.episode,
            outcome=outcome,
            proposed_by_id=actor.user_id,
        )
    now = utcnow()
    closure.evidence = evidence
    closure.status = "closed"
    closure.approved_by_id = actor.user_id
    closure.closed_at = now
    if outcome == Outcome.UNTRACEABLE:
        closure.school_notice = _exhausted_notice(session, case, evidence, today)
    session.add(closure)
    if outcome == Outcome.DUPLICATE:
        other = session.exec(
            select(Case).where(Case.reference == evidence["duplicate_of"].upper())
        ).one()
        session.add(
            CaseLink(
                case_id=case.id,
                linked_case_id=other.id,
                kind="duplicate",
                reason=evidence["reason"][:1000],
                by_id=actor.user_id,
            )
        )
    enter_stage(session, case, Stage.CLOSED, actor, reason=OUTCOME_LABELS[outcome])
    case.outcome = outcome
    case.closed_at = now
    referral = session.get(Referral, case.referral_id)
    if referral is not None:
        referral.status = "accepted"
        session.add(referral)
    audit.record(
        session,
        actor=actor,
        action="case.closed",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={
            "outcome": outcome,
            "evidence": sorted(evidence),
            **audit.changes(was, case_state(case)),
        },
    )
    if referral is not None:
        notifications.case_outcome(session, case=case, school_id=referral.school_id)
    session.flush()
    return case


def _exhausted_notice(session: Session, case: Case, evidence: dict, today: date) -> str:
    """The 'joint reasonable enquiries exhausted' notice for the school (SC-14, BR-L11)."""
    referral = session.get(Referral, case.referral_id)
    last = referral.date_last_attended if referral else None
    off_roll = parse_date(evidence.get("off_roll_date"))
    lines = [
        f"Case {case.reference}: joint reasonable enquiries exhausted.",
        f"The school and the local authority have jointly made reasonable enquiries and "
        f"have not been able to establish the pupil's whereabouts (as of {long_date(today)}).",
    ]
    if last:
        lines.append(f"Date last attended: {long_date(last)}.")
    if off_roll:
        lines.append(
            f"Agreed off-roll date: {long_date(off_roll)}, under regulation 9(1)(i) "
            "(ground I). Upload a lost CTF (XXXXXXX) to S2S."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Reopening (SC-20)


def reopen_case(
    session: Session, *, actor: Actor | None, reference: str, reason: str, version: int
) -> Case:
    """Lead only, with a reason: a new episode in Enquiries, at least Amber."""
    actor = require_role(actor, Role.LEAD)
    case = load_case(session, actor=actor, reference=reference, action="case.reopened")
    check_version(session, case, version)
    reason = (reason or "").strip()
    if case.stage != Stage.CLOSED:
        raise MoveRefused("Only a closed case can be reopened.")
    if len(reason) < 10:
        raise ValidationFailed([FieldError("reopen_reason", "Give the reason for reopening")])
    was = case_state(case)
    case.episode += 1
    case.outcome = None
    case.closed_at = None
    if case.risk not in (Risk.RED, Risk.AMBER):
        record_assessment(
            session,
            case=case,
            actor=actor,
            risk=Risk.AMBER,
            kind="reopened",
            reason="A repeat CME episode is at least Amber (BR-L18).",
        )
    enter_stage(session, case, Stage.ENQUIRIES, actor, reason=reason[:1000])
    audit.record(
        session,
        actor=actor,
        action="case.reopened",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={
            "episode": case.episode,
            "reason": reason[:200],
            **audit.changes(was, case_state(case)),
        },
    )
    session.flush()
    return case


def load_open_case(session: Session, actor: Actor, reference: str, action: str) -> Case:
    case = load_case(session, actor=actor, reference=reference, action=action)
    if case.stage in (Stage.CLOSED, Stage.RETURNED):
        raise MoveRefused("This case is not open, so it can't be changed.")
    return case
