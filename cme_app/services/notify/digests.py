"""The daily digest: once the digest hour has passed (UK time), one email per person holding
their digest items up to that moment.

The mail worker (ops/mail.py) asks who is waiting, then queues each person's digest in a unit
of work of its own; the unique `digest:<user>:<date>` key makes a rerun or a second worker
queue nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import update
from sqlmodel import Session, col, select

from ...dates import LONDON, long_date, uk_date
from ...domain import Delivery
from ...models import EmailMessage, Notification, User
from ...settings import get_settings
from .notifications import link_url, new_message_id


def digest_moment(day: date) -> datetime:
    """When `day`'s digest is due: the digest hour, UK time."""
    return datetime.combine(day, time(get_settings().digest_hour), tzinfo=LONDON)


def digest_text(day: date, items: list[Notification]) -> tuple[str, str]:
    """Subject and body: each item's own subject and link, which hold no child's details."""
    count = f"{len(items)} item" + ("" if len(items) == 1 else "s")
    subject = f"Your CME digest for {long_date(day)}: {count}"
    lines = [f"Your CME notifications since the last digest ({count}):", ""]
    for item in items:
        lines += [f"- {item.subject}", f"  {link_url(item.link)}", ""]
    lines += [
        "Each link opens the case or referral (you will be asked to sign in).",
        "",
        "This message holds no details about any child. They are kept in the CME app, "
        "behind sign-in.",
    ]
    return subject, "\n".join(lines) + "\n"


def _waiting(moment: datetime) -> list:
    """Digest items not yet in an email, made up to `moment`."""
    return [
        Notification.delivery == Delivery.DIGEST,
        col(Notification.email_id).is_(None),
        col(Notification.created_at) <= moment,
    ]


def digest_recipients(session: Session, *, now: datetime) -> list[int]:
    """Active people with digest items waiting, once today's digest hour has passed."""
    moment = digest_moment(uk_date(now))
    if now < moment:
        return []
    return sorted(session.exec(
        select(Notification.recipient_id)
        .join(User, User.id == Notification.recipient_id)
        .where(*_waiting(moment), col(User.is_active).is_(True))
        .distinct()
    ).all())


def queue_digest(session: Session, *, user_id: int, now: datetime) -> bool:
    """Queue today's digest for one person; False if it went already (later items wait for
    tomorrow's) or nothing is waiting. A second worker queuing it at once breaks the unique
    key: the caller undoes its unit of work."""
    day = uk_date(now)
    moment = digest_moment(day)
    key = f"digest:{user_id}:{day.isoformat()}"
    if session.exec(select(EmailMessage.id).where(EmailMessage.dedupe_key == key)).first():
        return False
    items = session.exec(
        select(Notification)
        .where(Notification.recipient_id == user_id, *_waiting(moment))
        .order_by(col(Notification.created_at), col(Notification.id))
    ).all()
    user = session.get(User, user_id)
    if not items or user is None:
        return False
    subject, body = digest_text(day, items)
    message = EmailMessage(
        recipient_id=user_id, to_address=user.email, kind=Delivery.DIGEST, dedupe_key=key,
        message_id=new_message_id(), subject=subject, body=body, next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.execute(
        update(Notification)
        .where(
            col(Notification.id).in_([i.id for i in items]),
            col(Notification.email_id).is_(None),
        )
        .values(email_id=message.id)
        .execution_options(synchronize_session=False)
    )
    return True
