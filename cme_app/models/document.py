"""Notices and letters generated on a case (services/documents), kept as the PDF that was
sent: in the database, so backups and retention cover them with the rest of the case."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, new_public_id, utcnow


class Document(SQLModel, table=True):
    """One version of one kind of document on a case (1, 2, ... per case and kind)."""

    __table_args__ = (
        sa.UniqueConstraint("case_id", "kind", "version", name="uq_document_case_kind_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The download link names this random id, never the row id (no guessing the next one).
    public_id: str = Field(default_factory=new_public_id, max_length=32, unique=True, index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=30)
    title: str = Field(max_length=200)
    version: int
    author_id: int | None = Field(default=None, foreign_key="user.id")
    # The signature block as it was printed (a later change of name or role leaves it as sent).
    author_name: str = Field(max_length=120)
    author_role: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recipient_kind: str = Field(max_length=20)  # school | other_la | family | abroad
    recipient_school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    content: bytes = Field(sa_type=sa.LargeBinary)
    sha256: str = Field(max_length=64)
    size_bytes: int
