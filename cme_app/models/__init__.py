"""Every table, imported here so Alembic and the app see them all."""

from .audit import AuditEvent
from .base import UTCDateTime, utcnow
from .calendar import NonTeachingDay, TermPeriod
from .case import (
    BOARD_STAGES,
    OPEN_STAGES,
    STAGE_LABELS,
    Case,
    Outcome,
    ReferenceCounter,
    Risk,
    Stage,
    StageChange,
)
from .casework import (
    CaseClosure,
    CaseLink,
    EnquiryAction,
    HomeVisit,
    LaDirection,
    LaNotification,
    LoneWorkingAlert,
    OverseasVerification,
    RiskAssessment,
    SafeguardingContact,
)
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
    "BOARD_STAGES",
    "OPEN_STAGES",
    "STAFF_ROLES",
    "STAGE_LABELS",
    "Address",
    "AddressKind",
    "AuditEvent",
    "Case",
    "CaseClosure",
    "CaseLink",
    "Child",
    "DslAppraisal",
    "EnquiryAction",
    "HomeVisit",
    "LaDirection",
    "LaNotification",
    "LoginAttempt",
    "LoneWorkingAlert",
    "NonTeachingDay",
    "Outcome",
    "OverseasVerification",
    "Person",
    "PersonKind",
    "ReferenceCounter",
    "Referral",
    "ReferralConcern",
    "ReferralEnquiry",
    "ReferralStatus",
    "Risk",
    "RiskAssessment",
    "Role",
    "SafeguardingContact",
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
