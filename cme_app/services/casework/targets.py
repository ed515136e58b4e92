"""Response targets (BR-L3) and the due/overdue badge they put on a case.

Triage targets count working days; first-visit targets count working days for Red (mirrors the
24-hour key-worker rule) and school days otherwise. All numbers come from settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ...domain import Risk, Stage
from ...models import Case
from ...settings import get_settings
from ..school_calendar.school_days import CalendarNotSeeded, SchoolCalendar

_INDEX = {Risk.RED: 0, Risk.AMBER: 1, Risk.GREEN: 2}


def _days(setting: tuple[int, int, int], risk: str | None) -> int:
    return setting[_INDEX.get(risk or Risk.GREEN, 2)]


def triage_due(risk: str | None, start: date, cal: SchoolCalendar) -> date:
    return cal.add_working_days(start, _days(get_settings().triage_working_days, risk))


def first_visit_due(risk: str | None, start: date, cal: SchoolCalendar) -> date:
    days = _days(get_settings().first_visit_days, risk)
    if risk == Risk.RED:
        return cal.add_working_days(start, days)
    try:
        return cal.add_school_days(start, days)
    except CalendarNotSeeded:
        # No term dates for this stretch: working days are the nearest safe reading.
        return cal.add_working_days(start, days)


def la_response_due(sent_on: date, cal: SchoolCalendar) -> date:
    return cal.add_working_days(sent_on, get_settings().la_response_working_days)


def school_days_due(start: date, days: int, cal: SchoolCalendar) -> date:
    """`days` school days after `start` (securing-education targets count school days)."""
    try:
        return cal.add_school_days(start, days)
    except CalendarNotSeeded:
        # No term dates for this stretch: working days are the nearest safe reading.
        return cal.add_working_days(start, days)


@dataclass(frozen=True)
class Due:
    what: str  # "Triage" | "First visit" | "LA response"
    on: date
    overdue: bool
    today: bool

    @property
    def label(self) -> str:
        if self.overdue:
            return f"{self.what} overdue"
        if self.today:
            return f"{self.what} due today"
        return f"{self.what} due {self.on.day} {self.on:%b}"

    @property
    def state(self) -> str:
        return "overdue" if self.overdue else "today" if self.today else "due"


def current_due(
    case: Case, *, today: date, visited: bool, response_due_on: date | None = None
) -> Due | None:
    """The one target that matters now for this case's stage, or None."""
    return due_for(case.stage, case.triage_due_on, case.first_visit_due_on, today=today,
                   visited=visited, response_due_on=response_due_on)


def due_for(
    stage: str, triage_due_on: date | None, first_visit_due_on: date | None, *,
    today: date, visited: bool, response_due_on: date | None = None,
) -> Due | None:
    """current_due from the columns alone, for reports that read thousands of cases."""
    if stage in (Stage.NEW_REFERRAL, Stage.TRIAGE):
        what, on = "Triage", triage_due_on
    elif stage in (Stage.ENQUIRIES, Stage.HOME_VISIT) and not visited:
        what, on = "First visit", first_visit_due_on
    elif stage == Stage.AWAITING_VERIFICATION:
        what, on = "LA response", response_due_on
    else:
        return None
    if on is None:
        return None
    return Due(what, on, overdue=today > on, today=today == on)
