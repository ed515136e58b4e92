"""The referral a school (or partner) submits, with its enquiries (BR-S4), concerns and DSL
appraisal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..domain import ReferralStatus, SourceType
from .base import UTCDateTime, new_public_id, utcnow


class Referral(SQLModel, table=True):
    """A referral. While a draft, the half-finished form lives in `form_data`; on submit it is
    validated and written out into Child, Address, Person, enquiries, concerns and appraisal."""

    # A retried submit (same form, same school) finds the referral it already stored.
    __table_args__ = (
        sa.UniqueConstraint("school_id", "submission_id", name="uq_referral_school_submission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=new_public_id, max_length=32, unique=True, index=True)
    status: str = Field(default=ReferralStatus.DRAFT, max_length=20, index=True)
    source_type: str = Field(default=SourceType.SCHOOL, max_length=20)
    school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    child_id: int | None = Field(default=None, foreign_key="child.id", index=True)
    form_data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)

    referrer_name: str | None = Field(default=None, max_length=120)
    referrer_job_title: str | None = Field(default=None, max_length=120)
    referrer_phone: str | None = Field(default=None, max_length=40)
    referrer_email: str | None = Field(default=None, max_length=254)
    on_roll_status: str | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=40)
    date_last_attended: date | None = None
    date_school_aware: date | None = None
    absence_days: int | None = None
    absence_codes: str | None = Field(default=None, max_length=40)
    # Ground I: every day coded G, N or O, no reason to believe sickness or unavoidable cause.
    absence_codes_confirmed: bool = Field(default=False)
    # Never started / failed to start: the day the child was expected (ground I's clock).
    expected_start_date: date | None = None
    # Not back after agreed leave: the day the leave ended (ground H's clock).
    leave_ends_on: date | None = None
    # "Already removed from our roll": when and under which ground (reg 9(1)).
    roll_deleted_on: date | None = None
    roll_deletion_ground: str | None = Field(default=None, max_length=1)
    history_of_non_attendance: bool = Field(default=False)
    believed_destination: str | None = Field(default=None, max_length=1000)
    proposed_deletion_ground: str | None = Field(default=None, max_length=2)
    concerns_none_known: bool = Field(default=False)
    concerns_narrative: str | None = Field(default=None, max_length=4000)
    late: bool = Field(default=False)
    source_name: str | None = Field(default=None, max_length=120)
    source_la_code: str | None = Field(default=None, max_length=3)
    # How a referral the team logged came in: phone, email, letter... (REFERRAL_CHANNELS).
    received_via: str | None = Field(default=None, max_length=20)
    return_note: str | None = Field(default=None, max_length=2000)
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_by_id: int | None = Field(default=None, foreign_key="user.id")
    outside_csa: bool = Field(default=False)

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)
    # The random id of the form instance that submitted it (referrals.submit).
    submission_id: str | None = Field(default=None, max_length=32)


class ReferralEnquiry(SQLModel, table=True):
    """An enquiry the referrer made before referring, or the reason one was not possible."""

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    kind: str = Field(max_length=40)
    made_on: date | None = None
    time_of_day: str | None = Field(default=None, max_length=2)
    contacted: str | None = Field(default=None, max_length=200)
    method: str | None = Field(default=None, max_length=20)
    result: str | None = Field(default=None, max_length=1000)
    not_possible_reason: str | None = Field(default=None, max_length=1000)


class ReferralConcern(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    concern: str = Field(max_length=30)


class DslAppraisal(SQLModel, table=True):
    """The Designated Safeguarding Lead's risk appraisal for a school referral."""

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", unique=True, index=True)
    dsl_name: str = Field(max_length=120)
    known_to_csc: str = Field(max_length=10)
    cp_plan: str = Field(max_length=10)
    child_in_need: str = Field(max_length=10)
    looked_after: str = Field(max_length=10)
    significant_harm: str = Field(max_length=10)
    mash_referred_on: date | None = None
    mash_reference: str | None = Field(default=None, max_length=60)
    mash_outcome: str | None = Field(default=None, max_length=1000)
    # A child already open to social care: was the allocated social worker told, and when;
    # for a child in care, the virtual school too (yes | no; None: not asked).
    social_worker_told: str | None = Field(default=None, max_length=10)
    social_worker_told_on: date | None = None
    virtual_school_told: str | None = Field(default=None, max_length=10)
    virtual_school_told_on: date | None = None
    appraisal: str = Field(max_length=4000)


class ReferralFacts(NamedTuple):
    """What triage reads of a referral, for many at once without loading them as objects
    (child.ChildFacts' partner)."""

    id: int
    category: str | None = None
    submitted_at: datetime | None = None
