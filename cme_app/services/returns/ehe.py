"""The EHE part of the DfE return. The app keeps no list of home-educated children, so the EHE
team's own counts are imported per census day from a CSV of three columns:

    measure,category,count
    on_census_day,,42
    by_sex,Female,20
    by_year_group,Year 7,5
    by_reason,Mental health,3
    any_time_previous_year,,97

A file is checked whole before anything is stored: one bad row and nothing changes.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ...domain import RETURN_SEXES, UNKNOWN, YEAR_GROUPS
from ...errors import FieldError, ValidationFailed
from ...models import EheCount

FIELD = "ehe_file"  # the file input's id: the error summary links to it
HEADER = ("measure", "category", "count")
MEASURES = ("on_census_day", "by_sex", "by_year_group", "by_reason", "any_time_previous_year")
TOTALS = ("on_census_day", "any_time_previous_year")
CATEGORIES = {"by_sex": RETURN_SEXES, "by_year_group": (*YEAR_GROUPS, UNKNOWN)}
MAX_CHARS = 100_000
MAX_ERRORS = 5
MAX_COUNT = 1_000_000

Figures = dict[tuple[str, str], int]


def template() -> str:
    """The CSV to fill in: every fixed figure at 0; a by_reason row per reason is added."""
    rows = [HEADER, ("on_census_day", "", "0")]
    for measure, categories in CATEGORIES.items():
        rows += [(measure, c, "0") for c in categories]
    rows += [("by_reason", "Other", "0"), ("any_time_previous_year", "", "0")]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _problem(text: str) -> ValidationFailed:
    return ValidationFailed([FieldError(FIELD, text)])


def _read_rows(text: object) -> list[list[str]]:
    if not isinstance(text, str) or not text.strip():
        raise _problem("Choose a CSV file of the EHE team's counts")
    if len(text) > MAX_CHARS:
        raise _problem("The file is too big: the EHE counts fit in a few hundred rows")
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error:
        raise _problem("The file is not a CSV file: save it as CSV (comma separated)") from None
    rows = [[cell.strip() for cell in r] for r in rows if any(cell.strip() for cell in r)]
    if not rows or tuple(c.lower() for c in rows[0]) != HEADER:
        raise _problem("The first row must be the headings measure,category,count")
    return rows[1:]


def _check_row(number: int, cells: list[str]) -> tuple[tuple[str, str], int] | str:
    """((measure, category), count), or what is wrong with the row."""
    if len(cells) != 3:
        return f"Row {number} must have 3 columns: measure, category and count"
    measure, category, count = cells
    if measure not in MEASURES:
        return f"Row {number}: {measure[:40]!r} is not a measure. Use one of: " + ", ".join(
            MEASURES)
    if measure in TOTALS and category:
        return f"Row {number}: leave the category empty for {measure}"
    if measure in CATEGORIES and category not in CATEGORIES[measure]:
        return (f"Row {number}: {category[:40]!r} is not a category of {measure}. Use one of: "
                + ", ".join(CATEGORIES[measure]))
    if measure == "by_reason" and not 1 <= len(category) <= 120:
        return f"Row {number}: enter the reason in the category column (up to 120 characters)"
    if not (count.isascii() and count.isdigit()) or int(count) > MAX_COUNT:
        return f"Row {number}: the count must be a whole number, 0 or more"
    return (measure, category), int(count)


def _sums(figures: Figures) -> list[str]:
    problems = []
    for measure in TOTALS:
        if (measure, "") not in figures:
            problems.append(f"The file needs a row for {measure}")
    total = figures.get(("on_census_day", ""))
    for measure in ("by_sex", "by_year_group", "by_reason"):
        parts = [n for (m, _c), n in figures.items() if m == measure]
        if parts and total is not None and sum(parts) != total:
            problems.append(f"The {measure} counts add up to {sum(parts)}, but on_census_day "
                            f"is {total}: they must match")
    return problems


def parse(text: object) -> Figures:
    """The figures in the EHE team's CSV, or ValidationFailed naming each problem (the first
    few), linked to the file input."""
    figures: Figures = {}
    problems: list[str] = []
    for number, cells in enumerate(_read_rows(text), start=2):
        checked = _check_row(number, cells)
        if isinstance(checked, str):
            problems.append(checked)
        elif checked[0] in figures:
            problems.append(f"Row {number} repeats {checked[0][0]} {checked[0][1]}".rstrip())
        else:
            figures[checked[0]] = checked[1]
    if not problems:
        problems = _sums(figures)
    if problems:
        raise ValidationFailed([FieldError(FIELD, p) for p in problems[:MAX_ERRORS]])
    return figures


def replace_counts(session: Session, census: date, figures: Figures, user_id: int) -> int:
    session.execute(sa.delete(EheCount).where(col(EheCount.census_date) == census))
    for (measure, category), count in figures.items():
        session.add(EheCount(census_date=census, measure=measure, category=category,
                             count=count, imported_by_id=user_id))
    session.flush()
    return len(figures)


def figures(session: Session, census: date) -> dict:
    """The EHE part in the return's JSON shape, every key present (zeros when nothing was
    imported; by_reason holds the reasons the EHE team counted)."""
    rows = session.exec(
        select(EheCount).where(EheCount.census_date == census).order_by(col(EheCount.id))
    ).all()
    stored = {(r.measure, r.category): r.count for r in rows}
    return {
        "on_census_day": stored.get(("on_census_day", ""), 0),
        "by_sex": {c: stored.get(("by_sex", c), 0) for c in RETURN_SEXES},
        "by_year_group": {c: stored.get(("by_year_group", c), 0)
                          for c in CATEGORIES["by_year_group"]},
        "by_reason": {r.category: r.count for r in rows if r.measure == "by_reason"},
        "any_time_previous_year": stored.get(("any_time_previous_year", ""), 0),
        "imported": bool(rows),
    }
