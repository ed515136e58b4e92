"""Closing a case: the closure outcomes, each one object, and proposing, approving and closing.

Each outcome (domain.Outcome) has one entry in OUTCOMES carrying everything about it: its
label, what the referring school reads, its colour on the dashboard, whether it means the child
was found, the stages it may close from, the evidence an officer records, and the rules that
must hold before it can be chosen (its blockers). Adding an outcome is one entry here, one code
in domain.Outcome, and its tests.

Only leads close; officers propose and a lead approves with the same rules checked again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from ...dates import compulsory_school_age
from ...domain import (
    OPEN_STAGES,
    STAGE_LABELS,
    EpisodeEndReason,
    EpisodeStartBasis,
    LaDirection,
    Outcome,
    Risk,
    Stage,
    case_reference,
)
from ...errors import FieldError, ValidationFailed
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
    utcnow,
)
from ...numbers import digits
from ...permissions import Actor, Capability, require
from ..intake.referral_form import parse_date
from ..notify import notifications
from ..returns import episodes
from ..returns.episodes import WHEREABOUTS_UNKNOWN
from ..trust import audit
from . import records
from .closure_checks import (
    REGISTRATION,
    off_roll_date_check,
    registered_or_assessed,
    send_exhausted_notice,
    send_ground_notice,
    started_by_today,
)
from .deletion_grounds import deletion_ground_for, ground_not_met
from .lifecycle import MoveRefused, case_state, check_version, enter_stage, load_case, touch
from .pathway import UNTRACEABLE_CHECKS
from .securing import not_started_yet


@dataclass(frozen=True)
class EvidenceField:
    name: str
    label: str
    kind: str  # text | textarea | date | urn | case_ref | registration | yesno
    required: bool = True
    hint: str = ""
    # Required only when the case's facts say so (an EvidenceCheck decides); the words say when.
    needed_when: str = ""
    missing: str = ""  # what to say when it is left out, if not "Enter the <label>"


# A blocker reads the case and answers why the outcome can't be chosen yet (None: it can).
Blocker = Callable[[Session, Case, date], "str | list[str] | None"]
# A rule across the evidence fields, or between them and the case: its field errors.
EvidenceCheck = Callable[[Session, Case, dict, date], list[FieldError]]
# Done when the case closes with the outcome (a notice, a link), after the closure row exists.
OnClose = Callable[[Session, Case, CaseClosure, dict, Actor, date], None]


@dataclass(frozen=True)
class ClosureOutcome:
    code: Outcome
    label: str
    school_text: str  # what the referring school reads (plain words, no LA case notes)
    colour: str  # its bars on the dashboard (GOV.UK palette; never the only cue)
    from_stages: tuple[str, ...]
    fields: tuple[EvidenceField, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    checks: tuple[EvidenceCheck, ...] = ()
    locates_child: bool = False  # the child was found: counts towards "days to locate"
    on_close: OnClose | None = None
    # What closing does to the child's open CME episode: ends it for this reason
    # (domain.EpisodeEndReason), keeps it open as whereabouts unknown, or (None) leaves it.
    episode_end: str | None = None
    # The evidence date the episode ends on (the day the child started school, say); else
    # the day the case closes.
    episode_ends_on: str | None = None


# ---------------------------------------------------------------------------------------------
# Blockers


def _other_la_answered(session: Session, case: Case, today: date) -> str | None:
    answered = session.exec(
        select(LaNotification.id).where(
            LaNotification.case_id == case.id,
            LaNotification.direction == LaDirection.OUTBOUND,
            col(LaNotification.acknowledged_on).is_not(None),
            col(LaNotification.response_on).is_not(None),
        )
    ).first()
    if answered is None:
        return "Record the other LA's acknowledgement and response to your notification first."
    return None


def _independent_evidence_abroad(session: Session, case: Case, today: date) -> str | None:
    independent = session.exec(
        select(OverseasVerification.id).where(
            OverseasVerification.case_id == case.id,
            OverseasVerification.independent == True,  # noqa: E712
        )
    ).first()
    if independent is None:
        return ("Record independent evidence from the school or agency abroad first "
                "(not from the parent).")
    return None


def _red_needs_csc_consultation(session: Session, case: Case, today: date) -> str | None:
    if case.risk != Risk.RED:
        return None
    consulted = session.exec(
        select(SafeguardingContact.id).where(
            SafeguardingContact.case_id == case.id, SafeguardingContact.kind == "consultation"
        )
    ).first()
    if consulted:
        return None
    return "A Red case needs a recorded CSC consultation before this closure."


def untraceable_checklist(session: Session, case: Case) -> list[tuple[str, bool]]:
    """The enquiries an untraceable closure needs, each done or not (shown on the case page)."""
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


def _untraceable_enquiries_done(session: Session, case: Case, today: date) -> list[str]:
    return [f"Not done yet: {label}." for label, done in untraceable_checklist(session, case)
            if not done]


def _ground_met(session: Session, case: Case, today: date) -> str | None:
    """Ground H's or I's clock, where the school referred a child on its roll: completed
    school days counted on the school calendar (deletion_grounds.py)."""
    return ground_not_met(deletion_ground_for(session, case, today))


def _past_compulsory_school_age(session: Session, case: Case, today: date) -> str | None:
    child = session.get(Child, case.child_id)
    if child is not None and compulsory_school_age(child.date_of_birth)[1] >= today:
        return "The child is still of compulsory school age."
    return None


def _started_school(session: Session, case: Case, today: date) -> str | None:
    """On roll only from the agreed start date: until then the child is still missing
    education, waiting to start school (securing.not_started_yet)."""
    return not_started_yet(session, case, today)


# ---------------------------------------------------------------------------------------------
# What closing does besides closing


def _link_duplicate(session, case, closure, evidence, actor, today) -> None:
    duplicate_of = case_reference(evidence["duplicate_of"])
    other = session.exec(select(Case).where(Case.reference == duplicate_of)).one()
    session.add(CaseLink(case_id=case.id, linked_case_id=other.id, kind="duplicate",
                         reason=evidence["reason"][:1000], by_id=actor.user_id))


# ---------------------------------------------------------------------------------------------
# The outcomes

_AFTER_TRIAGE = (Stage.TRIAGE, Stage.ENQUIRIES, Stage.HOME_VISIT, Stage.AWAITING_VERIFICATION,
                 Stage.LOCATED)
_ENQUIRING = (Stage.ENQUIRIES, Stage.HOME_VISIT, Stage.AWAITING_VERIFICATION)

_OUTCOME_LIST = (
    ClosureOutcome(
        Outcome.ONROLL_LEEDS, "Located – on roll at a Leeds school",
        "Child found and on roll at a Leeds school", "#00703c", _AFTER_TRIAGE,
        (
            EvidenceField("school_urn", "School URN", "urn", hint="6 digits, for example 107999"),
            EvidenceField("start_date", "Start date", "date"),
            EvidenceField("confirmed_by", "Confirmed by (school or admissions)", "text"),
            EvidenceField("sas_keyworker", "School Attendance Service keyworker", "text",
                          required=False, hint="If attendance support is needed and no "
                          "keyworker is recorded under Securing education"),
        ),
        blockers=(_started_school,),
        checks=(started_by_today,),
        locates_child=True,
        episode_end=EpisodeEndReason.ON_ROLL,
        episode_ends_on="start_date",
    ),
    ClosureOutcome(
        Outcome.ONROLL_OTHER_LA, "On roll at a school in another LA",
        "Child found and on roll at a school in another area. You may remove the pupil from "
        "roll under ground A once you have confirmation.", "#28a197", _AFTER_TRIAGE,
        (
            EvidenceField("la_name", "Local authority", "text"),
            EvidenceField("school_name", "School", "text"),
            EvidenceField("confirmed_by", "Confirmed by (that LA or school)", "text"),
        ),
        locates_child=True,
        episode_end=EpisodeEndReason.ON_ROLL_OTHER_LA,
    ),
    ClosureOutcome(
        Outcome.TRANSFERRED_OTHER_LA, "Transferred to another LA",
        "Child lives in another area; that area's CME team has the case. You may remove the "
        "pupil from roll under ground G if the family now lives beyond reasonable distance of "
        "the school, otherwise under ground I once it is met (ground A once the child is on "
        "roll there).", "#1d70b8", _ENQUIRING,
        (
            EvidenceField("summary", "Summary of the LA's response", "textarea"),
            EvidenceField("beyond_reasonable_distance",
                          "Does the family now live beyond reasonable distance of the school?",
                          "yesno", hint="This decides the ground the school may use: G if "
                          "yes, I if no",
                          missing="Select whether the family now lives beyond reasonable "
                          "distance of the school"),
        ),
        blockers=(_other_la_answered,),
        on_close=send_ground_notice,
        locates_child=True,
        episode_end=EpisodeEndReason.MOVED_OTHER_LA,
    ),
    ClosureOutcome(
        Outcome.LEFT_UK_VERIFIED, "Left the UK – verified",
        "Child has left the UK and is on roll abroad. Send the CTF to MMMMMMM.", "#4c2c92",
        _ENQUIRING,
        blockers=(_independent_evidence_abroad,),
        locates_child=True,
        episode_end=EpisodeEndReason.LEFT_UK,
    ),
    ClosureOutcome(
        Outcome.LEFT_UK_UNVERIFIED, "Left the UK – not verified",
        "Child is believed to have left the UK. You may remove the pupil from roll under "
        "ground I once it is met (ground G if the family no longer lives within reasonable "
        "distance). Send a lost CTF to XXXXXXX.", "#6f72af",
        _ENQUIRING,
        (
            EvidenceField("reasons", "Why the child is believed to have left the UK",
                          "textarea"),
            EvidenceField("checks_done", "Checks done", "textarea"),
        ),
        blockers=(_red_needs_csc_consultation,),
        on_close=send_ground_notice,
        episode_end=EpisodeEndReason.LEFT_UK_UNVERIFIED,
    ),
    ClosureOutcome(
        Outcome.EHE, "Electively home educated",
        "Child is electively home educated. Deletion under ground F applies once the notified "
        "date has passed.", "#f47738", _AFTER_TRIAGE,
        (
            EvidenceField("notice_date", "Date of the parent's written notice", "date"),
            EvidenceField("ehe_accepted_on", "Date the EHE team accepted", "date"),
        ),
        locates_child=True,
        episode_end=EpisodeEndReason.EHE,
    ),
    ClosureOutcome(
        Outcome.OTHER_SUITABLE_EDUCATION, "Other suitable education",
        "Child is receiving suitable education elsewhere", "#b58840", _AFTER_TRIAGE,
        (
            EvidenceField("provider", "Provider (independent school, AP or EOTAS)", "text"),
            EvidenceField("provider_registration", "Provider's URN or DfE number",
                          "registration", needed_when="Unless the LA assessed the education "
                          "itself: a URN is 6 digits, like 107999; a DfE number is like "
                          "383/6001"),
            EvidenceField("assessed_on", "Date of the LA's suitability assessment", "date",
                          required=False, hint="If the provider is not registered"),
            EvidenceField("assessed_by", "Who made the LA's suitability assessment", "text",
                          required=False, hint="Name and role"),
            EvidenceField("confirmed_on", "Date the provider confirmed", "date"),
        ),
        checks=(registered_or_assessed,),
        locates_child=True,
        episode_end=EpisodeEndReason.SUITABLE_EDUCATION,
    ),
    ClosureOutcome(
        Outcome.NOT_CME_ATTENDANCE, "Not CME – attendance matter",
        "Not CME – attendance matter; continue attendance procedures", "#003078", _AFTER_TRIAGE,
        (EvidenceField("residence_evidence", "Evidence the child still lives there",
                       "textarea"),),
        locates_child=True,
        episode_end=EpisodeEndReason.NOT_CME,
    ),
    ClosureOutcome(
        Outcome.UNTRACEABLE, "Untraceable – enquiries exhausted",
        "Joint reasonable enquiries exhausted – see the notice below", "#d4351c", _ENQUIRING,
        (EvidenceField("off_roll_date", "Off-roll date agreed with the school", "date",
                       needed_when="When a school referred a child on its roll: today or "
                       "later, never backdated"),),
        blockers=(_untraceable_enquiries_done, _ground_met),
        checks=(off_roll_date_check,),
        on_close=send_exhausted_notice,
        episode_end=WHEREABOUTS_UNKNOWN,
        episode_ends_on="off_roll_date",
    ),
    ClosureOutcome(
        Outcome.CEASED_CSA, "Ceased compulsory school age",
        "Child is no longer of compulsory school age", "#505a5f", OPEN_STAGES,
        blockers=(_past_compulsory_school_age,),
        episode_end=EpisodeEndReason.CEASED_CSA,
    ),
    ClosureOutcome(
        Outcome.DECEASED, "Deceased", "Case closed", "#0b0c0c", OPEN_STAGES,
        (EvidenceField("source", "Who confirmed it, and when", "text"),),
        episode_end=EpisodeEndReason.DIED,
    ),
    ClosureOutcome(
        Outcome.DUPLICATE, "Duplicate referral",
        "Closed – the CME team already holds a referral for this child", "#b1b4b6",
        _AFTER_TRIAGE,
        (
            EvidenceField("duplicate_of", "Case it duplicates", "case_ref",
                          hint="The case reference, like CME-2026-00042"),
            EvidenceField("reason", "Reason for merging", "textarea"),
        ),
        on_close=_link_duplicate,
    ),
)
OUTCOMES: dict[str, ClosureOutcome] = {o.code: o for o in _OUTCOME_LIST}
assert set(OUTCOMES) == set(Outcome), "every domain.Outcome needs its entry here"


def outcome_label(code: str | None) -> str:
    """The outcome's label; an unknown code as it is."""
    found = OUTCOMES.get(code or "")
    return found.label if found else (code or "")


def school_outcome_text(code: str | None) -> str:
    found = OUTCOMES.get(code or "")
    return found.school_text if found else ""


# ---------------------------------------------------------------------------------------------
# Checking a closure


def clean_evidence(outcome: str, evidence: Any) -> dict[str, str]:
    found = OUTCOMES.get(outcome)
    raw = evidence if isinstance(evidence, dict) else {}
    if found is None:
        return {}
    return {f.name: str(raw.get(f.name) or "").strip()[:2000] for f in found.fields}


def _field_error(session: Session, case: Case, f: EvidenceField, value: str) -> str | None:
    if f.kind == "date" and parse_date(value) is None:
        return f"{f.label} must be a real date"
    if f.kind == "urn" and not (digits(value) and len(value) == 6):
        return "School URN must be 6 digits, like 107999"
    if f.kind == "registration" and not REGISTRATION.fullmatch(value):
        return "Enter a URN of 6 digits, like 107999, or a DfE number as NNN/NNNN, like 383/6001"
    if f.kind == "yesno" and value not in ("yes", "no"):
        return "Select yes or no"
    if f.kind == "case_ref":
        other = session.exec(select(Case).where(Case.reference == case_reference(value))).first()
        if other is None or other.id == case.id:
            return "Enter the reference of another case"
    return None


def _field_errors(session: Session, case: Case, outcome: str, evidence: dict) -> list[FieldError]:
    errors = []
    for f in OUTCOMES[outcome].fields:
        value = evidence.get(f.name, "")
        if not value:
            if f.required and not f.needed_when:
                errors.append(FieldError(f.name, f.missing or
                                         f"Enter the {f.label[0].lower()}{f.label[1:]}"))
            continue
        message = _field_error(session, case, f, value)
        if message:
            errors.append(FieldError(f.name, message))
    return errors


def closure_blockers(session: Session, *, case: Case, outcome: str, today: date) -> list[str]:
    """The rules (besides the evidence fields) that stop this closure now, in plain words."""
    found = OUTCOMES.get(outcome)
    if found is None:
        return ["Choose an outcome."]
    if case.stage == Stage.CLOSED:
        return ["This case is already closed."]
    if case.stage not in found.from_stages:
        return [f"A case in {STAGE_LABELS.get(case.stage, case.stage)} can't be closed as "
                f"'{found.label}'."]
    blockers: list[str] = []
    for blocker in found.blockers:
        said = blocker(session, case, today)
        blockers.extend([said] if isinstance(said, str) else said or [])
    return blockers


def _validate_closure(
    session: Session, case: Case, outcome: str, evidence: dict, today: date
) -> None:
    if outcome not in OUTCOMES:
        raise ValidationFailed([FieldError("outcome", "Choose an outcome")])
    errors = _field_errors(session, case, outcome, evidence)
    for check in OUTCOMES[outcome].checks:
        errors += check(session, case, evidence, today)
    if errors:
        raise ValidationFailed(errors)
    blockers = closure_blockers(session, case=case, outcome=outcome, today=today)
    if blockers:
        raise MoveRefused(" ".join(blockers))


def pending_closure(session: Session, case: Case) -> CaseClosure | None:
    return session.exec(
        select(CaseClosure).where(CaseClosure.case_id == case.id, CaseClosure.status == "proposed")
    ).first()


# ---------------------------------------------------------------------------------------------
# Proposing, closing, approving


def _checked_closure(session: Session, actor: Actor, reference: str, outcome: Any,
                     evidence: Any, version: int, today: date | None, action: str
                     ) -> tuple[Case, str, dict[str, str]]:
    """The case, locked and at the version the caller saw, with the outcome and its cleaned
    evidence, once every rule for that outcome holds (proposing and closing check the same)."""
    case = load_case(session, actor=actor, reference=reference, action=action)
    check_version(session, case, version)
    outcome = str(outcome or "")
    evidence = clean_evidence(outcome, evidence)
    _validate_closure(session, case, outcome, evidence, today or date.today())
    return case, outcome, evidence


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
    actor = require(actor, Capability.CLOSURE_PROPOSE)
    case, outcome, evidence = _checked_closure(
        session, actor, reference, outcome, evidence, version, today, "case.closure_proposed")
    was = case_state(case)
    pending = pending_closure(session, case)
    if pending is not None:
        pending.status = "withdrawn"
        session.add(pending)
    closure = CaseClosure(case_id=case.id, episode=case.episode, outcome=outcome,
                          evidence=evidence, status="proposed", proposed_by_id=actor.user_id)
    session.add(closure)
    touch(case, actor)
    session.add(case)
    session.flush()
    changed = audit.changes(
        was | {"proposal": pending.id if pending else None},
        case_state(case) | {"proposal": closure.id},
    )
    audit.case_event(session, actor=actor, case=case, action="case.closure_proposed",
                     detail={"outcome": outcome, **changed})
    session.flush()
    return closure


def _closure_row(session: Session, case: Case, outcome: str, actor: Actor) -> CaseClosure:
    """The proposal for this outcome, or a new closure row (withdrawing another proposal)."""
    closure = pending_closure(session, case)
    if closure is not None and closure.outcome == outcome:
        return closure
    if closure is not None:
        closure.status = "withdrawn"
        session.add(closure)
    return CaseClosure(case_id=case.id, episode=case.episode, outcome=outcome,
                       proposed_by_id=actor.user_id)


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
    actor = require(actor, Capability.CASE_CLOSE)
    today = today or date.today()
    case, outcome, evidence = _checked_closure(
        session, actor, reference, outcome, evidence, version, today, "case.closed")
    was = case_state(case)
    closure = _closure_row(session, case, outcome, actor)
    now = utcnow()
    closure.evidence = evidence
    closure.status = "closed"
    closure.approved_by_id = actor.user_id
    closure.closed_at = now
    found = OUTCOMES[outcome]
    if found.on_close is not None:
        found.on_close(session, case, closure, evidence, actor, today)
    ends_on = parse_date(evidence.get(found.episode_ends_on or "")) or today
    # An off-roll date: the child becomes CME the day the school deletes them.
    basis = EpisodeStartBasis.DELETED_FROM_ROLL if evidence.get("off_roll_date") \
        else EpisodeStartBasis.IDENTIFIED_NO_ROLL
    episodes.after_closure(session, case=case, actor=actor, episode_end=found.episode_end,
                           end_on=ends_on, start_basis=basis)
    session.add(closure)
    enter_stage(session, case, Stage.CLOSED, actor, reason=found.label)
    case.outcome = outcome
    case.closed_at = now
    referral = session.get(Referral, case.referral_id)
    if referral is not None:
        referral.status = "accepted"
        session.add(referral)
    told = records.tell_notifying_las(session, case, found.label, today)
    audit.case_event(session, actor=actor, case=case, action="case.closed", detail={
        "outcome": outcome, "evidence": sorted(evidence), **audit.changes(was, case_state(case)),
        **({"outcome_sent_to": told} if told else {}),
    })
    if referral is not None:
        notifications.case_outcome(session, case=case, school_id=referral.school_id)
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
    actor = require(actor, Capability.CASE_CLOSE)
    case = load_case(session, actor=actor, reference=reference, action="case.closed")
    check_version(session, case, version)
    pending = pending_closure(session, case)
    if pending is None:
        raise MoveRefused("There is no closure waiting for approval.")
    return close_case(session, actor=actor, reference=reference, outcome=pending.outcome,
                      evidence=dict(pending.evidence or {}), version=version, today=today)


def closure_preview(
    session: Session, *, actor: Actor | None, reference: str, outcome: str,
    today: date | None = None,
) -> list[str]:
    """What stops closing `reference` as `outcome` today, before the form is filled in (the
    case page shows it as soon as an outcome is chosen). Reading only: nothing is audited."""
    require(actor, Capability.CLOSURE_PROPOSE)
    case = session.exec(select(Case).where(Case.reference == case_reference(reference))).first()
    if case is None or outcome not in OUTCOMES:
        return []
    return closure_blockers(session, case=case, outcome=outcome, today=today or date.today())
