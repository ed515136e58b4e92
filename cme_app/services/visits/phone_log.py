"""The phone's visit log (docs/visits-api.md, domain.md 4.8 and 7).

The phone works offline, so it sends each visit whole, as often as it needs to, keyed by a
uuid it made: check-in (Start visit), record (Save visit) and check-out (End visit). The server
stores each phase once and never overwrites it, so a replay of any earlier version is harmless.
A visit that arrives after the case changed (closed, moved on, reassigned) is still kept, with
a plain-words flag for a lead, and changes nothing else on the case.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ...dates import LONDON
from ...domain import OPEN_STAGES, RISK_LABELS, STAGE_LABELS, AddressKind, Risk, Role, Stage
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import Address, AuditEvent, Case, Child, HomeVisit, User, utcnow
from ...permissions import Actor, require_role
from ..casework.lifecycle import CASEWORKERS, load_case
from ..casework.pathway import VISIT_OUTCOMES
from ..forms import YES_NO, Form
from ..notify import notifications
from ..trust import audit
from . import lone_working

RELATIONSHIPS = (
    "Mother",
    "Father",
    "Step-parent",
    "Grandparent",
    "Other relative",
    "Sibling",
    "Neighbour",
    "Landlord or agent",
    "New occupant",
    "Other",
)
EXPECTED_MINUTES = (15, 30, 45, 60, 90, 120)
MIN_MINUTES, MAX_MINUTES = 5, 240
CLOCK_SKEW = timedelta(minutes=10)  # how far ahead of the server a phone's clock may be
OLDEST_CHECK_IN = timedelta(days=14)
MAX_PEOPLE = 20
FLAG_LIMIT = 600
_RISK_ORDER = {Risk.RED: 0, Risk.AMBER: 1, Risk.GREEN: 2}


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _address_line(address: Address | None) -> str:
    if address is None:
        return ""
    return ", ".join(p for p in (address.line1, address.line2, address.town) if p)


# ---------------------------------------------------------------------------------------------
# GET /api/v1/visits/mine


def _colleagues(session: Session, actor: Actor) -> list[tuple[int, str, str]]:
    """Active officers and leads other than the actor: the buddy and second-officer choices."""
    return session.exec(
        select(User.id, User.name, User.role)
        .where(
            col(User.role).in_(CASEWORKERS), col(User.is_active), User.id != actor.user_id
        )
        .order_by(User.name, User.id)
    ).all()


def phone_list(session: Session, *, actor: Actor | None) -> dict[str, Any]:
    """What the phone caches to work offline: the caller, the form's choices, the caller's
    open cases (soonest visit first, then Red, Amber, Green), their visits still checked in
    and their open lone-working alerts. A fixed number of queries, whatever the case count."""
    actor = require_role(actor, *CASEWORKERS)
    now = utcnow()
    rows = session.exec(
        select(Case, Child)
        .join(Child, Child.id == Case.child_id)
        .where(Case.allocated_officer_id == actor.user_id, col(Case.stage).in_(OPEN_STAGES))
    ).all()
    case_ids = [case.id for case, _ in rows]
    homes: dict[int, Address] = {}
    recorded: dict[int, list[HomeVisit]] = {}
    if rows:
        for address in session.exec(
            select(Address)
            .where(
                col(Address.referral_id).in_([case.referral_id for case, _ in rows]),
                Address.kind == AddressKind.LAST_KNOWN,
            )
            .order_by(Address.id)
        ).all():
            homes.setdefault(address.referral_id, address)
        for visit in session.exec(
            select(HomeVisit)
            .where(col(HomeVisit.case_id).in_(case_ids), col(HomeVisit.outcome).is_not(None))
            .order_by(HomeVisit.visited_on, HomeVisit.id)
        ).all():
            recorded.setdefault(visit.case_id, []).append(visit)

    cases = []
    for case, child in rows:
        visits = recorded.get(case.id, [])
        latest = visits[-1] if visits else None
        home = homes.get(case.referral_id)
        if latest is None:
            due, reason = case.first_visit_due_on, "First visit due"
        else:
            due = latest.next_action_due
            reason = (latest.next_action or "Next action due") if due else ""
        cases.append(
            {
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
                "accompanied_by_default": case.joint_visit_required
                or (case.risk == Risk.RED and not visits),
                "visits_recorded": len(visits),
                "last_visit_on": _iso(latest.visited_on) if latest else None,
                "next_visit_due": _iso(due),
                "next_visit_reason": reason,
            }
        )
    cases.sort(
        key=lambda c: (
            c["next_visit_due"] is None,
            c["next_visit_due"] or "",
            _RISK_ORDER.get(c["risk"], 3),
            c["reference"],
        )
    )
    open_visits = session.exec(
        select(HomeVisit, Case.reference)
        .join(Case, Case.id == HomeVisit.case_id)
        .where(
            HomeVisit.officer_id == actor.user_id,
            col(HomeVisit.checked_in_at).is_not(None),
            col(HomeVisit.checked_out_at).is_(None),
        )
        .order_by(HomeVisit.checked_in_at)
    ).all()
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
        "options": {
            "outcomes": [{"value": v, "label": label} for v, label in VISIT_OUTCOMES.items()],
            "relationships": list(RELATIONSHIPS),
            "colleagues": [
                {"id": i, "name": name, "role": str(role)}
                for i, name, role in _colleagues(session, actor)
            ],
            "expected_minutes": list(EXPECTED_MINUTES),
        },
        "cases": cases,
        "open_visits": [
            {
                "client_uuid": visit.client_uuid,
                "reference": reference,
                "checked_in_at": _iso(visit.checked_in_at),
                "expected_end_at": _iso(visit.expected_end_at),
                "overdue": visit.expected_end_at is not None and visit.expected_end_at < now,
            }
            for visit, reference in open_visits
        ],
        "alerts": [a.to_json() for a in alerts],
    }


# ---------------------------------------------------------------------------------------------
# POST /api/v1/visits: checking each phase


def _moment(f: Form, name: str, missing: str) -> datetime | None:
    """An ISO 8601 date and time with its offset, as UTC."""
    raw = f.data.get(name)
    if not isinstance(raw, str) or not raw.strip():
        f.error(name, missing)
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        f.error(name, "Enter a date and time with its time zone")
        return None
    return value.astimezone(UTC)


def _whole_number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_in(
    raw: object, *, case: Case, colleagues: set[int], now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    """`colleagues`: the active officers and leads, other than the caller, who may be the
    buddy or the second officer."""
    f = Form(raw, _local_day(now), prefix="check_in.")
    at = _moment(f, "at", "Enter the time the visit started")
    if at is not None and at > now + CLOCK_SKEW:
        f.error("at", "The start of the visit can't be in the future")
    elif at is not None and at < now - OLDEST_CHECK_IN:
        f.error(
            "at", "The visit started more than 14 days ago. Record it on the case page instead"
        )
    address = f.text("address", "Enter the address you are visiting", limit=400)
    if f.data.get("risk_check_done") is not True:
        f.error("risk_check_done", "Confirm you have reviewed the warning markers")
    notes = f.text("risk_check_notes", "", required=False, limit=1000)
    accompanied = f.data.get("accompanied") is True
    second = _whole_number(f.data.get("second_officer_id")) if accompanied else None
    if case.joint_visit_required and not accompanied:
        f.error("accompanied", "This case needs a joint visit. Another officer must go with you")
    if (case.joint_visit_required or second is not None) and second not in colleagues:
        f.error("second_officer_id", "Choose the officer who is going with you")
        second = None
    buddy = _whole_number(f.data.get("buddy_id"))
    if buddy not in colleagues:
        f.error("buddy_id", "Choose your buddy: a colleague who will check you are safe")
    elif buddy == second:
        f.error("buddy_id", "Your buddy can't be the officer going with you")
    minutes = _whole_number(f.data.get("expected_minutes"))
    if minutes is None or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        f.error(
            "expected_minutes",
            f"Enter how long the visit will take, from {MIN_MINUTES} to {MAX_MINUTES} minutes",
        )
    values = {
        "checked_in_at": at,
        "visited_on": _local_day(at) if at else None,
        "address": address,
        "risk_check_done": True,
        "risk_check_notes": notes or None,
        "accompanied": accompanied,
        "second_officer_id": second,
        "buddy_id": buddy,
        "expected_minutes": minutes,
        "expected_end_at": at + timedelta(minutes=minutes) if at and minutes else None,
    }
    return values, f.errors


def _year_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _people(f: Form, raw: object) -> list[dict[str, str]]:
    """People spoken to: each a name and relationship, or a description of someone who would
    not give a name."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        f.error("people_spoken_to", "Enter the people you spoke to")
        return []
    if len(raw) > MAX_PEOPLE:
        f.error("people_spoken_to", f"Enter up to {MAX_PEOPLE} people")
        return []
    people = []
    for i, item in enumerate(raw):
        p = Form(item, f.today, prefix=f"{f.prefix}people_spoken_to.{i}.")
        name = p.text("name", "", required=False, limit=200)
        relationship = str(p.data.get("relationship") or "")
        description = p.text("description", "", required=False, limit=400)
        if (relationship and relationship not in RELATIONSHIPS) or (name and not relationship):
            p.error("relationship", "Choose how they are related to the child")
        if not name and not description:
            p.error("name", "Enter their name, or describe them if they would not give it")
        f.errors += p.errors
        people.append({"name": name, "relationship": relationship, "description": description})
    return people


def _record(
    raw: object, *, visited_on: date | None, now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    f = Form(raw, _local_day(now), prefix="record.")
    outcome = f.choice("outcome", VISIT_OUTCOMES, "Choose the outcome of the visit")
    seen = f.choice("child_seen", YES_NO, "Say whether the child was seen")
    alone = (
        f.choice("seen_alone", YES_NO, "Say whether the child was seen alone")
        if seen == "yes"
        else "no"
    )
    if outcome == "child_seen_safe" and seen == "no":
        f.error("child_seen", "The outcome says the child was seen: choose Yes, or another outcome")
    people = _people(f, f.data.get("people_spoken_to"))
    neighbours = f.choice(
        "neighbours_spoken", {**YES_NO, "": ""}, "Say whether you spoke to neighbours"
    )
    said = f.text("neighbours_said", "", required=False, limit=2000)
    if said and neighbours in ("no", ""):
        f.error("neighbours_said", "Only say what neighbours said if you spoke to neighbours")
    card = f.choice("calling_card_left", YES_NO, "Say whether you left a calling card")
    notes = f.text("notes", "", required=False, limit=4000)
    opinion = f.text("opinion", "", required=False, limit=4000)
    raised = f.choice(
        "safeguarding_raised", YES_NO, "Say whether you raised a safeguarding concern"
    )
    mash = f.text(
        "mash_reference",
        "Enter the MASH or Front Door reference",
        required=raised == "yes",
        limit=60,
    )
    next_action = f.text("next_action", "Enter the next action", limit=400)
    due = f.day("next_action_due", "date the next action is due", future=True)
    if due and visited_on and due < visited_on:
        f.error("next_action_due", "The next action can't be due before the visit")
    elif due and visited_on and due > _year_on(visited_on):
        f.error("next_action_due", "The next action must be due within a year of the visit")
    saved = f.data.get("saved_at")
    try:
        saved_at = datetime.fromisoformat(saved) if isinstance(saved, str) else None
    except ValueError:
        saved_at = None
    values = {
        "outcome": outcome,
        "child_seen": seen == "yes",
        "seen_alone": seen == "yes" and alone == "yes",
        "people_spoken_to": people,
        "neighbours_spoken": neighbours == "yes",
        "neighbours_said": said or None,
        "calling_card_left": card == "yes",
        "notes": notes or None,
        "opinion": opinion or None,
        "safeguarding_raised": raised == "yes",
        "mash_reference": (mash or None) if raised == "yes" else None,
        "next_action": next_action,
        "next_action_due": due,
        # The phone's clock, but never later than the server's.
        "record_saved_at": min(saved_at.astimezone(UTC), now)
        if saved_at and saved_at.tzinfo
        else now,
    }
    return values, f.errors


def _check_out(
    raw: object, *, checked_in_at: datetime | None, recorded: bool, now: datetime
) -> tuple[datetime | None, list[FieldError]]:
    f = Form(raw, _local_day(now), prefix="check_out.")
    if not recorded:
        f.error("at", "Save the visit before you end it")
        return None, f.errors
    at = _moment(f, "at", "Enter the time the visit ended")
    if at is not None and checked_in_at is not None and at < checked_in_at:
        f.error("at", "The end of the visit can't be before its start")
    elif at is not None and at > now + CLOCK_SKEW:
        f.error("at", "The end of the visit can't be in the future")
    return at, f.errors


def _new_phases(
    session: Session,
    *,
    doc: dict,
    visit: HomeVisit | None,
    case: Case,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Check every phase the server does not hold yet: all the errors at once, or the values.
    Only a visit's first send is checked in; after that `check_in` is never read again."""
    errors: list[FieldError] = []
    phases: dict[str, Any] = {}
    if visit is None:
        if doc.get("check_in") is None:
            raise ValidationFailed(
                [FieldError("check_in.at", "Start the visit before you save it")]
            )
        colleagues = {i for i, _, _ in _colleagues(session, actor)}
        phases["check_in"], found = _check_in(
            doc["check_in"], case=case, colleagues=colleagues, now=now
        )
        errors += found
        checked_in_at = phases["check_in"]["checked_in_at"]
        visited_on = phases["check_in"]["visited_on"]
    else:
        checked_in_at, visited_on = visit.checked_in_at, visit.visited_on
    recorded = visit is not None and visit.outcome is not None
    if not recorded and doc.get("record") is not None:
        phases["record"], found = _record(doc["record"], visited_on=visited_on, now=now)
        errors += found
    if (visit is None or visit.checked_out_at is None) and doc.get("check_out") is not None:
        phases["check_out"], found = _check_out(
            doc["check_out"],
            checked_in_at=checked_in_at,
            recorded=recorded or "record" in phases,
            now=now,
        )
        errors += found
    if errors:
        raise ValidationFailed(errors)
    return phases


# ---------------------------------------------------------------------------------------------
# POST /api/v1/visits: who, conflicts and storing


def _client_uuid(value: object) -> str:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else ""
    except ValueError:
        return ""


def _find(session: Session, client_uuid: str) -> HomeVisit | None:
    """The visit, locked until commit, so two sends of its next phase at once store it once."""
    return session.exec(
        select(HomeVisit)
        .where(HomeVisit.client_uuid == client_uuid)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _refuse(session: Session, actor: Actor, case: Case, client_uuid: str, why: str) -> None:
    audit.record(
        session,
        actor=actor,
        action="visit.synced",
        outcome="refused",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"uuid": client_uuid, "reason": why},
    )
    raise NotAllowed("You can't log a visit on this case.")


def _was_allocated(session: Session, case: Case, user_id: int) -> bool:
    """Allocated now, or at some time before (reassigned while out on the visit)."""
    if case.allocated_officer_id == user_id:
        return True
    changes = session.exec(
        select(AuditEvent.detail).where(
            AuditEvent.action == "case.allocated",
            AuditEvent.entity_type == "case",
            AuditEvent.entity_id == case.reference,
            AuditEvent.outcome == "ok",
        )
    ).all()

    def officer(side: object) -> object:  # {"allocated_officer_id": n}; older events: n
        return side.get("allocated_officer_id") if isinstance(side, dict) else side

    return any(
        user_id in (officer(change.get("before")), officer(change.get("after")))
        for change in changes
        if isinstance(change, dict)
    )


def _conflicts(session: Session, *, doc: dict, case: Case, actor: Actor) -> dict[str, str]:
    """Why a lead must look at this visit, in plain words, keyed by a code for the audit."""
    seen = doc.get("seen_case") if isinstance(doc.get("seen_case"), dict) else {}
    found: dict[str, str] = {}
    if case.stage == Stage.CLOSED:
        found["closed"] = "The case was closed before this visit reached the server."
    elif case.stage == Stage.RETURNED:
        found["returned"] = (
            "The referral had gone back to the school before this visit reached the server."
        )
    elif isinstance(seen.get("stage"), str) and seen["stage"] != case.stage:
        found["stage_moved"] = (
            f"The case moved from {STAGE_LABELS.get(seen['stage'], 'another stage')} to "
            f"{STAGE_LABELS.get(case.stage, case.stage)} while the visit was being logged."
        )
    if actor.role == Role.LEAD:
        seen_officer = _whole_number(seen.get("officer_id"))
        reassigned = seen_officer is not None and seen_officer != case.allocated_officer_id
    else:
        reassigned = case.allocated_officer_id != actor.user_id
    if reassigned:
        officer = (
            session.get(User, case.allocated_officer_id) if case.allocated_officer_id else None
        )
        found["reassigned"] = (
            f"The case is now allocated to {officer.name}."
            if officer
            else "The case is no longer allocated to an officer."
        )
    return found


def _apply_flags(visit: HomeVisit, reasons: dict[str, str]) -> list[str]:
    """Add reasons not already on the visit; the codes added. A new reason puts a visit a
    lead already reviewed back in front of the leads."""
    current = visit.flag_reason or ""
    added = [code for code, text in reasons.items() if text not in current]
    if added:
        text = " ".join([current, *(reasons[c] for c in added)]).strip()
        visit.flag_reason = text[:FLAG_LIMIT]
        visit.flag_reviewed_at = visit.flag_reviewed_by_id = None
    return added


def _insert(session: Session, visit: HomeVisit) -> bool:
    """Insert a new visit in a savepoint. If another request stored the same uuid first (the
    unique key decides), undo just the insert and say so, so the caller re-reads."""
    try:
        with session.begin_nested():
            session.add(visit)
        return True
    except IntegrityError:
        return False


def _check_owner(session: Session, actor: Actor, case: Case, visit: HomeVisit) -> None:
    if visit.officer_id != actor.user_id or visit.case_id != case.id:
        _refuse(session, actor, case, visit.client_uuid, "not_your_visit")


def _answer(visit: HomeVisit, case: Case) -> dict[str, Any]:
    return {
        "client_uuid": visit.client_uuid,
        "reference": case.reference,
        "checked_in": visit.checked_in_at is not None,
        "recorded": visit.outcome is not None,
        "checked_out": visit.checked_out_at is not None,
        "flagged": bool(visit.flag_reason),
        "flag_reason": visit.flag_reason,
        "synced_at": _iso(visit.synced_at),
    }


def _store(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    visit: HomeVisit,
    phases: dict[str, Any],
    doc: dict,
    now: datetime,
    checked_in: bool,
) -> None:
    """Write the new record and check-out phases, flag the visit if the case changed, and
    audit each step. A visit with no flag marks the case updated so open boards refresh."""
    if not (checked_in or phases):
        return  # a replay of what the server holds: nothing changes
    if "record" in phases:
        for name, value in phases["record"].items():
            setattr(visit, name, value)
        visit.recorded_at = now
        # Which fields were written, never their text (names of people spoken to, notes).
        detail = {
            "uuid": visit.client_uuid,
            "outcome": visit.outcome,
            "fields": sorted(phases["record"]),
        }
        audit.case_event(session, actor=actor, case=case, action="visit.recorded", detail=detail)
    if "check_out" in phases:
        visit.checked_out_at = phases["check_out"]
        resolved = lone_working.resolve_for_visit(
            session, visit=visit, actor=actor, note="Checked out", now=now
        )
        detail = {
            "uuid": visit.client_uuid,
            "alerts_resolved": resolved,
            "before": {"checked_out_at": None},
            "after": {"checked_out_at": visit.checked_out_at.isoformat()},
        }
        audit.case_event(session, actor=actor, case=case, action="visit.checked_out", detail=detail)
    visit.synced_at = now
    reasons = _conflicts(session, doc=doc, case=case, actor=actor)
    added = _apply_flags(visit, reasons)
    session.add(visit)
    if added:
        audit.case_event(
            session, actor=actor, case=case, action="visit.flagged",
            detail={"uuid": visit.client_uuid, "reasons": added},
        )
        notifications.visit_flagged(
            session, case=case, visit_uuid=visit.client_uuid,
            flags={code: reasons[code] for code in added},
        )
    if not visit.flag_reason:
        case.updated_at = utcnow()
        case.updated_by_id = actor.user_id
        session.add(case)
    session.flush()


def sync_visit(
    session: Session, *, actor: Actor | None, payload: dict, now: datetime | None = None
) -> dict[str, Any]:
    """Store what is new in one visit document and say which phases the server now holds.

    Idempotent on `client_uuid`: a phase already stored is never overwritten, and two first
    sends of one uuid at once give one row. The uuid belongs to its officer and case."""
    actor = require_role(actor, *CASEWORKERS)
    now = now or utcnow()
    doc = payload if isinstance(payload, dict) else {}
    client_uuid = _client_uuid(doc.get("client_uuid"))
    if not client_uuid:
        raise ValidationFailed([FieldError("client_uuid", "The visit has no valid id")])
    case = load_case(
        session,
        actor=actor,
        reference=doc.get("case_reference"),
        action="visit.synced",
        lock=False,
    )
    visit = _find(session, client_uuid)
    if visit is not None:
        _check_owner(session, actor, case, visit)
    elif actor.role != Role.LEAD and not _was_allocated(session, case, actor.user_id):
        _refuse(session, actor, case, client_uuid, "not_allocated")
    phases = _new_phases(session, doc=doc, visit=visit, case=case, actor=actor, now=now)
    checked_in = False
    if visit is None:
        row = HomeVisit(
            client_uuid=client_uuid,
            case_id=case.id,
            officer_id=actor.user_id,
            created_offline=doc.get("created_offline") is True,
            synced_at=now,
            **phases.pop("check_in"),
        )
        checked_in = _insert(session, row)
        if checked_in:
            visit = row
            detail = {"uuid": client_uuid, "offline": row.created_offline}
            audit.case_event(
                session, actor=actor, case=case, action="visit.checked_in", detail=detail
            )
        else:  # another request stored this uuid first: go on from its row
            visit = _find(session, client_uuid)
            _check_owner(session, actor, case, visit)
            phases = _new_phases(session, doc=doc, visit=visit, case=case, actor=actor, now=now)
    _store(
        session,
        actor=actor,
        case=case,
        visit=visit,
        phases=phases,
        doc=doc,
        now=now,
        checked_in=checked_in,
    )
    return _answer(visit, case)
