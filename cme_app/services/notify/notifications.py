"""Notifications (issue 7): every event someone must act on reaches them, in the app and by
email.

`notify` is called inside the transaction of the action that caused the event, so the inbox
item and its queued email exist exactly when the action does. It never talks to an SMTP server:
`services/notify/mailer.py` sends the queue later, so a mail outage cannot block or undo an action.

Subjects and bodies are built here from a reference, fixed sentences and a link only. They
never carry a child's name, address or concern: the details stay behind sign-in.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case as when_then
from sqlalchemy import exists, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ... import routes
from ...dates import long_date
from ...domain import OPEN_STAGES, Delivery, LaDirection, NotifyEvent, Role, Stage
from ...errors import FieldError, NotFound, ValidationFailed
from ...models import (
    Case,
    EmailMessage,
    HomeVisit,
    LaNotification,
    Notification,
    NotificationPreference,
    NotificationRule,
    TeamSettings,
    User,
    utcnow,
)
from ...permissions import Actor, require_role
from ...settings import get_settings
from ..casework.targets import current_due
from ..trust import audit

INBOX_PAGE = 50


@dataclass(frozen=True)
class EventInfo:
    label: str  # what the settings pages call it
    who: str  # who receives it, in words
    roles: frozenset[Role]  # roles that can receive it (the preferences page lists these)
    urgent: bool = False  # always immediate, cannot be turned off
    default: Delivery = Delivery.IMMEDIATE


CASEWORKERS = frozenset({Role.OFFICER, Role.LEAD})
EVENTS: dict[NotifyEvent, EventInfo] = {
    NotifyEvent.REFERRAL_RED: EventInfo(
        "Red referral arrives", "The duty officer and every lead", CASEWORKERS, urgent=True
    ),
    NotifyEvent.REFERRAL_NEW: EventInfo(
        "New referral (Amber, Green or not yet rated)",
        "The duty officer and every lead",
        CASEWORKERS,
        default=Delivery.DIGEST,
    ),
    NotifyEvent.CASE_ALLOCATED: EventInfo(
        "A case is allocated to you", "The officer the case is allocated to", CASEWORKERS
    ),
    NotifyEvent.TARGET_DUE: EventInfo(
        "A response target is due today",
        "The allocated officer (every lead if nobody active is allocated)",
        CASEWORKERS,
        default=Delivery.DIGEST,
    ),
    NotifyEvent.TARGET_MISSED: EventInfo(
        "A response target was missed", "The allocated officer and every lead", CASEWORKERS
    ),
    NotifyEvent.LA_CHASE: EventInfo(
        "Another LA has not replied by its due date",
        "The officer who sent the notification and the allocated officer (else every lead)",
        CASEWORKERS,
    ),
    NotifyEvent.LONE_WORKING: EventInfo(
        "Lone-working alert: an officer is overdue",
        "The officer's buddy, then every lead",
        CASEWORKERS,
        urgent=True,
    ),
    NotifyEvent.VISIT_FLAGGED: EventInfo(
        "A visit was flagged when it synced", "Every lead", frozenset({Role.LEAD})
    ),
    NotifyEvent.REFERRAL_RETURNED: EventInfo(
        "A referral is returned for more information",
        "The referring school's users",
        frozenset({Role.SCHOOL}),
    ),
    NotifyEvent.CASE_OUTCOME: EventInfo(
        "The outcome of your referral", "The referring school's users", frozenset({Role.SCHOOL})
    ),
}
DELIVERY_LABELS = {Delivery.IMMEDIATE: "Email me straight away", Delivery.DIGEST: "Daily digest"}


# ---------------------------------------------------------------------------------------------
# Rules: the team's switch and default, then the person's own choice


def rule(session: Session, event: NotifyEvent) -> NotificationRule:
    found = session.get(NotificationRule, str(event))
    if found is not None:
        return found
    return NotificationRule(event=str(event), enabled=True, default_delivery=EVENTS[event].default)


def delivery_for(session: Session, user_id: int, event: NotifyEvent) -> Delivery:
    info = EVENTS[event]
    if info.urgent:
        return Delivery.IMMEDIATE
    choice = session.get(NotificationPreference, (user_id, str(event)))
    return Delivery(choice.delivery if choice else rule(session, event).default_delivery)


def duty_officer_id(session: Session) -> int | None:
    row = session.get(TeamSettings, 1)
    return row.duty_officer_id if row else None


def active_leads(session: Session) -> list[int]:
    return list(
        session.exec(
            select(User.id).where(User.role == Role.LEAD, col(User.is_active).is_(True))
        ).all()
    )


def active_of(session: Session, user_ids: Iterable[int | None]) -> list[int]:
    """Those of `user_ids` who can still sign in."""
    wanted = {u for u in user_ids if u}
    if not wanted:
        return []
    return sorted(
        session.exec(
            select(User.id).where(col(User.id).in_(wanted), col(User.is_active).is_(True))
        ).all()
    )


def school_users(session: Session, school_id: int | None) -> list[int]:
    if school_id is None:
        return []
    return list(
        session.exec(
            select(User.id).where(
                User.role == Role.SCHOOL,
                User.school_id == school_id,
                col(User.is_active).is_(True),
            )
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# Creating notifications


def link_url(link: str) -> str:
    return get_settings().base_url + link


def email_body(body: str, link: str) -> str:
    return (
        f"{body}\n\nOpen it here (you will be asked to sign in):\n{link_url(link)}\n\n"
        "This message holds no details about the child. They are kept in the CME app, "
        "behind sign-in.\n"
    )


def new_message_id() -> str:
    return f"<{uuid.uuid4()}@cme-app>"


def _insert(session: Session, row: Notification) -> bool:
    """Insert in a savepoint: if the person already has this event (another worker, a
    repeated scan), the unique key refuses it and only this insert is undone."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def notify(
    session: Session,
    *,
    event: NotifyEvent,
    recipients: Iterable[int | None],
    key: str,
    reference: str,
    subject: str,
    body: str,
    link: str,
    now: datetime | None = None,
) -> list[Notification]:
    """One inbox item per active recipient, once per (recipient, key); and, for immediate
    delivery, its email in the queue. Returns the items this call created."""
    info = EVENTS[event]
    if not info.urgent and not rule(session, event).enabled:
        return []
    now = now or utcnow()
    ids = sorted({r for r in recipients if r})
    if not ids:
        return []
    users = session.exec(
        select(User).where(col(User.id).in_(ids), col(User.is_active).is_(True))
    ).all()
    made = []
    for user in users:
        if session.exec(
            select(Notification.id).where(
                Notification.recipient_id == user.id, Notification.dedupe_key == key
            )
        ).first():
            continue
        delivery = delivery_for(session, user.id, event)
        item = Notification(
            recipient_id=user.id,
            event=str(event),
            dedupe_key=key,
            urgent=info.urgent,
            reference=reference,
            subject=subject,
            body=body,
            link=link,
            delivery=delivery,
            created_at=now,
        )
        if not _insert(session, item):
            continue
        if delivery == Delivery.IMMEDIATE:
            email = EmailMessage(
                recipient_id=user.id,
                to_address=user.email,
                kind=Delivery.IMMEDIATE,
                dedupe_key=f"n:{item.id}",
                message_id=new_message_id(),
                subject=subject,
                body=email_body(body, link),
                next_attempt_at=now,
                created_at=now,
            )
            session.add(email)
            session.flush()
            item.email_id = email.id
            session.add(item)
        audit.record(
            session,
            actor=None,
            actor_role="system",
            action="notification.created",
            entity_type="notification",
            entity_id=item.id,
            detail={
                "event": str(event),
                "recipient": user.id,
                "reference": reference,
                "delivery": str(delivery),
            },
        )
        made.append(item)
    session.flush()
    return made


# ---------------------------------------------------------------------------------------------
# The inbox


@dataclass(frozen=True)
class InboxItem:
    id: int
    event: str
    urgent: bool
    reference: str
    subject: str
    body: str
    link: str
    created_at: datetime
    unread: bool


def unread_count(session: Session, *, actor: Actor | None) -> int:
    if actor is None:
        return 0
    return session.exec(
        select(func.count(Notification.id)).where(
            Notification.recipient_id == actor.user_id, col(Notification.read_at).is_(None)
        )
    ).one()


def inbox(
    session: Session, *, actor: Actor | None, unread_only: bool = False, limit: int = INBOX_PAGE
) -> list[InboxItem]:
    """The actor's own notifications, newest first, with urgent unread ones on top (sorted
    in the query, so an old urgent alert is never pushed off the page by newer items)."""
    if actor is None:
        return []
    query = select(Notification).where(Notification.recipient_id == actor.user_id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    urgent_unread = when_then(
        (col(Notification.urgent).is_(True) & col(Notification.read_at).is_(None), 0), else_=1
    )
    rows = session.exec(
        query.order_by(
            urgent_unread, col(Notification.created_at).desc(), col(Notification.id).desc()
        ).limit(max(1, min(limit, 500)))
    ).all()
    return [
        InboxItem(
            id=n.id,
            event=n.event,
            urgent=n.urgent,
            reference=n.reference,
            subject=n.subject,
            body=n.body,
            link=n.link,
            created_at=n.created_at,
            unread=n.read_at is None,
        )
        for n in rows
    ]


def mark_read(session: Session, *, actor: Actor | None, notification_id: int) -> bool:
    """Mark one of the actor's own notifications read. Someone else's is 'not found'."""
    if actor is None:
        raise NotFound("That notification was not found.")
    if not isinstance(notification_id, int) or isinstance(notification_id, bool):
        raise NotFound("That notification was not found.")
    row = session.get(Notification, notification_id)
    if row is None or row.recipient_id != actor.user_id:
        raise NotFound("That notification was not found.")
    if row.read_at is not None:
        return False
    row.read_at = utcnow()
    session.add(row)
    session.flush()
    return True


def mark_all_read(session: Session, *, actor: Actor | None) -> int:
    if actor is None:
        return 0
    result = session.execute(
        update(Notification)
        .where(Notification.recipient_id == actor.user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# ---------------------------------------------------------------------------------------------
# Settings: a person's own choices, the team's rules and the duty officer


@dataclass(frozen=True)
class PreferenceRow:
    event: str
    label: str
    who: str
    delivery: str
    locked: bool  # urgent: always immediate
    enabled: bool  # the team has it switched on


def preferences(session: Session, *, actor: Actor | None) -> list[PreferenceRow]:
    if actor is None:
        return []
    return [
        PreferenceRow(
            event=str(event),
            label=info.label,
            who=info.who,
            delivery=str(delivery_for(session, actor.user_id, event)),
            locked=info.urgent,
            enabled=info.urgent or rule(session, event).enabled,
        )
        for event, info in EVENTS.items()
        if actor.role in info.roles
    ]


def _event(value: object) -> NotifyEvent | None:
    try:
        return NotifyEvent(str(value))
    except ValueError:
        return None


def set_preferences(session: Session, *, actor: Actor | None, choices: dict) -> int:
    """Save the actor's digest/immediate choices ({event: delivery}). Urgent events and
    events the actor's role never receives are refused with a field error."""
    if actor is None:
        raise NotFound("Sign in to change your email settings.")
    if not isinstance(choices, dict) or len(choices) > len(EVENTS):
        raise ValidationFailed([FieldError("delivery", "Choose how you want to be emailed")])
    errors, changes = [], {}
    for raw_event, raw_delivery in choices.items():
        event = _event(raw_event)
        if event is None or actor.role not in EVENTS[event].roles:
            errors.append(FieldError("delivery", "Choose how you want to be emailed"))
            continue
        if EVENTS[event].urgent:
            errors.append(
                FieldError(f"delivery-{event}", f"{EVENTS[event].label} is always emailed")
            )
            continue
        if not isinstance(raw_delivery, str) or raw_delivery not in (
            Delivery.IMMEDIATE,
            Delivery.DIGEST,
        ):
            errors.append(
                FieldError(f"delivery-{event}", f"Choose how to be told: {EVENTS[event].label}")
            )
            continue
        changes[event] = Delivery(raw_delivery)
    if errors:
        raise ValidationFailed(errors)
    before, after = {}, {}
    for event, delivery in changes.items():
        old = delivery_for(session, actor.user_id, event)
        if old != delivery:
            before[str(event)], after[str(event)] = str(old), str(delivery)
        # Kept even when it equals the team default: it is the person's own choice.
        row = session.get(NotificationPreference, (actor.user_id, str(event)))
        if row is None:
            row = NotificationPreference(user_id=actor.user_id, event=str(event), delivery="")
        row.delivery = str(delivery)
        row.updated_at = utcnow()
        session.add(row)
    if after:
        audit.record(
            session,
            actor=actor,
            action="notification.preferences_changed",
            entity_type="user",
            entity_id=actor.user_id,
            detail={"before": before, "after": after},
        )
    session.flush()
    return len(changes)


@dataclass(frozen=True)
class TeamRuleRow:
    event: str
    label: str
    who: str
    enabled: bool
    default_delivery: str
    locked: bool


def team_rules(session: Session, *, actor: Actor | None) -> list[TeamRuleRow]:
    require_role(actor, Role.LEAD, Role.ADMIN)
    rows = []
    for event, info in EVENTS.items():
        r = rule(session, event)
        rows.append(
            TeamRuleRow(
                event=str(event),
                label=info.label,
                who=info.who,
                enabled=info.urgent or r.enabled,
                default_delivery=str(Delivery.IMMEDIATE if info.urgent else r.default_delivery),
                locked=info.urgent,
            )
        )
    return rows


def set_team_rules(session: Session, *, actor: Actor | None, form: dict) -> None:
    """Leads switch events on or off and choose the email default for the team.

    `form` holds `enabled-<event>` ("on" when ticked) and `default-<event>` for every
    non-urgent event; a missing tick means off, as an HTML form sends it.
    """
    actor = require_role(actor, Role.LEAD)
    data = form if isinstance(form, dict) else {}
    errors, changes = [], {}
    for event, info in EVENTS.items():
        if info.urgent:
            continue
        default = data.get(f"default-{event}")
        if not isinstance(default, str) or default not in (Delivery.IMMEDIATE, Delivery.DIGEST):
            errors.append(FieldError(f"default-{event}", f"Choose the default: {info.label}"))
            continue
        ticked = data.get(f"enabled-{event}")
        changes[event] = (ticked is True or ticked in ("on", "true"), str(default))
    if errors:
        raise ValidationFailed(errors)
    before, after = {}, {}
    for event, (enabled, default) in changes.items():
        row = session.get(NotificationRule, str(event))
        old = rule(session, event)
        if (old.enabled, old.default_delivery) == (enabled, default):
            continue
        before[str(event)] = [old.enabled, old.default_delivery]
        after[str(event)] = [enabled, default]
        row = row or NotificationRule(event=str(event), default_delivery=default)
        row.enabled, row.default_delivery = enabled, default
        row.updated_by_id, row.updated_at = actor.user_id, utcnow()
        session.add(row)
    if after:
        audit.record(
            session,
            actor=actor,
            action="notification.team_rules_changed",
            entity_type="team",
            entity_id=1,
            detail={"before": before, "after": after},
        )
    session.flush()


def duty_choices(session: Session) -> list[tuple[int, str]]:
    """Officers and leads who can be the duty officer."""
    return [
        (u.id, u.name or u.email)
        for u in session.exec(
            select(User)
            .where(col(User.role).in_(list(CASEWORKERS)), col(User.is_active).is_(True))
            .order_by(User.name)
        ).all()
    ]


def set_duty_officer(session: Session, *, actor: Actor | None, officer_id: object) -> None:
    actor = require_role(actor, Role.LEAD)
    allowed = {uid for uid, _ in duty_choices(session)}
    chosen = officer_id if isinstance(officer_id, int) and not isinstance(officer_id, bool) else 0
    if chosen not in allowed:
        raise ValidationFailed([FieldError("duty_officer", "Choose the duty officer")])
    row = session.get(TeamSettings, 1) or TeamSettings(id=1)
    before = row.duty_officer_id
    row.duty_officer_id, row.updated_by_id, row.updated_at = chosen, actor.user_id, utcnow()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="notification.duty_officer_changed",
        entity_type="team",
        entity_id=1,
        detail={"before": before, "after": chosen},
    )
    session.flush()


# ---------------------------------------------------------------------------------------------
# The events. Each builds its words from the reference only.


def referral_arrived(session: Session, *, case, red: bool, resubmitted: bool = False) -> None:
    """A submitted (or resubmitted, or logged inbound) referral: Red at once, others in the
    digest by default. Goes to the duty officer and every lead."""
    event = NotifyEvent.REFERRAL_RED if red else NotifyEvent.REFERRAL_NEW
    what = "resubmitted referral" if resubmitted else "new referral"
    if red:
        subject = f"Red referral {case.reference}: triage it today"
        body = (
            f"A Red-risk {what} has arrived ({case.reference}). Triage it today and make the "
            "first contact within one working day."
        )
    else:
        subject = f"New referral {case.reference} to triage"
        body = f"A {what} has arrived ({case.reference}). Triage it by its due date."
    notify(
        session,
        event=event,
        recipients=[duty_officer_id(session), *active_leads(session)],
        key=f"referral:{case.reference}:{case.episode}:{case.version}",
        reference=case.reference,
        subject=subject,
        body=body,
        link=routes.case_url(case.reference),
    )


def case_allocated(session: Session, *, case, officer_id: int, actor: Actor) -> None:
    if officer_id == actor.user_id:
        return  # nobody needs telling what they just did themselves
    notify(
        session,
        event=NotifyEvent.CASE_ALLOCATED,
        recipients=[officer_id],
        key=f"allocated:{case.reference}:{case.version}",
        reference=case.reference,
        subject=f"Case {case.reference} is allocated to you",
        body=f"{actor.name or 'A team lead'} allocated case {case.reference} to you.",
        link=routes.case_url(case.reference),
    )


def referral_returned(session: Session, *, case, school_id: int | None, when: datetime) -> None:
    notify(
        session,
        event=NotifyEvent.REFERRAL_RETURNED,
        recipients=school_users(session, school_id),
        key=f"returned:{case.reference}:{when.isoformat()}",
        reference=case.reference,
        subject=f"Referral {case.reference} needs more information",
        body=(
            f"The CME team has returned referral {case.reference} to your school. Read what "
            "they need, then update and resubmit the referral."
        ),
        link=f"{routes.REFERRALS}/{case.reference}",
    )


def case_outcome(session: Session, *, case, school_id: int | None) -> None:
    notify(
        session,
        event=NotifyEvent.CASE_OUTCOME,
        recipients=school_users(session, school_id),
        key=f"outcome:{case.reference}:{case.episode}",
        reference=case.reference,
        subject=f"Referral {case.reference} has an outcome",
        body=(
            f"The CME team has closed its enquiry for referral {case.reference}. Sign in to "
            "see the outcome and what your school should do next."
        ),
        link=f"{routes.REFERRALS}/{case.reference}",
    )


def visit_flagged(session: Session, *, case, visit_uuid: str, flags: Mapping[str, str]) -> None:
    """`flags` maps each new reason's code to its words. The key holds a digest of the words,
    so a reason that comes back changed (moved to another stage, handed to another officer)
    is news to the leads again, while the same send repeated is not."""
    codes = ",".join(sorted(flags))
    words = "\n".join(f"{code}:{flags[code]}" for code in sorted(flags))
    digest = hashlib.sha256(words.encode()).hexdigest()[:16]
    notify(
        session,
        event=NotifyEvent.VISIT_FLAGGED,
        recipients=active_leads(session),
        key=f"flagged:{visit_uuid}:{codes}:{digest}",
        reference=case.reference,
        subject=f"Visit on {case.reference} needs review",
        body=(
            f"A visit on case {case.reference} was recorded offline and flagged when it "
            "synced, because the case changed meanwhile. Review it on the case page."
        ),
        link=routes.case_url(case.reference),
    )


def lone_working(
    session: Session,
    *,
    case,
    alert_id: int,
    level: str,
    recipient_id: int,
    officer: str,
    expected_end: str,
    now: datetime | None = None,
) -> None:
    """Urgent: always immediate, cannot be turned off."""
    who = "You are their buddy." if level == "buddy" else "Their buddy has been alerted."
    notify(
        session,
        event=NotifyEvent.LONE_WORKING,
        recipients=[recipient_id],
        key=f"lone:{alert_id}",
        reference=case.reference,
        subject=f"URGENT: {officer} is overdue from a visit ({case.reference})",
        body=(
            f"{officer} has not checked out of a home visit on case {case.reference}. They "
            f"were expected back at {expected_end}. {who} Call them now, and mark them safe "
            "in the app when you have spoken to them."
        ),
        link=routes.DASHBOARD if level == "lead" else routes.VISITS,
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# Scans the worker runs: targets about to be missed or missed (BR-L3), and LA chases (SC-11)

TARGET_STAGES = (Stage.NEW_REFERRAL, Stage.TRIAGE, Stage.ENQUIRIES, Stage.HOME_VISIT)


def scan_targets(session: Session, *, today: date) -> int:
    """Tell people about triage and first-visit targets due today or missed. The key holds
    the target's date and state, so each stage of each target is told once."""
    visited = exists().where(HomeVisit.case_id == Case.id, col(HomeVisit.outcome).is_not(None))
    rows = session.exec(
        select(Case, visited.label("visited")).where(col(Case.stage).in_(TARGET_STAGES))
    ).all()
    leads = active_leads(session)
    made = 0
    for case, was_visited in rows:
        due = current_due(case, today=today, visited=bool(was_visited))
        if due is None or not (due.today or due.overdue):
            continue
        what = due.what.lower()
        if due.overdue:
            event, recipients = NotifyEvent.TARGET_MISSED, [case.allocated_officer_id, *leads]
            subject = f"{due.what} target missed on {case.reference}"
            body = (
                f"The {what} target for case {case.reference} was {long_date(due.on)} and has been "
                "missed. Act on the case today and record what was done."
            )
        else:
            # An officer who has left is as good as nobody allocated: the leads must know.
            event = NotifyEvent.TARGET_DUE
            recipients = active_of(session, [case.allocated_officer_id]) or leads
            subject = f"{due.what} due today on {case.reference}"
            body = (
                f"The {what} target for case {case.reference} is today, {long_date(due.on)}. "
                "Act on it before the end of the day."
            )
        made += len(
            notify(
                session,
                event=event,
                recipients=recipients,
                key=f"target:{case.reference}:{case.episode}:{what}:{due.on}:{due.state}",
                reference=case.reference,
                subject=subject,
                body=body,
                link=routes.case_url(case.reference),
            )
        )
    return made


def scan_la_chases(session: Session, *, today: date) -> int:
    """An outbound LA notification with no reply by its due date: a chase for the officer
    who sent it and the officer the case is allocated to."""
    rows = session.exec(
        select(LaNotification, Case)
        .join(Case, Case.id == LaNotification.case_id)
        .where(
            LaNotification.direction == LaDirection.OUTBOUND,
            col(LaNotification.response_on).is_(None),
            col(LaNotification.response_due_on) < today,
            col(Case.stage).in_(list(OPEN_STAGES)),
        )
    ).all()
    made = 0
    for notice, case in rows:
        # If both have left, someone must still chase: every lead.
        recipients = active_of(session, [notice.by_id, case.allocated_officer_id])
        made += len(
            notify(
                session,
                event=NotifyEvent.LA_CHASE,
                recipients=recipients or active_leads(session),
                key=f"la_chase:{notice.id}:{notice.response_due_on}",
                reference=case.reference,
                subject=f"Chase {notice.la_name}: no reply on {case.reference}",
                body=(
                    f"{notice.la_name} was asked about case {case.reference} on "
                    f"{long_date(notice.sent_on)} and has not replied. The reply was due "
                    f"{long_date(notice.response_due_on)}. Chase them and record the answer."
                ),
                link=routes.case_url(case.reference),
            )
        )
    return made
