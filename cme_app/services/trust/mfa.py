"""Staff sign-in's second step: TOTP authentication codes (ASVS 6.3.3, 6.5).

Officers, leads, admins and auditors enter a 6-digit code from an authenticator app after
their password. A code works once only, failed codes are throttled, and only an administrator's
separate action (`reset_mfa`) clears a secret; a password reset keeps it.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import func
from sqlmodel import Session, select

from ...domain import STAFF_ROLES, Role
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import MfaAttempt, User, utcnow
from ...permissions import Actor
from . import audit, auth

ISSUER = "Leeds CME"
STEP_SECONDS = 30
# Codes from the step before and after now are accepted too: pyotp's valid_window=1.
VALID_WINDOW = 1
# Who passed the password step may finish signing in for this long.
PASSWORD_STEP_MINUTES = 5
MAX_FAILED_CODES = 5
FAILED_CODES_WINDOW = timedelta(minutes=5)

CODE_MISSING = "Enter your authentication code"
CODE_FORMAT = "Authentication code must be 6 digits, like 123456"
CODE_WRONG = "The authentication code is wrong or has already been used. Enter the latest code"
CODE_THROTTLED = (
    "Too many wrong authentication codes for this account. Wait 5 minutes and try again."
)
STEP_EXPIRED = "Your sign-in timed out. Enter your email address and password again."


def new_secret() -> str:
    """A fresh 160-bit secret; pyotp draws it from `secrets`."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg_data_uri(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG data URI for an <img>, drawn on the server."""
    qr = segno.make(provisioning_uri(secret, email), error="m")
    return qr.svg_data_uri(scale=5, border=4)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def current_code(secret: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or utcnow())


def _clean_code(code: str) -> str:
    """Blank or malformed input is a form error, not a guess: it does not count as an attempt."""
    cleaned = re.sub(r"[\s-]+", "", code) if isinstance(code, str) else ""
    if not cleaned:
        raise ValidationFailed([FieldError("code", CODE_MISSING)])
    if len(cleaned) != 6 or not cleaned.isascii() or not cleaned.isdigit():
        raise ValidationFailed([FieldError("code", CODE_FORMAT)])
    return cleaned


def matching_step(secret: str, code: str, at: datetime, after: int | None) -> int | None:
    """The time step within the window whose code is `code` and which is later than `after`
    (the last accepted step), or None. Same window as pyotp's `verify(valid_window=1)`, but it
    tells us which step matched, so that step can never be used again."""
    totp = pyotp.TOTP(secret)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _pending_user(session: Session, user_id: int, passed_at: datetime, now: datetime) -> User:
    if not isinstance(passed_at, datetime) or now - passed_at > timedelta(
        minutes=PASSWORD_STEP_MINUTES
    ) or passed_at > now:
        raise NotAllowed(STEP_EXPIRED)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or Role(user.role) not in STAFF_ROLES:
        raise NotAllowed(STEP_EXPIRED)
    return user


def _recent_failures(session: Session, user_id: int, now: datetime) -> int:
    since = now - FAILED_CODES_WINDOW
    last_ok = session.exec(
        select(func.max(MfaAttempt.at)).where(MfaAttempt.user_id == user_id, MfaAttempt.success)
    ).one()
    if last_ok is not None and last_ok > since:
        since = last_ok  # a right code starts the count again
    return session.exec(
        select(func.count()).select_from(MfaAttempt).where(
            MfaAttempt.user_id == user_id, MfaAttempt.at > since, ~MfaAttempt.success
        )
    ).one()


def _check_code(
    session: Session, user: User, secret: str, code: str, now: datetime, ip: str | None
) -> int:
    """Throttle, then verify. Failures are recorded and audited; raises NotAllowed."""
    code = _clean_code(code)
    if _recent_failures(session, user.id, now) >= MAX_FAILED_CODES:
        # Not counted as a failure: the wait ends 5 minutes after the last real guess.
        _audit(session, user, "auth.mfa_throttled", ip, outcome="throttled")
        raise NotAllowed(CODE_THROTTLED)
    step = matching_step(secret, code, now, user.totp_last_step)
    session.add(MfaAttempt(user_id=user.id, at=now, success=step is not None))
    if step is None:
        _audit(session, user, "auth.mfa_failed", ip, outcome="failed")
        raise NotAllowed(CODE_WRONG)
    return step


def _audit(session: Session, user: User, action: str, ip: str | None, outcome: str = "ok"):
    audit.record(
        session, actor=None, action=action, entity_type="user", entity_id=user.id,
        actor_id=user.id, actor_role=str(user.role), outcome=outcome, ip=ip,
    )


def complete_sign_in(
    session: Session,
    *,
    user_id: int,
    passed_at: datetime,
    code: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> auth.SignInResult:
    """The second step for an enrolled staff user: a right, unused code opens the session."""
    now = now or utcnow()
    user = _pending_user(session, user_id, passed_at, now)
    if not user.totp_secret:
        raise NotAllowed(STEP_EXPIRED)
    user.totp_last_step = _check_code(session, user, user.totp_secret, code, now, ip)
    session.add(user)
    return auth.open_session(session, user=user, ip=ip)


def confirm_enrolment(
    session: Session,
    *,
    user_id: int,
    passed_at: datetime,
    secret: str,
    code: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> auth.SignInResult:
    """First sign-in of a staff user with no secret: a right code from the new secret saves it
    and opens the session. A user who already has a secret can never replace it here."""
    now = now or utcnow()
    user = _pending_user(session, user_id, passed_at, now)
    if user.totp_secret or not auth.valid_totp_secret(secret):
        raise NotAllowed(STEP_EXPIRED)
    user.totp_last_step = _check_code(session, user, secret, code, now, ip)
    user.totp_secret = secret
    session.add(user)
    _audit(session, user, "auth.mfa_enrolled", ip)
    return auth.open_session(session, user=user, ip=ip)


def set_secret(session: Session, user: User, secret: str) -> None:
    """Provisioning (`users create --totp-secret`, demo data): enrol with a given secret."""
    secret = (secret or "").replace(" ", "").upper()
    if not auth.valid_totp_secret(secret):
        raise ValidationFailed(
            [FieldError("totp_secret", auth.TOTP_FORMAT)]
        )
    user.totp_secret, user.totp_last_step = secret, None
    session.add(user)


def reset_mfa(session: Session, *, email: str, actor: Actor | None = None) -> User:
    """An administrator's separate action: clear the secret so the user enrols again at their
    next sign-in, and end their sessions."""
    user = auth.account_for_admin_action(session, email, actor)
    before = bool(user.totp_secret)
    user.totp_secret, user.totp_last_step = None, None
    session.add(user)
    ended = auth.end_sessions(session, user_id=user.id)
    audit.record(
        session, actor=actor, action="auth.mfa_reset", entity_type="user", entity_id=user.id,
        detail={"sessions_ended": ended,
                **audit.changes({"mfa_set_up": before}, {"mfa_set_up": False})},
    )
    return user
