"""Shared column types and helpers for every table."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """Stores UTC and always hands back an aware UTC datetime.

    SQLite drops tzinfo and PostgreSQL keeps it; this makes both behave the same.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def insert_rows(session, model, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows with one executemany and return their ids in order. Core, not ORM
    objects: making a SQLModel object costs 0.2-1.2 ms, more than inserting its row. A field
    a row leaves out gets the model's own default. The ids are taken first, ascending, so
    the insert needs no RETURNING (which costs more than the insert on SQLite)."""
    if not rows:
        return []
    fill = _defaults(model)
    ids = allocate_ids(session, model.__tablename__, len(rows))
    full = [{**{k: make() for k, make in fill.items() if k not in row}, **row, "id": i}
            for i, row in zip(ids, rows, strict=True)]
    # A column that is NULL in every row is left out: the database fills it in for free,
    # while binding it costs a conversion per row.
    unset = {k for k in full[0] if all(r[k] is None for r in full)}
    if unset:
        full = [{k: v for k, v in r.items() if k not in unset} for r in full]
    session.execute(sa.insert(model.__table__), full)  # Core: no ORM bulk-insert bookkeeping
    return ids


def allocate_ids(session, table: str, n: int) -> list[int]:
    """n new ids for `table`, ascending. PostgreSQL: from the table's sequence. SQLite: after
    the largest, which is safe because every write transaction holds the database's write
    lock from its start (BEGIN IMMEDIATE, cme_app/db.py)."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n) "
            "ORDER BY 1"), {"table": table, "n": n}).scalars())
    last = session.execute(sa.text(f'SELECT max(id) FROM "{table}"')).scalar() or 0  # noqa: S608
    return list(range(last + 1, last + n + 1))


@cache
def _defaults(model) -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {}
    for name, field in model.model_fields.items():
        if name == "id":
            continue
        if field.default_factory is not None:
            out[name] = field.default_factory
        elif field.default is not PydanticUndefined:
            out[name] = lambda value=field.default: value
    return out
