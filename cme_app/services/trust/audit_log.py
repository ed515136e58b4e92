"""Reading the audit trail (issue 5): the /audit search, and "who has accessed this child's
record" with its CSV for a subject access request. For the DPO (auditor) and team leads only;
every search and export is itself audited. Children are picked by case reference or child id,
never by name, so names never reach a filter or the log."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...dates import short_date_time, uk_midnight
from ...domain import ROLE_LABELS, case_reference, is_case_reference
from ...errors import FieldError, ValidationFailed
from ...models import AuditEvent, Case, Child, User
from ...numbers import row_id
from ...permissions import Actor, Capability, require
from ..intake.child_ids import record_ids
from ..reporting.reports import safe_cell
from . import audit, purpose

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000

# Every action the services write, in plain words. The Action filter offers exactly these.
ACTION_LABELS = {
    "auth.sign_in": "Signed in",
    "auth.sign_out": "Signed out",
    "user.created": "Created a user",
    "user.list": "Listed accounts",
    "user.disabled": "Disabled an account",
    "user.enabled": "Enabled an account",
    "user.password_reset": "Reset a password",
    "auth.mfa_reset": "Reset an authentication app",
    "school.added": "Added a school",
    "referral.draft_saved": "Saved a referral draft",
    "referral.draft_open": "Opened a referral draft",
    "referral.draft_autosaved": "Saved a referral draft as it was typed",
    "referral.draft_kept_after_timeout": "Kept a referral draft after a timed-out session",
    "referral.submitted": "Submitted a referral",
    "referral.resubmitted": "Resubmitted a referral",
    "referral.submit_repeated": "Sent an already stored referral again",
    "referral.receipt_shown": "Saw the confirmation of a sent referral again",
    "referral.returned": "Returned a referral to the school",
    "referral.list": "Listed referrals",
    "referral.view": "Viewed a referral",
    "referral.inbound_logged": "Logged an inbound referral",
    "case.list": "Viewed the board",
    "case.viewed": "Viewed a case",
    "case.search": "Searched for cases (the words are not kept)",
    "case.export": "Exported open cases",
    "case.moved": "Moved a case",
    "case.triaged": "Triaged a case",
    "case.risk_overridden": "Overrode a case's risk",
    "case.allocated": "Allocated a case",
    "case.closure_proposed": "Proposed closing a case",
    "case.closed": "Closed a case",
    "case.reopened": "Reopened a case",
    "case.safeguarding_recorded": "Recorded a safeguarding contact",
    "case.enquiry_logged": "Logged an enquiry",
    "case.visit_recorded": "Recorded a visit",
    "case.visit_safety_changed": "Changed visit safety markers",
    "case.la_notified": "Notified another local authority",
    "case.la_response_recorded": "Recorded another authority's reply",
    "case.la_reply_recorded": "Recorded our reply to another authority",
    "case.overseas_recorded": "Recorded overseas verification",
    "case.linked": "Linked a household case",
    "document.created": "Made a notice or letter",
    "document.listed": "Listed a case's notices and letters",
    "document.downloaded": "Downloaded a notice or letter",
    "child.match_proposed": "Proposed that two child records are the same child",
    "child.match_confirmed": "Confirmed two child records are the same child",
    "child.match_rejected": "Said two child records are not the same child",
    "child.merged": "Merged two child records",
    "child.merge_undone": "Undid a merge of child records",
    "visits.list_viewed": "Viewed their visit list",
    "visit.checked_in": "Started a visit",
    "visit.recorded": "Recorded a visit",
    "visit.checked_out": "Ended a visit",
    "visit.synced": "Sent a visit from a phone",
    "visit.flagged": "Visit flagged for review",
    "visit.flag_reviewed": "Reviewed a flagged visit",
    "visit.overdue_buddy_alerted": "Overdue visit: buddy alerted",
    "visit.overdue_lead_alerted": "Overdue visit: leads alerted",
    "visit.alert_resolved": "Marked an officer safe",
    "dashboard.view": "Viewed the dashboard",
    "notification.created": "Notification created",
    "notification.email_sent": "Email sent",
    "notification.email_failed": "Email failed",
    "notification.preferences_changed": "Changed notification choices",
    "notification.team_rules_changed": "Changed the team's notification rules",
    "notification.duty_officer_changed": "Changed the duty officer",
    "audit.searched": "Searched the audit log",
    "audit.exported": "Exported a child's access record",
    # Issue 18: every action the services and the handler adapter write has its words.
    "permission.refused": "Used a page action their role does not have",
    "auth.password_ok": "Entered a correct password (authentication code next)",
    "auth.mfa_enrolled": "Set up an authentication app",
    "auth.mfa_failed": "Entered a wrong authentication code",
    "auth.mfa_throttled": "Entered an authentication code too often",
    "calendar.term_added": "Added a term",
    "calendar.term_changed": "Changed a term",
    "calendar.term_removed": "Removed a term",
    "calendar.non_teaching_day_added": "Added a non-teaching day",
    "calendar.non_teaching_day_removed": "Removed a non-teaching day",
    "case.ground_advice": "Checked which deletion ground a school may use",
    "case.police_report": "Recorded the report to the police",
    "case.shared": "Recorded sharing the child's information",
    "case.sharing_log_viewed": "Viewed a case's sharing log",
    "case.legal_hold_set": "Put a case under legal hold",
    "case.legal_hold_cleared": "Lifted a case's legal hold",
    "census_day.added": "Added a census day",
    "census_day.removed": "Removed a census day",
    "dfe_reason.added": "Added a DfE reason",
    "dfe_reason.retired": "Retired a DfE reason",
    "dfe_return.viewed": "Viewed the DfE return",
    "dfe_return.children_viewed": "Viewed the children behind a DfE return figure",
    "dfe_return.export": "Exported the DfE return",
    "ehe.imported": "Imported the elective home education list",
    "episode.started": "Started a CME episode",
    "episode.changed": "Changed a CME episode",
    "episode.ended": "Ended a CME episode",
    "episode.closed_with_case": "Ended a CME episode with its case",
    "episode.reason_followed": "Updated a CME episode's reason from the securing steps",
    "securing.recorded": "Recorded a step in securing education",
    "securing.updated": "Updated a step in securing education",
    "securing.keyworker_due": "Keyworker step fell due",
    "deletion_return.received": "Received a school's deletion return",
    "deletion_return.imported": "Imported a file of deletion returns",
    "new_pupil_return.received": "Received a school's new-pupil return",
    "new_pupil_return.imported": "Imported a file of new-pupil returns",
    "new_pupil_match.confirmed": "Confirmed a new pupil is the case's child",
    "new_pupil_match.dismissed": "Said a new pupil is not the case's child",
    "school_returns.listed": "Viewed their school's returns",
    "school_returns.la_listed": "Viewed every school's returns",
    "school_returns.off_rolling_listed": "Viewed the possible off-rolling list",
    "school_returns.off_rolling_reviewed": "Reviewed a possible off-rolling",
    "retention.listed": "Viewed the records due for deletion",
    "retention.approved": "Approved deleting a record",
    "retention.destroyed": "Deleted a record at the end of its retention",
    "retention.destroy_skipped": "Kept a record due for deletion (it changed)",
    "sar.exported": "Exported a subject access request",
}
# How a refused or failed attempt reads: "Tried to move a case". The first word of a label,
# past tense, and its plain form; a label whose first word is not here ("Email failed") keeps
# its words and gets the outcome after them.
_PLAIN_FORM = {
    "Added": "add", "Allocated": "allocate", "Approved": "approve", "Changed": "change",
    "Checked": "check", "Closed": "close", "Confirmed": "confirm", "Created": "create",
    "Deleted": "delete", "Disabled": "disable", "Downloaded": "download", "Enabled": "enable",
    "Ended": "end", "Entered": "enter", "Exported": "export", "Imported": "import",
    "Kept": "keep", "Lifted": "lift", "Linked": "link", "Listed": "list", "Logged": "log",
    "Made": "make", "Marked": "mark", "Merged": "merge", "Moved": "move", "Notified": "notify",
    "Opened": "open", "Overrode": "override", "Proposed": "propose", "Put": "put",
    "Received": "receive", "Recorded": "record", "Removed": "remove", "Reopened": "reopen",
    "Reset": "reset", "Resubmitted": "resubmit", "Retired": "retire", "Returned": "return",
    "Reviewed": "review", "Said": "say", "Saved": "save", "Searched": "search", "Sent": "send",
    "Set": "set", "Signed": "sign", "Started": "start", "Submitted": "submit",
    "Triaged": "triage", "Undid": "undo", "Updated": "update", "Used": "use",
    "Viewed": "view",
}


def describe(action: str, outcome: str) -> str:
    """An event in plain words: "Moved a case"; a refused one "Tried to move a case: refused"
    (so a refused attempt never reads as done). An action with no words shows its code."""
    label = ACTION_LABELS.get(action, action)
    if outcome == "ok":
        return label
    how = OUTCOME_LABELS.get(outcome, outcome)
    how = how[:1].lower() + how[1:]
    first, _, rest = label.partition(" ")
    if how.split()[0] in label.lower():  # "Email failed" with outcome failed
        return label
    if first in _PLAIN_FORM:
        return f"Tried to {_PLAIN_FORM[first]} {rest}: {how}".replace("  ", " ")
    return f"{label}: {how}"
OUTCOME_LABELS = {
    "ok": "Done",
    "not_found": "Not found",
    "refused": "Refused",
    "throttled": "Refused (too many attempts)",
    "failed": "Failed",
    "purpose_required": "Asked for a purpose",
}
CSV_HEADER = ["Who", "Role", "When (UTC)", "Action", "Outcome", "Record", "Purpose",
              "IP address"]


@dataclass(frozen=True)
class AuditRow:
    id: int
    when: str  # UK time, "28 Nov 2026 10:31"
    when_utc: str  # ISO 8601, UTC
    who: str
    role: str
    action: str  # plain words
    action_code: str
    record: str  # "Case CME-2026-00042"
    outcome: str
    purpose: str
    ip: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Filters:
    """Checked filters, as plain values that can go in an audit event's detail."""

    child_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def detail(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
            if v is not None
        }


# ---- validation ---------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve_child(session: Session, value: Any) -> int | None:
    """A child id from a case reference (CME-2026-00042) or a child id; None if there is no
    such child."""
    text = case_reference(value)
    if is_case_reference(text):
        return session.exec(select(Case.child_id).where(Case.reference == text)).first()
    number = row_id(value)
    if number is None:
        return None
    return number if session.get(Child, number) is not None else None


def _child_filter(session: Session, value: Any, errors: list[FieldError]) -> int | None:
    if _blank(value):
        return None
    child = resolve_child(session, value)
    if child is None:
        errors.append(FieldError(
            "child", "Enter a case reference like CME-2026-00042 or a child's id number"
        ))
    return child


def _user_filter(session: Session, value: Any, errors: list[FieldError]) -> int | None:
    if _blank(value):
        return None
    user = row_id(value)
    if user is None or session.get(User, user) is None:
        errors.append(FieldError("user", "Select a user from the list"))
        return None
    return user


def _date_filter(name: str, label: str, value: Any, errors: list[FieldError]) -> date | None:
    if _blank(value):
        return None
    parsed = _day(value)
    if parsed is None:
        errors.append(FieldError(name, f"{label} must be a real date"))
    return parsed


def check_filters(
    session: Session,
    *,
    child_id: Any = None,
    user_id: Any = None,
    action: Any = None,
    date_from: Any = None,
    date_to: Any = None,
) -> Filters:
    """Every filter checked, every problem reported at once (field names match the form)."""
    errors: list[FieldError] = []
    child = _child_filter(session, child_id, errors)
    user = _user_filter(session, user_id, errors)
    if not _blank(action) and action not in ACTION_LABELS:
        errors.append(FieldError("action", "Select an action from the list"))
    day_from = _date_filter("date_from", "From date", date_from, errors)
    day_to = _date_filter("date_to", "To date", date_to, errors)
    if day_from and day_to and day_from > day_to:
        errors.append(FieldError("date_to", "To date must be the same as or after From date"))
    if errors:
        raise ValidationFailed(errors)
    return Filters(
        child_id=child, user_id=user, action=None if _blank(action) else action,
        date_from=day_from, date_to=day_to,
    )


def _page_numbers(page: Any, page_size: Any) -> tuple[int, int]:
    number, size = row_id(page), row_id(page_size)
    errors = []
    if number is None or not 1 <= number <= MAX_PAGE:
        errors.append(FieldError("page", "Page must be a whole number from 1"))
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        errors.append(FieldError("page_size", f"Show between 1 and {MAX_PAGE_SIZE} rows"))
    if errors:
        raise ValidationFailed(errors)
    return number, size


# ---- queries ------------------------------------------------------------------------------


def _conditions(f: Filters) -> list:
    where = []
    if f.child_id is not None:
        where.append(AuditEvent.child_id == f.child_id)
    if f.user_id is not None:
        where.append(AuditEvent.actor_id == f.user_id)
    if f.action is not None:
        where.append(AuditEvent.action == f.action)
    if f.date_from is not None:
        where.append(col(AuditEvent.at) >= uk_midnight(f.date_from))
    if f.date_to is not None:  # the whole of the To day, in UK time
        where.append(col(AuditEvent.at) < uk_midnight(f.date_to + timedelta(days=1)))
    return where


def _record(event: AuditEvent) -> str:
    if not event.entity_type:
        return ""
    if event.entity_type == "handler" and event.entity_id:  # "CaseState.move_case"
        return f"Page action: {event.entity_id.rpartition('.')[2].replace('_', ' ')}"
    kind = event.entity_type.replace("_", " ").capitalize()
    return f"{kind} {event.entity_id}" if event.entity_id else kind


def _role(code: str | None) -> str:
    """The role in words ("CME team lead"), as the accounts page says it; "System" for the
    app's own work."""
    if not code:
        return ""
    return ROLE_LABELS.get(code, "System" if code == "system" else code.capitalize())


def _nobody(action: str) -> str:
    # A failed sign-in has no user yet; anything else without one was the system itself.
    return "Not signed in" if action.startswith("auth.") else "System"


def _rows(session: Session, events: list[AuditEvent]) -> list[AuditRow]:
    ids = {e.actor_id for e in events if e.actor_id}
    people = (
        {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}
        if ids else {}
    )
    rows = []
    for e in events:
        person = people.get(e.actor_id)
        at = e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)
        rows.append(AuditRow(
            id=e.id,
            when=short_date_time(at),
            when_utc=at.astimezone(UTC).isoformat(timespec="seconds"),
            who=(person.name or person.email) if person else _nobody(e.action),
            role=_role(e.actor_role),
            action=describe(e.action, e.outcome),
            action_code=e.action,
            record=_record(e),
            outcome=OUTCOME_LABELS.get(e.outcome, e.outcome),
            purpose=purpose.label(e.detail),
            ip=e.ip or "",
        ))
    return rows


def search(
    session: Session,
    *,
    actor: Actor | None,
    child_id: Any = None,
    user_id: Any = None,
    action: Any = None,
    date_from: Any = None,
    date_to: Any = None,
    page: Any = 1,
    page_size: Any = PAGE_SIZE,
) -> AuditPage:
    """One page of events, newest first. A page past the end shows the last page."""
    actor = require(actor, Capability.AUDIT_READ)
    number, size = _page_numbers(page, page_size)
    filters = check_filters(
        session, child_id=child_id, user_id=user_id, action=action, date_from=date_from,
        date_to=date_to,
    )
    where = _conditions(filters)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
    pages = max(1, math.ceil(total / size))
    number = min(number, pages)
    events = session.exec(
        select(AuditEvent).where(*where).order_by(col(AuditEvent.id).desc())
        .offset((number - 1) * size).limit(size)
    ).all()
    rows = _rows(session, list(events))
    audit.record(
        session, actor=actor, action="audit.searched", entity_type="audit",
        detail={**filters.detail(), "page": number, "results": total},
    )
    return AuditPage(rows=rows, page=number, pages=pages, total=total)


def _child_events(session: Session, child_id: Any) -> tuple[int, list[AuditEvent]]:
    child = check_filters(session, child_id=child_id).child_id
    if child is None:
        raise ValidationFailed([FieldError("child", "Enter a case reference or a child's id")])
    # Events stay filed under the record they were about: a merged record's are this child's.
    events = session.exec(
        select(AuditEvent).where(col(AuditEvent.child_id).in_(record_ids(session, child)))
        .order_by(col(AuditEvent.id))
    ).all()
    return child, list(events)


def accesses_to_child(session: Session, *, actor: Actor | None, child_id: Any) -> list[AuditRow]:
    """Every view, change, export and share of one child's record, oldest first."""
    actor = require(actor, Capability.AUDIT_READ)
    child, events = _child_events(session, child_id)
    audit.record(
        session, actor=actor, action="audit.searched", entity_type="audit",
        detail={"child_id": child, "view": "accesses", "results": len(events)},
    )
    return _rows(session, events)


@dataclass(frozen=True)
class ChildAccesses:
    child_id: int
    references: list[str]  # the child's case references: the page names them without a name
    rows: list[AuditRow]


def child_accesses(session: Session, *, actor: Actor | None, child_id: Any) -> ChildAccesses:
    """"Who has accessed this child's record", as the /audit page shows it."""
    rows = accesses_to_child(session, actor=actor, child_id=child_id)
    child = resolve_child(session, child_id) or 0
    return ChildAccesses(child_id=child, rows=rows,
                         references=child_references(session, actor=actor, child_id=child))


def accesses_csv(session: Session, *, actor: Actor | None, child_id: Any) -> str:
    """The same, as CSV for a subject access request: who, role, when (UTC), action, outcome
    (so a refused attempt never reads as a success), record, purpose, IP address."""
    actor = require(actor, Capability.AUDIT_READ)
    child, events = _child_events(session, child_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in _rows(session, events):
        writer.writerow([
            safe_cell(v) for v in (r.who, r.role, r.when_utc, r.action, r.outcome, r.record,
                                   r.purpose, r.ip)
        ])
    audit.record(
        session, actor=actor, action="audit.exported", entity_type="audit",
        detail={"child_id": child, "rows": len(events)},
    )
    return out.getvalue()


def child_references(session: Session, *, actor: Actor | None, child_id: int) -> list[str]:
    """The case references of one child, to name them on the page without their name."""
    require(actor, Capability.AUDIT_READ)
    return list(session.exec(
        select(Case.reference).where(col(Case.child_id).in_(record_ids(session, child_id)))
        .order_by(Case.reference)
    ).all())


def user_choices(session: Session, *, actor: Actor | None) -> dict[str, str]:
    """Staff and school users for the User filter: {id: "Name (role)"}."""
    require(actor, Capability.AUDIT_READ)
    users = session.exec(select(User).order_by(User.name, User.email)).all()
    return {str(u.id): f"{u.name or u.email} ({u.role})" for u in users}
