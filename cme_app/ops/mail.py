"""Sending the email queue (issue 7): the queue's claims and the worker, which also builds
the daily digests and runs the reminder scans. The SMTP conversation itself is in smtp.py.

`services/notify/notifications.py` queues `EmailMessage` rows inside the action's transaction;
this module hands them to the SMTP server, at most once each:

- a worker *claims* a row with a conditional UPDATE (pending -> sending) and commits, so no
  other worker or process can take it;
- it talks to the SMTP server outside any database transaction;
- it records the result in a new transaction, guarded by its claim token.

A failure known to have happened before the server accepted the message is retried with
backoff. Once the whole message has been sent, a lost reply leaves the outcome unknown: the row
is marked failed and never sent again, because a duplicate is worse than a missing email (the
inbox item is kept either way). A worker that dies mid-send leaves its row in `sending`;
`reap_stuck` marks it failed for the same reason.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..dates import uk_date
from ..db import session_scope
from ..domain import EmailStatus
from ..models import EmailMessage, utcnow
from ..services.notify import digests, reminders
from ..services.trust import audit
from ..settings import get_settings
from .smtp import Outcome, Result, SmtpConfig, build_message, send_message, smtp_config

logger = logging.getLogger(__name__)

BATCH = 50  # messages one deliver_due call tries at most
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)  # doubles after each attempt...
MAX_BACKOFF = timedelta(hours=1)  # ...up to this
# A row still `sending` after this long belongs to a worker that died. Far longer than one
# send can take (every socket operation has the SMTP timeout).
LEASE = timedelta(minutes=10)
# One round stops taking new messages after this long, so an SMTP server that swallows
# connections (each attempt waits for the timeout) cannot hold the worker for long; the rest
# stay due for the next round.
ROUND_SECONDS = 60.0
ERROR_LIMIT = 300


# ---------------------------------------------------------------------------------------------
# The queue: claim, send outside the transaction, record


@dataclass(frozen=True)
class Claimed:
    id: int
    recipient_id: int
    kind: str
    to_address: str
    subject: str
    body: str
    message_id: str
    attempt: int
    token: str


@dataclass
class Delivered:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempt: int) -> timedelta:
    """30 s after the first attempt, doubling, at most an hour."""
    return min(FIRST_BACKOFF * (2 ** max(attempt - 1, 0)), MAX_BACKOFF)


def _due(now: datetime, limit: int) -> list[int]:
    with session_scope() as session:
        return list(
            session.exec(
                select(EmailMessage.id)
                .where(
                    EmailMessage.status == EmailStatus.PENDING,
                    col(EmailMessage.next_attempt_at) <= now,
                )
                .order_by(col(EmailMessage.next_attempt_at), col(EmailMessage.id))
                .limit(limit)
            ).all()
        )


def _claim(email_id: int, now: datetime) -> Claimed | None:
    """Take one due row for this worker; None if another worker (or process) has it."""
    token = str(uuid.uuid4())
    with session_scope() as session:
        won = session.execute(
            update(EmailMessage)
            .where(
                EmailMessage.id == email_id,
                EmailMessage.status == EmailStatus.PENDING,
                col(EmailMessage.next_attempt_at) <= now,
            )
            .values(
                status=EmailStatus.SENDING,
                claim_token=token,
                claimed_at=now,
                attempts=EmailMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:
            return None
        row = session.exec(
            select(EmailMessage)
            .where(EmailMessage.id == email_id)
            .execution_options(populate_existing=True)
        ).one()
        return Claimed(
            id=row.id,
            recipient_id=row.recipient_id,
            kind=row.kind,
            to_address=row.to_address,
            subject=row.subject,
            body=row.body,
            message_id=row.message_id,
            attempt=row.attempts,
            token=token,
        )


def _audit_failed(session, *, email_id: int, recipient_id: int, detail: dict) -> None:
    audit.record(
        session,
        actor=None,
        actor_role="system",
        action="notification.email_failed",
        entity_type="email",
        entity_id=email_id,
        outcome="failed",
        detail={"recipient": recipient_id, **detail},
    )


def _record(claim: Claimed, result: Result, now: datetime) -> Outcome:
    """Write what happened, if the row is still ours. Returns what was recorded."""
    reason = result.reason[:ERROR_LIMIT]
    retry = result.outcome == Outcome.RETRY and claim.attempt < MAX_ATTEMPTS
    if result.outcome == Outcome.RETRY and not retry:
        reason = f"gave up after {claim.attempt} attempts: {reason}"[:ERROR_LIMIT]
    mine = [EmailMessage.id == claim.id, EmailMessage.claim_token == claim.token]
    with session_scope() as session:
        if result.outcome == Outcome.SENT:
            # Also over a reaper's "unknown": now we know it went.
            values = {"status": EmailStatus.SENT, "sent_at": now, "last_error": None}
        else:
            mine.append(EmailMessage.status == EmailStatus.SENDING)
            if retry:
                values = {
                    "status": EmailStatus.PENDING,
                    "next_attempt_at": now + backoff(claim.attempt),
                    "last_error": reason,
                }
            else:
                values = {"status": EmailStatus.FAILED, "last_error": reason}
        done = session.execute(
            update(EmailMessage)
            .where(*mine)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            logger.warning("Email %d: already settled by the reaper; left as it is", claim.id)
            return Outcome.UNKNOWN
        detail = {"attempt": claim.attempt, "kind": claim.kind}
        if result.outcome == Outcome.SENT:
            audit.record(
                session,
                actor=None,
                actor_role="system",
                action="notification.email_sent",
                entity_type="email",
                entity_id=claim.id,
                detail={"recipient": claim.recipient_id, **detail},
            )
            return Outcome.SENT
        _audit_failed(
            session,
            email_id=claim.id,
            recipient_id=claim.recipient_id,
            detail={**detail, "will_retry": retry, "reason": reason},
        )
        return Outcome.RETRY if retry else Outcome.REFUSED


def deliver_due(*, now: datetime | None = None, limit: int = BATCH) -> Delivered:
    """Send the messages that are due. With no SMTP server configured, nothing is claimed:
    the rows stay pending until there is one."""
    counts = Delivered()
    config = smtp_config()
    if config is None:
        return counts
    clock = (lambda: now) if now is not None else utcnow
    settings = get_settings()
    sender = email.utils.parseaddr(settings.mail_from)[1] or settings.mail_from
    stop_at = monotonic() + ROUND_SECONDS
    for email_id in _due(clock(), limit):
        claim = _claim(email_id, clock())
        if claim is None:
            continue  # another worker has it
        result = _send(config, claim, sender=sender, mail_from=settings.mail_from, when=clock())
        recorded = _record(claim, result, clock())
        if recorded == Outcome.SENT:
            counts.sent += 1
        elif recorded == Outcome.RETRY:
            counts.retrying += 1
        else:
            counts.failed += 1
        if monotonic() > stop_at:
            break
    return counts


def _send(config: SmtpConfig, claim: Claimed, *, sender: str, mail_from: str, when) -> Result:
    if not claim.to_address.isascii():
        return Result(Outcome.REFUSED, "the address needs SMTPUTF8, which is not supported")
    try:
        data = build_message(
            to=claim.to_address,
            subject=claim.subject,
            body=claim.body,
            message_id=claim.message_id,
            mail_from=mail_from,
            when=when,
        )
    except (ValueError, TypeError) as exc:
        return Result(Outcome.REFUSED, f"the message could not be built ({type(exc).__name__})")
    return send_message(config, sender=sender, recipient=claim.to_address, data=data)


REAPED = "outcome unknown; not re-sent (the worker stopped while sending)"


def reap_stuck(*, now: datetime | None = None) -> int:
    """Rows left in `sending` longer than the lease: a worker died mid-send, so the server may
    or may not have the message. Marked failed, never sent again."""
    now = now or utcnow()
    with session_scope() as session:
        stuck = session.exec(
            select(EmailMessage.id, EmailMessage.claim_token).where(
                EmailMessage.status == EmailStatus.SENDING,
                col(EmailMessage.claimed_at) < now - LEASE,
            )
        ).all()
    reaped = 0
    for email_id, token in stuck:
        with session_scope() as session:
            done = session.execute(
                update(EmailMessage)
                .where(
                    EmailMessage.id == email_id,
                    EmailMessage.claim_token == token,
                    EmailMessage.status == EmailStatus.SENDING,
                )
                .values(status=EmailStatus.FAILED, last_error=REAPED)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                continue  # its worker finished after all, or another reaper got there
            row = session.get(EmailMessage, email_id)
            _audit_failed(
                session,
                email_id=email_id,
                recipient_id=row.recipient_id,
                detail={
                    "attempt": row.attempts,
                    "kind": row.kind,
                    "will_retry": False,
                    "reason": REAPED,
                },
            )
            reaped += 1
    return reaped


# ---------------------------------------------------------------------------------------------
# The daily digest


def build_digests(*, now: datetime | None = None) -> int:
    """Queue today's digests (services/notify/digests.py), one unit of work per person, so
    one person's failure or a race with another worker holds up nobody else's."""
    now = now or utcnow()
    with session_scope() as session:
        people = digests.digest_recipients(session, now=now)
    queued = 0
    for user_id in people:
        try:
            with session_scope() as session:
                queued += digests.queue_digest(session, user_id=user_id, now=now)
        except IntegrityError:
            continue  # another worker queued this digest first
    return queued


# ---------------------------------------------------------------------------------------------
# The worker


@dataclass
class Round:
    reaped: int = 0
    digests: int = 0
    scanned: int = 0
    delivered: Delivered = field(default_factory=Delivered)


_last_scan: list[datetime] = []  # this process's last target/LA-chase scan


def _scan(now: datetime) -> int:
    """Targets due or missed, and LA chases: at most every `notify_scan_seconds`."""
    every = timedelta(seconds=get_settings().notify_scan_seconds)
    if _last_scan and timedelta(0) <= now - _last_scan[-1] < every:
        return 0
    _last_scan[:] = [now]
    today = uk_date(now)
    with session_scope() as session:
        made = reminders.scan_targets(session, today=today)
        made += reminders.scan_la_chases(session, today=today)
        return made + reminders.scan_untraceable_rechecks(session, today=today)


def run_once(*, now: datetime | None = None) -> Round:
    """One round. Each step runs on its own, so a failing scan never stops email going."""
    given, now = now, now or utcnow()
    done = Round()
    steps = (
        ("reap", lambda: setattr(done, "reaped", reap_stuck(now=now))),
        ("scan", lambda: setattr(done, "scanned", _scan(now))),
        ("digest", lambda: setattr(done, "digests", build_digests(now=now))),
        # The real clock while sending, unless a test fixes the time.
        ("send", lambda: setattr(done, "delivered", deliver_due(now=given))),
    )
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # the other steps still run
            logger.error("Notifications worker: %s failed: %s", name, type(exc).__name__)
    return done


async def worker() -> None:
    """The app-wide lifespan task: a round every `notify_send_seconds`. A failed round is
    logged (the exception type only: no personal data) and the next one still happens."""
    while True:
        try:
            done = await asyncio.to_thread(run_once)
            sent = done.delivered
            if sent.sent or sent.retrying or sent.failed or done.reaped or done.digests:
                logger.info(
                    "Notifications: %d sent, %d to retry, %d failed, %d reaped, %d digest(s)",
                    sent.sent,
                    sent.retrying,
                    sent.failed,
                    done.reaped,
                    done.digests,
                )
        except Exception as exc:  # keep sending whatever went wrong
            logger.error("Notifications worker failed: %s", type(exc).__name__)
        await asyncio.sleep(get_settings().notify_send_seconds)
