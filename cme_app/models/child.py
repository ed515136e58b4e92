"""The child, their address history and the people around them."""

from __future__ import annotations

from datetime import date, datetime

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
    year_group: str | None = Field(default=None, max_length=10)
    ethnicity: str | None = Field(default=None, max_length=60)
    first_language: str | None = Field(default=None, max_length=60)
    interpreter_needed: bool = Field(default=False)
    sen_status: str = Field(default="unknown", max_length=20)
    looked_after: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    cp_plan: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    child_in_need: str = Field(default=YesNoUnknown.UNKNOWN, max_length=10)
    traveller_family: bool = Field(default=False)
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
