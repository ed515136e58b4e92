"""One typed settings object, read from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_URL = f"sqlite:///{PROJECT_ROOT / 'cme.db'}"
_SECRET_FILE = PROJECT_ROOT / ".cme_secret"


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _three(value: str) -> tuple[int, int, int]:
    """'red,amber,green' day counts, e.g. '0,1,2'."""
    red, amber, green = (int(v) for v in _split(value))
    return red, amber, green


MAX_SOCKET_FRAME_BYTES = 1_000_000


def _frame_limit(value: str) -> int:
    """The WebSocket frame limit; more than 1 MB would let one message hold the server."""
    limit = int(value)
    if not 0 < limit <= MAX_SOCKET_FRAME_BYTES:
        raise RuntimeError(
            f"REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE must be between 1 and {MAX_SOCKET_FRAME_BYTES}"
        )
    return limit


GROUND_I_MIN_SCHOOL_DAYS = 20  # reg 9(1)(i), 2024 Registration Regulations


def _ground_i_days(value: str) -> int:
    """Ground I's continuous school days: the law sets 20, so an LA may wait longer, never less."""
    days = int(value)
    if days < GROUND_I_MIN_SCHOOL_DAYS:
        raise RuntimeError(
            f"CME_UNTRACEABLE_SCHOOL_DAYS must be at least {GROUND_I_MIN_SCHOOL_DAYS}: ground I "
            "(regulation 9(1)(i)) needs 20 continuous school days' absence by law"
        )
    return days


def _local_secret() -> str:
    """A per-checkout secret for local runs, made once and kept out of git."""
    try:
        fd = os.open(_SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _SECRET_FILE.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return _SECRET_FILE.read_text().strip()


@dataclass(frozen=True)
class Settings:
    db_url: str
    secret_key: str
    allowed_origins: tuple[str, ...]
    production: bool
    # Reverse proxies in front of the app that append to X-Forwarded-For; 0 ignores the header.
    trusted_proxy_hops: int = 0
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 10
    login_window_minutes: int = 5
    late_referral_weeks: int = 4
    # Response targets (BR-L3, proposals the LA may change): (red, amber, green).
    triage_working_days: tuple[int, int, int] = (0, 1, 2)
    first_visit_days: tuple[int, int, int] = (1, 5, 10)  # red: working days; others: school
    la_response_working_days: int = 10
    untraceable_min_school_days: int = 20
    # An untraceable child stays counted as CME; their episode is reviewed after this many days.
    untraceable_review_days: int = 90
    # Securing education once a child is found (services/casework/securing.py): a keyworker
    # allocated, an in-year application decided (15 school days is the statutory expectation),
    # a start within so many school days of the offer, a Fair Access place; school days.
    keyworker_school_days: int = 5
    admission_decision_school_days: int = 15
    school_start_school_days: int = 10
    fair_access_school_days: int = 20
    # The parent's time to answer an s.437(1) notice: at least 15 days in law (never fewer).
    s437_response_days: int = 15
    # The DfE return warns about an open case with no CME episode older than this.
    episode_missing_school_days: int = 10
    board_recent_closed_days: int = 30
    # Lone working (SC-09): the buddy is alerted this long after the expected end of a visit,
    # the leads this much later again; the monitor looks every `lone_working_check_seconds`.
    lone_working_grace_minutes: int = 15
    lone_working_lead_after_minutes: int = 15
    lone_working_check_seconds: int = 30
    # Notifications: links in emails start with `base_url`; no `smtp_url` means email waits
    # in the queue (the inbox still works). The digest goes out daily at `digest_hour`, London.
    base_url: str = "http://localhost:3000"
    smtp_url: str = ""
    mail_from: str = "CME team <cme-noreply@localhost>"
    digest_hour: int = 7
    notify_send_seconds: int = 15
    notify_scan_seconds: int = 300
    # The /_event WebSocket (cme_app/socket_guard.py): each connection may send
    # `socket_events_per_second` events on average, `socket_event_burst` at once; past
    # `socket_flood_disconnect` refused events it is disconnected. An event bigger than
    # `socket_max_event_bytes` (as JSON) is refused; a frame bigger than `socket_max_frame_bytes`
    # (REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE, at most 1 MB) closes the connection.
    socket_events_per_second: float = 20.0
    socket_event_burst: float = 40.0
    socket_flood_disconnect: float = 100.0
    socket_max_event_bytes: int = 64 * 1024
    socket_max_frame_bytes: int = 256 * 1024
    # POST /api/v1/session (the sign-in ticket's exchange) per client address: a browser makes
    # one per sign-in; `session_post_burst` at once, `session_posts_per_second` after that.
    session_posts_per_second: float = 2.0
    session_post_burst: float = 20.0
    # Retention (BR-D4): closed cases are kept this many years after closure (Barnet: 7).
    retention_years_after_closure: int = 7
    # A file holding the passphrase that encrypts backups (cme-app backup, restore-drill).
    backup_key_file: str = ""
    # Argon2 cost: "standard" (pwdlib's recommended parameters) everywhere people sign in;
    # "test" (the minimum) only for the test suite, which makes hundreds of accounts.
    argon2_cost: str = "standard"
    # The letterhead on every notice and letter (services/documents): the LA's name, postal
    # address (lines separated by "|" in CME_LA_ADDRESS), contact details and logo (a file path,
    # relative to the project unless absolute).
    la_name: str = "Leeds City Council"
    la_team: str = "Children Missing Education Team"
    la_address: tuple[str, ...] = ("Merrion House", "110 Merrion Centre", "Leeds", "LS2 8BB")
    la_phone: str = "0113 378 9686"
    la_email: str = "cme@leeds.gov.uk"
    la_logo_path: str = "assets/la-logo.svg"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    production = env.get("CME_ENV", "").lower() == "production"
    secret = env.get("CME_SECRET_KEY", "")
    if not secret:
        if production:
            raise RuntimeError("CME_SECRET_KEY must be set when CME_ENV=production")
        secret = _local_secret()
    return Settings(
        db_url=env.get("REFLEX_DB_URL") or DEFAULT_DB_URL,
        secret_key=secret,
        allowed_origins=_split(
            env.get("CME_ALLOWED_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000")
        ),
        production=production,
        trusted_proxy_hops=int(env.get("CME_TRUSTED_PROXY_HOPS", "0")),
        session_idle_minutes=int(env.get("CME_SESSION_IDLE_MINUTES", "30")),
        session_absolute_hours=int(env.get("CME_SESSION_ABSOLUTE_HOURS", "12")),
        late_referral_weeks=int(env.get("CME_LATE_REFERRAL_WEEKS", "4")),
        triage_working_days=_three(env.get("CME_TRIAGE_WORKING_DAYS", "0,1,2")),
        first_visit_days=_three(env.get("CME_FIRST_VISIT_DAYS", "1,5,10")),
        la_response_working_days=int(env.get("CME_LA_RESPONSE_WORKING_DAYS", "10")),
        untraceable_min_school_days=_ground_i_days(
            env.get("CME_UNTRACEABLE_SCHOOL_DAYS", "20")),
        untraceable_review_days=int(env.get("CME_UNTRACEABLE_REVIEW_DAYS", "90")),
        keyworker_school_days=int(env.get("CME_KEYWORKER_SCHOOL_DAYS", "5")),
        admission_decision_school_days=int(env.get("CME_ADMISSION_DECISION_SCHOOL_DAYS", "15")),
        school_start_school_days=int(env.get("CME_SCHOOL_START_SCHOOL_DAYS", "10")),
        fair_access_school_days=int(env.get("CME_FAIR_ACCESS_SCHOOL_DAYS", "20")),
        s437_response_days=_s437_days(env.get("CME_S437_RESPONSE_DAYS", "15")),
        episode_missing_school_days=int(env.get("CME_EPISODE_MISSING_SCHOOL_DAYS", "10")),
        board_recent_closed_days=int(env.get("CME_BOARD_CLOSED_DAYS", "30")),
        lone_working_grace_minutes=int(env.get("CME_LONE_WORKING_GRACE_MINUTES", "15")),
        lone_working_lead_after_minutes=int(env.get("CME_LONE_WORKING_LEAD_AFTER_MINUTES", "15")),
        lone_working_check_seconds=int(env.get("CME_LONE_WORKING_CHECK_SECONDS", "30")),
        base_url=env.get("CME_BASE_URL", "http://localhost:3000").rstrip("/"),
        smtp_url=env.get("CME_SMTP_URL", ""),
        mail_from=env.get("CME_MAIL_FROM", "CME team <cme-noreply@localhost>"),
        digest_hour=int(env.get("CME_DIGEST_HOUR", "7")),
        notify_send_seconds=int(env.get("CME_NOTIFY_SEND_SECONDS", "15")),
        notify_scan_seconds=int(env.get("CME_NOTIFY_SCAN_SECONDS", "300")),
        socket_events_per_second=float(env.get("CME_SOCKET_EVENTS_PER_SECOND", "20")),
        socket_event_burst=float(env.get("CME_SOCKET_EVENT_BURST", "40")),
        socket_flood_disconnect=float(env.get("CME_SOCKET_FLOOD_DISCONNECT", "100")),
        socket_max_event_bytes=int(env.get("CME_SOCKET_MAX_EVENT_BYTES", str(64 * 1024))),
        socket_max_frame_bytes=_frame_limit(
            env.get("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(256 * 1024))
        ),
        session_posts_per_second=float(env.get("CME_SESSION_POSTS_PER_SECOND", "2")),
        session_post_burst=float(env.get("CME_SESSION_POST_BURST", "20")),
        retention_years_after_closure=int(env.get("CME_RETENTION_YEARS_AFTER_CLOSURE", "7")),
        backup_key_file=env.get("CME_BACKUP_KEY_FILE", ""),
        argon2_cost=_hash_cost(env.get("CME_ARGON2_COST", "standard"), production),
        **_letterhead(env),
    )


def _s437_days(value: str) -> int:
    days = int(value)
    if days < 15:
        raise RuntimeError("CME_S437_RESPONSE_DAYS must be at least 15: the law gives the "
                           "parent at least 15 days to answer an s.437(1) notice")
    return days


def _letterhead(env) -> dict:
    found = {
        "la_name": env.get("CME_LA_NAME"), "la_team": env.get("CME_LA_TEAM"),
        "la_phone": env.get("CME_LA_PHONE"), "la_email": env.get("CME_LA_EMAIL"),
        "la_logo_path": env.get("CME_LA_LOGO"),
    }
    if env.get("CME_LA_ADDRESS"):
        found["la_address"] = tuple(p.strip() for p in env["CME_LA_ADDRESS"].split("|")
                                    if p.strip())
    return {k: v for k, v in found.items() if v}


def _hash_cost(value: str, production: bool) -> str:
    if value not in ("standard", "test"):
        raise RuntimeError("CME_ARGON2_COST must be 'standard' or 'test'")
    if value == "test" and production:
        raise RuntimeError("CME_ARGON2_COST=test is refused when CME_ENV=production")
    return value
