"""Lone working (SC-09): a visit checked in and not checked out in time alerts the officer's
buddy, and then every lead.

The rules live here; the monitor that applies them every `lone_working_check_seconds` is in
ops/workers.py. Each escalation step is a conditional UPDATE that only one transaction can
win, so several workers (or processes) never raise the same alert twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, update
from sqlmodel import Session, col, select

from ...dates import clock
from ...errors import FieldError, NotFound, ValidationFailed
from ...models import Case, HomeVisit, LoneWorkingAlert, User, utcnow
from ...numbers import row_id
from ...permissions import Actor, Capability, allows, require
from ...settings import get_settings
from ..notify import notifications
from ..trust import audit

BUDDY, LEAD, SELF = "buddy", "lead", "self"
NOTE_LIMIT = 400


def _open(query):
    """Only visits that are checked in and not yet checked out."""
    return query.where(
        col(HomeVisit.checked_in_at).is_not(None), col(HomeVisit.checked_out_at).is_(None)
    )


def _claim(session: Session, visit_id: int, column, now: datetime) -> bool:
    """Set `column` to now if nobody has; True only for the one transaction that did."""
    result = session.execute(
        update(HomeVisit)
        .where(HomeVisit.id == visit_id, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _raise(
    session: Session, visit_id: int, level: str, recipients: list[int], action: str, now: datetime
) -> list[LoneWorkingAlert]:
    visit = session.exec(
        select(HomeVisit).where(HomeVisit.id == visit_id).execution_options(populate_existing=True)
    ).one()
    case = session.get(Case, visit.case_id)
    alerts = [
        LoneWorkingAlert(visit_id=visit.id, level=level, recipient_id=r, raised_at=now)
        for r in recipients
    ]
    session.add_all(alerts)
    session.flush()
    officer = session.get(User, visit.officer_id) if visit.officer_id else None
    for alert in alerts:
        notifications.lone_working(
            session,
            case=case,
            alert_id=alert.id,
            level=level,
            recipient_id=alert.recipient_id,
            officer=(officer.name or officer.email) if officer else "An officer",
            expected_end=clock(visit.expected_end_at),
            now=now,
        )
    audit.record(
        session,
        actor=None,
        actor_role="system",
        action=action,
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"uuid": visit.client_uuid, "recipients": recipients},
    )
    return alerts


def escalate_overdue(session: Session, *, now: datetime) -> list[LoneWorkingAlert]:
    """Raise every alert that is due at `now`: the buddy `grace` after the expected end, then
    every active lead `lead_after` later. Returns the alerts this call raised."""
    s = get_settings()
    buddy_due = now - timedelta(minutes=s.lone_working_grace_minutes)
    lead_due = buddy_due - timedelta(minutes=s.lone_working_lead_after_minutes)
    raised: list[LoneWorkingAlert] = []

    for visit_id, buddy_id in session.exec(
        _open(select(HomeVisit.id, HomeVisit.buddy_id)).where(
            col(HomeVisit.buddy_alerted_at).is_(None), col(HomeVisit.expected_end_at) <= buddy_due
        )
    ).all():
        if _claim(session, visit_id, HomeVisit.buddy_alerted_at, now):
            recipients = [buddy_id] if buddy_id else []
            raised += _raise(
                session, visit_id, BUDDY, recipients, "visit.overdue_buddy_alerted", now
            )

    # Once someone has confirmed the officer is safe (a resolved alert), leads are not called.
    confirmed_safe = exists().where(
        LoneWorkingAlert.visit_id == HomeVisit.id, col(LoneWorkingAlert.resolved_at).is_not(None)
    )
    overdue_for_leads = session.exec(
        _open(select(HomeVisit.id, HomeVisit.officer_id)).where(
            col(HomeVisit.lead_alerted_at).is_(None),
            col(HomeVisit.expected_end_at) <= lead_due,
            ~confirmed_safe,
        )
    ).all()
    if overdue_for_leads:
        leads = notifications.active_leads(session)
        for visit_id, officer_id in overdue_for_leads:
            if _claim(session, visit_id, HomeVisit.lead_alerted_at, now):
                recipients = [lead for lead in leads if lead != officer_id]
                raised += _raise(
                    session, visit_id, LEAD, recipients, "visit.overdue_lead_alerted", now
                )
    session.flush()
    return raised


# ---------------------------------------------------------------------------------------------
# What people see


@dataclass(frozen=True)
class AlertView:
    id: int | None  # None for `self`: the officer's own overdue visit needs no stored alert
    level: str  # buddy | lead | self
    client_uuid: str
    reference: str
    officer_name: str
    address: str
    checked_in_at: datetime
    expected_end_at: datetime
    raised_at: datetime
    message: str

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "level": self.level,
            "client_uuid": self.client_uuid,
            "reference": self.reference,
            "officer_name": self.officer_name,
            "address": self.address,
            "checked_in_at": self.checked_in_at.isoformat(),
            "expected_end_at": self.expected_end_at.isoformat(),
            "raised_at": self.raised_at.isoformat(),
            "message": self.message,
        }


def _message(level: str, officer: str, visit: HomeVisit) -> str:
    end = clock(visit.expected_end_at)
    if level == SELF:
        if visit.buddy_alerted_at is not None:
            return (
                f"Your visit to {visit.address} was due to end at {end}. Your buddy has been "
                "alerted: end your visit or call them now."
            )
        return (
            f"Your visit to {visit.address} was due to end at {end}. End your visit, or your "
            "buddy will be alerted."
        )
    if level == BUDDY:
        return (
            f"{officer} has not checked out of a visit to {visit.address} that was due to end "
            f"at {end}. Call them now. If you cannot reach them, tell a team lead."
        )
    return (
        f"{officer} has not checked out of a visit to {visit.address} that was due to end at "
        f"{end}, and their buddy has been alerted. Make sure they are safe. If no one can reach "
        "them, follow the lone working procedure."
    )


def open_alerts_for(session: Session, *, actor: Actor | None, now: datetime) -> list[AlertView]:
    """The actor's open alerts: those raised to them (as buddy or lead), and their own visits
    that have run past the expected end."""
    actor = require(actor, Capability.LONE_WORKING_RESPOND)
    raised = session.exec(
        select(LoneWorkingAlert, HomeVisit, Case.reference, User.name)
        .join(HomeVisit, HomeVisit.id == LoneWorkingAlert.visit_id)
        .join(Case, Case.id == HomeVisit.case_id)
        .join(User, User.id == HomeVisit.officer_id)
        .where(
            LoneWorkingAlert.recipient_id == actor.user_id,
            col(LoneWorkingAlert.resolved_at).is_(None),
        )
    ).all()
    own = session.exec(
        _open(select(HomeVisit, Case.reference))
        .join(Case, Case.id == HomeVisit.case_id)
        .where(HomeVisit.officer_id == actor.user_id, col(HomeVisit.expected_end_at) < now)
    ).all()
    views = [
        AlertView(
            id=alert.id,
            level=alert.level,
            client_uuid=visit.client_uuid,
            reference=reference,
            officer_name=officer,
            address=visit.address,
            checked_in_at=visit.checked_in_at,
            expected_end_at=visit.expected_end_at,
            raised_at=alert.raised_at,
            message=_message(alert.level, officer, visit),
        )
        for alert, visit, reference, officer in raised
    ] + [
        AlertView(
            id=None,
            level=SELF,
            client_uuid=visit.client_uuid,
            reference=reference,
            officer_name=actor.name,
            address=visit.address,
            checked_in_at=visit.checked_in_at,
            expected_end_at=visit.expected_end_at,
            raised_at=visit.expected_end_at,
            message=_message(SELF, actor.name, visit),
        )
        for visit, reference in own
    ]
    return sorted(views, key=lambda v: (v.raised_at, v.reference, v.level))


def resolve_for_visit(
    session: Session, *, visit: HomeVisit, actor: Actor, note: str, now: datetime
) -> list[int]:
    """Mark every open alert of one visit resolved; the ids resolved."""
    alerts = session.exec(
        select(LoneWorkingAlert).where(
            LoneWorkingAlert.visit_id == visit.id, col(LoneWorkingAlert.resolved_at).is_(None)
        )
    ).all()
    for alert in alerts:
        alert.resolved_at = now
        alert.resolved_by_id = actor.user_id
        alert.resolution = note
        session.add(alert)
    session.flush()
    return [a.id for a in alerts]


def resolve_alerts(session: Session, *, actor: Actor | None, alert_id: int, note: str) -> int:
    """The recipient of an alert, or any lead, records that the officer is safe. Every open
    alert of that visit is resolved; returns how many."""
    actor = require(actor, Capability.LONE_WORKING_RESPOND)
    valid_id = row_id(alert_id) if isinstance(alert_id, int) else None
    alert = session.get(LoneWorkingAlert, valid_id) if valid_id else None
    anyone = allows(actor.role, Capability.WHOLE_CASELOAD)
    if alert is None or (alert.recipient_id != actor.user_id and not anyone):
        audit.record(
            session,
            actor=actor,
            action="visit.alert_resolved",
            outcome="not_found",
            entity_type="alert",
            entity_id=valid_id,
        )
        raise NotFound("No such alert.")
    note = str(note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise ValidationFailed([FieldError("note", "Enter what you did to check they are safe")])
    if len(note) > NOTE_LIMIT:
        raise ValidationFailed([FieldError("note", f"Use {NOTE_LIMIT} characters or fewer")])
    visit = session.get(HomeVisit, alert.visit_id)
    case = session.get(Case, visit.case_id)
    resolved = resolve_for_visit(session, visit=visit, actor=actor, note=note, now=utcnow())
    audit.record(
        session,
        actor=actor,
        action="visit.alert_resolved",
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail={"uuid": visit.client_uuid, "alerts": resolved},
    )
    return len(resolved)


def next_alert_due(session: Session, *, actor: Actor | None, now: datetime) -> datetime | None:
    """When the actor's desk alerts next change by the clock alone: the earliest expected end
    of their own open visits still to come (past it, `open_alerts_for` shows it as their own
    overdue visit). Every other change to the alerts is a write (check-in, check-out, an alert
    raised or resolved), which the board hears as it commits. One query; None if nothing is
    due."""
    if actor is None or not allows(actor.role, Capability.LONE_WORKING_RESPOND):
        return None
    return session.exec(
        _open(select(func.min(HomeVisit.expected_end_at)))
        .where(HomeVisit.officer_id == actor.user_id, col(HomeVisit.expected_end_at) >= now)
    ).one()
