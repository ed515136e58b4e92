"""The CME domain's vocabulary: roles, stages, risks, outcomes and the other coded values that
tables store, their labels, and the case-reference type. Nothing here touches the database;
every other layer (models, services, pages) reads these names from here. Terms are explained
in docs/glossary.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SCHOOL = "school"
    OFFICER = "officer"
    LEAD = "lead"
    ADMIN = "admin"
    AUDITOR = "auditor"


STAFF_ROLES = frozenset({Role.OFFICER, Role.LEAD, Role.ADMIN, Role.AUDITOR})


class Stage(StrEnum):
    NEW_REFERRAL = "new_referral"
    TRIAGE = "triage"
    ENQUIRIES = "enquiries"
    HOME_VISIT = "home_visit"
    AWAITING_VERIFICATION = "awaiting_verification"
    LOCATED = "located"
    CLOSED = "closed"
    # Side state: the referral went back to the school; not shown on the LA board.
    RETURNED = "returned"


STAGE_LABELS: dict[str, str] = {
    Stage.NEW_REFERRAL: "New referral",
    Stage.TRIAGE: "Triage",
    Stage.ENQUIRIES: "Enquiries",
    Stage.HOME_VISIT: "Home visit",
    Stage.AWAITING_VERIFICATION: "Awaiting verification",
    Stage.LOCATED: "Located – securing education",
    Stage.CLOSED: "Closed",
    Stage.RETURNED: "Returned to referrer",
}


BOARD_STAGES: tuple[Stage, ...] = (
    Stage.NEW_REFERRAL,
    Stage.TRIAGE,
    Stage.ENQUIRIES,
    Stage.HOME_VISIT,
    Stage.AWAITING_VERIFICATION,
    Stage.LOCATED,
    Stage.CLOSED,
)


OPEN_STAGES: tuple[Stage, ...] = BOARD_STAGES[:-1]


class Risk(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class Outcome(StrEnum):
    """Closure reason codes (docs/glossary.md, Closure outcomes)."""

    ONROLL_LEEDS = "onroll_leeds"
    ONROLL_OTHER_LA = "onroll_other_la"
    TRANSFERRED_OTHER_LA = "transferred_other_la"
    LEFT_UK_VERIFIED = "left_uk_verified"
    LEFT_UK_UNVERIFIED = "left_uk_unverified"
    EHE = "ehe"
    OTHER_SUITABLE_EDUCATION = "other_suitable_education"
    NOT_CME_ATTENDANCE = "not_cme_attendance"
    UNTRACEABLE = "untraceable"
    CEASED_CSA = "ceased_csa"
    DECEASED = "deceased"
    DUPLICATE = "duplicate"


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SourceType(StrEnum):
    SCHOOL = "school"
    OTHER_LA = "other_la"
    PARTNER = "partner"
    PUBLIC = "public"
    INTERNAL = "internal"
    NEW_TO_COUNTRY = "new_to_country"
    DELETION_RETURN = "deletion_return"
    HEALTH = "health"
    POLICE = "police"
    HOUSING = "housing"
    SOCIAL_CARE = "social_care"


# Where a referral came from, as its card and the case page say it.
SOURCE_LABELS: dict[str, str] = {
    SourceType.SCHOOL: "School",
    SourceType.OTHER_LA: "Other LA",
    SourceType.PARTNER: "Partner agency",
    SourceType.PUBLIC: "Member of the public",
    SourceType.INTERNAL: "Council service",
    SourceType.NEW_TO_COUNTRY: "New to country",
    SourceType.DELETION_RETURN: "Deletion return",
    SourceType.HEALTH: "Health",
    SourceType.POLICE: "Police",
    SourceType.HOUSING: "Housing",
    SourceType.SOCIAL_CARE: "Children's social care",
}


# Who the team logs a referral from, besides schools: the organisations need naming.
AGENCY_SOURCES: tuple[str, ...] = (
    SourceType.HEALTH, SourceType.POLICE, SourceType.HOUSING, SourceType.SOCIAL_CARE,
    SourceType.INTERNAL,
)

# How a referral the team logged came in (Referral.received_via).
REFERRAL_CHANNELS: dict[str, str] = {
    "phone": "Phone or helpline",
    "email": "Email",
    "secure_email": "Secure email",
    "letter": "Letter",
    "in_person": "In person",
    "meeting": "At a meeting",
}


class LaDirection(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


# What our reply to another LA's notice said (LaNotification.reply_kind).
INBOUND_REPLIES: dict[str, str] = {
    "on_roll_leeds": "Known: on roll at a Leeds school",
    "application": "School application in progress",
    "not_known": "Not known to us",
    "home_visit": "Home visit result",
}


class YesNoUnknown(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class AddressKind(StrEnum):
    LAST_KNOWN = "last_known"
    PREVIOUS = "previous"
    BELIEVED_NEW = "believed_new"
    ABROAD = "abroad"
    TEMPORARY = "temporary"


class PersonKind(StrEnum):
    PARENT_CARER = "parent_carer"
    HOUSEHOLD = "household"
    FRIEND = "friend"
    CONTACT = "contact"


class NotifyEvent(StrEnum):
    REFERRAL_RED = "referral_red"
    REFERRAL_NEW = "referral_new"
    CASE_ALLOCATED = "case_allocated"
    TARGET_DUE = "target_due"
    TARGET_MISSED = "target_missed"
    LA_CHASE = "la_chase"
    LONE_WORKING = "lone_working"
    REFERRAL_RETURNED = "referral_returned"
    CASE_OUTCOME = "case_outcome"
    VISIT_FLAGGED = "visit_flagged"
    POSSIBLE_OFF_ROLLING = "possible_off_rolling"
    NEW_PUPIL_MATCH = "new_pupil_match"
    UNTRACEABLE_RECHECK = "untraceable_recheck"
    DOCUMENT_SENT = "document_sent"


class Delivery(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class EmailStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # given up: refused, too many attempts, or the outcome is unknown


class RecipientType(StrEnum):
    OTHER_LA = "other_la"
    SCHOOL_ABROAD = "school_abroad"
    AGENCY = "agency"
    POLICE = "police"
    CSC = "csc"
    OTHER = "other"


class LawfulBasis(StrEnum):
    PUBLIC_TASK = "art6_1_e"
    LEGAL_OBLIGATION = "art6_1_c"
    SAFEGUARDING = "art9_2_g_sch1_18"
    OTHER = "other"


ROLE_LABELS: dict[str, str] = {
    Role.ADMIN: "Administrator",
    Role.LEAD: "CME team lead",
    Role.OFFICER: "CME officer",
    Role.AUDITOR: "Auditor (DPO)",
    Role.SCHOOL: "School",
}
RISK_LABELS: dict[str, str] = {Risk.RED: "Red", Risk.AMBER: "Amber", Risk.GREEN: "Green"}


# ---------------------------------------------------------------------------------------------
# Case references: CME-YYYY-NNNNN, gap-free per calendar year.

REFERENCE_LENGTH = 16  # the column's width; real references are 14 characters
REFERENCE_PATTERN = re.compile(r"CME-\d{4}-\d{5}")


def case_reference(raw: object) -> str:
    """A reference as typed, pasted or taken from a URL, cleaned the one way everywhere:
    trimmed, upper case, cut to the column's width. It may still name no case."""
    return str(raw or "").strip().upper()[:REFERENCE_LENGTH]


def is_case_reference(text: str) -> bool:
    return REFERENCE_PATTERN.fullmatch(text or "") is not None


def format_case_reference(year: int, number: int) -> str:
    return f"CME-{year}-{number:05d}"


# ---------------------------------------------------------------------------------------------
# CME episodes and the DfE return (docs/glossary.md, "CME episode")


class EpisodeStartBasis(StrEnum):
    """The fact a CME episode starts from; its start date is that fact's date."""

    DELETED_FROM_ROLL = "deleted_from_roll"
    ARRIVED_IN_LA = "arrived_in_la"
    EHE_UNSUITABLE = "ehe_unsuitable"
    IDENTIFIED_NO_ROLL = "identified_no_roll"
    MIGRATED = "migrated"  # made from an older case by the 0010 migration: to be confirmed


EPISODE_START_LABELS: dict[str, str] = {
    EpisodeStartBasis.DELETED_FROM_ROLL: "Deleted from a school roll",
    EpisodeStartBasis.ARRIVED_IN_LA: "Arrived in the local authority",
    EpisodeStartBasis.EHE_UNSUITABLE: "Home education found unsuitable",
    EpisodeStartBasis.IDENTIFIED_NO_ROLL: "Identified as on no school roll",
    EpisodeStartBasis.MIGRATED: "Migrated from an older case (to confirm)",
}


class EpisodeEndReason(StrEnum):
    ON_ROLL = "on_roll"
    ON_ROLL_OTHER_LA = "on_roll_other_la"
    MOVED_OTHER_LA = "moved_other_la"
    LEFT_UK = "left_uk"
    LEFT_UK_UNVERIFIED = "left_uk_unverified"
    EHE = "ehe"
    SUITABLE_EDUCATION = "suitable_education"
    NOT_CME = "not_cme"
    CEASED_CSA = "ceased_csa"
    DIED = "died"
    DUPLICATE = "duplicate"
    OTHER = "other"


EPISODE_END_LABELS: dict[str, str] = {
    EpisodeEndReason.ON_ROLL: "On roll at a school in the LA",
    EpisodeEndReason.ON_ROLL_OTHER_LA: "On roll at a school in another LA",
    EpisodeEndReason.MOVED_OTHER_LA: "Moved to another LA (its CME team has the case)",
    EpisodeEndReason.LEFT_UK: "Left the UK (verified)",
    EpisodeEndReason.LEFT_UK_UNVERIFIED: "Believed to have left the UK (not verified)",
    EpisodeEndReason.EHE: "Electively home educated",
    EpisodeEndReason.SUITABLE_EDUCATION: "Suitable education elsewhere",
    EpisodeEndReason.NOT_CME: "Found not to be missing education",
    EpisodeEndReason.CEASED_CSA: "Ceased compulsory school age",
    EpisodeEndReason.DIED: "Died",
    EpisodeEndReason.DUPLICATE: "Recorded in error (duplicate)",
    EpisodeEndReason.OTHER: "Other",
}


# The DfE's primary reasons for CME (2025/26). The live list is the dfereason table, which a
# lead can extend or retire; this seeds it.
DFE_REASONS: tuple[str, ...] = (
    "Believed to have moved to another country",
    "Believed to have moved to another local authority",
    "Challenging school attendance order",
    "Did not apply for school place at compulsory school age",
    "Did not get school preference",
    "Difficulty accessing suitable school place",
    "Mental health",
    "Moved in from another country",
    "Moved in from another local authority",
    "Not recorded",
    "Offered school place but not yet accepted",
    "Other",
    "Parental decision not to register at school",
    "Physical health",
    "School application awaiting outcome",
    "School dissatisfaction SEND",
    "School dissatisfaction general",
    "Unknown",
    "Unsuitable elective home education",
    "Waiting school start",
)
# The reasons the return warns about when too many children carry them.
UNINFORMATIVE_REASONS = frozenset({"Unknown", "Not recorded"})

# Sex as the return counts it.
RETURN_SEX = {"female": "Female", "male": "Male"}
RETURN_SEXES = ("Female", "Male", "Unknown")

YEAR_GROUPS = ("Reception", *(f"Year {n}" for n in range(1, 12)))
UNKNOWN = "Unknown"

# (label, from days inclusive, to days exclusive): exactly N weeks falls in the band that
# starts at N, so "less than 2 weeks" stops at 13 days and exactly 52 weeks is "more than".
LENGTH_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("less than 2 weeks", 0, 14),
    ("2 to 4 weeks", 14, 28),
    ("4 to 8 weeks", 28, 56),
    ("8 to 12 weeks", 56, 84),
    ("12 to 26 weeks", 84, 182),
    ("26 to 52 weeks", 182, 364),
    ("more than 52 weeks", 364, None),
)


# ---------------------------------------------------------------------------------------------
# Schools' deletion returns (reg 9(1) and 13(4), 2024 Regulations; docs/glossary.md)


@dataclass(frozen=True)
class DeletionGround:
    letter: str
    title: str  # what a school reads first: the ground in words, never "Ground A" alone
    explanation: str  # one plain-English line


DELETION_GROUNDS: dict[str, DeletionGround] = {g.letter: g for g in (
    DeletionGround("A", "Registered at another school",
                   "The pupil has joined another school and is on its admission register."),
    DeletionGround("B", "Not continuing from the nursery class",
                   "The pupil was in this school's nursery class and is not moving up into "
                   "reception here."),
    DeletionGround("C", "Dual registration ended",
                   "The pupil was registered at more than one school and is no longer to "
                   "attend this one."),
    DeletionGround("D", "School attendance order now names another school",
                   "The school attendance order was changed to name a different school."),
    DeletionGround("E", "School attendance order revoked",
                   "The school attendance order was revoked because the pupil is being "
                   "educated suitably elsewhere."),
    DeletionGround("F", "Home educated: the parent told the school in writing",
                   "The parent has told the school in writing that they are educating the "
                   "child otherwise than at school (elective home education)."),
    DeletionGround("G", "Moved too far away to attend",
                   "The pupil no longer lives within reasonable distance of the school."),
    DeletionGround("H", "Not back after a leave of absence",
                   "The pupil did not return within 10 school days of the end of agreed "
                   "leave, and the school and the LA together could not find them."),
    DeletionGround("I", "20 school days' continuous unauthorised absence",
                   "The pupil has missed 20 or more school days in a row without permission, "
                   "and the school and the LA together could not find them."),
    DeletionGround("J", "In custody",
                   "The pupil is detained under a sentence and will not return before the end "
                   "of compulsory school age."),
    DeletionGround("K", "Died", "The pupil has died."),
    DeletionGround("L", "Leaving at the end of compulsory school age",
                   "The pupil reaches the end of compulsory school age and is not staying on "
                   "for the sixth form."),
    DeletionGround("M", "Boarding fees not paid",
                   "The pupil boards at a state boarding school and the boarding fees have "
                   "not been paid."),
    DeletionGround("N", "Left an independent or non-maintained special school",
                   "The pupil has stopped being a pupil at this independent or non-maintained "
                   "special school."),
    DeletionGround("O", "Permanently excluded",
                   "The pupil has been permanently excluded and the time to challenge the "
                   "exclusion has passed."),
)}
# Grounds that name where the pupil is now registered: the return must say which school.
GROUNDS_NAMING_A_SCHOOL = frozenset({"A", "D"})
# Grounds that need joint reasonable enquiries by school and LA before a deletion is lawful.
JOINT_ENQUIRY_GROUNDS = frozenset({"H", "I"})
# Attendance codes ground I's whole period must carry (unauthorised; no reason to believe
# sickness or unavoidable cause).
GROUND_I_CODES = ("G", "N", "O")
# What the school confirms before ground I (the return's form and the referral form alike).
GROUND_I_CONFIRMATION = (
    f"Every day of the absence was coded {', '.join(GROUND_I_CODES[:-1])} or "
    f"{GROUND_I_CODES[-1]}, and there is no reason to believe the pupil is ill or unable to "
    "attend"
)
GROUND_I_CONFIRM_FIRST = (
    f"Confirm that every day of the absence was coded {', '.join(GROUND_I_CODES[:-1])} or "
    f"{GROUND_I_CODES[-1]} and there is no reason to believe the pupil is ill or unable to "
    "attend"
)


def ground_regulation(letter: str) -> str:
    """The regulation a ground is under, as a notice cites it: 'regulation 9(1)(i)'."""
    return f"regulation 9(1)({letter.lower()})"


def ground_words(letter: str | None) -> str:
    """'Moved too far away to attend (ground G)': the words first, the letter for the MIS."""
    ground = DELETION_GROUNDS.get(letter or "")
    return f"{ground.title} (ground {ground.letter})" if ground else "Not given"
