"""Users, passwords, sign-in throttling and server-side sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import func
from sqlmodel import Session, select

from ..models import STAFF_ROLES, LoginAttempt, Role, School, User, UserSession, utcnow
from ..routes import AUDIT, BOARD, REFERRALS
from ..settings import get_settings
from . import audit
from .errors import FieldError, NotAllowed, ValidationFailed
from .permissions import Actor

SIGN_IN_FAILED = "Enter a correct email address and password."
SIGN_IN_THROTTLED = (
    "Too many failed attempts to sign in to this account. Wait 5 minutes and try again."
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against on unknown emails so both paths take the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            [FieldError("password", f"Password must be at least {MIN_PASSWORD_LENGTH} characters")]
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            [FieldError("password", f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer")]
        )


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str,
    name: str = "",
    school_urn: str | None = None,
    totp_secret: str | None = None,
    actor: Actor | None = None,
) -> User:
    """Create an account. `actor` is None only for the command line (an operator on the box)."""
    if actor is not None and actor.role != Role.ADMIN:
        raise NotAllowed("Only an administrator can create accounts.")
    errors: list[FieldError] = []
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        errors.append(FieldError("email", "Enter an email address in the correct format"))
    try:
        role_value = Role(role)
    except ValueError:
        errors.append(FieldError("role", f"Role must be one of: {', '.join(r for r in Role)}"))
        role_value = None
    school_id = None
    if role_value == Role.SCHOOL:
        school = session.exec(select(School).where(School.urn == (school_urn or ""))).first()
        if school is None:
            errors.append(FieldError("school_urn", "School users need the URN of a known school"))
        else:
            school_id = school.id
    elif school_urn:
        errors.append(FieldError("school_urn", "Only school users are linked to a school"))
    if session.exec(select(User).where(User.email == email)).first():
        errors.append(FieldError("email", "An account with that email address already exists"))
    try:
        check_password_policy(password)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=name.strip() or email.split("@")[0],
        role=role_value,
        school_id=school_id,
        password_hash=hash_password(password),
        totp_secret=totp_secret if role_value in STAFF_ROLES else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.created",
        entity_type="user",
        entity_id=user.id,
        detail={"email": email, "role": str(role_value), "school_id": school_id},
    )
    return user


def _token_hash(token: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignInResult:
    token: str
    actor: Actor


def _recent_failures(session: Session, email: str) -> int:
    s = get_settings()
    since = utcnow() - timedelta(minutes=s.login_window_minutes)
    return session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.at >= since, ~LoginAttempt.success)
    ).one()


def sign_in(session: Session, *, email: str, password: str, ip: str | None = None) -> SignInResult:
    """Check a password and open a session. The same error for unknown user or wrong password."""
    email = normalise_email(email)[:254]
    password = (password or "")[:MAX_PASSWORD_LENGTH]
    if _recent_failures(session, email) >= get_settings().login_max_failures:
        session.add(LoginAttempt(email=email, success=False, ip=ip))
        audit.record(
            session,
            actor=None,
            action="auth.sign_in",
            outcome="throttled",
            detail={"email": email},
            ip=ip,
        )
        raise NotAllowed(SIGN_IN_THROTTLED)
    user = session.exec(select(User).where(User.email == email)).first()
    ok = _hasher().verify(password, user.password_hash if user else _dummy_hash())
    if not (user and ok and user.is_active):
        session.add(LoginAttempt(email=email, success=False, ip=ip))
        audit.record(
            session,
            actor=None,
            action="auth.sign_in",
            outcome="failed",
            actor_id=user.id if user else None,
            detail={"email": email},
            ip=ip,
        )
        raise NotAllowed(SIGN_IN_FAILED)
    session.add(LoginAttempt(email=email, success=True, ip=ip))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=get_settings().session_absolute_hours),
            ip=ip,
        )
    )
    actor = _actor_for(session, user, ip)
    audit.record(session, actor=actor, action="auth.sign_in", entity_type="user", entity_id=user.id)
    return SignInResult(token=token, actor=actor)


def _actor_for(session: Session, user: User, ip: str | None) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        name=user.name,
        email=user.email,
        school_id=user.school_id,
        ip=ip,
    )


def actor_for_token(
    session: Session, token: str | None, ip: str | None = None, *, touch: bool = True
) -> Actor | None:
    """The signed-in actor for a session token, or None if missing, expired, idle or revoked.

    `touch=False` for background requests (the board's poll) that must not count as activity,
    so an unattended screen still signs out after the idle limit."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at > idle:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    # Only touch the row now and then, so reads don't all become writes.
    if touch and now - row.last_seen_at > timedelta(seconds=60):
        row.last_seen_at = now
        session.add(row)
    return _actor_for(session, user, ip)


def sign_out(session: Session, *, token: str | None, actor: Actor | None) -> None:
    if not token:
        return
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="auth.sign_out",
            entity_type="user",
            entity_id=row.user_id,
            actor_id=row.user_id,
        )


def home_route(role: Role) -> str:
    if role == Role.SCHOOL:
        return REFERRALS
    # The DPO reads the audit log; they have no casework (design.md §2).
    return AUDIT if role == Role.AUDITOR else BOARD
