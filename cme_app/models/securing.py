"""Securing education once a child is found in the area ("Located – securing education"): the
School Attendance Service keyworker, the in-year admission application, the offer and its start
date, a Fair Access referral, an EHCP naming a school, and where parents do not secure
education the s.437(1) notice and the School Attendance Order. Each step is one row, dated, with
the day it is due by (services/casework/securing.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class SecuringStep(SQLModel, table=True):
    """One step towards a school place. Which columns a kind uses:

    keyworker    who (name and team), done_on (allocated); due from entering Located
    application  school (applied for), done_on (applied), outcome awaiting|offered|refused,
                 outcome_on (decided); due: the decision
    offer        school, done_on (offered), outcome yes|no|awaiting (accepted), start_on
                 (agreed start); due: the start
    fair_access  done_on (referred), panel_on, outcome (the panel's decision, in words)
    ehcp         who (the LA maintaining the plan), school (named), done_on (named)
    s437_notice  done_on (served), due_on (the parent's response due), outcome_on (answered)
    sao          school (named), done_on (made), challenged
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    case_episode: int = Field(default=1)  # the case's episode (a reopened case starts again)
    kind: str = Field(max_length=20)
    who: str | None = Field(default=None, max_length=200)
    school: str | None = Field(default=None, max_length=500)
    done_on: date | None = None
    outcome: str | None = Field(default=None, max_length=200)
    outcome_on: date | None = None
    start_on: date | None = None
    panel_on: date | None = None
    challenged: bool = Field(default=False)
    due_on: date | None = None
    notes: str | None = Field(default=None, max_length=2000)
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
