"""Issuing case references, gap-free per year (the format is domain.format_case_reference)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from ...domain import format_case_reference
from ...models import ReferenceCounter


def next_case_reference(session: Session, *, year: int) -> str:
    """CME-YYYY-NNNNN, gap-free per year. The counter row is locked until commit."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.exec(insert(ReferenceCounter).values(year=year, last_value=0).on_conflict_do_nothing())
    counter = session.exec(
        select(ReferenceCounter).where(ReferenceCounter.year == year).with_for_update()
    ).one()
    counter.last_value += 1
    session.add(counter)
    session.flush()
    return format_case_reference(year, counter.last_value)
