"""Term dates and non-teaching days for school-day arithmetic (BR-L17, SC-23)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class TermPeriod(SQLModel, table=True):
    """A block of teaching days; gaps between periods are holidays or half-terms."""

    id: int | None = Field(default=None, primary_key=True)
    school_year: str = Field(max_length=7, index=True)
    name: str = Field(max_length=60)
    starts_on: date = Field(index=True)
    ends_on: date


class NonTeachingDay(SQLModel, table=True):
    """A weekday inside a term with no teaching for everyone (INSET, extra closure)."""

    id: int | None = Field(default=None, primary_key=True)
    on: date = Field(unique=True, index=True)
    reason: str = Field(max_length=100)
