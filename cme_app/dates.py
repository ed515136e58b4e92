"""UK time and the ways dates are written, once for the whole app.

The database keeps UTC; people read UK time (GMT or BST). Dates are written the GOV.UK way,
with no leading zero: "6 December 2026" in sentences and headings, "6 Dec 2026" in tables
and cards where space is short.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def uk_now() -> datetime:
    return datetime.now(LONDON)


def uk_today() -> date:
    return uk_now().date()


def uk_date(moment: datetime) -> date:
    """The UK calendar day of a moment (a case closed at 00:30 BST counts that day)."""
    return moment.astimezone(LONDON).date()


def uk_midnight(day: date) -> datetime:
    """The UTC moment a UK day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)


def long_date(value: date | datetime | None) -> str:
    """6 December 2026 (empty for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = uk_date(value)
    return f"{value.day} {value:%B %Y}"


def short_date(value: date | datetime | None) -> str:
    """6 Dec 2026 (empty for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = uk_date(value)
    return f"{value.day} {value:%b %Y}"


def clock(moment: datetime | None) -> str:
    """14:05, UK time (empty for None)."""
    return f"{moment.astimezone(LONDON):%H:%M}" if moment else ""


def short_date_time(moment: datetime | None) -> str:
    """6 Dec 2026 14:05, UK time (empty for None)."""
    return f"{short_date(moment)} {clock(moment)}" if moment else ""


def age_on(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def relative_date_time(moment: datetime, today: date) -> str:
    """UK time, as people say it: "Today 16:02", "Yesterday 09:15", "Mon 24 Nov 14:00", and
    "24 Dec 2025 09:05" from another year."""
    local = moment.astimezone(LONDON)
    day, time = local.date(), clock(moment)
    if day == today:
        return f"Today {time}"
    if day == today - timedelta(days=1):
        return f"Yesterday {time}"
    if day.year == today.year:
        return f"{local:%a} {day.day} {local:%b} {time}"
    return f"{day.day} {local:%b %Y} {time}"
