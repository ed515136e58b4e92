"""Notifications: the in-app inbox, the email queue, and who gets what.

A `Notification` is one inbox item for one person. Email is queued as an `EmailMessage` in the
same transaction as the action that caused it (one per urgent or immediate notification, one a
day per person for the digest); a worker sends the queue.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..domain import EmailStatus
from .base import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    """One inbox item. (recipient, dedupe_key) is unique: an event reaches a person once."""

    __table_args__ = (
        sa.UniqueConstraint("recipient_id", "dedupe_key", name="uq_notification_recipient_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="user.id", index=True)
    event: str = Field(max_length=30)
    dedupe_key: str = Field(max_length=160)
    urgent: bool = Field(default=False)
    # Case or referral reference, a fixed sentence and a link: never a child's details.
    reference: str = Field(max_length=40)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=1000)
    link: str = Field(max_length=200)
    delivery: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_id: int | None = Field(default=None, foreign_key="emailmessage.id", index=True)


class EmailMessage(SQLModel, table=True):
    """The email queue. `dedupe_key` is unique, so a message is queued once; a worker claims
    a row with a conditional UPDATE, so it is handed to the SMTP server at most once."""

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="user.id", index=True)
    to_address: str = Field(max_length=254)
    kind: str = Field(max_length=10)  # immediate | digest
    dedupe_key: str = Field(max_length=160, unique=True)
    message_id: str = Field(max_length=120, unique=True)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=sa.Text)
    status: str = Field(default=EmailStatus.PENDING, max_length=10, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=36)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationRule(SQLModel, table=True):
    """The team's choice per event: on or off, and the email default for non-urgent ones."""

    event: str = Field(primary_key=True, max_length=30)
    enabled: bool = Field(default=True)
    default_delivery: str = Field(max_length=10)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """A person's own choice of immediate email or the daily digest for one event."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    event: str = Field(primary_key=True, max_length=30)
    delivery: str = Field(max_length=10)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TeamSettings(SQLModel, table=True):
    """Team-wide notification settings; one row (id 1)."""

    id: int | None = Field(default=None, primary_key=True)
    duty_officer_id: int | None = Field(default=None, foreign_key="user.id")
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
