"""A referral becomes a case: the case in New referral and what triage starts from.

Both ways in use it: a school's submitted referral (referrals.py) and a referral the team logs
itself (inbound.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ...domain import AddressKind, Stage
from ...models import Address, Case, Child, Referral, StageChange, utcnow
from ...permissions import Actor
from ..casework import risk, targets
from ..casework.references import next_case_reference
from ..school_calendar.school_days import load_calendar
from . import child_records


def open_case(
    session: Session, *, actor: Actor | None, referral: Referral, child: Child, today: date
) -> Case:
    """A new case in New referral for a submitted or logged referral (actor None: a return
    imported from the command line)."""
    by_id = actor.user_id if actor else None
    now = utcnow()
    case = Case(
        reference=next_case_reference(session, year=now.year),
        child_id=child.id,
        referral_id=referral.id,
        stage=Stage.NEW_REFERRAL,
        stage_entered_at=now,
        opened_at=now,
        updated_by_id=by_id,
    )
    session.add(case)
    session.flush()
    session.add(StageChange(case_id=case.id, to_stage=Stage.NEW_REFERRAL, by_id=by_id))
    refresh_triage_facts(session, case=case, referral=referral, child=child, today=today)
    return case


def refresh_triage_facts(
    session: Session, *, case: Case, referral: Referral, child: Child, today: date
) -> None:
    """What triage starts from: the proposed risk and its factors, the triage due date, other
    records that may be this child (proposed for an officer to answer, child_records.py) and
    other households' cases at the same address (BR-L2, BR-L3, SC-18)."""
    child_records.propose_matches(session, child)
    factors = risk.factors_from_referral(session, referral, child)
    case.risk_factors = factors
    case.proposed_risk = risk.propose(factors)
    case.triage_due_on = targets.triage_due(case.proposed_risk, today, load_calendar(session))
    case.possible_matches = possible_matches(session, case=case, child=child)
    session.add(case)
    session.flush()


def possible_matches(session: Session, *, case: Case, child: Child) -> list[str]:
    """Cases of other children at the child's last known address (same first line and
    postcode): the household candidates the case page offers to link. The same child's other
    records are `ChildMatch` proposals instead, and the same record's own cases are its
    history."""
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
                    Case.child_id != child.id,
                    other.kind == AddressKind.LAST_KNOWN,
                    other.postcode == postcode,
                    func.lower(other.line1) == line1.lower(),
                )
            ).all()
        )
    return sorted(refs)
