"""Risk triage (BR-L1, BR-L2): visible factors propose Red, Amber or Green; leads may override
with a recorded reason. Every decision is kept in RiskAssessment."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from ...dates import uk_date, uk_today
from ...domain import AddressKind, Risk
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    CmeEpisode,
    DslAppraisal,
    Referral,
    ReferralConcern,
    RiskAssessment,
    utcnow,
)
from ...permissions import Actor

RED_FACTORS: dict[str, str] = {
    "cp_plan": "Child protection plan",
    "looked_after": "Looked after child",
    "child_in_need": "Child in need or open to social care",
    "significant_harm": "Significant harm suspected",
    "fgm": "FGM risk",
    "forced_marriage": "Forced marriage risk",
    "trafficking": "Trafficking risk",
    "cse": "Child sexual exploitation risk",
    "cce": "Child criminal exploitation risk",
    "domestic_abuse": "Domestic abuse in the household",
    "under_8_no_contact": "Under 8 with no contact",
}
AMBER_FACTORS: dict[str, str] = {
    "sen": "EHCP or SEN support",
    "previous_cme": "Previous CME episode",
    "transient": "Transient, GRT or temporary accommodation",
    "health": "Health needs",
    "young_carer": "Young carer",
    "leave_abroad": "Unauthorised leave abroad",
}
RISK_FACTORS: dict[str, str] = {**RED_FACTORS, **AMBER_FACTORS}

# Referral concerns that are risk factors in their own right (same codes as the form).
_CONCERN_FACTORS = (
    "fgm",
    "forced_marriage",
    "trafficking",
    "cse",
    "cce",
    "domestic_abuse",
    "health",
)


def propose(factors: list[str] | tuple[str, ...]) -> Risk:
    if any(f in RED_FACTORS for f in factors):
        return Risk.RED
    if any(f in AMBER_FACTORS for f in factors):
        return Risk.AMBER
    return Risk.GREEN


def clean_factors(factors: object) -> list[str]:
    """Known factor codes only, in the standard order (input comes from a browser)."""
    chosen = set(factors) if isinstance(factors, (list, tuple, set)) else set()
    return [code for code in RISK_FACTORS if code in chosen]


def factor_labels(factors: list[str] | None) -> list[str]:
    return [RISK_FACTORS[f] for f in factors or [] if f in RISK_FACTORS]


def factors_from_referral(session: Session, referral: Referral, child: Child) -> list[str]:
    """The factors the referral itself shows; the officer confirms or adds to them at triage."""
    found: set[str] = set()
    dsl = session.exec(select(DslAppraisal).where(DslAppraisal.referral_id == referral.id)).first()
    yes = "yes"
    if dsl is not None:
        if dsl.cp_plan == yes:
            found.add("cp_plan")
        if dsl.looked_after == yes:
            found.add("looked_after")
        if yes in (dsl.child_in_need, dsl.known_to_csc):
            found.add("child_in_need")
        if dsl.significant_harm == yes:
            found.add("significant_harm")
    concerns = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == referral.id)
    ).all()
    found.update(c for c in concerns if c in _CONCERN_FACTORS)
    if child.sen_status in ("ehcp", "sen_support"):
        found.add("sen")
    temporary = session.exec(
        select(Address.id).where(
            Address.child_id == child.id, Address.kind == AddressKind.TEMPORARY
        )
    ).first()
    if child.traveller_family or temporary is not None:
        found.add("transient")
    if referral.category == "not_returned_after_leave":
        found.add("leave_abroad")
    if has_previous_episode(session, child, referral):
        found.add("previous_cme")
    return clean_factors(found)


def has_previous_episode(session: Session, child: Child, referral: Referral) -> bool:
    """A fact, not a guess: the child's record (one per child: records an officer confirmed
    are the same child are merged) holds an earlier CME episode or an earlier closed case.

    Earlier: an episode that has ended, or one on another case that started before this
    referral; another case of the child closed at least once; or this case reopened."""
    case = session.exec(select(Case).where(Case.referral_id == referral.id)).first()
    if case is not None and case.episode > 1:
        return True
    this_case = case.id if case is not None else None
    return _earlier_episode(session, child, this_case, referral) or _earlier_closed_case(
        session, child, this_case)


def _earlier_episode(session: Session, child: Child, this_case: int | None,
                     referral: Referral) -> bool:
    day = uk_date(referral.submitted_at) if referral.submitted_at else uk_today()
    other_case = col(CmeEpisode.case_id).is_(None)
    if this_case is not None:
        other_case = or_(other_case, CmeEpisode.case_id != this_case)
    found = session.exec(select(CmeEpisode.id).where(
        CmeEpisode.child_id == child.id,
        or_(col(CmeEpisode.end_date).is_not(None),
            and_(other_case, col(CmeEpisode.start_date) < day)),
    ).limit(1)).first()
    return found is not None


def _earlier_closed_case(session: Session, child: Child, this_case: int | None) -> bool:
    query = (select(Case.id).join(CaseClosure, CaseClosure.case_id == Case.id)
             .where(Case.child_id == child.id, CaseClosure.status == "closed"))
    if this_case is not None:
        query = query.where(Case.id != this_case)
    return session.exec(query.limit(1)).first() is not None


def record_assessment(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    risk: str,
    kind: str,
    reason: str | None = None,
    factors: list[str] | None = None,
) -> RiskAssessment:
    """Set the case's risk and keep the decision in the history."""
    factors = list(case.risk_factors or []) if factors is None else factors
    row = RiskAssessment(
        case_id=case.id,
        risk=risk,
        proposed_risk=propose(factors),
        factors=factors,
        kind=kind,
        reason=reason,
        by_id=actor.user_id,
    )
    session.add(row)
    case.risk = risk
    case.risk_factors = factors
    case.proposed_risk = row.proposed_risk
    case.risk_rationale = reason or "; ".join(factor_labels(factors)) or "No risk factors found"
    case.risk_rated_by_id = actor.user_id
    case.risk_rated_at = utcnow()
    session.add(case)
    return row
