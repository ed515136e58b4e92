"""CSV uploads of deletion and new-pupil returns, from a school's page or the command line.

The file as a whole is refused, with nothing written, when it cannot be read safely: too big,
not UTF-8, not the agreed headings, or a cell that a spreadsheet would run as a formula. Then
each row is checked on its own: a refused row writes nothing and says why; accepted rows are
stored and committed together.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from ...dates import uk_today
from ...errors import FieldError, ValidationFailed
from ...models import School
from ...permissions import Actor, Capability, require_school_user
from ..trust import audit
from . import deletions, new_pupils
from .checks import (
    Deletion,
    NewPupil,
    SchoolRef,
    check_deletion,
    check_new_pupil,
    csv_deletion_form,
)

FIELD = "returns_file"  # the page's file input: the error summary links to it
DELETION_COLUMNS = (
    "school_urn", "upn", "first_name", "last_name", "date_of_birth", "sex", "address_line1",
    "postcode", "parent_name", "parent_phone", "deletion_date", "ground",
    "destination_school_urn", "destination_la_code", "new_address", "notes",
)
NEW_PUPIL_COLUMNS = ("school_urn", "upn", "first_name", "last_name", "date_of_birth",
                     "start_date", "postcode")
MAX_BYTES = 2_000_000  # about 10,000 rows: a school's whole year of returns
MAX_ROWS = 10_000
# A cell starting with one of these is run as a formula by Excel and LibreOffice.
_FORMULA_START = ("=", "@", "\t", "\r")
_FORMULA_FIRST = frozenset("=@\t\r+-")
_INTERNATIONAL_PHONE = re.compile(r"\+[\d ()]+")
# The form's field names where a CSV column is named differently.
_COLUMN_OF = {"parent_1_name": "parent_name", "parent_1_phone": "parent_phone"}


@dataclass(frozen=True)
class RowResult:
    row: int  # the line in the file; the headings are line 1
    accepted: bool
    message: str  # "accepted", or every reason the row was refused
    return_id: str = ""  # the stored return's public id
    pupil: str = ""  # the row's first and last name, as the file gives them


def _refuse(text: str) -> ValidationFailed:
    return ValidationFailed([FieldError(FIELD, text)])


def _decode(data: bytes | str) -> str:
    if len(data) > MAX_BYTES:
        raise _refuse(f"The file is too big: send at most {MAX_BYTES // 1_000_000} MB "
                      f"(about {MAX_ROWS:,} rows) at a time")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("The file is not UTF-8 text: in Excel choose Save as, then "
                      "'CSV UTF-8 (comma delimited)'") from None


def _is_formula(cell: str) -> bool:
    if cell.startswith(_FORMULA_START):
        return True
    # A leading + or - is a formula too, unless the cell is a phone number like +44 113...
    return cell.startswith("-") or (cell.startswith("+")
                                    and not _INTERNATIONAL_PHONE.fullmatch(cell))


def read_rows(data: bytes | str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for each row, or ValidationFailed for the whole file."""
    text = _decode(data)
    if not text.strip():
        raise _refuse("The file is empty: choose the CSV file your MIS exported")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise _refuse("The file is not a CSV file: save it as CSV (comma separated)") from None
    header = tuple(c.strip().lower() for c in rows[0]) if rows else ()
    if header != columns:
        raise _refuse("The first row must be the headings " + ",".join(columns))
    out = []
    for line, raw in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue
        for name, cell in zip(columns, cells, strict=False):
            if cell[:1] in _FORMULA_FIRST and _is_formula(cell):
                raise _refuse(f"Row {line}, column {name} starts with {cell[:1]!r}, so a "
                              "spreadsheet would run it as a formula. Remove it and upload "
                              "again: nothing was stored")
        row = dict(zip(columns, cells, strict=False))
        row["_columns"] = str(len(cells))
        out.append((line, row))
    if len(out) > MAX_ROWS:
        raise _refuse(f"The file has {len(out):,} rows: send at most {MAX_ROWS:,} at a time")
    return out


def _reasons(errors: list[FieldError]) -> str:
    return "; ".join(f"{_COLUMN_OF.get(e.field, e.field)}: {e.message}" for e in errors)


# The row's school, or why the sender can't send for it.
Sender = Callable[[str], "School | SchoolRef | str"]
# (accepted, the stored return's public id or why the row was refused) per checked row
Outcome = tuple[bool, str]


def _import(session: Session, rows: list[tuple[int, dict[str, str]]], columns: tuple[str, ...],
            school_of: Sender, check: Callable[[dict[str, str], School], Any],
            store_all: Callable[[list[Any]], list[Outcome]]) -> list[RowResult]:
    """Check every row on its own, then store the rows that passed, all at once."""
    results: dict[int, RowResult] = {}
    passed: list[tuple[int, str, Any]] = []
    for line, cells in rows:
        pupil = f"{cells.get('first_name', '')} {cells.get('last_name', '')}".strip()[:120]
        if cells.pop("_columns") != str(len(columns)):
            results[line] = RowResult(line, False, f"the row must have {len(columns)} columns",
                                      pupil=pupil)
            continue
        school = school_of(cells.get("school_urn", ""))
        if isinstance(school, str):
            results[line] = RowResult(line, False, f"school_urn: {school}", pupil=pupil)
            continue
        try:
            passed.append((line, pupil, check(cells, school)))
        except ValidationFailed as exc:
            results[line] = RowResult(line, False, _reasons(exc.errors), pupil=pupil)
    outcomes = store_all([checked for *_seen, checked in passed]) if passed else []
    for (line, pupil, _checked), (accepted, said) in zip(passed, outcomes, strict=True):
        results[line] = (RowResult(line, True, "accepted", said, pupil) if accepted
                         else RowResult(line, False, said, pupil=pupil))
    return [results[line] for line, _cells in rows]


def _known_schools(session: Session, urns: set[str]) -> dict[str, SchoolRef]:
    return {urn: SchoolRef(i, urn, name) for i, urn, name in session.exec(
        select(School.id, School.urn, School.name).where(col(School.urn).in_(urns))).all()}


def _school_rule(session: Session, actor: Actor | None,
                 rows: list[tuple[int, dict[str, str]]]) -> Sender:
    """A school may send rows for itself only; the command line for any registered school."""
    if actor is not None:
        own = session.get(School, actor.school_id)

        def own_only(urn: str) -> School | str:
            if own is not None and urn == own.urn:
                return own
            return (f"this row is for school {urn[:10]!r}; you can only send returns for your "
                    f"own school (URN {own.urn if own else '?'})")
        return own_only
    schools = _known_schools(session, {cells.get("school_urn", "") for _line, cells in rows})
    return lambda urn: schools.get(urn) or f"no school with URN {urn[:10]!r} is registered"


def _finish(session: Session, by: Actor | None, kind: str, via: str,
            results: list[RowResult]) -> list[RowResult]:
    accepted = sum(r.accepted for r in results)
    audit.record(session, actor=by, actor_role=None if by else "system",
                 action=f"{kind}.imported", entity_type=kind,
                 detail={"via": via, "rows": len(results), "accepted": accepted,
                         "refused_rows": [r.row for r in results if not r.accepted][:200]})
    session.flush()
    return results


def import_deletions(session: Session, *, actor: Actor | None, data: bytes | str,
                     ground_i_confirmed: bool, today: date | None = None,
                     via: str = "upload") -> list[RowResult]:
    """A school's file of deletion returns (actor None: the command line, any school)."""
    if via != "cli":
        actor, _school = deletions.own_school(session, actor)
    today = today or uk_today()
    rows = read_rows(data, DELETION_COLUMNS)

    def check(cells: dict[str, str], school: School) -> Deletion:
        return check_deletion(csv_deletion_form(cells, ground_i_confirmed=ground_i_confirmed),
                              school=school, today=today)

    def store_all(batch: list[Deletion]) -> list[Outcome]:
        repeats = deletions.repeated(session, batch)
        fresh = [d for n, d in enumerate(batch) if n not in repeats]
        stored = iter(deletions.receive_all(session, fresh, by=actor, via=via, today=today))
        return [(False, f"deletion_date: {deletions.REPEAT}") if n in repeats
                else (True, next(stored)[1]) for n in range(len(batch))]

    results = _import(session, rows, DELETION_COLUMNS, _school_rule(session, actor, rows), check,
                      store_all)
    return _finish(session, actor, "deletion_return", via, results)


def import_new_pupils(session: Session, *, actor: Actor | None, data: bytes | str,
                      today: date | None = None, via: str = "upload") -> list[RowResult]:
    """A file of new pupils: from a school (its own rows) or the command line."""
    if via != "cli":
        # LA staff record a new pupil one at a time, naming the school on the form.
        actor = require_school_user(actor, Capability.NEW_PUPIL_RECORD)
    today = today or uk_today()
    rows = read_rows(data, NEW_PUPIL_COLUMNS)

    def check(cells: dict[str, str], school: School) -> NewPupil:
        return check_new_pupil(cells, school=school, today=today)

    def store_all(batch: list[NewPupil]) -> list[Outcome]:
        out: list[Outcome] = []
        for pupil in batch:
            if new_pupils.already_received(session, pupil) is not None:
                out.append((False, f"start_date: {new_pupils.REPEAT}"))
            else:
                out.append((True, new_pupils.receive(session, pupil, by=actor,
                                                     via=via).public_id))
        return out

    results = _import(session, rows, NEW_PUPIL_COLUMNS, _school_rule(session, actor, rows), check,
                      store_all)
    return _finish(session, actor, "new_pupil_return", via, results)
