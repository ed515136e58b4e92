"""A referral becomes a case: the case in New referral and what triage starts from.

Both ways in use it: a school's submitted referral (referrals.py) and a referral the team logs
itself (inbound.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ...domain import AddressKind, Stage
from ...models import Address, Case, Child, Referral, StageChange, utcnow
from ...permissions import Actor
from ..casework import risk, targets
from ..casework.references import next_case_reference
from ..school_calendar.school_days import load_calendar


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
    return sorted(_same_child(session, case, child) | _same_home(session, case, child))


def _same_child(session: Session, case: Case, child: Child) -> set[str]:
    same_child = [
        (Child.first_name == child.first_name)
        & (Child.last_name == child.last_name)
        & (Child.date_of_birth == child.date_of_birth)
    ]
    if child.upn:
        same_child.append(Child.upn == child.upn)
    return set(
        session.exec(
            select(Case.reference)
            .join(Child, Child.id == Case.child_id)
            .where(Case.id != case.id, or_(*same_child))
        ).all()
    )


def _same_home(session: Session, case: Case, child: Child) -> set[str]:
    homes = session.exec(
        select(Address.line1, Address.postcode).where(
            Address.child_id == child.id,
            Address.kind == AddressKind.LAST_KNOWN,
            col(Address.postcode).is_not(None),
        )
    ).all()
    refs: set[str] = set()
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
    return refs
