"""Small builders for service tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from sqlmodel import Session

from cme_app.domain import Role
from cme_app.models import Case, Child, Referral, User, utcnow
from cme_app.permissions import Actor
from cme_app.services.casework.references import next_case_reference
from cme_app.services.intake import schools
from cme_app.services.school_calendar.default_terms import seed_term_dates
from cme_app.services.trust import auth

PASSWORD = "correct horse battery staple"

# Personal data that must never reach a log (tests/log_canaries.py searches every log record
# of the run and the e2e server's log for them) nor a caller who may not see it.
CANARY_FIRST, CANARY_LAST, CANARY_UPN = "Zebedee", "Canarysmith", "N380123456789"
CANARIES = (CANARY_FIRST, CANARY_LAST, CANARY_UPN)


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id, role=Role(user.role), name=user.name, email=user.email,
        school_id=user.school_id,
    )


def make_school(session: Session, urn: str = "107999", name: str = "Aire Valley Primary"):
    return schools.add_school(session, urn=urn, name=name)


def make_user(
    session: Session,
    role: str,
    *,
    email: str | None = None,
    school_urn: str | None = None,
    name: str = "",
) -> Actor:
    user = auth.create_user(
        session,
        email=email or f"{role}.{school_urn or 'la'}@example.org",
        role=role,
        password=PASSWORD,
        school_urn=school_urn,
        name=name,
    )
    return actor_for(user)


def two_schools(session: Session) -> tuple[Actor, Actor]:
    """A school user at school A and one at school B."""
    make_school(session, "107999", "Aire Valley Primary")
    make_school(session, "108111", "Kirkstall Hill Academy")
    return (
        make_user(session, "school", school_urn="107999"),
        make_user(session, "school", school_urn="108111"),
    )


def make_team(session: Session) -> dict[str, Actor]:
    """Two schools' users and one of each LA role, with term dates, committed."""
    school_a, school_b = two_schools(session)
    seed_term_dates(session)
    people = {
        "school": school_a,
        "school_b": school_b,
        "officer": make_user(session, "officer", email="officer@example.org"),
        "officer2": make_user(session, "officer", email="officer2@example.org"),
        "lead": make_user(session, "lead", email="lead@example.org"),
        "admin": make_user(session, "admin", email="admin@example.org"),
        "auditor": make_user(session, "auditor", email="auditor@example.org"),
    }
    session.commit()
    return people


def make_case(
    session: Session,
    *,
    stage: str = "new_referral",
    risk: str | None = None,
    factors: list[str] | None = None,
    officer_id: int | None = None,
    school_id: int | None = None,
    source_type: str = "school",
    source_name: str | None = None,
    first_name: str = "Amira",
    last_name: str = "Test",
    date_of_birth: date = date(2014, 3, 2),
    entered_at: datetime | None = None,
    closed_at: datetime | None = None,
    outcome: str | None = None,
    triage_due_on: date | None = None,
    possible_matches: list[str] | None = None,
    proposed_risk: str | None = None,
) -> Case:
    """A case and the child and referral it needs, written directly (no referral rules)."""
    entered_at = entered_at or utcnow()
    child = Child(
        first_name=first_name, last_name=last_name, date_of_birth=date_of_birth, sex="female"
    )
    session.add(child)
    session.flush()
    referral = Referral(
        status="submitted", school_id=school_id, child_id=child.id, source_type=source_type,
        source_name=source_name, submitted_at=entered_at,
    )
    session.add(referral)
    session.flush()
    case = Case(
        reference=next_case_reference(session, year=2026),
        child_id=child.id,
        referral_id=referral.id,
        stage=stage,
        stage_entered_at=entered_at,
        opened_at=entered_at,
        risk=risk,
        risk_factors=factors or [],
        proposed_risk=proposed_risk,
        allocated_officer_id=officer_id,
        closed_at=closed_at,
        outcome=outcome,
        triage_due_on=triage_due_on,
        possible_matches=possible_matches or [],
    )
    session.add(case)
    session.flush()
    return case


def session_token(session: Session, email: str, password: str = PASSWORD) -> str:
    """Sign in and exchange the ticket, as the browser does; the token the HttpOnly cookie
    would carry. The caller commits. For tests not about signing in: the password is checked,
    a staff user's authentication-code step is skipped (tests/services/trust/test_mfa.py
    covers it)."""
    user = auth.check_password(session, email=email, password=password)
    ticket = auth.open_session(session, user=user).ticket
    return auth.activate_session(session, ticket=ticket)


def state_for(cls, token: str, *, path: str = "/", query: dict | None = None):
    """A page state as one browser tab sees it: the session cookie arrives only with the
    socket handshake's headers."""
    import reflex as rx
    from reflex.istate.data import RouterData

    from cme_app.state.auth import SESSION_COOKIE

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    query = query or {}
    root.router = RouterData.from_router_data({
        "pathname": path,
        "asPath": f"{path}?{urlencode(query)}" if query else path,
        "query": query,
        "headers": {"origin": "http://localhost:3000", "cookie": f"{SESSION_COOKIE}={token}"},
    })
    return state


@contextmanager
def audit_guard_off(conn: Connection) -> Iterator[None]:
    """Inside the caller's transaction only, lift the append-only triggers on the audit trail,
    so a test can empty the tables or tamper with events the way an intruder with direct
    database access could (the check under test must then notice)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield
        return
    # SQLite DDL is transactional: drop the triggers and put them back before commit.
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


def run_async(coroutine):
    """Run a coroutine to completion from a test. In its own thread: after the browser tests,
    Playwright's sync API leaves an event loop running in the main thread, where asyncio.run
    refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
