"""Risk triage (BR-L1, BR-L2): visible factors propose Red, Amber or Green; leads may override
with a recorded reason. Every decision is kept in RiskAssessment."""

from __future__ import annotations

from sqlmodel import Session, col, select

from ...dates import uk_date, uk_today
from ...domain import AddressKind, Risk
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    ChildFacts,
    CmeEpisode,
    DslAppraisal,
    Referral,
    ReferralConcern,
    ReferralFacts,
    RiskAssessment,
    utcnow,
)
from ...permissions import Actor

RED_FACTORS: dict[str, str] = {
    "cp_plan": "Child protection plan",
    "looked_after": "Looked after child",
    "child_in_need": "Child in need or open to social care now",
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
    "csc_past": "Known to social care in the past",
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
    return factors_many(session, [(referral, child)])[0]


def factors_many(session: Session, pairs: list[tuple[Referral | ReferralFacts,
                                                     Child | ChildFacts]]) -> list[list[str]]:
    """`factors_from_referral` for many referrals at once (a bulk import), in five queries."""
    referral_ids = [r.id for r, _c in pairs]
    child_ids = [c.id for _r, c in pairs]
    dsl = {d.referral_id: d for d in session.exec(
        select(DslAppraisal).where(col(DslAppraisal.referral_id).in_(referral_ids))).all()}
    concerns: dict[int, set[str]] = {}
    for referral_id, concern in session.exec(
            select(ReferralConcern.referral_id, ReferralConcern.concern)
            .where(col(ReferralConcern.referral_id).in_(referral_ids))).all():
        concerns.setdefault(referral_id, set()).add(concern)
    temporary = set(session.exec(select(Address.child_id).where(
        col(Address.child_id).in_(child_ids), Address.kind == AddressKind.TEMPORARY)).all())
    previous = previous_episodes(session, pairs)
    out = []
    for (referral, child), earlier in zip(pairs, previous, strict=True):
        found = _dsl_factors(dsl.get(referral.id))
        found.update(c for c in concerns.get(referral.id, ()) if c in _CONCERN_FACTORS)
        if child.sen_status in ("ehcp", "sen_support"):
            found.add("sen")
        if child.traveller_family or child.id in temporary:
            found.add("transient")
        if referral.category == "not_returned_after_leave":
            found.add("leave_abroad")
        if earlier:
            found.add("previous_cme")
        out.append(clean_factors(found))
    return out


def _dsl_factors(dsl: DslAppraisal | None) -> set[str]:
    found: set[str] = set()
    if dsl is None:
        return found
    yes = "yes"
    if dsl.cp_plan == yes:
        found.add("cp_plan")
    if dsl.looked_after == yes:
        found.add("looked_after")
    # Red only while the involvement is current ("yes": answers given before the form asked
    # current or past, read the safe way).
    if dsl.child_in_need == yes or dsl.known_to_csc in (yes, "current"):
        found.add("child_in_need")
    elif dsl.known_to_csc == "past":
        found.add("csc_past")
    if dsl.significant_harm == yes:
        found.add("significant_harm")
    return found


def has_previous_episode(session: Session, child: Child, referral: Referral) -> bool:
    """A fact, not a guess: the child's record (one per child: records an officer confirmed
    are the same child are merged) holds an earlier CME episode or an earlier closed case.

    Earlier: an episode that has ended, or one on another case that started before this
    referral; another case of the child closed at least once; or this case reopened."""
    return previous_episodes(session, [(referral, child)])[0]


def previous_episodes(session: Session, pairs: list[tuple[Referral | ReferralFacts,
                                                          Child | ChildFacts]]) -> list[bool]:
    """`has_previous_episode` for each (referral, child), in three queries."""
    child_ids = {c.id for _r, c in pairs}
    cases = {referral_id: (case_id, episode) for referral_id, case_id, episode in session.exec(
        select(Case.referral_id, Case.id, Case.episode)
        .where(col(Case.referral_id).in_([r.id for r, _c in pairs]))).all()}
    episodes: dict[int, list[tuple]] = {}
    for child_id, case_id, start, end in session.exec(
            select(CmeEpisode.child_id, CmeEpisode.case_id, CmeEpisode.start_date,
                   CmeEpisode.end_date).where(col(CmeEpisode.child_id).in_(child_ids))).all():
        episodes.setdefault(child_id, []).append((case_id, start, end))
    closed: dict[int, set[int]] = {}
    for child_id, case_id in session.exec(
            select(Case.child_id, Case.id).join(CaseClosure, CaseClosure.case_id == Case.id)
            .where(col(Case.child_id).in_(child_ids), CaseClosure.status == "closed")).all():
        closed.setdefault(child_id, set()).add(case_id)
    out = []
    for referral, child in pairs:
        this_case, episode_no = cases.get(referral.id, (None, 1))
        day = uk_date(referral.submitted_at) if referral.submitted_at else uk_today()
        earlier_episode = any(
            end is not None or ((case_id is None or case_id != this_case)
                                and start is not None and start < day)
            for case_id, start, end in episodes.get(child.id, ()))
        earlier_closed = bool(closed.get(child.id, set()) - {this_case})
        out.append(episode_no > 1 or earlier_episode or earlier_closed)
    return out


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
