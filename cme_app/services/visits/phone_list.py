"""GET /api/v1/visits/mine: what the phone caches to work offline (docs/visits-api.md).

The caller, the visit form's choices, the caller's open cases (soonest visit first, then Red,
Amber, Green), their visits still checked in and their open lone-working alerts. A fixed
number of queries, whatever the case count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from ...domain import OPEN_STAGES, RISK_LABELS, STAGE_LABELS, AddressKind, Risk
from ...models import Address, Case, Child, HomeVisit, utcnow
from ...permissions import Actor, Capability, require
from ..casework.pathway import CHILD_SEEN_OUTCOME, VISIT_OUTCOMES
from ..trust import audit
from . import lone_working
from .visit_checks import (
    EXPECTED_MINUTES,
    EXPECTED_MINUTES_ERROR,
    RELATIONSHIPS,
    colleagues,
)

_RISK_ORDER = {Risk.RED: 0, Risk.AMBER: 1, Risk.GREEN: 2}


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def _address_line(address: Address | None) -> str:
    if address is None:
        return ""
    return ", ".join(p for p in (address.line1, address.line2, address.town) if p)


def _homes(session: Session, cases: list[Case]) -> dict[int, Address]:
    """Each referral's first last-known address."""
    homes: dict[int, Address] = {}
    for address in session.exec(
        select(Address)
        .where(
            col(Address.referral_id).in_([case.referral_id for case in cases]),
            Address.kind == AddressKind.LAST_KNOWN,
        )
        .order_by(Address.id)
    ).all():
        homes.setdefault(address.referral_id, address)
    return homes


def _recorded_visits(session: Session, cases: list[Case]) -> dict[int, list[HomeVisit]]:
    """Each case's recorded visits, oldest first."""
    recorded: dict[int, list[HomeVisit]] = {}
    for visit in session.exec(
        select(HomeVisit)
        .where(
            col(HomeVisit.case_id).in_([case.id for case in cases]),
            col(HomeVisit.outcome).is_not(None),
        )
        .order_by(HomeVisit.visited_on, HomeVisit.id)
    ).all():
        recorded.setdefault(visit.case_id, []).append(visit)
    return recorded


def _next_visit(case: Case, latest: HomeVisit | None) -> tuple[date | None, str]:
    """When the next visit is due and why: the first visit's target, or what the last visit
    said should happen next."""
    if latest is None:
        return case.first_visit_due_on, "First visit due"
    due = latest.next_action_due
    return due, (latest.next_action or "Next action due") if due else ""


def _case_entry(case: Case, child: Child, visits: list[HomeVisit], home: Address | None) -> dict:
    latest = visits[-1] if visits else None
    due, reason = _next_visit(case, latest)
    return {
        "reference": case.reference,
        "child_name": f"{child.first_name} {child.last_name}",
        "date_of_birth": child.date_of_birth.isoformat(),
        "address": _address_line(home),
        "postcode": (home.postcode or "") if home else "",
        "risk": case.risk or "",
        "risk_label": RISK_LABELS.get(case.risk or "", "Not rated"),
        "stage": case.stage,
        "stage_label": STAGE_LABELS.get(case.stage, case.stage),
        "officer_id": case.allocated_officer_id,
        "warning_markers": case.warning_markers or "",
        "joint_visit_required": case.joint_visit_required,
        # Red: the first visit is a joint one unless the officer says otherwise.
        "accompanied_by_default": case.joint_visit_required
        or (case.risk == Risk.RED and not visits),
        "visits_recorded": len(visits),
        "last_visit_on": _iso(latest.visited_on) if latest else None,
        "next_visit_due": _iso(due),
        "next_visit_reason": reason,
    }


def _cases(session: Session, actor: Actor) -> list[dict]:
    rows = session.exec(
        select(Case, Child)
        .join(Child, Child.id == Case.child_id)
        .where(Case.allocated_officer_id == actor.user_id, col(Case.stage).in_(OPEN_STAGES))
    ).all()
    if not rows:
        return []
    cases = [case for case, _ in rows]
    homes, recorded = _homes(session, cases), _recorded_visits(session, cases)
    entries = [
        _case_entry(case, child, recorded.get(case.id, []), homes.get(case.referral_id))
        for case, child in rows
    ]
    return sorted(entries, key=lambda c: (
        c["next_visit_due"] is None,
        c["next_visit_due"] or "",
        _RISK_ORDER.get(c["risk"], 3),
        c["reference"],
    ))


def _open_visits(session: Session, actor: Actor, now: datetime) -> list[dict]:
    """The caller's visits checked in and not yet checked out."""
    rows = session.exec(
        select(HomeVisit, Case.reference)
        .join(Case, Case.id == HomeVisit.case_id)
        .where(
            HomeVisit.officer_id == actor.user_id,
            col(HomeVisit.checked_in_at).is_not(None),
            col(HomeVisit.checked_out_at).is_(None),
        )
        .order_by(HomeVisit.checked_in_at)
    ).all()
    return [
        {
            "client_uuid": visit.client_uuid,
            "reference": reference,
            "checked_in_at": _iso(visit.checked_in_at),
            "expected_end_at": _iso(visit.expected_end_at),
            "overdue": visit.expected_end_at is not None and visit.expected_end_at < now,
        }
        for visit, reference in rows
    ]


def _options(session: Session, actor: Actor) -> dict:
    """The visit form's choices."""
    return {
        "outcomes": [{"value": v, "label": label} for v, label in VISIT_OUTCOMES.items()],
        "relationships": list(RELATIONSHIPS),
        "colleagues": [
            {"id": i, "name": name, "role": str(role)}
            for i, name, role in colleagues(session, actor)
        ],
        "expected_minutes": list(EXPECTED_MINUTES),
        # The phone shows the server's own message, so the two can't disagree.
        "expected_minutes_error": EXPECTED_MINUTES_ERROR,
        # "Child seen: yes" is this outcome; "no" asks for one of the others.
        "child_seen_outcome": CHILD_SEEN_OUTCOME,
    }


def phone_list(session: Session, *, actor: Actor | None) -> dict[str, Any]:
    """Everything the phone needs to work with no signal (see the module doc)."""
    actor = require(actor, Capability.VISIT_LOG)
    now = utcnow()
    cases = _cases(session, actor)
    open_visits = _open_visits(session, actor, now)
    alerts = lone_working.open_alerts_for(session, actor=actor, now=now)
    audit.record(
        session,
        actor=actor,
        action="visits.list_viewed",
        entity_type="visits",
        detail={"references": [c["reference"] for c in cases]},
    )
    return {
        "user": {"id": actor.user_id, "name": actor.name, "role": str(actor.role)},
        "server_time": now.isoformat(),
        "options": _options(session, actor),
        "cases": cases,
        "open_visits": open_visits,
        "alerts": [a.to_json() for a in alerts],
    }
