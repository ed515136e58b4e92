"""The DfE return's downloads: the counts as CSV (section, category, count) for CME and EHE, a
workbook (CME counts, EHE counts, the children counted on census day, the warnings), and the
command line's JSON or CSV. Every export is audited like the dashboard's.

No cell can become a formula: CSV cells go through `safe_cell`; workbook text is written as
text (an inline string, marked with Excel's quote prefix when it starts like a formula), so a
child's name or a reason label such as "=HYPERLINK(...)" stays words.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlmodel import Session

from ...permissions import Actor, Capability, allows, require
from ..reporting.reports import looks_like_formula, safe_cell
from ..trust import audit
from . import census as cme_census
from . import ehe
from .dfe_return import MEASURE_LABELS, VIEW, _case_refs, _row, as_json, set_census_day

CSV_HEADER = ("Section", "Category", "Count")
CHILD_HEADER = ("Name", "Date of birth", "Sex", "Year group", "Episode start",
                "Primary reason", "Length of time missing education", "Case reference")
FORMATS = ("json", "csv")


def count_rows(part: str, shape: dict, measures: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """(section, category, count) for each figure of one part, zeros included."""
    rows: list[tuple[str, str, int]] = []
    for measure in measures:
        section = f"{part} {MEASURE_LABELS[measure]}"
        value = shape[measure]
        if isinstance(value, dict):
            rows += [(section, category, n) for category, n in value.items()]
        else:
            rows.append((section, "Total", value))
    return rows


def _all_rows(shape: dict) -> list[tuple[str, str, int]]:
    return (count_rows("CME", shape["cme"], cme_census.MEASURES)
            + count_rows("EHE", shape["ehe"], ehe.MEASURES))


def _csv(shape: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in _all_rows(shape):
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def _audit_export(session: Session, actor: Actor | None, census: date, fmt: str,
                  children: int) -> None:
    audit.record(session, actor=actor, actor_role=None if actor else "system",
                 action="dfe_return.export", entity_type="dfe_return",
                 entity_id=census.isoformat(),
                 detail={"census_date": census.isoformat(), "format": fmt,
                         "children": children, "via": "page" if actor else "command line"})


def counts_csv(session: Session, *, actor: Actor | None, census: object) -> tuple[date, str]:
    actor = require(actor, VIEW)
    day = set_census_day(session, census).census_date
    shape = as_json(session, day)
    _audit_export(session, actor, day, "csv", 0)
    return day, _csv(shape)


# ---------------------------------------------------------------------------------------------
# The workbook


def _text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))


def _put(sheet, values) -> None:
    """Append a row; text is always a text cell, never a formula."""
    sheet.append([_text(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl made "=..." a formula: make it text again
            cell.quotePrefix = looks_like_formula(cell.value)


def _sheet(book: Workbook, title: str, header, rows, widths) -> None:
    sheet = book.create_sheet(title)
    _put(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        _put(sheet, row)
    for letter, width in zip("ABCDEFGH", widths, strict=False):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def return_xlsx(session: Session, *, actor: Actor | None, census: object) -> tuple[date, bytes]:
    actor = require(actor, VIEW)
    day = set_census_day(session, census).census_date
    figures = cme_census.build(session, day)
    shape = as_json(session, day, figures)
    links = allows(actor.role, Capability.CASE_VIEW)
    refs = _case_refs(session, figures.on_census_day, []) if links else {}
    counted = [_row(c, refs) for c in figures.on_census_day]
    names = {c.child_id: c.name for c in figures.on_census_day}
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "CME counts", CSV_HEADER,
           count_rows("CME", shape["cme"], cme_census.MEASURES), (44, 52, 8))
    ehe_note = [] if shape["ehe"]["imported"] else [
        ("EHE", "Not imported for this census day: every count is 0", 0)]
    _sheet(book, "EHE counts", CSV_HEADER,
           count_rows("EHE", shape["ehe"], ehe.MEASURES) + ehe_note, (44, 52, 8))
    _sheet(book, "Children on census day", CHILD_HEADER,
           [(r.name, r.date_of_birth, r.sex, r.year_group, r.start, r.reason, r.missing_for,
             r.case_reference) for r in counted], (28, 18, 9, 12, 18, 44, 20, 16))
    _sheet(book, "Warnings", ("Warning", "Children"),
           [(w.message, "; ".join(names.get(i, f"Child {i}") for i in w.child_ids))
            for w in figures.warnings], (90, 60))
    out = io.BytesIO()
    book.save(out)
    _audit_export(session, actor, day, "xlsx", len(counted))
    return day, out.getvalue()


# ---------------------------------------------------------------------------------------------
# The command line


def command_line_export(session: Session, *, census: date, fmt: str = "json") -> dict | str:
    """`cme-app dfe-return`: the JSON shape (a dict) or the counts CSV, for any date (the
    command line is run by the LA's own staff on the server). Audited as a system export."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    shape = as_json(session, census)
    _audit_export(session, None, census, fmt, 0)
    return shape if fmt == "json" else _csv(shape)
