"""Issuing case references, gap-free per year (the format is domain.format_case_reference)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from ...domain import format_case_reference
from ...models import ReferenceCounter


def next_case_reference(session: Session, *, year: int) -> str:
    """CME-YYYY-NNNNN, gap-free per year. The counter row is locked until commit."""
    return next_case_references(session, year=year, count=1)[0]


def next_case_references(session: Session, *, year: int, count: int) -> list[str]:
    """The next `count` references at once (a bulk import opens many cases)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.exec(insert(ReferenceCounter).values(year=year, last_value=0).on_conflict_do_nothing())
    counter = session.exec(
        select(ReferenceCounter).where(ReferenceCounter.year == year).with_for_update()
    ).one()
    first = counter.last_value + 1
    counter.last_value += count
    session.add(counter)
    session.flush()
    return [format_case_reference(year, n) for n in range(first, first + count)]
