"""A referral becomes a case: the case in New referral and what triage starts from.

Both ways in use it: a school's submitted referral (referrals.py) and a referral the team logs
itself (inbound.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ...domain import AddressKind, Stage
from ...models import (
    Address,
    Case,
    Child,
    ChildFacts,
    Referral,
    ReferralFacts,
    StageChange,
    insert_rows,
    utcnow,
)
from ...permissions import Actor
from ..casework import risk, targets
from ..casework.references import next_case_references
from ..school_calendar.school_days import load_calendar
from . import child_records


def open_case(
    session: Session, *, actor: Actor | None, referral: Referral, child: Child, today: date
) -> Case:
    """A new case in New referral for a submitted or logged referral (actor None: a return
    imported from the command line)."""
    return open_cases(session, actor=actor, pairs=[(referral, child)], today=today)[0]


def open_cases(session: Session, *, actor: Actor | None,
               pairs: list[tuple[Referral | ReferralFacts, Child | ChildFacts]],
               today: date) -> list[Case]:
    """`open_case` for many stored referrals at once (a bulk import), in a few statements."""
    by_id = actor.user_id if actor else None
    now = utcnow()
    references = next_case_references(session, year=now.year, count=len(pairs))
    facts = _triage_facts(session, [(None, referral, child) for referral, child in pairs],
                          today=today)
    ids = insert_rows(session, Case, [
        {"reference": ref, "child_id": child.id, "referral_id": referral.id,
         "stage": Stage.NEW_REFERRAL, "stage_entered_at": now, "opened_at": now,
         "updated_at": now, "updated_by_id": by_id, **fact}
        for ref, (referral, child), fact in zip(references, pairs, facts, strict=True)])
    insert_rows(session, StageChange, [
        {"case_id": case_id, "to_stage": Stage.NEW_REFERRAL, "by_id": by_id} for case_id in ids])
    loaded = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids))).all()}
    return [loaded[i] for i in ids]


def refresh_triage_facts(
    session: Session, *, case: Case, referral: Referral, child: Child, today: date
) -> None:
    """What triage starts from: the proposed risk and its factors, the triage due date, other
    records that may be this child (proposed for an officer to answer, child_records.py) and
    other households' cases at the same address (BR-L2, BR-L3, SC-18)."""
    [facts] = _triage_facts(session, [(case, referral, child)], today=today)
    for name, value in facts.items():
        setattr(case, name, value)
    session.add(case)
    session.flush()


def _triage_facts(session: Session,
                  items: list[tuple[Case | None, Referral | ReferralFacts, Child | ChildFacts]],
                  *, today: date) -> list[dict[str, Any]]:
    """Each case's triage facts (its columns), for cases open or about to open (None)."""
    child_records.propose_matches_many(session, [child for _c, _r, child in items], load=False)
    factors = risk.factors_many(session, [(referral, child) for _c, referral, child in items])
    households = possible_matches_many(session, [(case, child) for case, _r, child in items])
    calendar = load_calendar(session)
    out = []
    for found, refs in zip(factors, households, strict=True):
        proposed = risk.propose(found)
        out.append({"risk_factors": found, "proposed_risk": proposed, "possible_matches": refs,
                    "triage_due_on": targets.triage_due(proposed, today, calendar)})
    return out


# Made once: a new alias per call would make a new statement each time, compiled afresh.
_HOME, _OTHER = aliased(Address, name="home"), aliased(Address, name="other_home")


def possible_matches_many(session: Session,
                          pairs: list[tuple[Case | None, Child | ChildFacts]]
                          ) -> list[list[str]]:
    """For each (case, child): cases of other children at the child's last known address (same
    first line and postcode), the household candidates the case page offers to link. The same
    child's other records are `ChildMatch` proposals instead, and the same record's own cases
    are its history. A case about to open is None."""
    home, other = _HOME, _OTHER
    at: dict[int, set[tuple[str, int, int]]] = {}
    # One query (issue 19): each child's last known home, joined to every case of a child
    # whose last known home has the same postcode; the first lines are compared here, as
    # people type them (any case).
    for child_id, line1, other_line1, ref, case_id, other_child in session.exec(
            select(home.child_id, home.line1, other.line1, Case.reference, Case.id,
                   Case.child_id)
            .join(other, and_(other.postcode == home.postcode,
                              other.kind == AddressKind.LAST_KNOWN))
            .join(Case, Case.child_id == other.child_id)
            .where(col(home.child_id).in_({c.id for _k, c in pairs}),
                   home.kind == AddressKind.LAST_KNOWN, col(home.postcode).is_not(None))):
        if line1.lower() == other_line1.lower():
            at.setdefault(child_id, set()).add((ref, case_id, other_child))
    return [sorted({ref for ref, case_id, child_id in at.get(child.id, ())
                    if (case is None or case_id != case.id) and child_id != child.id})
            for case, child in pairs]
