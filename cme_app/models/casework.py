"""What happens to a case after it arrives: risk history, safeguarding contacts, the enquiry
pathway log, home visits, inter-LA notifications, overseas verification, links between cases
and closures (docs/glossary.md, Records on a case)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class RiskAssessment(SQLModel, table=True):
    """One row per risk decision, so the history of a case's RAG is never overwritten."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    risk: str = Field(max_length=10)
    proposed_risk: str = Field(max_length=10)
    factors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    kind: str = Field(max_length=20)  # proposed | triaged | override | reopened
    reason: str | None = Field(default=None, max_length=2000)
    by_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SafeguardingContact(SQLModel, table=True):
    """A CSC / MASH / Front Door notification or consultation about the case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=20)  # notification | consultation
    agency: str = Field(max_length=20)
    contacted_at: datetime = Field(sa_type=UTCDateTime)
    contacted_by: str = Field(max_length=120)
    reference: str = Field(max_length=60)
    notes: str | None = Field(default=None, max_length=2000)
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EnquiryAction(SQLModel, table=True):
    """One step of the LA's enquiry pathway (BR-L6)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=40)
    done_on: date
    method: str = Field(max_length=20)
    contacted: str = Field(max_length=200)
    result: str = Field(max_length=20)
    summary: str = Field(max_length=4000)
    next_action: str | None = Field(default=None, max_length=1000)
    next_action_due: date | None = None
    by_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HomeVisit(SQLModel, table=True):
    """A home visit. From the phone it is checked in, recorded and checked out, possibly
    offline; `client_uuid` makes every replay of it idempotent. A visit logged afterwards at a
    desk has a record but no check-in."""

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36, unique=True, index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    visited_on: date
    address: str = Field(max_length=400)
    # None until the visit record is saved (a visit that is only checked in so far).
    outcome: str | None = Field(default=None, max_length=40)
    child_seen: bool = Field(default=False)
    seen_alone: bool = Field(default=False)
    notes: str | None = Field(default=None, max_length=4000)  # facts observed
    officer_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Pre-visit safety check and check-in (lone working).
    risk_check_done: bool = Field(default=False)
    risk_check_notes: str | None = Field(default=None, max_length=1000)
    accompanied: bool = Field(default=False)
    second_officer_id: int | None = Field(default=None, foreign_key="user.id")
    buddy_id: int | None = Field(default=None, foreign_key="user.id")
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    expected_minutes: int | None = None
    expected_end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The visit record.
    people_spoken_to: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)
    neighbours_spoken: bool = Field(default=False)
    neighbours_said: str | None = Field(default=None, max_length=2000)
    calling_card_left: bool = Field(default=False)
    opinion: str | None = Field(default=None, max_length=4000)
    safeguarding_raised: bool = Field(default=False)
    mash_reference: str | None = Field(default=None, max_length=60)
    next_action: str | None = Field(default=None, max_length=400)
    next_action_due: date | None = None
    record_saved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Offline sync: when it reached the server, and why a lead must look at it.
    created_offline: bool = Field(default=False)
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    flag_reason: str | None = Field(default=None, max_length=600)
    flag_reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    flag_reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Lone-working escalation (SC-09): set once each, by the one background monitor.
    buddy_alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lead_alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoneWorkingAlert(SQLModel, table=True):
    """An overdue check-out raised to one person: the buddy first, then each lead."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="homevisit.id", index=True)
    level: str = Field(max_length=10)  # buddy | lead
    recipient_id: int = Field(foreign_key="user.id", index=True)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id")
    resolution: str | None = Field(default=None, max_length=400)


class LaNotification(SQLModel, table=True):
    """A notification to or from another local authority's CME team (BR-L8, BR-L10)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    direction: str = Field(max_length=10)
    la_name: str = Field(max_length=120)
    la_code: str | None = Field(default=None, max_length=3)
    contact: str = Field(max_length=200)
    question: str = Field(max_length=2000)
    data_shared: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    sent_on: date
    response_due_on: date | None = None
    acknowledged_on: date | None = None
    response_on: date | None = None
    response: str | None = Field(default=None, max_length=4000)
    # An inbound notice is answered by us: what our reply said (INBOUND_REPLIES) ...
    reply_kind: str | None = Field(default=None, max_length=30)
    # ... and, when the case closed, the day the other LA was told the outcome.
    outcome_sent_on: date | None = None
    outcome_sent: str | None = Field(default=None, max_length=2000)
    by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OverseasVerification(SQLModel, table=True):
    """Evidence that a child who left the UK is on roll abroad (BR-L9)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    country: str = Field(max_length=80)
    organisation: str = Field(max_length=200)
    evidence_type: str = Field(max_length=40)
    independent: bool
    received_on: date
    translated: bool = Field(default=False)
    notes: str | None = Field(default=None, max_length=2000)
    verified_by_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseLink(SQLModel, table=True):
    """Two cases that belong together: the same household, or the same child referred twice."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    linked_case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=20)  # household | duplicate
    reason: str = Field(max_length=1000)
    by_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseClosure(SQLModel, table=True):
    """A closure of one episode: proposed (officer) and then approved (lead), with evidence."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    episode: int
    outcome: str = Field(max_length=30)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(max_length=20)  # proposed | closed | withdrawn
    proposed_by_id: int | None = Field(default=None, foreign_key="user.id")
    proposed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    school_notice: str | None = Field(default=None, max_length=4000)
