"""Notifications (issue 7): every event someone must act on reaches them, in the app and by
email.

`notify` is called inside the transaction of the action that caused the event, so the inbox
item and its queued email exist exactly when the action does. It never talks to an SMTP server:
the mail worker (ops/mail.py) sends the queue later, so a mail outage cannot block or undo an
action. How people choose to be told is in preferences.py; the worker's scans for targets and
LA chases in reminders.py; the daily digest in digests.py.

Subjects and bodies are built here from a reference, fixed sentences and a link only. They
never carry a child's name, address or concern: the details stay behind sign-in.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as when_then
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ... import routes
from ...domain import Delivery, NotifyEvent, Role
from ...errors import NotFound
from ...models import (
    EmailMessage,
    Notification,
    NotificationPreference,
    NotificationRule,
    TeamSettings,
    User,
    utcnow,
)
from ...models.base import allocate_ids
from ...permissions import Actor, Capability, roles_with
from ...settings import get_settings
from ..trust import audit

INBOX_PAGE = 50


@dataclass(frozen=True)
class EventInfo:
    label: str  # what the settings pages call it
    who: str  # who receives it, in words
    roles: frozenset[Role]  # roles that can receive it (the preferences page lists these)
    urgent: bool = False  # always immediate, cannot be turned off
    default: Delivery = Delivery.IMMEDIATE


# The CME team: the roles that hold a caseload (officers and leads).
TEAM = roles_with(Capability.CASELOAD)
EVENTS: dict[NotifyEvent, EventInfo] = {
    NotifyEvent.REFERRAL_RED: EventInfo(
        "Red referral arrives", "The duty officer and every lead", TEAM, urgent=True
    ),
    NotifyEvent.REFERRAL_NEW: EventInfo(
        "New referral (Amber, Green or not yet rated)",
        "The duty officer and every lead",
        TEAM,
        default=Delivery.DIGEST,
    ),
    NotifyEvent.CASE_ALLOCATED: EventInfo(
        "A case is allocated to you", "The officer the case is allocated to", TEAM
    ),
    NotifyEvent.TARGET_DUE: EventInfo(
        "A response target is due today",
        "The allocated officer (every lead if nobody active is allocated)",
        TEAM,
        default=Delivery.DIGEST,
    ),
    NotifyEvent.TARGET_MISSED: EventInfo(
        "A response target was missed", "The allocated officer and every lead", TEAM
    ),
    NotifyEvent.LA_CHASE: EventInfo(
        "Another LA has not replied by its due date",
        "The officer who sent the notification and the allocated officer (else every lead)",
        TEAM,
    ),
    NotifyEvent.LONE_WORKING: EventInfo(
        "Lone-working alert: an officer is overdue",
        "The officer's buddy, then every lead",
        TEAM,
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
    NotifyEvent.POSSIBLE_OFF_ROLLING: EventInfo(
        "A school deleted a pupil under ground H or I without the LA confirming joint "
        "enquiries (possible off-rolling)", "Every lead", frozenset({Role.LEAD})
    ),
    NotifyEvent.DOCUMENT_SENT: EventInfo(
        "The CME team sends your school a notice or letter", "The referring school's users",
        frozenset({Role.SCHOOL}),
    ),
    NotifyEvent.NEW_PUPIL_MATCH: EventInfo(
        "A school's new pupil looks like a child on your caseload",
        "The allocated officer (every lead if nobody active is allocated)",
        TEAM,
    ),
    NotifyEvent.UNTRACEABLE_RECHECK: EventInfo(
        "An untraceable child's re-check is due (Lost Pupils Database, social care)",
        "The allocated officer (every lead if nobody active is allocated)",
        TEAM,
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
            select(User.id)
            .where(User.role == Role.LEAD, col(User.is_active).is_(True))
            .order_by(User.id)
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


def _insert_all(session: Session, items: list[Notification]) -> list[Notification]:
    """Insert every item in one savepoint (one batched INSERT). If another worker (or a
    repeated scan) already gave someone this event, the unique key refuses the batch: then
    each item goes in on its own savepoint, as `_insert` does, and only the duplicate is
    left out."""
    if not items:
        return []
    # Ids taken first, so the rows go in with one executemany (no RETURNING per row).
    for item, item_id in zip(items, allocate_ids(session, "notification", len(items)),
                             strict=True):
        item.id = item_id
    try:
        with session.begin_nested():
            session.add_all(items)
        return items
    except IntegrityError:
        fresh = [Notification(**item.model_dump(exclude={"id"})) for item in items]
        return [item for item in fresh if _insert(session, item)]


def _queue_emails(session: Session, pairs: list[tuple[User, Notification]],
                  now: datetime) -> None:
    """The emails of items delivered at once, each linked to its item (one batched insert)."""
    emails = [
        EmailMessage(
            recipient_id=user.id,
            to_address=user.email,
            kind=Delivery.IMMEDIATE,
            dedupe_key=f"n:{item.id}",
            message_id=new_message_id(),
            subject=item.subject,
            body=email_body(item.body, item.link),
            next_attempt_at=now,
            created_at=now,
        )
        for user, item in pairs
    ]
    if not emails:
        return
    for email, email_id in zip(emails, allocate_ids(session, "emailmessage", len(emails)),
                               strict=True):
        email.id = email_id
    session.add_all(emails)
    session.flush()
    for (_user, item), email in zip(pairs, emails, strict=True):
        item.email_id = email.id
        session.add(item)


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
    delivery, its email in the queue. Returns the items this call created. A few statements
    whoever is told: the people, their choices and who already has it are read at once, the
    items, emails and audit events written in batches (in recipient order)."""
    info = EVENTS[event]
    team_rule = None if info.urgent else rule(session, event)
    if team_rule is not None and not team_rule.enabled:
        return []
    now = now or utcnow()
    ids = sorted({r for r in recipients if r})
    if not ids:
        return []
    users = session.exec(
        select(User).where(col(User.id).in_(ids), col(User.is_active).is_(True))
        .order_by(User.id)
    ).all()
    if not users:
        return []
    wanted = [u.id for u in users]
    chosen: dict[int, str] = {}
    if team_rule is not None:
        chosen = dict(session.exec(
            select(NotificationPreference.user_id, NotificationPreference.delivery).where(
                col(NotificationPreference.user_id).in_(wanted),
                NotificationPreference.event == str(event))).all())
    had = set(session.exec(
        select(Notification.recipient_id).where(
            col(Notification.recipient_id).in_(wanted), Notification.dedupe_key == key)
    ).all())
    by_id = {u.id: u for u in users}
    items = [
        Notification(
            recipient_id=user.id,
            event=str(event),
            dedupe_key=key,
            urgent=info.urgent,
            reference=reference,
            subject=subject,
            body=body,
            link=link,
            delivery=Delivery.IMMEDIATE if team_rule is None
            else Delivery(chosen.get(user.id, team_rule.default_delivery)),
            created_at=now,
        )
        for user in users if user.id not in had
    ]
    made = _insert_all(session, items)
    _queue_emails(session, [(by_id[i.recipient_id], i) for i in made
                            if i.delivery == Delivery.IMMEDIATE], now)
    audit.record_many(session, [
        {"actor_role": "system", "action": "notification.created",
         "entity_type": "notification", "entity_id": item.id,
         "detail": {"event": item.event, "recipient": item.recipient_id,
                    "reference": item.reference, "delivery": str(item.delivery)}}
        for item in made])
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


def _own(session: Session, actor: Actor | None, notification_id: object) -> Notification:
    """One of the actor's own notifications. Someone else's is 'not found'."""
    ok_id = isinstance(notification_id, int) and not isinstance(notification_id, bool)
    row = session.get(Notification, notification_id) if actor is not None and ok_id else None
    if row is None or row.recipient_id != actor.user_id:
        raise NotFound("That notification was not found.")
    return row


def mark_read(session: Session, *, actor: Actor | None, notification_id: int) -> bool:
    """Mark one of the actor's own notifications read; False if it already was."""
    row = _own(session, actor, notification_id)
    if row.read_at is not None:
        return False
    row.read_at = utcnow()
    session.add(row)
    session.flush()
    return True


def open_item(session: Session, *, actor: Actor | None, notification_id: int) -> str:
    """Mark one of the actor's own notifications read, and say where it leads."""
    mark_read(session, actor=actor, notification_id=notification_id)
    return _own(session, actor, notification_id).link


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


def document_sent(session: Session, *, case, school_id: int | None, document_id: str,
                  title: str, version: int) -> None:
    """A notice or letter for the school: its title and the referral's reference, and the
    link to the referral page that lists it (the letter itself stays behind sign-in)."""
    notify(
        session,
        event=NotifyEvent.DOCUMENT_SENT,
        recipients=school_users(session, school_id),
        key=f"document:{document_id}",
        reference=case.reference,
        subject=f"Referral {case.reference}: {title}",
        body=(
            f"The CME team has sent your school a document about referral {case.reference}: "
            f"{title} (version {version}). Sign in to read and download it."
        ),
        link=f"{routes.referral_url(case.reference)}#documents",
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


def possible_off_rolling(session: Session, *, case, school_name: str, ground: str) -> None:
    notify(
        session,
        event=NotifyEvent.POSSIBLE_OFF_ROLLING,
        recipients=active_leads(session),
        key=f"off-rolling:{case.reference}:{case.episode}",
        reference=case.reference,
        subject=f"Possible off-rolling: {school_name} ({case.reference})",
        body=(f"{school_name} deleted a pupil under ground {ground} without the LA confirming "
              f"that joint enquiries were exhausted. Review case {case.reference}."),
        link=routes.case_url(case.reference),
    )


def new_pupil_match(session: Session, *, case, school_name: str, return_id: int) -> None:
    """A school's new pupil may be this case's child: the officer confirms the closure."""
    officers = active_of(session, [case.allocated_officer_id])
    notify(
        session,
        event=NotifyEvent.NEW_PUPIL_MATCH,
        recipients=officers or active_leads(session),
        key=f"new-pupil:{return_id}",
        reference=case.reference,
        subject=f"{school_name} may have case {case.reference}'s child on roll",
        body=(f"{school_name} recorded a new pupil who matches case {case.reference}. Check "
              "and propose closing the case as on roll at a Leeds school."),
        link=routes.case_url(case.reference),
    )


def returns_imported(session: Session, *, opened: list[str], flagged: list[str]) -> None:
    """A file of deletion returns: its new referrals (Red ones are told one by one) and its
    possible off-rolling flags, in one item each rather than one per row."""
    if opened:
        notify(
            session,
            event=NotifyEvent.REFERRAL_NEW,
            recipients=[duty_officer_id(session), *active_leads(session)],
            key=f"deletion-returns:{opened[0]}:{len(opened)}",
            reference=opened[0],
            subject=f"{len(opened)} new referral{'s' if len(opened) > 1 else ''} from "
                    "schools' deletion returns",
            body=("Schools' deletion returns opened "
                  + ", ".join(opened[:20]) + (" and more" if len(opened) > 20 else "")
                  + ". Triage them by their due dates."),
            link=routes.BOARD,
        )
    if flagged:
        notify(
            session,
            event=NotifyEvent.POSSIBLE_OFF_ROLLING,
            recipients=active_leads(session),
            key=f"off-rolling-import:{flagged[0]}:{len(flagged)}",
            reference=flagged[0],
            subject=f"Possible off-rolling: {len(flagged)} deletion"
                    f"{'s' if len(flagged) > 1 else ''} under ground H or I to review",
            body=("Schools deleted pupils under ground H or I without the LA confirming that "
                  "joint enquiries were exhausted. Review them on the possible off-rolling "
                  "list."),
            link=routes.RETURNS_OFF_ROLLING,
        )
