"""Every table, imported here so Alembic and the app see them all."""

from .audit import AuditEvent
from .base import UTCDateTime, utcnow
from .calendar import NonTeachingDay, TermPeriod
from .case import STAGE_LABELS, Case, ReferenceCounter, Risk, Stage, StageChange
from .child import Address, AddressKind, Child, Person, PersonKind, YesNoUnknown
from .referral import (
    DslAppraisal,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    ReferralStatus,
    SourceType,
)
from .school import STAFF_ROLES, LoginAttempt, Role, School, User, UserSession

__all__ = [
    "STAFF_ROLES",
    "STAGE_LABELS",
    "Address",
    "AddressKind",
    "AuditEvent",
    "Case",
    "Child",
    "DslAppraisal",
    "LoginAttempt",
    "NonTeachingDay",
    "Person",
    "PersonKind",
    "ReferenceCounter",
    "Referral",
    "ReferralConcern",
    "ReferralEnquiry",
    "ReferralStatus",
    "Risk",
    "Role",
    "School",
    "SourceType",
    "Stage",
    "StageChange",
    "TermPeriod",
    "UTCDateTime",
    "User",
    "UserSession",
    "YesNoUnknown",
    "utcnow",
]
