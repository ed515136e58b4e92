"""Issuing case references, gap-free per year (the format is domain.format_case_reference)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from ...domain import format_case_reference
from ...models import ReferenceCounter


def next_case_reference(session: Session, *, year: int) -> str:
    """CME-YYYY-NNNNN, gap-free per year. The counter row is locked until commit."""
    return next_case_references(session, year=year, count=1)[0]


def next_case_references(session: Session, *, year: int, count: int) -> list[str]:
    """The next `count` references at once (a bulk import opens many cases). One upsert that
    returns the new last value: the counter row stays locked (PostgreSQL's row lock, SQLite's
    write lock) until commit, so references stay gap-free and never repeat (issue 19: it was
    insert-if-missing, SELECT ... FOR UPDATE and UPDATE)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ReferenceCounter.__table__
    stmt = insert(table).values(year=year, last_value=count)
    last = session.execute(
        stmt.on_conflict_do_update(index_elements=[table.c.year],
                                   set_={"last_value": table.c.last_value + count})
        .returning(table.c.last_value)
    ).scalar_one()
    first = last - count + 1
    return [format_case_reference(year, n) for n in range(first, first + count)]
