"""Sending the email queue (issue 7): immediate emails, the daily digest, and the worker.

`services/notify/notifications.py` queues `EmailMessage` rows inside the action's transaction; this
module hands them to the SMTP server, at most once each:

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
import contextlib
import email.policy
import email.utils
import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage as MimeMessage
from enum import StrEnum
from time import monotonic
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ...dates import LONDON, long_date
from ...db import session_scope
from ...domain import Delivery, EmailStatus
from ...models import EmailMessage, Notification, User, utcnow
from ...settings import get_settings
from ..trust import audit
from . import notifications

logger = logging.getLogger(__name__)

BATCH = 50  # messages one deliver_due call tries at most
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)  # doubles after each attempt...
MAX_BACKOFF = timedelta(hours=1)  # ...up to this
# A row still `sending` after this long belongs to a worker that died. Far longer than one
# send can take (every socket operation has the SMTP timeout).
LEASE = timedelta(minutes=10)
DEFAULT_TIMEOUT = 15.0  # seconds, for each socket operation
# One round stops taking new messages after this long, so an SMTP server that swallows
# connections (each attempt waits for the timeout) cannot hold the worker for long; the rest
# stay due for the next round.
ROUND_SECONDS = 60.0
ERROR_LIMIT = 300


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT


_YES = ("1", "true", "yes", "on")


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://[user:pass@]host[:port][?starttls=1]` or `smtps://[user:pass@]host[:port]`;
    `timeout=<seconds>` may be added to either. Errors never repeat the URL (it may hold a
    password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("CME_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("CME_SMTP_URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("CME_SMTP_URL has an invalid port") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise ValueError("CME_SMTP_URL has an invalid timeout") from None
    tls = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        starttls=not tls and query.get("starttls", "").lower() in _YES,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=timeout if timeout > 0 else DEFAULT_TIMEOUT,
    )


_said_once: set[str] = set()


def _once(level: int, text: str) -> None:
    """Log a configuration message once per process, not every round."""
    if text not in _said_once:
        _said_once.add(text)
        logger.log(level, text)


def smtp_config() -> SmtpConfig | None:
    url = get_settings().smtp_url
    if not url:
        _once(logging.INFO, "Email is not configured (CME_SMTP_URL is empty): it waits queued")
        return None
    try:
        return parse_smtp_url(url)
    except ValueError as exc:
        _once(logging.ERROR, f"Email is not sent: {exc}")
        return None


# ---------------------------------------------------------------------------------------------
# One message, one SMTP conversation


class Outcome(StrEnum):
    SENT = "sent"  # the server replied 250 to the end of the message
    RETRY = "retry"  # not delivered, and worth trying again
    REFUSED = "refused"  # not delivered, and the server said never (5xx)
    UNKNOWN = "unknown"  # the server has the message but we never heard its answer


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""  # short and classified: a stage, a code, an exception type; no content


def _by_code(code: int, stage: str) -> Result:
    if 500 <= code < 600:
        return Result(Outcome.REFUSED, f"refused at {stage} ({code})")
    return Result(Outcome.RETRY, f"refused for now at {stage} ({code})")


def build_message(
    *, to: str, subject: str, body: str, message_id: str, mail_from: str, when: datetime
) -> bytes:
    """The message as sent: plain text, CRLF line ends."""
    msg = MimeMessage(policy=email.policy.SMTP)
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    if body.isascii():
        msg.set_content(body)
    else:  # a staff name with an accent: no 8-bit body without asking the server
        msg.set_content(body, cte="quoted-printable")
    return msg.as_bytes()


def _dot_stuffed(data: bytes) -> bytes:
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.tls:
        return smtplib.SMTP_SSL(
            config.host,
            config.port,
            timeout=config.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def send_message(config: SmtpConfig, *, sender: str, recipient: str, data: bytes) -> Result:
    """Drive one SMTP conversation and say what we know about the message afterwards."""
    try:
        client = _connect(config)
    except smtplib.SMTPConnectError as exc:
        return Result(Outcome.RETRY, f"server refused the connection ({exc.smtp_code})")
    except Exception as exc:  # nothing of the message has been sent
        return Result(Outcome.RETRY, f"could not connect ({type(exc).__name__})")
    try:
        return _converse(client, config, sender=sender, recipient=recipient, data=data)
    except Exception as exc:  # a surprise from smtplib: we cannot say how far it got
        return Result(Outcome.UNKNOWN, f"outcome unknown: unexpected {type(exc).__name__}")
    finally:
        client.close()


def _converse(
    client: smtplib.SMTP, config: SmtpConfig, *, sender: str, recipient: str, data: bytes
) -> Result:
    # Greeting, TLS and login concern our set-up, not this message: retried, never final.
    try:
        client.ehlo_or_helo_if_needed()
        if config.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if config.username:
            client.login(config.username, config.password)
    except smtplib.SMTPNotSupportedError:
        return Result(Outcome.RETRY, "the server does not offer STARTTLS or login")
    except smtplib.SMTPResponseException as exc:
        return Result(Outcome.RETRY, f"session refused ({exc.smtp_code})")
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, f"connection lost before sending ({type(exc).__name__})")

    # Until the last byte of the message has gone, the server cannot have accepted it.
    try:
        code, _ = client.mail(sender)
        if code != 250:
            return _by_code(code, "MAIL")
        code, _ = client.rcpt(recipient)
        if code not in (250, 251):
            return _by_code(code, "RCPT")
        code, _ = client.docmd("DATA")
        if code != 354:
            return _by_code(code, "DATA")
        client.send(_dot_stuffed(data))  # sendall: on failure the final "." never left
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, f"connection lost before sending ({type(exc).__name__})")

    # The server has the whole message: without its reply we cannot know whether it took it.
    try:
        code, _ = client.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        return Result(
            Outcome.UNKNOWN,
            f"outcome unknown: no reply after the message was sent ({type(exc).__name__})",
        )
    if code != 250:
        return _by_code(code, "end of DATA")
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()  # accepted is accepted, whatever QUIT says
    return Result(Outcome.SENT)


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


def digest_moment(day: date) -> datetime:
    """When `day`'s digest is due: the digest hour, UK time."""
    return datetime.combine(day, time(get_settings().digest_hour), tzinfo=LONDON)


def digest_text(day: date, items: list[Notification]) -> tuple[str, str]:
    """Subject and body: each item's own subject and link, which hold no child's details."""
    count = f"{len(items)} item" + ("" if len(items) == 1 else "s")
    subject = f"Your CME digest for {long_date(day)}: {count}"
    lines = [f"Your CME notifications since the last digest ({count}):", ""]
    for item in items:
        lines += [f"- {item.subject}", f"  {notifications.link_url(item.link)}", ""]
    lines += [
        "Each link opens the case or referral (you will be asked to sign in).",
        "",
        "This message holds no details about any child. They are kept in the CME app, "
        "behind sign-in.",
    ]
    return subject, "\n".join(lines) + "\n"


def build_digests(*, now: datetime | None = None) -> int:
    """Once the digest hour has passed (UK time), queue one digest email per person for their
    digest items up to that moment. One transaction per person; the unique
    `digest:<user>:<date>` key makes a rerun or a second worker queue nothing."""
    now = now or utcnow()
    day = now.astimezone(LONDON).date()
    moment = digest_moment(day)
    if now < moment:
        return 0
    waiting = [
        Notification.delivery == Delivery.DIGEST,
        col(Notification.email_id).is_(None),
        col(Notification.created_at) <= moment,
    ]
    with session_scope() as session:
        people = session.exec(
            select(Notification.recipient_id)
            .join(User, User.id == Notification.recipient_id)
            .where(*waiting, col(User.is_active).is_(True))
            .distinct()
        ).all()
    queued = 0
    for user_id in sorted(people):
        key = f"digest:{user_id}:{day.isoformat()}"
        try:
            with session_scope() as session:
                if session.exec(
                    select(EmailMessage.id).where(EmailMessage.dedupe_key == key)
                ).first():
                    continue  # today's went already; later items wait for tomorrow's
                items = session.exec(
                    select(Notification)
                    .where(Notification.recipient_id == user_id, *waiting)
                    .order_by(col(Notification.created_at), col(Notification.id))
                ).all()
                user = session.get(User, user_id)
                if not items or user is None:
                    continue
                subject, body = digest_text(day, items)
                message = EmailMessage(
                    recipient_id=user_id,
                    to_address=user.email,
                    kind=Delivery.DIGEST,
                    dedupe_key=key,
                    message_id=notifications.new_message_id(),
                    subject=subject,
                    body=body,
                    next_attempt_at=now,
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
                queued += 1
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
    today = now.astimezone(LONDON).date()
    with session_scope() as session:
        made = notifications.scan_targets(session, today=today)
        return made + notifications.scan_la_chases(session, today=today)


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
