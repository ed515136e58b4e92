"""Retention schedule, destruction list, legal hold and destruction (BR-D4, BR-D5, SC-21).

Nothing here runs on a timer: a lead (or the auditor, read-only) looks at the destruction
list, a lead approves items, and `cme-app retention destroy --approved` destroys approved
items after checking the hold and the dates again. The schedule is documented in
docs/retention.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, delete, select

from ...dates import LONDON, long_date
from ...domain import ReferralStatus, Stage
from ...errors import FieldError, Refusal, ValidationFailed
from ...models import (
    Address,
    Case,
    CaseClosure,
    CaseLink,
    Child,
    Document,
    DslAppraisal,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    LoneWorkingAlert,
    OverseasVerification,
    Person,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    RetentionApproval,
    RiskAssessment,
    SafeguardingContact,
    SecuringStep,
    ShareRecord,
    StageChange,
    Tombstone,
    utcnow,
)
from ...permissions import Actor, Capability, require
from ...settings import get_settings
from ..casework.lifecycle import load_case
from . import audit

CLOSED_CASE = "closed_case"
DRAFT_REFERRAL = "draft_referral"

HOLD_REASON_LIMIT = 1000
MAX_APPROVALS = 500  # one approval request; the page never shows more


@dataclass(frozen=True)
class RecordClass:
    code: str
    label: str
    years: int
    starts: str  # what the period counts from, in words


def schedule() -> tuple[RecordClass, ...]:
    """The retention schedule: one row per record class (docs/retention.md)."""
    return (
        RecordClass(CLOSED_CASE, "Closed CME case", get_settings().retention_years_after_closure,
                    "closure of the child's latest case"),
        RecordClass(DRAFT_REFERRAL, "Referral draft never submitted", 1, "its last change"),
    )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a non-leap year
        return day.replace(year=day.year + years, day=28)


def _local_day(value: datetime) -> date:
    return value.astimezone(LONDON).date()


@dataclass
class ListedItem:
    record_class: str
    record_id: int
    reference: str  # case reference, or "Draft <id>"; never a child's name
    label: str  # the record class in words
    since: str  # the date the period counts from (ISO)
    due_on: str  # the date the record became due for destruction (ISO)
    reason: str
    due_label: str = ""  # due_on as people read it, e.g. "1 June 2025"
    legal_hold: bool = False
    approved: bool = False


def _period(code: str) -> RecordClass:
    return next(r for r in schedule() if r.code == code)


def _case_items(session: Session, today: date) -> list[ListedItem]:
    """Closed cases past their date. The child's record is shared by every episode, so a
    case is due only when all the child's cases are closed and past date; a hold on any of
    them holds them all."""
    rule = _period(CLOSED_CASE)
    cases = session.exec(select(Case).order_by(Case.child_id, Case.id)).all()
    by_child: dict[int, list[Case]] = {}
    for case in cases:
        by_child.setdefault(case.child_id, []).append(case)
    destroyed = set(session.exec(
        select(Tombstone.record_id).where(Tombstone.record_class == CLOSED_CASE)
    ).all())
    items = []
    for group in by_child.values():
        live = [c for c in group if c.id not in destroyed]
        if not live or any(c.stage != Stage.CLOSED or c.closed_at is None for c in live):
            continue
        last_closed = max(_local_day(c.closed_at) for c in live)
        due = _years_after(last_closed, rule.years)
        if due > today:
            continue
        held = any(c.legal_hold for c in live)
        for case in live:
            items.append(ListedItem(
                record_class=CLOSED_CASE,
                record_id=case.id,
                reference=case.reference,
                label=rule.label,
                since=last_closed.isoformat(),
                due_on=due.isoformat(),
                due_label=long_date(due),
                reason=f"Closed {long_date(last_closed)}; kept {rule.years} years after closure.",
                legal_hold=held,
            ))
    return items


def _draft_items(session: Session, today: date) -> list[ListedItem]:
    rule = _period(DRAFT_REFERRAL)
    drafts = session.exec(
        select(Referral).where(Referral.status == ReferralStatus.DRAFT).order_by(Referral.id)
    ).all()
    items = []
    for draft in drafts:
        changed = _local_day(draft.updated_at)
        due = _years_after(changed, rule.years)
        if due <= today:
            items.append(ListedItem(
                record_class=DRAFT_REFERRAL,
                record_id=draft.id,
                reference=f"Draft {draft.id}",
                label=rule.label,
                since=changed.isoformat(),
                due_on=due.isoformat(),
                due_label=long_date(due),
                reason=f"Never submitted; last changed {long_date(changed)}.",
            ))
    return items


def _review(session: Session, today: date) -> list[ListedItem]:
    """Every record past its date, held or not, with its approval state."""
    pending = {
        (a.record_class, a.record_id)
        for a in session.exec(
            select(RetentionApproval).where(col(RetentionApproval.destroyed_at).is_(None))
        ).all()
    }
    items = _case_items(session, today) + _draft_items(session, today)
    return [
        ListedItem(**{**i.__dict__, "approved": (i.record_class, i.record_id) in pending})
        for i in items
    ]


def destruction_list(session: Session, *, actor: Actor | None, today: date) -> list[ListedItem]:
    """Records past their retention date and not under legal hold (SC-21)."""
    actor = require(actor, Capability.RETENTION_VIEW)
    items = [i for i in _review(session, today) if not i.legal_hold]
    audit.record(session, actor=actor, action="retention.listed", detail={"count": len(items)})
    return items


def held_past_date(session: Session, *, actor: Actor | None, today: date) -> list[ListedItem]:
    """Cases past their date but kept because of a legal hold (shown apart, never listed)."""
    require(actor, Capability.RETENTION_VIEW)
    return [i for i in _review(session, today) if i.legal_hold]


def _parse_items(items: object) -> list[tuple[str, int]]:
    classes = {r.code for r in schedule()}
    wanted: list[tuple[str, int]] = []
    if not isinstance(items, list | tuple) or not items or len(items) > MAX_APPROVALS:
        raise ValidationFailed([FieldError("items", "Choose at least one item to approve")])
    for item in items:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or item[0] not in classes
            or not isinstance(item[1], int)
            or isinstance(item[1], bool)
        ):
            raise ValidationFailed([FieldError("items", "Choose items from the list")])
        wanted.append((str(item[0]), int(item[1])))
    return list(dict.fromkeys(wanted))


def approve(
    session: Session, *, actor: Actor | None, items: object, today: date
) -> list[RetentionApproval]:
    """A lead approves listed items for destruction. Only items on today's list (past date,
    not held) can be approved; nothing is destroyed here."""
    actor = require(actor, Capability.RETENTION_APPROVE)
    wanted = _parse_items(items)
    listed = {(i.record_class, i.record_id): i for i in _review(session, today)
              if not i.legal_hold}
    missing = [w for w in wanted if w not in listed]
    if missing:
        audit.record(session, actor=actor, action="retention.approved", outcome="refused",
                     detail={"items": [list(m) for m in missing]})
        raise Refusal("Some of those items are not on the destruction list any more.")
    rows = []
    for key in wanted:
        if listed[key].approved:
            continue
        row = RetentionApproval(
            record_class=key[0], record_id=key[1], due_on=date.fromisoformat(listed[key].due_on),
            approved_by_id=actor.user_id,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    audit.record(
        session, actor=actor, action="retention.approved",
        detail={"items": [[r.record_class, r.record_id] for r in rows],
                "approvals": [r.id for r in rows]},
    )
    return rows


# ------------------------------------------------------------------------------ legal hold


def set_legal_hold(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    hold: bool,
    reason: str,
) -> Case:
    """Put a case under legal hold, or lift it (BR-D5). Leads only; audited before/after."""
    action = "case.legal_hold_set" if hold is True else "case.legal_hold_cleared"
    actor = audit.require_on_case(session, actor, Capability.LEGAL_HOLD, action=action,
                                  reference=reference)
    case = load_case(session, actor=actor, reference=reference, action=action)
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationFailed([FieldError("reason", "Enter the reason for the legal hold"
                                           if hold is True else "Enter why the hold is lifted")])
    if len(reason) > HOLD_REASON_LIMIT:
        raise ValidationFailed([FieldError("reason",
                                           f"Use {HOLD_REASON_LIMIT} characters or fewer")])
    before = {"legal_hold": case.legal_hold, "by": case.legal_hold_by_id,
              "at": case.legal_hold_at.isoformat() if case.legal_hold_at else None}
    if case.legal_hold == (hold is True):
        raise Refusal("This case is already under legal hold." if case.legal_hold
                      else "This case is not under legal hold.")
    case.legal_hold = hold is True
    case.legal_hold_reason = reason if hold is True else None
    case.legal_hold_by_id = actor.user_id if hold is True else None
    case.legal_hold_at = utcnow() if hold is True else None
    # Not a new version: a hold must not make someone's open case page stale.
    case.updated_at, case.updated_by_id = utcnow(), actor.user_id
    session.add(case)
    session.flush()
    after = {"legal_hold": case.legal_hold, "by": case.legal_hold_by_id,
             "at": case.legal_hold_at.isoformat() if case.legal_hold_at else None}
    # The reason's words stay on the case, not in the audit log (they may name people).
    audit.case_event(session, actor=actor, case=case, action=action,
                     detail={"before": before, "after": after})
    return case


# ------------------------------------------------------------------------------ destruction


@dataclass(frozen=True)
class DestroyResult:
    destroyed: list[str]
    skipped: list[tuple[str, str]]  # (reference, why)


def _wipe_referral(session: Session, referral: Referral) -> None:
    for model in (ReferralEnquiry, ReferralConcern, DslAppraisal, Address, Person):
        session.exec(delete(model).where(model.referral_id == referral.id))
    referral.form_data = {}
    for field in ("referrer_name", "referrer_job_title", "referrer_phone", "referrer_email",
                  "believed_destination", "concerns_narrative", "return_note",
                  "absence_codes"):
        setattr(referral, field, None)
    session.add(referral)


def _destroy_case(session: Session, case: Case) -> None:
    """Remove everything written about the child on this case. The case row stays (stage,
    outcome, dates) so references in the audit log and notifications still resolve."""
    visit_ids = session.exec(select(HomeVisit.id).where(HomeVisit.case_id == case.id)).all()
    if visit_ids:
        session.exec(delete(LoneWorkingAlert).where(col(LoneWorkingAlert.visit_id).in_(visit_ids)))
    for model in (HomeVisit, EnquiryAction, SafeguardingContact, LaNotification,
                  OverseasVerification, RiskAssessment, CaseClosure, StageChange, ShareRecord,
                  SecuringStep, Document):
        session.exec(delete(model).where(model.case_id == case.id))
    session.exec(delete(CaseLink).where(
        (CaseLink.case_id == case.id) | (CaseLink.linked_case_id == case.id)))
    referral = session.get(Referral, case.referral_id)
    if referral is not None:
        _wipe_referral(session, referral)
    case.risk_rationale = None
    case.risk_factors = []
    case.possible_matches = []
    case.warning_markers = None
    case.legal_hold_reason = None
    session.add(case)


def _anonymise_child(session: Session, child: Child) -> None:
    """The child row stays because the append-only audit log points at it by id."""
    session.exec(delete(Address).where(Address.child_id == child.id))
    session.exec(delete(Person).where(Person.child_id == child.id))
    child.first_name = child.last_name = "Destroyed"
    for field in ("middle_names", "known_as", "upn", "former_upn", "ethnicity",
                  "first_language"):
        setattr(child, field, None)
    child.date_of_birth = date(1900, 1, 1)
    child.sen_status = "unknown"
    child.looked_after = child.cp_plan = child.child_in_need = "unknown"
    child.interpreter_needed = child.traveller_family = False
    session.add(child)


def _skip(session: Session, approval: RetentionApproval, why: str) -> None:
    approval.skipped_reason = why
    session.add(approval)
    audit.record(session, actor=None, actor_role="system",
                 action="retention.destroy_skipped", entity_type=approval.record_class,
                 entity_id=approval.record_id, detail={"approval": approval.id, "why": why})


def _destroy(session: Session, approval: RetentionApproval, item: ListedItem,
             now: datetime) -> int | None:
    """Destroy one approved record, leaving its tombstone and audit event. Returns the
    child's id for a case (whose own record may go next), None for a draft."""
    is_case = approval.record_class == CLOSED_CASE
    child_id = None
    if is_case:
        case = session.get(Case, approval.record_id)
        child_id = case.child_id
        _destroy_case(session, case)
    else:
        referral = session.get(Referral, approval.record_id)
        _wipe_referral(session, referral)
        session.delete(referral)
    approval.destroyed_at = now
    approval.skipped_reason = None
    session.add(approval)
    session.add(Tombstone(record_class=approval.record_class, record_id=approval.record_id,
                          reference=item.reference if is_case else None,
                          child_id=child_id, approval_id=approval.id, destroyed_at=now))
    session.flush()
    audit.record(session, actor=None, actor_role="system", action="retention.destroyed",
                 entity_type="case" if is_case else "referral",
                 entity_id=item.reference if child_id else approval.record_id,
                 child_id=child_id,
                 detail={"approval": approval.id, "approved_by": approval.approved_by_id,
                         "record_class": approval.record_class})
    return child_id


def _anonymise_if_all_destroyed(session: Session, child_id: int) -> None:
    """The child's own record goes once none of their cases is left to destroy."""
    case_ids = set(session.exec(select(Case.id).where(Case.child_id == child_id)).all())
    gone = set(session.exec(select(Tombstone.record_id).where(
        Tombstone.record_class == CLOSED_CASE, col(Tombstone.record_id).in_(case_ids))).all())
    if case_ids <= gone:
        _anonymise_child(session, session.get(Child, child_id))


def destroy_approved(session: Session, *, today: date) -> DestroyResult:
    """Destroy approved items that are still due and not held (run from the command line).
    Each destruction leaves a tombstone and an audit event; ids only, no names."""
    approvals = session.exec(
        select(RetentionApproval)
        .where(col(RetentionApproval.destroyed_at).is_(None))
        .order_by(RetentionApproval.id)
    ).all()
    review = {(i.record_class, i.record_id): i for i in _review(session, today)}
    destroyed: list[str] = []
    skipped: list[tuple[str, str]] = []
    touched_children: set[int] = set()
    now = utcnow()
    for approval in approvals:
        item = review.get((approval.record_class, approval.record_id))
        # The dates and the hold are checked again: either may have changed since approval.
        why = ("no longer past its retention date" if item is None
               else "under legal hold" if item.legal_hold else None)
        if why:
            _skip(session, approval, why)
            label = item.reference if item else f"{approval.record_class} {approval.record_id}"
            skipped.append((label, why))
            continue
        child_id = _destroy(session, approval, item, now)
        if child_id is not None:
            touched_children.add(child_id)
        destroyed.append(item.reference)
    for child_id in touched_children:
        _anonymise_if_all_destroyed(session, child_id)
    session.flush()
    return DestroyResult(destroyed=destroyed, skipped=skipped)
