"""Schools' statutory returns to the LA (reg 13, 2024 Regulations): a deletion from the
admission register and a new pupil added to it, and the EHE team's list that deletions under
ground F feed (docs/glossary.md, "Deletion return")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, new_public_id, utcnow


class DeletionReturn(SQLModel, table=True):
    """A school deleted a pupil from its admission register. What it said is kept as said; what
    the LA did with it (route, case, episode, off-rolling flag) is filled in on receipt."""

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, max_length=32, unique=True, index=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    child_id: int | None = Field(default=None, foreign_key="child.id", index=True)
    upn: str | None = Field(default=None, max_length=13)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date
    sex: str = Field(max_length=10)
    address_line1: str = Field(max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=10)
    # Each parent the pupil normally lives with: [{"name", "address", "phone"}].
    parents: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    deletion_date: date = Field(index=True)
    ground: str = Field(max_length=1)
    # Ground I: the school confirmed every day was coded G, N or O, no reason to believe
    # sickness or unavoidable cause.
    absence_codes_confirmed: bool = Field(default=False)
    new_address: str | None = Field(default=None, max_length=300)
    moved_abroad: bool = Field(default=False)
    new_parent_name: str | None = Field(default=None, max_length=120)
    new_parent_from: date | None = None
    destination_school_urn: str | None = Field(default=None, max_length=8)
    destination_school_start: date | None = None
    destination_la_code: str | None = Field(default=None, max_length=3)
    notes: str | None = Field(default=None, max_length=2000)
    # The destination school's new-pupil return that confirms the move (Route.MATCH_ROLL).
    new_pupil_return_id: int | None = Field(default=None, foreign_key="newpupilreturn.id")
    # What the routing table decided (services/school_returns/routing.py).
    route: str = Field(max_length=20)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    episode_id: int | None = Field(default=None, foreign_key="cmeepisode.id")
    possible_off_rolling: bool = Field(default=False, index=True)
    off_rolling_reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    off_rolling_reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    off_rolling_note: str | None = Field(default=None, max_length=1000)
    received_via: str = Field(max_length=10)  # form | upload | cli
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NewPupilReturn(SQLModel, table=True):
    """A school added a pupil to its admission register (within 5 days, reg 13(1)). Matched to
    an open CME episode or case, it proposes closing that case to its officer."""

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, max_length=32, unique=True, index=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    child_id: int | None = Field(default=None, foreign_key="child.id", index=True)
    upn: str | None = Field(default=None, max_length=13)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date
    start_date: date
    postcode: str | None = Field(default=None, max_length=10)
    # The open case it matched and on what (upn | name_dob); None: no open case matched.
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    matched_on: str | None = Field(default=None, max_length=10)
    # proposed -> confirmed (the officer proposed the closure) | dismissed; None: no match.
    proposal: str | None = Field(default=None, max_length=12, index=True)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dismiss_reason: str | None = Field(default=None, max_length=1000)
    received_via: str = Field(max_length=10)
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EheRecord(SQLModel, table=True):
    """A child on the EHE team's list: the minimum the DfE return's EHE part counts."""

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    start_date: date
    reason: str = Field(default="Not recorded", max_length=120)
    # pending | suitable | unsuitable (unsuitable: the child may become CME)
    suitability: str = Field(default="pending", max_length=12)
    decided_on: date | None = None
    deletion_return_id: int | None = Field(default=None, foreign_key="deletionreturn.id")
    end_date: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
