"""Users, passwords, sign-in throttling and server-side sessions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func
from sqlmodel import Session, select

from ...domain import STAFF_ROLES, Role
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import LoginAttempt, School, User, UserSession, utcnow
from ...permissions import Actor, Capability, allows
from ...routes import AUDIT, BOARD, REFERRALS, VISITS
from ...settings import get_settings
from . import audit

SIGN_IN_FAILED = "Enter a correct email address and password."
SIGN_IN_THROTTLED = (
    "Too many failed attempts to sign in to this account. Wait 5 minutes and try again."
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 120


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    if get_settings().argon2_cost == "test":
        # The test suite's accounts only (settings refuse this in production): argon2id with
        # the least work, so hundreds of test users don't cost minutes of CI.
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against on unknown emails so both paths take the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


PASSWORD_TOO_SHORT = f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
PASSWORD_TOO_LONG = f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
TOO_COMMON = (
    "Password is too common and easy to guess. Choose a longer password, such as 3 or 4 "
    "random words"
)
MOSTLY_CONTEXT_WORDS = (
    "Password must not be mostly your email address or the name of this service. "
    "Choose a different password"
)
# Words anyone guessing a password here would try first (ASVS 6.2.11).
SERVICE_WORDS = ("cme", "children missing education", "childrenmissingeducation",
                 "missing education", "leeds")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common-password list shipped with zxcvbn (about 30,000 entries from public breach
    corpora, most common first), lower-cased so the check ignores case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _context_words(email: str) -> list[str]:
    local = normalise_email(email).split("@")[0]
    parts = [local, *re.split(r"[._+\-]+", local)]
    # Short fragments (an initial) would refuse half of all passwords for no gain.
    words = {w for w in parts if len(w) >= 3} | set(SERVICE_WORDS)
    return sorted(words, key=len, reverse=True)


def _mostly_context_words(password: str, email: str) -> bool:
    lowered = password.lower()
    found = [word for word in _context_words(email) if word in lowered]
    for word in found:
        lowered = lowered.replace(word, "")
    # What is left besides digits and punctuation must still be worth guessing.
    rest = re.sub(r"[\d\s!-/:-@\[-`{-~]+", "", lowered)
    return bool(found) and (len(rest) < 6 or rest in common_passwords())


def check_password_policy(password: str, *, email: str = "") -> None:
    """ASVS 6.2: length only (no composition rules), not a common password, not mostly
    context words. Raises ValidationFailed with the one message that applies."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        message = PASSWORD_TOO_SHORT
    elif len(password) > MAX_PASSWORD_LENGTH:
        message = PASSWORD_TOO_LONG
    elif {password.lower(), re.sub(r"\s+", "", password.lower())} & common_passwords():
        message = TOO_COMMON
    else:
        message = MOSTLY_CONTEXT_WORDS if _mostly_context_words(password, email) else ""
    if message:
        raise ValidationFailed([FieldError("password", message)])


TOTP_FORMAT = (
    "TOTP secret must be 16 to 64 base32 characters (A to Z and 2 to 7)"
)


def valid_totp_secret(secret: str) -> bool:
    return isinstance(secret, str) and re.fullmatch(r"[A-Z2-7]{16,64}", secret) is not None


def _may_manage_accounts(actor: Actor | None, refusal: str) -> None:
    """`actor` None is the command line (an operator on the box); in the app, the role must
    manage accounts."""
    if actor is not None and not allows(actor.role, Capability.ACCOUNTS_MANAGE):
        raise NotAllowed(refusal)


def _check_name(name: str, *, required: bool, errors: list[FieldError]) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if required and not name:
        errors.append(FieldError("name", "Enter the person's full name"))
    elif len(name) > MAX_NAME_LENGTH:
        errors.append(
            FieldError("name", f"Full name must be {MAX_NAME_LENGTH} characters or fewer")
        )
    return name


def _check_role(role: str, errors: list[FieldError]) -> Role | None:
    try:
        return Role(role)
    except ValueError:
        errors.append(FieldError("role", f"Role must be one of: {', '.join(r for r in Role)}"))
        return None


def _check_school(session: Session, role: Role | None, school_urn: str | None,
                  errors: list[FieldError]) -> int | None:
    """The school a school user works at (by URN); nobody else is linked to one."""
    if role != Role.SCHOOL:
        if school_urn:
            errors.append(FieldError("school_urn", "Only school users are linked to a school"))
        return None
    school = session.exec(select(School).where(School.urn == (school_urn or ""))).first()
    if school is None:
        errors.append(FieldError("school_urn", "School users need the URN of a known school"))
        return None
    return school.id


def _check_totp_secret(secret: str | None, errors: list[FieldError]) -> str | None:
    if secret is None:
        return None
    secret = secret.replace(" ", "").upper()
    if not valid_totp_secret(secret):
        errors.append(FieldError("totp_secret", TOTP_FORMAT))
    return secret


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
    """Create an account. `actor` is None only for the command line (an operator on the box).
    Every problem with the details is reported at once."""
    _may_manage_accounts(actor, "Only an administrator can create accounts.")
    errors: list[FieldError] = []
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        errors.append(FieldError("email", "Enter an email address in the correct format"))
    # In the app an administrator names the person; the command line may leave it to the email.
    name = _check_name(name, required=actor is not None, errors=errors)
    role_value = _check_role(role, errors)
    school_id = _check_school(session, role_value, school_urn, errors)
    if session.exec(select(User).where(User.email == email)).first():
        errors.append(FieldError("email", "An account with that email address already exists"))
    totp_secret = _check_totp_secret(totp_secret, errors)
    try:
        check_password_policy(password, email=email)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=name or email.split("@")[0],
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
    """`ticket` is one-time and short-lived: the browser exchanges it at POST /api/v1/session
    for the session token, which only ever travels in an HttpOnly cookie."""

    ticket: str
    actor: Actor


TICKET_SECONDS = 60


@dataclass(frozen=True)
class CodeNeeded:
    """A staff user's password was right; no session yet. The authentication code comes next
    (or, with no secret yet, enrolment). The caller keeps this on the server only."""

    user_id: int
    passed_at: datetime
    enrol: bool


def _recent_failures(session: Session, email: str) -> int:
    s = get_settings()
    since = utcnow() - timedelta(minutes=s.login_window_minutes)
    return session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.at >= since, ~LoginAttempt.success)
    ).one()


@dataclass(frozen=True)
class PasswordToCheck:
    """What the password step read, to verify with no transaction open (see `sign_in_steps`)."""

    email: str
    user_id: int | None
    password_hash: str | None


def password_to_check(session: Session, *, email: str, ip: str | None = None
                      ) -> PasswordToCheck:
    """The first of the password step's three steps: refuse a throttled account (recording
    the attempt), else what the password is to be checked against."""
    email = normalise_email(email)[:254]
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
    return PasswordToCheck(email=email, user_id=user.id if user else None,
                           password_hash=user.password_hash if user else None)


def password_matches(found: PasswordToCheck, password: str) -> bool:
    """The second step, argon2: no database. An unknown email is verified against a dummy
    hash, so both paths take the same time."""
    password = (password or "")[:MAX_PASSWORD_LENGTH]
    return _hasher().verify(password, found.password_hash or _dummy_hash())


def record_password_check(session: Session, *, found: PasswordToCheck, ok: bool,
                          ip: str | None = None) -> User:
    """The third step: record the attempt; the account for a right password, else the same
    refusal for an unknown user, a wrong password or a disabled account."""
    email = found.email
    user = session.get(User, found.user_id) if found.user_id is not None else None
    if user is not None and user.password_hash != found.password_hash:
        ok = False  # the password changed while it was being checked: check the new one
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
    return user


def check_password(session: Session, *, email: str, password: str, ip: str | None = None) -> User:
    """The account for a correct email and password. The same error for an unknown user or a
    wrong password; throttled per account (Cyber Essentials: at most 10 guesses in 5 minutes).

    In one transaction (tests, the command line). Signing in from the page uses
    `sign_in_steps`, which holds no transaction while argon2 runs."""
    found = password_to_check(session, email=email, ip=ip)
    return record_password_check(
        session, found=found, ok=password_matches(found, password), ip=ip
    )


def open_session(session: Session, *, user: User, ip: str | None = None) -> SignInResult:
    """Record a successful sign-in and open a pending session, returned as a one-time ticket."""
    ticket = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            token_hash=_token_hash(ticket),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=TICKET_SECONDS),
            ip=ip,
        )
    )
    actor = _actor_for(session, user, ip)
    audit.record(session, actor=actor, action="auth.sign_in", entity_type="user", entity_id=user.id)
    return SignInResult(ticket=ticket, actor=actor)


def sign_in(
    session: Session, *, email: str, password: str, ip: str | None = None
) -> SignInResult | CodeNeeded:
    """The password step. Schools get a pending session (see `activate_session`); staff, who
    must use MFA, get only `CodeNeeded` and no session (see services/trust/mfa.py)."""
    user = check_password(session, email=email, password=password, ip=ip)
    return after_password(session, user=user, ip=ip)


def after_password(session: Session, *, user: User, ip: str | None = None
                   ) -> SignInResult | CodeNeeded:
    if Role(user.role) in STAFF_ROLES:
        audit.record(
            session, actor=None, action="auth.password_ok", entity_type="user",
            entity_id=user.id, actor_id=user.id, actor_role=str(user.role), ip=ip,
        )
        return CodeNeeded(user_id=user.id, passed_at=utcnow(), enrol=not user.totp_secret)
    return open_session(session, user=user, ip=ip)


def sign_in_steps(unit_of_work: Callable[[], AbstractContextManager[Session]], *, email: str,
                  password: str, ip: str | None = None) -> SignInResult | CodeNeeded:
    """`sign_in` in two short units of work with argon2 between them, outside any
    transaction: on SQLite a transaction holds the database's write lock from its first
    statement, so a hash inside one would make every other writer wait for it. (Two attempts
    at once may each pass the throttle check: the limit is at most one or two guesses over.)"""
    with unit_of_work() as session:
        found = password_to_check(session, email=email, ip=ip)
    ok = password_matches(found, password)
    with unit_of_work() as session:
        user = record_password_check(session, found=found, ok=ok, ip=ip)
        return after_password(session, user=user, ip=ip)


def activate_session(session: Session, *, ticket: str | None, ip: str | None = None) -> str | None:
    """Exchange a sign-in ticket, once and within TICKET_SECONDS, for a session token.

    The token replaces the ticket's hash on the row, so the ticket is spent."""
    if not ticket or not isinstance(ticket, str) or len(ticket) > 100:
        return None
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(ticket))
    ).first()
    now = utcnow()
    if row is None or row.activated_at is not None or row.revoked_at is not None:
        return None
    if now >= row.expires_at:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = _token_hash(token)
    row.activated_at = row.last_seen_at = now
    row.expires_at = now + timedelta(hours=get_settings().session_absolute_hours)
    if ip:
        row.ip = ip
    session.add(row)
    return token


def _actor_for(session: Session, user: User, ip: str | None) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        name=user.name,
        email=user.email,
        school_id=user.school_id,
        ip=ip,
    )


def _activated_session(session: Session, token: str | None) -> UserSession | None:
    """The session row a token names, if it was activated and not revoked (live or not)."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or row.activated_at is None:
        return None
    return row


def actor_for_token(
    session: Session, token: str | None, ip: str | None = None, *, touch: bool = True
) -> Actor | None:
    """The signed-in actor for a session token, or None if missing, expired, idle or revoked.

    `touch=False` for background requests (the board's poll) that must not count as activity,
    so an unattended screen still signs out after the idle limit."""
    row = _activated_session(session, token)
    if row is None:
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


def actor_of_timed_out_session(
    session: Session, token: str | None, ip: str | None = None, *, within: timedelta
) -> Actor | None:
    """Who a session belonged to if it ended by a timeout (idle or absolute) less than `within`
    ago: never one that was signed out, revoked, or whose user is disabled. Only for keeping
    what that person was typing when it ended (a referral draft); it signs no one in."""
    row = _activated_session(session, token)
    if row is None:
        return None
    now = utcnow()
    idle_end = row.last_seen_at + timedelta(minutes=get_settings().session_idle_minutes)
    ended_at = min(row.expires_at, idle_end)
    if ended_at > now or now - ended_at > within:
        return None  # still live (nothing to keep: the handler would have run), or too old
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return _actor_for(session, user, ip)


def end_sessions(session: Session, *, user_id: int) -> int:
    """Revoke every open session of one user; their open tabs are signed out at their next
    event. Returns how many were open."""
    now = utcnow()
    rows = session.exec(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    return len(rows)


def sign_out(session: Session, *, token: str | None, actor: Actor | None) -> None:
    """Signing out ends every open session of that user, not just this browser's."""
    if not token or len(token) > 100:
        return
    row = session.exec(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return
    ended = end_sessions(session, user_id=row.user_id)
    audit.record(
        session,
        actor=actor,
        action="auth.sign_out",
        entity_type="user",
        entity_id=row.user_id,
        actor_id=row.user_id,
        detail={"sessions_ended": ended},
    )


def account_for_admin_action(session: Session, email: str, actor: Actor | None) -> User:
    """The account an administrator's action is about (`actor` None: the command line)."""
    _may_manage_accounts(actor, "Only an administrator can change other people's accounts.")
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise ValidationFailed([FieldError("email", "There is no account with that email address")])
    return user


def reset_password(
    session: Session, *, email: str, password: str, actor: Actor | None = None
) -> User:
    """Set a new password and end every session. The MFA secret is kept: a reset never
    bypasses the authentication code (ASVS 6.4.3); `mfa.reset_mfa` is a separate action."""
    user = account_for_admin_action(session, email, actor)
    check_password_policy(password, email=user.email)
    before = user.password_changed_at.isoformat()
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.add(user)
    ended = end_sessions(session, user_id=user.id)
    # When, never what: neither password nor hash goes into the trail.
    audit.record(
        session, actor=actor, action="user.password_reset", entity_type="user",
        entity_id=user.id, detail={
            "sessions_ended": ended,
            **audit.changes({"password_changed_at": before},
                            {"password_changed_at": user.password_changed_at.isoformat()}),
        },
    )
    return user


CANNOT_DISABLE_YOURSELF = (
    "You cannot disable your own account. Ask another administrator to do it."
)


def disable_user(session: Session, *, email: str, actor: Actor | None = None) -> User:
    user = account_for_admin_action(session, email, actor)
    if actor is not None and user.id == actor.user_id:
        # An administrator locking themselves out could leave nobody to manage accounts.
        audit.record(
            session, actor=actor, action="user.disabled", entity_type="user",
            entity_id=user.id, outcome="refused", detail={"why": "own account"},
        )
        raise NotAllowed(CANNOT_DISABLE_YOURSELF)
    before = user.is_active
    user.is_active = False
    session.add(user)
    ended = end_sessions(session, user_id=user.id)
    audit.record(
        session, actor=actor, action="user.disabled", entity_type="user", entity_id=user.id,
        detail={"sessions_ended": ended,
                **audit.changes({"is_active": before}, {"is_active": False})},
    )
    return user


def enable_user(session: Session, *, email: str, actor: Actor | None = None) -> User:
    """Let a disabled account sign in again. Sessions ended when it was disabled stay ended;
    the password and authentication app are as they were."""
    user = account_for_admin_action(session, email, actor)
    before = user.is_active
    user.is_active = True
    session.add(user)
    audit.record(
        session, actor=actor, action="user.enabled", entity_type="user", entity_id=user.id,
        detail=audit.changes({"is_active": before}, {"is_active": True}),
    )
    return user


def home_route(role: Role, *, phone: bool = False) -> str:
    """Where a user starts. `phone`: the sign-in page found a phone-sized screen (the browser
    says so; it only picks a start page, every page checks the role itself). Officers and
    leads then start on their visit log instead of the seven-column board."""
    if role == Role.SCHOOL:
        return REFERRALS
    if phone and allows(role, Capability.VISIT_LOG):
        return VISITS
    # The DPO reads the audit log; they have no casework.
    return AUDIT if role == Role.AUDITOR else BOARD
