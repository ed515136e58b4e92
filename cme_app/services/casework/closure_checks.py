"""The closure outcomes' rules across their evidence fields, and the notices closing sends
the referring school (closure.OUTCOMES names them; deletion_grounds.py works out the ground)."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import Session

from ...dates import long_date
from ...errors import FieldError
from ...models import Case
from ..intake.referral_form import parse_date
from .deletion_grounds import (
    check_off_roll_date,
    deletion_ground_for,
    exhausted_notice,
    ground_not_met,
    ground_notice,
)

REGISTRATION = re.compile(r"\d{6}|\d{3}/\d{4}")


def off_roll_date_check(session: Session, case: Case, evidence: dict, today: date
                        ) -> list[FieldError]:
    """Only a school that referred a child on its roll agrees an off-roll date; it is never
    in the past nor before the ground is met (no retrospective deletion)."""
    advice = deletion_ground_for(session, case, today)
    if not advice.applies:
        evidence["off_roll_date"] = ""
        return []
    day = parse_date(evidence.get("off_roll_date"))
    if not evidence.get("off_roll_date"):
        return [FieldError("off_roll_date", "Enter the off-roll date agreed with the school")]
    if day is None or (ground_not_met(advice) and day >= today):
        return []  # not a date (said already); a ground not yet met is a blocker of its own
    problem = check_off_roll_date(advice, day, today)
    return [FieldError("off_roll_date", problem)] if problem else []


def registered_or_assessed(session: Session, case: Case, evidence: dict, today: date
                           ) -> list[FieldError]:
    """A provider's registration (URN or DfE number), or the LA's own suitability assessment:
    a name alone says nothing about whether the education is suitable."""
    if evidence.get("provider_registration"):
        return []
    on, by = evidence.get("assessed_on"), evidence.get("assessed_by")
    if on and by:
        return []
    if on or by:
        missing = "assessed_by" if on else "assessed_on"
        return [FieldError(missing, "Enter both the date of the LA's suitability assessment "
                                    "and who made it")]
    return [FieldError("provider_registration",
                       "Enter the provider's URN or DfE number, or the date and author of the "
                       "LA's suitability assessment")]


def send_exhausted_notice(session, case, closure, evidence, actor, today) -> None:
    """The 'joint reasonable enquiries exhausted' notice, for a school with a roll to delete
    the child from (SC-14, BR-L11), naming the ground the facts give."""
    advice = deletion_ground_for(session, case, today)
    if advice.applies:
        closure.school_notice = exhausted_notice(
            case, advice, parse_date(evidence.get("off_roll_date")), today)


def send_ground_notice(session, case, closure, evidence, actor, today) -> None:
    """The ground the school may now use, and from when (left the UK unverified, moved)."""
    moved = evidence.get("beyond_reasonable_distance") == "yes"
    advice = deletion_ground_for(session, case, today, moved_beyond_reasonable_distance=moved)
    closure.school_notice = ground_notice(case, advice, today) or None


def started_by_today(session: Session, case: Case, evidence: dict, today: date
                     ) -> list[FieldError]:
    """On roll from the start date the closure names, as from a recorded offer's: a child
    due to start later is still missing education (waiting school start)."""
    day = parse_date(evidence.get("start_date"))
    if day is None or day <= today:
        return []
    return [FieldError("start_date", f"The child starts on {long_date(day)}: until then they "
                       "are still missing education, so close the case on or after that day")]
