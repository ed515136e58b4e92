"""A home visit as the case file shows it: everything it holds, in words, leaving out what it
doesn't hold."""

from __future__ import annotations

from datetime import datetime

from ...dates import LONDON, clock, short_date, short_date_time
from ...models import (
    HomeVisit,
)
from ..casework.case_file_types import (
    Row,
    VisitRow,
)
from ..casework.pathway import (
    VISIT_OUTCOMES,
)
from ..forms import YES_NO


def visit_row(v: HomeVisit, names: dict[int, str], now: datetime) -> VisitRow:
    """Everything one visit holds, in words, leaving out what it doesn't hold: a visit logged
    afterwards at a desk has no check-in and none of the phone record's details."""
    from_phone = v.checked_in_at is not None
    part = ""
    if from_phone:
        part = "AM" if v.checked_in_at.astimezone(LONDON).hour < 12 else "PM"
    rows = [("Address visited", v.address), ("Officers", _officers(v, names))]
    if from_phone:
        rows += _check_in_rows(v, names)
    rows.append(("Outcome", VISIT_OUTCOMES.get(v.outcome, v.outcome) if v.outcome
                 else "Not recorded yet"))
    if v.outcome:
        seen = ("Yes, seen alone" if v.seen_alone else "Yes, not alone") if v.child_seen else "No"
        rows.append(("Child seen", seen))
    if v.outcome and from_phone:
        rows += _phone_record_rows(v)
    status, status_text = _visit_status(v, now)
    return VisitRow(
        id=v.id,
        heading=short_date(v.visited_on) + (f", {part}" if part else ""),
        status=status,
        status_text=status_text,
        rows=[Row(label, value) for label, value in rows if value],
        notes=v.notes or "",
        opinion=v.opinion or "",
        offline_note=_offline_note(v),
        flag_reason=v.flag_reason or "",
        flag_review=_flag_review(v, names),
    )


def _officers(v: HomeVisit, names: dict[int, str]) -> str:
    officer = names.get(v.officer_id, "")
    if v.checked_in_at is None:
        return officer
    second = names.get(v.second_officer_id, "")
    officers = f"{officer} with {second}" if v.accompanied and second else officer
    return officers + (" (accompanied)" if v.accompanied else " (alone)")


def _check_in_rows(v: HomeVisit, names: dict[int, str]) -> list[tuple[str, str]]:
    check = "Warning markers reviewed" if v.risk_check_done else "Not done"
    return [
        ("Buddy", names.get(v.buddy_id, "")),
        ("Pre-visit safety check", check + (f": {v.risk_check_notes}"
                                            if v.risk_check_notes else "")),
        ("Checked in", clock(v.checked_in_at)),
        ("Checked out", clock(v.checked_out_at) if v.checked_out_at else "Not yet"),
    ]


def _phone_record_rows(v: HomeVisit) -> list[tuple[str, str]]:
    people = [
        f"{p.get('name') or p.get('description') or 'Not named'}"
        + (f" ({p['relationship']})" if p.get("relationship") else "")
        for p in v.people_spoken_to or []
        if isinstance(p, dict)
    ]
    neighbours = (f"Yes: {v.neighbours_said}" if v.neighbours_spoken and v.neighbours_said
                  else YES_NO["yes" if v.neighbours_spoken else "no"])
    rows = [
        ("People spoken to", "\n".join(people) or "None"),
        ("Neighbours spoken to", neighbours),
        ("Calling card left", YES_NO["yes" if v.calling_card_left else "no"]),
        ("Safeguarding concern raised",
         f"Yes, MASH reference {v.mash_reference}" if v.safeguarding_raised else "No"),
    ]
    if v.next_action:
        due = f" (due {short_date(v.next_action_due)})" if v.next_action_due else ""
        rows.append(("Next action", v.next_action + due))
    return rows


def _visit_status(v: HomeVisit, now: datetime) -> tuple[str, str]:
    """(in_progress | overdue | "", words) for a visit checked in and not yet out."""
    if v.checked_in_at is None or v.checked_out_at is not None:
        return "", ""
    expected = v.expected_end_at
    status = "overdue" if expected is not None and now > expected else "in_progress"
    return status, "In progress — expected back " + (clock(expected) if expected else "")


def _offline_note(v: HomeVisit) -> str:
    if not (v.created_offline and v.synced_at):
        return ""
    sent_same_day = v.synced_at.astimezone(LONDON).date() == v.visited_on
    return "Recorded offline, sent " + (clock(v.synced_at) if sent_same_day
                                        else short_date_time(v.synced_at))


def _flag_review(v: HomeVisit, names: dict[int, str]) -> str:
    if not (v.flag_reason and v.flag_reviewed_at):
        return ""
    who = names.get(v.flag_reviewed_by_id, "a team lead")
    return f"Reviewed by {who}, {short_date_time(v.flag_reviewed_at)}"
