"""Append-only audit trail (BR-D7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor_role: str | None = Field(default=None, max_length=20)
    action: str = Field(max_length=60, index=True)
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=64)
    child_id: int | None = Field(default=None, foreign_key="child.id", index=True)
    outcome: str = Field(default="ok", max_length=20)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    ip: str | None = Field(default=None, max_length=64)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The one row that remembers the chain's end, written with every append.

    The hash links catch an edited or removed event in the middle; only this row notices that
    the newest events were removed."""

    id: int = Field(default=1, primary_key=True)
    count: int = Field(default=0)
    last_id: int | None = Field(default=None)
    last_hash: str | None = Field(default=None, max_length=64)
