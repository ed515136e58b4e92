"""Numbers typed or sent by a browser. str.isdigit() also accepts "²" and "①", which int()
refuses, so digits means ASCII digits; a record id must fit the database's integer column."""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1  # PostgreSQL's integer, the type of every id column


def digits(text: str) -> bool:
    """Only the ASCII digits 0-9, at least one."""
    return text.isascii() and text.isdigit()


def row_id(value: object) -> int | None:
    """A record id from the browser: a positive int, or its digits, that an id column can
    hold; anything else (a bool, "²", 2**63) names no record."""
    if isinstance(value, str) and digits(value) and len(value) <= 10:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID:
        return value
    return None
