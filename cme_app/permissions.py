"""Who may do what: the one permissions table (role x capability).

Every service starts with `require(actor, Capability.X)`; every page handler is declared with
the capabilities it needs (state/handlers.py) and checked against this same table before it
runs; the navigation shows a link only where `allows` says so; and the handler-guard test
(tests/pages/test_handler_guards.py) checks the table against the agreed matrix and calls
every handler as each role the table leaves out.

Record-level rules (a school sees only its own referrals; an officer moves only cases
allocated to them) are not roles: they stay in the service that owns the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .domain import Role
from .errors import NotAllowed

SCHOOL, OFFICER, LEAD, ADMIN, AUDITOR = (
    Role.SCHOOL, Role.OFFICER, Role.LEAD, Role.ADMIN, Role.AUDITOR,
)
EVERYONE = frozenset(Role)
REFUSED = "You do not have permission to do that."


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    name: str
    email: str
    school_id: int | None = None
    ip: str | None = None

    @property
    def is_school(self) -> bool:
        return self.role == Role.SCHOOL


class Capability(StrEnum):
    # Signed in at all: the header, sign-out and the inbox.
    SIGNED_IN = "signed_in"
    # Intake
    REFERRAL_WRITE = "referral.write"  # list, draft, submit and resubmit the school's own
    REFERRAL_VIEW = "referral.view"  # one referral's page (a school: its own only)
    INBOUND_LOG = "inbound.log"  # log a referral from another LA or a child new to the country
    # Schools' statutory returns (reg 13): deletions and new pupils
    SCHOOL_RETURNS = "returns.school"  # a school's own returns: make, upload and follow them
    NEW_PUPIL_RECORD = "returns.new_pupil"  # record a new pupil (a school, or the LA for one)
    RETURNS_LA_VIEW = "returns.la_view"  # every school's returns, as the LA received them
    OFF_ROLLING_REVIEW = "returns.off_rolling"  # the possible off-rolling list and its review
    # Casework
    CASE_VIEW = "case.view"  # the board and the case file
    CASELOAD = "case.caseload"  # holds a caseload: can be allocated cases
    # Every officer's cases and lone-working alerts, not only one's own: log a visit on a case
    # allocated to someone else, see and answer any open alert.
    WHOLE_CASELOAD = "case.whole_caseload"
    CASE_TRIAGE = "case.triage"  # record triage factors (the risk they propose)
    CASE_RISK_OVERRIDE = "case.risk_override"
    CASE_ALLOCATE = "case.allocate"
    CASE_RECORD = "case.record"  # safeguarding, enquiries, desk visits, overseas, links, safety
    CASE_MOVE = "case.move"  # non-closing stage moves and the return to the referrer
    LA_NOTIFY = "la.notify"  # notify another LA and record its reply
    CLOSURE_PROPOSE = "closure.propose"
    CASE_CLOSE = "case.close"  # close, or approve a proposed closure
    CASE_REOPEN = "case.reopen"
    VISIT_FLAG_REVIEW = "visit.flag_review"  # a visit that arrived after its case moved on
    EPISODE_RECORD = "episode.record"  # start, change and end a child's CME episode
    # Notices and letters on a case: make one; download one (a school: only those sent to it).
    DOCUMENT_CREATE = "document.create"
    DOCUMENT_READ = "document.read"
    # One record per child: confirm or reject a proposed match (confirming merges).
    CHILD_MATCH = "child.match"
    CHILD_MERGE_UNDO = "child.merge_undo"
    # Visits
    VISIT_LOG = "visit.log"  # the phone's visit log
    LONE_WORKING_RESPOND = "lone_working.respond"  # see alerts and mark an officer safe
    # Notify
    NOTIFICATION_PREFERENCES = "notify.preferences"
    TEAM_NOTIFICATION_RULES = "notify.team_rules"
    # Trust
    AUDIT_READ = "audit.read"
    SHARE_RECORD = "share.record"
    SHARING_LOG_VIEW = "share.view"
    LEGAL_HOLD = "retention.legal_hold"
    RETENTION_VIEW = "retention.view"
    RETENTION_APPROVE = "retention.approve"
    ACCOUNTS_MANAGE = "accounts.manage"
    SCHOOLS_MANAGE = "schools.manage"
    # Reporting
    DASHBOARD = "reporting.dashboard"
    DFE_RETURN_VIEW = "returns.dfe_view"  # the termly DfE return, its lists and downloads
    DFE_RETURN_MANAGE = "returns.dfe_manage"  # census days, the reason list, EHE imports
    # School calendar
    CALENDAR_MANAGE = "calendar.manage"


C = Capability
# The table: the roles that have each capability (the permission matrix in
# docs/glossary.md's "Roles" section, made exact).
PERMISSIONS: dict[Capability, frozenset[Role]] = {
    C.SIGNED_IN: EVERYONE,
    C.REFERRAL_WRITE: frozenset({SCHOOL}),
    # The auditor (DPO) reads the audit log, not referrals.
    C.REFERRAL_VIEW: frozenset({SCHOOL, OFFICER, LEAD, ADMIN}),
    C.INBOUND_LOG: frozenset({OFFICER, LEAD, ADMIN}),
    C.SCHOOL_RETURNS: frozenset({SCHOOL}),
    C.NEW_PUPIL_RECORD: frozenset({SCHOOL, OFFICER, LEAD, ADMIN}),
    C.RETURNS_LA_VIEW: frozenset({OFFICER, LEAD, ADMIN}),
    C.OFF_ROLLING_REVIEW: frozenset({LEAD}),
    # The auditor (DPO) reads the audit log, not case files.
    C.CASE_VIEW: frozenset({OFFICER, LEAD, ADMIN}),
    C.CASELOAD: frozenset({OFFICER, LEAD}),
    C.WHOLE_CASELOAD: frozenset({LEAD}),
    C.CASE_TRIAGE: frozenset({OFFICER, LEAD}),
    C.CASE_RISK_OVERRIDE: frozenset({LEAD}),
    C.CASE_ALLOCATE: frozenset({LEAD}),
    C.CASE_RECORD: frozenset({OFFICER, LEAD}),
    C.CASE_MOVE: frozenset({OFFICER, LEAD}),
    C.LA_NOTIFY: frozenset({OFFICER, LEAD, ADMIN}),
    C.CLOSURE_PROPOSE: frozenset({OFFICER, LEAD}),
    C.CASE_CLOSE: frozenset({LEAD}),
    C.CASE_REOPEN: frozenset({LEAD}),
    C.VISIT_FLAG_REVIEW: frozenset({LEAD}),
    C.EPISODE_RECORD: frozenset({OFFICER, LEAD}),
    C.DOCUMENT_CREATE: frozenset({OFFICER, LEAD}),
    # The auditor (DPO) reads the audit log, not letters about a child.
    C.DOCUMENT_READ: frozenset({SCHOOL, OFFICER, LEAD, ADMIN}),
    C.CHILD_MATCH: frozenset({OFFICER, LEAD}),
    C.CHILD_MERGE_UNDO: frozenset({LEAD}),
    C.VISIT_LOG: frozenset({OFFICER, LEAD}),
    C.LONE_WORKING_RESPOND: frozenset({OFFICER, LEAD}),
    # Only roles that are sent notifications choose how.
    C.NOTIFICATION_PREFERENCES: frozenset({SCHOOL, OFFICER, LEAD}),
    C.TEAM_NOTIFICATION_RULES: frozenset({LEAD}),
    C.AUDIT_READ: frozenset({AUDITOR, LEAD}),
    C.SHARE_RECORD: frozenset({OFFICER, LEAD}),
    C.SHARING_LOG_VIEW: frozenset({OFFICER, LEAD, ADMIN}),
    C.LEGAL_HOLD: frozenset({LEAD}),
    C.RETENTION_VIEW: frozenset({LEAD, AUDITOR}),
    C.RETENTION_APPROVE: frozenset({LEAD}),
    C.ACCOUNTS_MANAGE: frozenset({ADMIN}),
    C.SCHOOLS_MANAGE: frozenset({ADMIN}),
    # Not the auditor: the export names children, and the DPO works from the audit log.
    C.DASHBOARD: frozenset({LEAD, ADMIN}),
    C.CALENDAR_MANAGE: frozenset({ADMIN}),
    # The return is counts; the lists behind them name children, so each is audited.
    C.DFE_RETURN_VIEW: frozenset({LEAD, ADMIN, AUDITOR}),
    C.DFE_RETURN_MANAGE: frozenset({LEAD}),
}
assert set(PERMISSIONS) == set(Capability), "every capability needs a row"


def allows(role: Role | str | None, *capabilities: Capability) -> bool:
    """True when `role` has every one of `capabilities`."""
    return role in EVERYONE and all(role in PERMISSIONS[c] for c in capabilities)


def roles_with(*capabilities: Capability) -> frozenset[Role]:
    return frozenset(r for r in Role if allows(r, *capabilities))


def require(actor: Actor | None, *capabilities: Capability) -> Actor:
    """The actor, if signed in with every one of `capabilities`; NotAllowed otherwise."""
    if actor is None or not allows(actor.role, *capabilities):
        raise NotAllowed(REFUSED)
    return actor


def require_school_user(actor: Actor | None, *capabilities: Capability) -> Actor:
    actor = require(actor, *capabilities)
    if actor.role != Role.SCHOOL:
        raise NotAllowed(REFUSED)
    if actor.school_id is None:
        raise NotAllowed("Your account is not linked to a school.")
    return actor
