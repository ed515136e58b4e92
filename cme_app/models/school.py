"""Schools, users, sign-in sessions and sign-in attempts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class School(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(max_length=10, unique=True, index=True)
    name: str = Field(max_length=200)
    la_code: str = Field(default="383", max_length=3)
    phase: str | None = Field(default=None, max_length=40)
    school_type: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(default="", max_length=120)
    role: str = Field(max_length=20)
    school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    password_hash: str = Field(max_length=255)
    totp_secret: str | None = Field(default=None, max_length=64)
    # The 30-second step of the last accepted authentication code: that step and earlier ones
    # are refused, so a code works once only.
    totp_last_step: int | None = Field(default=None)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A server-side sign-in session; the browser holds only a random token."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # None while the row is a one-time sign-in ticket (see services/auth.open_session); set when
    # the ticket is exchanged for the HttpOnly cookie's token.
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip: str | None = Field(default=None, max_length=64)


class LoginAttempt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    success: bool = Field(default=False)
    ip: str | None = Field(default=None, max_length=64)


class MfaAttempt(SQLModel, table=True):
    """One authentication code tried by a user who passed the password step (for throttling)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    success: bool = Field(default=False)
