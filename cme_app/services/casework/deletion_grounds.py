"""Which deletion ground a referring school may use for a child the LA has a case on, and from
which day (regulation 9(1), 2024 Registration Regulations). The exhausted-enquiries notice,
the outcome texts and the letters built from them all read `deletion_ground_for`, for a closed
case or an open one.

- No roll, no notice: only a school that referred a child on its roll has a roll to delete
  from (not another LA's notice, a child new to the country, or a pupil already removed).
- H: not back within 10 school days of the end of agreed leave (its own clock).
- I: 20 or more continuous school days' unauthorised absence since the child last attended,
  or since the day they were expected to start. Completed school days only: today is not over.
- G: the family no longer lives within reasonable distance of the school.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from ...dates import long_date, uk_today
from ...domain import SourceType, ground_regulation, ground_words
from ...models import Case, Referral
from ...permissions import Actor, Capability, require
from ...settings import get_settings
from ..school_calendar.school_days import CalendarNotSeeded, SchoolCalendar, load_calendar
from ..trust import audit
from .lifecycle import load_case

# Ground H: the pupil has not returned within this many school days of the end of the leave.
LEAVE_SCHOOL_DAYS = 10
ON_ROLL = ("on_roll", "never_started", None)  # None: a school referral from before the choice
NO_CALENDAR = "Term dates are missing, so school days can't be counted."


@dataclass(frozen=True)
class GroundAdvice:
    applies: bool  # a school has a roll to delete the child from: a notice applies at all
    ground: str | None = None  # "G" | "H" | "I"
    ground_met_on: date | None = None  # the first day the ground's clock is met
    met: bool = False  # met by `today`
    reason_words: str = ""  # why this ground (or why no notice), in plain words
    clock_from: date | None = None  # the day the clock runs from (last attended, start, leave)
    school_days: int | None = None  # completed school days counted so far
    needed: int = 0  # school days the ground needs
    calendar_missing: bool = False

    @property
    def regulation(self) -> str:
        return ground_regulation(self.ground) if self.ground else ""


def on_roll_referral(referral: Referral | None) -> bool:
    return (referral is not None and referral.source_type == SourceType.SCHOOL
            and referral.on_roll_status in ON_ROLL)


def _no_roll(referral: Referral | None) -> GroundAdvice:
    if referral is not None and referral.on_roll_status == "deleted":
        words = "The school has already removed the child from its roll."
    else:
        words = "The child was not referred by a school from its roll, so there is no roll " \
                "to remove them from."
    return GroundAdvice(False, reason_words=words)


def _clock(calendar: SchoolCalendar, before_first_day: date, needed: int,
           today: date) -> tuple[date, int]:
    """(the first day `needed` school days after `before_first_day` are complete, how many
    are complete by today)."""
    last_needed = calendar.nth_school_day_of_absence(before_first_day, needed)
    done = calendar.school_days_between(before_first_day, today - timedelta(days=1))
    return last_needed + timedelta(days=1), done


def _counted(ground: str, before_first_day: date, needed: int, today: date, words: str,
             calendar: SchoolCalendar) -> GroundAdvice:
    try:
        met_on, done = _clock(calendar, before_first_day, needed, today)
    except CalendarNotSeeded:
        return GroundAdvice(True, ground, None, False, words, before_first_day, None, needed,
                            calendar_missing=True)
    return GroundAdvice(True, ground, met_on, met_on <= today, words, before_first_day, done,
                        needed)


def deletion_ground_for(session: Session, case: Case, today: date, *,
                        moved_beyond_reasonable_distance: bool = False) -> GroundAdvice:
    """The ground the referring school may use and from when, from the case's facts: for a
    closure's notice or while the case stays open."""
    referral = session.get(Referral, case.referral_id)
    if not on_roll_referral(referral):
        return _no_roll(referral)
    assert referral is not None
    if moved_beyond_reasonable_distance:
        return GroundAdvice(True, "G", None, True, "The family no longer lives within "
                            "reasonable distance of the school.")
    calendar = load_calendar(session)
    leave_end = referral.leave_ends_on
    if referral.category == "not_returned_after_leave" and leave_end is not None:
        return _counted("H", leave_end, LEAVE_SCHOOL_DAYS, today,
                        f"The pupil did not return within {LEAVE_SCHOOL_DAYS} school days of the "
                        f"end of agreed leave on {long_date(leave_end)}.", calendar)
    needed = get_settings().untraceable_min_school_days
    if referral.expected_start_date is not None:
        start = referral.expected_start_date
        return _counted("I", start - timedelta(days=1), needed, today,
                        f"{needed} continuous school days' absence without permission since "
                        f"the pupil was expected to start on {long_date(start)}.", calendar)
    if referral.date_last_attended is not None:
        last = referral.date_last_attended
        return _counted("I", last, needed, today,
                        f"{needed} continuous school days' absence without permission since the "
                        f"pupil last attended on {long_date(last)}.", calendar)
    return GroundAdvice(True, "I", None, False, f"{needed} continuous school days' absence "
                        "without permission (the school gave no date to count from).",
                        needed=needed)


def ground_for_case(session: Session, *, actor: Actor | None, reference: str,
                    today: date | None = None, moved_beyond_reasonable_distance: bool = False
                    ) -> GroundAdvice:
    """`deletion_ground_for` for staff, on a case that may stay open: the facts a notice to
    the school is made from (an audited read of the child's case)."""
    actor = require(actor, Capability.CASE_VIEW)
    case = load_case(session, actor=actor, reference=reference, action="case.ground_advice",
                     lock=False)
    advice = deletion_ground_for(session, case, today or uk_today(),
                                 moved_beyond_reasonable_distance=moved_beyond_reasonable_distance)
    audit.case_event(session, actor=actor, case=case, action="case.ground_advice",
                     detail={"ground": advice.ground, "applies": advice.applies})
    return advice


def ground_not_met(advice: GroundAdvice) -> str | None:
    """Why the ground's clock stops a closure that relies on it today (None: it doesn't)."""
    if not advice.applies or advice.clock_from is None:
        return None
    if advice.calendar_missing:
        return NO_CALENDAR
    if advice.met:
        return None
    if advice.ground == "H":
        return (f"Ground H requires {advice.needed} school days after the end of agreed leave "
                f"(so far {advice.school_days}).")
    return (f"Ground I requires ≥ {advice.needed} continuous school days' absence "
            f"(so far {advice.school_days}).")


def check_off_roll_date(advice: GroundAdvice, off_roll: date, today: date) -> str | None:
    """No retrospective deletion: the agreed off-roll date is today or later, and not before
    the day the ground is met."""
    if off_roll < today:
        return ("The off-roll date can't be in the past: the pupil comes off the roll from "
                "today or a later date, never backdated")
    if advice.ground_met_on is not None and off_roll < advice.ground_met_on:
        return (f"The off-roll date can't be before {long_date(advice.ground_met_on)}, the day "
                f"ground {advice.ground} is met")
    return None


def from_day(advice: GroundAdvice, today: date) -> date:
    """The first day the school may remove the pupil: today, or the day the ground is met."""
    return max(today, advice.ground_met_on) if advice.ground_met_on else today


def exhausted_notice(case: Case, advice: GroundAdvice, off_roll: date | None,
                     today: date) -> str:
    """The 'joint reasonable enquiries exhausted' notice for the school (SC-14, BR-L11)."""
    lines = [
        f"Case {case.reference}: joint reasonable enquiries exhausted.",
        "The school and the local authority have jointly made reasonable enquiries and "
        f"have not been able to establish the pupil's whereabouts (as of {long_date(today)}).",
        advice.reason_words,
    ]
    if off_roll:
        lines.append(
            f"Agreed off-roll date: {long_date(off_roll)}, under {advice.regulation} "
            f"(ground {advice.ground}). Upload a lost CTF (XXXXXXX) to S2S.")
    return "\n".join(lines)


def ground_notice(case: Case, advice: GroundAdvice, today: date) -> str:
    """What the school may now do, for an outcome that leaves the pupil on its roll: the
    ground it may use and from when (also for a case that stays open)."""
    if not advice.applies or advice.ground is None:
        return ""
    when = from_day(advice, today)
    return "\n".join([
        f"Case {case.reference}: you may now remove the pupil from your roll under "
        f"{advice.regulation} ({ground_words(advice.ground)}) from {long_date(when)}.",
        advice.reason_words,
    ])
