"""Data-protection records (BR-D3 to BR-D5): legal holds, the sharing log, retention
approvals and the tombstones left when a child's personal data is destroyed."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class ShareRecord(SQLModel, table=True):
    """One outbound share of a child's information (BR-D3, golden rule 7)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    shared_at: datetime = Field(sa_type=UTCDateTime)
    shared_by_id: int | None = Field(default=None, foreign_key="user.id")
    recipient_type: str = Field(max_length=20)
    recipient_name: str = Field(max_length=200)
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    shared_detail: str | None = Field(default=None, max_length=2000)
    reason: str = Field(max_length=2000)
    lawful_basis: str = Field(max_length=20)
    lawful_basis_other: str | None = Field(default=None, max_length=300)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RetentionApproval(SQLModel, table=True):
    """A lead's approval to destroy one listed record; destruction is a separate step."""

    id: int | None = Field(default=None, primary_key=True)
    record_class: str = Field(max_length=30, index=True)
    record_id: int = Field(index=True)
    due_on: date
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    destroyed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why destruction was skipped at the last run (hold, no longer eligible), if it was.
    skipped_reason: str | None = Field(default=None, max_length=200)


class Tombstone(SQLModel, table=True):
    """What is left after destruction: which record, under which rule, when and on whose
    approval. No personal data."""

    id: int | None = Field(default=None, primary_key=True)
    record_class: str = Field(max_length=30)
    record_id: int
    reference: str | None = Field(default=None, max_length=16)
    child_id: int | None = Field(default=None)
    approval_id: int | None = Field(default=None, foreign_key="retentionapproval.id")
    destroyed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
