"""The LA-side case: one per child per CME episode (docs/glossary.md, Records on a case)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..domain import Stage
from .base import UTCDateTime, utcnow


class Case(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True, index=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    stage: str = Field(default=Stage.NEW_REFERRAL, max_length=30, index=True)
    stage_entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    risk: str | None = Field(default=None, max_length=10, index=True)
    risk_rationale: str | None = Field(default=None, max_length=2000)
    risk_factors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    proposed_risk: str | None = Field(default=None, max_length=10)
    risk_rated_by_id: int | None = Field(default=None, foreign_key="user.id")
    risk_rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    allocated_officer_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    triage_due_on: date | None = None
    first_visit_due_on: date | None = None
    next_review_on: date | None = None
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=30)
    possible_matches: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Lone-working safety: what officers must read before a visit, and
    # whether a visit may start with only one officer.
    warning_markers: str | None = Field(default=None, max_length=1000)
    joint_visit_required: bool = Field(default=False)
    # Legal hold (BR-D5, SC-21): while set, the case never reaches the destruction list.
    legal_hold: bool = Field(default=False)
    legal_hold_reason: str | None = Field(default=None, max_length=1000)
    legal_hold_by_id: int | None = Field(default=None, foreign_key="user.id")
    legal_hold_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Reported missing to the police (yes/no, when, their reference): shown in the header.
    reported_missing_to_police: bool = Field(default=False)
    police_reported_on: date | None = None
    police_reference: str | None = Field(default=None, max_length=60)
    episode: int = Field(default=1)
    reopened_from_id: int | None = Field(default=None, foreign_key="case.id")
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class StageChange(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    from_stage: str | None = Field(default=None, max_length=30)
    to_stage: str = Field(max_length=30)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by_id: int | None = Field(default=None, foreign_key="user.id")
    reason: str | None = Field(default=None, max_length=1000)


class ReferenceCounter(SQLModel, table=True):
    """Last issued case number per calendar year, for CME-YYYY-NNNNN."""

    year: int = Field(primary_key=True)
    last_value: int = Field(default=0)
