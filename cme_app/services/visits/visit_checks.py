"""Checking what the phone sends for each phase of a visit: check-in (Start visit), the record
(Save visit) and check-out (End visit). Every error of every new phase is collected before
anything is stored, each named by where it sits in the visit document (`record.outcome`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ...dates import uk_date
from ...errors import FieldError, ValidationFailed
from ...models import Case, HomeVisit, User
from ...permissions import Actor, Capability, roles_with
from ..casework.pathway import seen_and_outcome
from ..forms import YES_NO, Form

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
# The lengths the phone offers. The rule and its message come from this one list, so the
# message never names a range the list doesn't offer.
EXPECTED_MINUTES = (15, 30, 45, 60, 90, 120)
MIN_MINUTES, MAX_MINUTES = EXPECTED_MINUTES[0], EXPECTED_MINUTES[-1]
CLOCK_SKEW = timedelta(minutes=10)  # how far ahead of the server a phone's clock may be
OLDEST_CHECK_IN = timedelta(days=14)
MAX_PEOPLE = 20


def minutes_label(minutes: int) -> str:
    """90 -> "1 hour 30 minutes", as the phone shows each length (assets/visits.jsx)."""
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} {'hour' if hours == 1 else 'hours'}"] if hours else []
    return " ".join([*parts, f"{rest} minutes"] if rest else parts)


EXPECTED_MINUTES_ERROR = (
    f"Choose how long the visit will take, from {minutes_label(MIN_MINUTES)} "
    f"to {minutes_label(MAX_MINUTES)}"
)


def colleagues(session: Session, actor: Actor) -> list[tuple[int, str, str]]:
    """Active officers and leads other than the actor: the buddy and second-officer choices."""
    return session.exec(
        select(User.id, User.name, User.role)
        .where(
            col(User.role).in_(roles_with(Capability.VISIT_LOG)),
            col(User.is_active),
            User.id != actor.user_id,
        )
        .order_by(User.name, User.id)
    ).all()


def whole_number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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


# ---------------------------------------------------------------------------------------------
# Check-in


def _started_at(f: Form, now: datetime) -> datetime | None:
    at = _moment(f, "at", "Enter the time the visit started")
    if at is not None and at > now + CLOCK_SKEW:
        f.error("at", "The start of the visit can't be in the future")
    elif at is not None and at < now - OLDEST_CHECK_IN:
        f.error(
            "at", "The visit started more than 14 days ago. Record it on the case page instead"
        )
    return at


def _company(f: Form, case: Case, colleagues: set[int]) -> tuple[bool, int | None, int | None]:
    """Whether another officer goes too (and who), and the buddy who checks on them."""
    accompanied = f.data.get("accompanied") is True
    second = whole_number(f.data.get("second_officer_id")) if accompanied else None
    if case.joint_visit_required and not accompanied:
        f.error("accompanied", "This case needs a joint visit. Another officer must go with you")
    if (case.joint_visit_required or second is not None) and second not in colleagues:
        f.error("second_officer_id", "Choose the officer who is going with you")
        second = None
    buddy = whole_number(f.data.get("buddy_id"))
    if buddy not in colleagues:
        f.error("buddy_id", "Choose your buddy: a colleague who will check you are safe")
    elif buddy == second:
        f.error("buddy_id", "Your buddy can't be the officer going with you")
    return accompanied, second, buddy


def check_in(
    raw: object, *, case: Case, colleagues: set[int], now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    """`colleagues`: the active officers and leads, other than the caller, who may be the
    buddy or the second officer."""
    f = Form(raw, uk_date(now), prefix="check_in.")
    at = _started_at(f, now)
    address = f.text("address", "Enter the address you are visiting", limit=400)
    if f.data.get("risk_check_done") is not True:
        f.error("risk_check_done", "Confirm you have reviewed the warning markers")
    notes = f.text("risk_check_notes", "", required=False, limit=1000)
    accompanied, second, buddy = _company(f, case, colleagues)
    minutes = whole_number(f.data.get("expected_minutes"))
    if minutes is None or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        f.error("expected_minutes", EXPECTED_MINUTES_ERROR)
    values = {
        "checked_in_at": at,
        "visited_on": uk_date(at) if at else None,
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


# ---------------------------------------------------------------------------------------------
# The record


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


def _neighbours(f: Form) -> tuple[bool, str]:
    spoken = f.choice(
        "neighbours_spoken", {**YES_NO, "": ""}, "Say whether you spoke to neighbours"
    )
    said = f.text("neighbours_said", "", required=False, limit=2000)
    if said and spoken in ("no", ""):
        f.error("neighbours_said", "Only say what neighbours said if you spoke to neighbours")
    return spoken == "yes", said


def _safeguarding(f: Form) -> tuple[bool, str | None]:
    """Whether a concern was raised and, if so, the MASH or Front Door reference."""
    raised = f.choice(
        "safeguarding_raised", YES_NO, "Say whether you raised a safeguarding concern"
    )
    mash = f.text(
        "mash_reference",
        "Enter the MASH or Front Door reference",
        required=raised == "yes",
        limit=60,
    )
    return raised == "yes", (mash or None) if raised == "yes" else None


def _next_action(f: Form, visited_on: date | None) -> tuple[str, date | None]:
    """What happens next and by when: due on or after the visit, within a year of it."""
    action = f.text("next_action", "Enter the next action", limit=400)
    due = f.day("next_action_due", "date the next action is due", future=True)
    if due and visited_on and due < visited_on:
        f.error("next_action_due", "The next action can't be due before the visit")
    elif due and visited_on and due > _year_on(visited_on):
        f.error("next_action_due", "The next action must be due within a year of the visit")
    return action, due


def _saved_at(raw: object, now: datetime) -> datetime:
    """The phone's clock when the record was saved, but never later than the server's."""
    try:
        saved = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        saved = None
    return min(saved.astimezone(UTC), now) if saved and saved.tzinfo else now


def record(
    raw: object, *, visited_on: date | None, now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    f = Form(raw, uk_date(now), prefix="record.")
    outcome, seen, alone = seen_and_outcome(f)
    people = _people(f, f.data.get("people_spoken_to"))
    neighbours, said = _neighbours(f)
    card = f.choice("calling_card_left", YES_NO, "Say whether you left a calling card")
    notes = f.text("notes", "", required=False, limit=4000)
    opinion = f.text("opinion", "", required=False, limit=4000)
    raised, mash = _safeguarding(f)
    next_action, due = _next_action(f, visited_on)
    values = {
        "outcome": outcome,
        "child_seen": seen,
        "seen_alone": alone,
        "people_spoken_to": people,
        "neighbours_spoken": neighbours,
        "neighbours_said": said or None,
        "calling_card_left": card == "yes",
        "notes": notes or None,
        "opinion": opinion or None,
        "safeguarding_raised": raised,
        "mash_reference": mash,
        "next_action": next_action,
        "next_action_due": due,
        "record_saved_at": _saved_at(f.data.get("saved_at"), now),
    }
    return values, f.errors


# ---------------------------------------------------------------------------------------------
# Check-out, and every new phase together


def check_out(
    raw: object, *, checked_in_at: datetime | None, recorded: bool, now: datetime
) -> tuple[datetime | None, list[FieldError]]:
    f = Form(raw, uk_date(now), prefix="check_out.")
    if not recorded:
        f.error("at", "Save the visit before you end it")
        return None, f.errors
    at = _moment(f, "at", "Enter the time the visit ended")
    if at is not None and checked_in_at is not None and at < checked_in_at:
        f.error("at", "The end of the visit can't be before its start")
    elif at is not None and at > now + CLOCK_SKEW:
        f.error("at", "The end of the visit can't be in the future")
    return at, f.errors


def new_phases(
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
        choices = {i for i, _, _ in colleagues(session, actor)}
        phases["check_in"], found = check_in(
            doc["check_in"], case=case, colleagues=choices, now=now
        )
        errors += found
        checked_in_at = phases["check_in"]["checked_in_at"]
        visited_on = phases["check_in"]["visited_on"]
    else:
        checked_in_at, visited_on = visit.checked_in_at, visit.visited_on
    recorded = visit is not None and visit.outcome is not None
    if not recorded and doc.get("record") is not None:
        phases["record"], found = record(doc["record"], visited_on=visited_on, now=now)
        errors += found
    if (visit is None or visit.checked_out_at is None) and doc.get("check_out") is not None:
        phases["check_out"], found = check_out(
            doc["check_out"],
            checked_in_at=checked_in_at,
            recorded=recorded or "record" in phases,
            now=now,
        )
        errors += found
    if errors:
        raise ValidationFailed(errors)
    return phases
