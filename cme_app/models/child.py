"""The child, their address history and the people around them."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..domain import YesNoUnknown
from .base import UTCDateTime, utcnow


class Child(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(max_length=100)
    middle_names: str | None = Field(default=None, max_length=200)
    last_name: str = Field(max_length=100, index=True)
    known_as: str | None = Field(default=None, max_length=200)
    date_of_birth: date = Field(index=True)
    dob_estimated: bool = Field(default=False)
    sex: str = Field(max_length=20)
    upn: str | None = Field(default=None, max_length=13, index=True)
    former_upn: str | None = Field(default=None, max_length=13)
    ethnicity: str | None = Field(default=None, max_length=60)
    first_language: str | None = Field(default=None, max_length=60)
    interpreter_needed: bool = Field(default=False)
    sen_status: str = Field(default="unknown", max_length=20)
    looked_after: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    cp_plan: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    child_in_need: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    traveller_family: bool = Field(default=False)
    # Merged into another record of the same child (ChildMerge says what moved; a lead can
    # undo it). A merged record is kept, empty, so the undo and the audit trail still work.
    merged_into_id: int | None = Field(default=None, foreign_key="child.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Address(SQLModel, table=True):
    """One row per address a child is linked to; history is kept, never overwritten."""

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    referral_id: int | None = Field(default=None, foreign_key="referral.id", index=True)
    kind: str = Field(max_length=20)
    line1: str = Field(max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=10, index=True)
    country: str = Field(default="United Kingdom", max_length=80)
    from_date: date | None = None
    to_date: date | None = None
    source: str = Field(max_length=40)
    verified: bool = Field(default=False)
    la_code: str | None = Field(default=None, max_length=3)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True)
    referral_id: int | None = Field(default=None, foreign_key="referral.id", index=True)
    kind: str = Field(max_length=20)
    full_name: str = Field(max_length=200)
    relationship_to_child: str = Field(max_length=80)
    parental_responsibility: bool = Field(default=False)
    lives_with_child: bool = Field(default=False)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    address_text: str | None = Field(default=None, max_length=400)
    date_of_birth: date | None = None
    school_name: str | None = Field(default=None, max_length=200)
    is_emergency_contact: bool = Field(default=False)
    notes: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="school", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChildMatch(SQLModel, table=True):
    """A proposal that two child records are the same child, and an officer's answer."""

    __table_args__ = (sa.UniqueConstraint("child_id", "candidate_id", name="uq_child_match"),)

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True)  # the newer record
    candidate_id: int = Field(foreign_key="child.id", index=True)  # the one already known
    basis: str = Field(max_length=20)  # upn | name_dob | address_surname
    status: str = Field(default="proposed", max_length=12, index=True)
    reason: str | None = Field(default=None, max_length=1000)
    proposed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChildMerge(SQLModel, table=True):
    """One merge of a child record into another: which rows moved, so a lead can undo it."""

    id: int | None = Field(default=None, primary_key=True)
    from_child_id: int = Field(foreign_key="child.id", index=True)
    into_child_id: int = Field(foreign_key="child.id", index=True)
    moved: dict[str, list[int]] = Field(default_factory=dict, sa_type=sa.JSON)
    reason: str = Field(max_length=1000)
    merged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    merged_by_id: int | None = Field(default=None, foreign_key="user.id")
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by_id: int | None = Field(default=None, foreign_key="user.id")
    undo_reason: str | None = Field(default=None, max_length=1000)


class ChildFacts(NamedTuple):
    """What matching and triage read of a child record, for many records at once without
    loading them as objects (a bulk import)."""

    id: int
    first_name: str
    last_name: str
    date_of_birth: date
    upn: str | None = None
    merged_into_id: int | None = None
    sen_status: str = "unknown"
    traveller_family: bool = False

