"""CME episodes (when a child was missing education, and why), the DfE reason list, census days
and the EHE team's imported counts: what the termly DfE return is computed from."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class DfeReason(SQLModel, table=True):
    """One of DfE's primary reasons for CME. Kept as data: a lead adds one DfE publishes and
    retires one it drops (a retired reason stays on the episodes that carry it)."""

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=120, unique=True)
    active: bool = Field(default=True)
    position: int = Field(default=0)


class CmeEpisode(SQLModel, table=True):
    """A stretch of time a child was of compulsory school age, on no school roll and not
    receiving suitable education otherwise. Its dates are facts, not the referral's."""

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    # None only for episodes whose start was never known (the return warns about them).
    start_date: date | None = Field(default=None, index=True)
    start_basis: str = Field(max_length=30)
    # The first day the child was no longer CME (on roll that day, say): counted up to the
    # day before. None: still CME.
    end_date: date | None = Field(default=None, index=True)
    end_reason: str | None = Field(default=None, max_length=30)
    lives_in_la: bool = Field(default=True)
    # The current primary reason (the history is EpisodeReason).
    primary_reason: str = Field(max_length=120)
    whereabouts_unknown: bool = Field(default=False)
    review_on: date | None = None
    # Made by the 0010 migration or a bulk load: an officer should confirm the start.
    to_confirm: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class EpisodeReason(SQLModel, table=True):
    """The primary reason from a date on: the reason on a census day is the one in force that
    day, so a return built late still gives the figures as they were."""

    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="cmeepisode.id", index=True)
    reason: str = Field(max_length=120)
    from_date: date
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_by_id: int | None = Field(default=None, foreign_key="user.id")
    note: str | None = Field(default=None, max_length=1000)
    # How it was set: "start" (the episode began with it), "officer" (chosen by hand on the
    # episode form; the securing-education steps then leave it alone) or "steps" (followed
    # the securing-education steps). None: before this was recorded.
    source: str | None = Field(default=None, max_length=10)


class CensusDate(SQLModel, table=True):
    """The DfE census day for a term (a Thursday; DfE sets new ones each year)."""

    id: int | None = Field(default=None, primary_key=True)
    census_date: date = Field(unique=True)
    term: str = Field(max_length=40)  # "Spring 2027"
    set_by_id: int | None = Field(default=None, foreign_key="user.id")
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EheCount(SQLModel, table=True):
    """One figure of the EHE team's own counts for a census day, imported from their CSV."""

    __table_args__ = (
        sa.UniqueConstraint("census_date", "measure", "category", name="uq_ehe_count"),
    )

    id: int | None = Field(default=None, primary_key=True)
    census_date: date = Field(index=True)
    measure: str = Field(max_length=40)  # on_census_day | by_sex | by_year_group | ...
    category: str = Field(default="", max_length=120)
    count: int
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by_id: int | None = Field(default=None, foreign_key="user.id")
