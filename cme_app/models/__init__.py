"""Every table, imported here so Alembic and the app see them all."""

from .audit import AuditChainHead, AuditEvent
from .base import UTCDateTime, insert_rows, utcnow
from .calendar import NonTeachingDay, TermPeriod
from .case import Case, ReferenceCounter, StageChange
from .casework import (
    CaseClosure,
    CaseLink,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    LoneWorkingAlert,
    OverseasVerification,
    RiskAssessment,
    SafeguardingContact,
)
from .child import Address, Child, ChildFacts, ChildMatch, ChildMerge, Person
from .data_protection import RetentionApproval, ShareRecord, Tombstone
from .document import Document
from .episode import CensusDate, CmeEpisode, DfeReason, EheCount, EpisodeReason
from .notification import (
    EmailMessage,
    Notification,
    NotificationPreference,
    NotificationRule,
    TeamSettings,
)
from .referral import DslAppraisal, Referral, ReferralConcern, ReferralEnquiry, ReferralFacts
from .school import LoginAttempt, MfaAttempt, School, User, UserSession
from .school_return import DeletionReturn, EheRecord, NewPupilReturn
from .search import CaseSearch
from .securing import SecuringStep

__all__ = [
    "Address",
    "AuditChainHead",
    "AuditEvent",
    "Case",
    "CaseClosure",
    "CaseLink",
    "CaseSearch",
    "CensusDate",
    "Child",
    "ChildFacts",
    "ChildMatch",
    "ChildMerge",
    "CmeEpisode",
    "DeletionReturn",
    "DfeReason",
    "Document",
    "DslAppraisal",
    "EheCount",
    "EheRecord",
    "EmailMessage",
    "EnquiryAction",
    "EpisodeReason",
    "HomeVisit",
    "LaNotification",
    "LoginAttempt",
    "LoneWorkingAlert",
    "MfaAttempt",
    "NewPupilReturn",
    "NonTeachingDay",
    "Notification",
    "NotificationPreference",
    "NotificationRule",
    "OverseasVerification",
    "Person",
    "ReferenceCounter",
    "Referral",
    "ReferralConcern",
    "ReferralEnquiry",
    "ReferralFacts",
    "RetentionApproval",
    "RiskAssessment",
    "SafeguardingContact",
    "School",
    "SecuringStep",
    "ShareRecord",
    "StageChange",
    "TeamSettings",
    "TermPeriod",
    "Tombstone",
    "UTCDateTime",
    "User",
    "UserSession",
    "insert_rows",
    "utcnow",
]
