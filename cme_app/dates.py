"""UK time and the ways dates are written, once for the whole app.

The database keeps UTC; people read UK time (GMT or BST). Dates are written the GOV.UK way,
with no leading zero: "6 December 2026" in sentences and headings, "6 Dec 2026" in tables
and cards where space is short.
"""

from __future__ import annotations

import re
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


# ---------------------------------------------------------------------------------------------
# School age: compulsory school age and year groups come from the date of birth, never typed.


def compulsory_school_age(dob: date) -> tuple[date, date]:
    """(first day, last day) of compulsory school age in England.

    Starts on the prescribed day (31 Aug, 31 Dec, 31 Mar) on or after the 5th birthday; ends on
    the last Friday in June of the school year in which the child turns 16.
    """
    fifth = _birthday(dob, 5)
    prescribed = sorted(
        d
        for y in (fifth.year, fifth.year + 1)
        for d in (date(y, 3, 31), date(y, 8, 31), date(y, 12, 31))
        if d >= fifth
    )
    sixteenth = _birthday(dob, 16)
    end_year = sixteenth.year if sixteenth.month < 9 else sixteenth.year + 1
    june_30 = date(end_year, 6, 30)
    last_friday = june_30 - timedelta(days=(june_30.weekday() - 4) % 7)
    return prescribed[0], last_friday


def _birthday(dob: date, years: int) -> date:
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:  # 29 February
        return date(dob.year + years, 3, 1)


def academic_year_start(day: date) -> date:
    """1 September of the academic year `day` falls in."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def academic_year_label(day: date) -> str:
    """ "2026/27" for any day from 1 September 2026 to 31 August 2027."""
    start = academic_year_start(day).year
    return f"{start}/{(start + 1) % 100:02d}"


def year_group(dob: date, on: date) -> str | None:
    """The national curriculum year group on `on`: Reception for a child aged 4 on the
    31 August before the academic year, Year 1 at 5 ... Year 11 at 15; None outside that."""
    age = age_on(dob, academic_year_start(on) - timedelta(days=1))
    if age == 4:
        return "Reception"
    if 5 <= age <= 15:
        return f"Year {age - 4}"
    return None


# ----- the GOV.UK date input: Day, Month and Year boxes, one date to the services ----------

DATE_BOX = re.compile(r"(.+)-(day|month|year)")
_BOXES = ("day", "month", "year")


def join_date(day: str, month: str, year: str) -> str:
    """Three boxes as the service reads a date. Anything not a date is kept as typed, so the
    service's own message ("... must be a real date") answers it."""
    day, month, year = (p.strip() for p in (day, month, year))
    if not (day or month or year):
        return ""
    if day.isdigit() and month.isdigit() and year.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


def split_date(value: str) -> dict[str, str]:
    """A stored date as the three boxes show it (no leading zeros, as a person types)."""
    parts = (value or "").split("-", 2)
    if len(parts) != 3:
        return {"day": "", "month": "", "year": value or ""}
    year, month, day = parts
    strip = lambda p: p.lstrip("0") or p  # noqa: E731
    return {"day": strip(day), "month": strip(month), "year": year}


def join_date_boxes(fields: dict) -> dict:
    """A submitted form with each GOV.UK date input (`<name>-day`, `-month`, `-year`, all
    three sent) as one `<name>` the way the services read a date; everything else as sent."""
    boxes: dict[str, set[str]] = {}
    for key in fields:
        if isinstance(key, str) and (m := DATE_BOX.fullmatch(key)):
            boxes.setdefault(m.group(1), set()).add(m.group(2))
    whole = {name for name, parts in boxes.items() if len(parts) == len(_BOXES)}
    if not whole:
        return fields
    out = {k: v for k, v in fields.items()
           if not (isinstance(k, str) and (m := DATE_BOX.fullmatch(k)) and m.group(1) in whole)}
    for name in sorted(whole):
        parts = (fields[f"{name}-{box}"] for box in _BOXES)
        out[name] = join_date(*(p if isinstance(p, str) else "" for p in parts))
    return out
