"""The tests' one set of builders: people and the standing team (the `team` fixture), cases
written directly or taken through the casework steps of the services, signed-in sessions and
page states."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from cme_app.domain import Role
from cme_app.models import Address, AuditEvent, Case, Child, Referral, User, utcnow
from cme_app.ops.demo import example_referral_form
from cme_app.permissions import Actor
from cme_app.services.casework import lifecycle
from cme_app.services.casework import triage as triaging
from cme_app.services.casework.references import next_case_reference
from cme_app.services.intake import referrals, schools
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
    active: bool = True,
) -> Actor:
    user = auth.create_user(
        session,
        email=email or f"{role}.{school_urn or 'la'}@example.org",
        role=role,
        password=PASSWORD,
        school_urn=school_urn,
        name=name,
    )
    user.is_active = active
    return actor_for(user)


def two_schools(session: Session) -> tuple[Actor, Actor]:
    """A school user at school A and one at school B."""
    make_school(session, "107999", "Aire Valley Primary")
    make_school(session, "108111", "Kirkstall Hill Academy")
    return (
        make_user(session, "school", school_urn="107999"),
        make_user(session, "school", school_urn="108111"),
    )


@dataclass(frozen=True)
class Person:
    role: str
    email: str
    name: str = ""
    school_urn: str | None = None
    active: bool = True


# The team every test may ask for (the `team` fixture), besides the two schools' users
# (school.107999@ and school.108111@example.org).
TEAM = {
    "officer": Person("officer", "officer@example.org", "Olu Officer"),
    "officer2": Person("officer", "officer2@example.org", "Priya Patel"),
    "lead": Person("lead", "lead@example.org", "Lee Lead"),
    "admin": Person("admin", "admin@example.org", "Ada Admin"),
    "auditor": Person("auditor", "auditor@example.org", "Dee DPO"),
}

# People a test module adds to the team where its rules need more of them, by key (or give a
# Person of its own): `pytest.mark.team(extra=("buddy", "lead2"))` (tests/conftest.py).
EXTRA_PEOPLE = {
    "buddy": Person("officer", "buddy@example.org", "Bea Buddy"),
    "second": Person("officer", "second@example.org", "Sam Second"),
    "other": Person("officer", "other@example.org", "Oona Other"),
    "duty": Person("officer", "duty@example.org", "Dara Duty"),
    "lead2": Person("lead", "lead2@example.org", "Lia Lead"),
    "lead_gone": Person("lead", "lead_gone@example.org", "Gus Gone", active=False),
    "school2": Person("school", "school2@example.org", "Shona Second", school_urn="107999"),
    "school_gone": Person("school", "school_gone@example.org", "Saul Gone",
                          school_urn="107999", active=False),
}


def make_person(session: Session, person: Person, *, named: bool = True) -> Actor:
    return make_user(session, person.role, email=person.email,
                     name=person.name if named else "", school_urn=person.school_urn,
                     active=person.active)


def make_team(
    session: Session,
    *,
    extra: Iterable[str] | Mapping[str, Person] = (),
    without: Iterable[str] = (),
    term_dates: bool = True,
    named: bool = True,
) -> dict[str, Actor]:
    """Two schools' users (school A's as "school", B's as "school_b"), the TEAM (less any key
    in `without`), the `extra` people (keys of EXTRA_PEOPLE, or key: Person), and the default
    term dates; committed. named=False: everyone is named after their email, as an account
    made without a name is."""
    school_a, school_b = two_schools(session)
    if term_dates:
        seed_term_dates(session)
    extra = extra if isinstance(extra, Mapping) else {key: EXTRA_PEOPLE[key] for key in extra}
    roster = {key: person for key, person in TEAM.items() if key not in without} | extra
    people = {"school": school_a, "school_b": school_b}
    for key, person in roster.items():
        people[key] = make_person(session, person, named=named)
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


# ----- Casework steps through the services, each committed as the lead or officer would; they
# take a case row and return it as stored after the step.


def fresh(session: Session, case: Case) -> Case:
    """The case row as stored now (everything the test's session holds is reloaded)."""
    session.expire_all()
    return session.exec(select(Case).where(Case.id == case.id)).one()


def move(session: Session, team: dict[str, Actor], case: Case, to: str, who: str = "lead") -> Case:
    case = fresh(session, case)
    lifecycle.move_case(
        session, actor=team[who], reference=case.reference, to_stage=to, version=case.version
    )
    session.commit()
    return fresh(session, case)


def allocate(session: Session, team: dict[str, Actor], case: Case, who: str = "officer",
             by: str = "lead") -> Case:
    case = fresh(session, case)
    triaging.allocate(session, actor=team[by], reference=case.reference,
                      officer_id=team[who].user_id, version=case.version)
    session.commit()
    return fresh(session, case)


def triage(session: Session, team: dict[str, Actor], case: Case, factors=(),
           officer: str = "officer") -> Case:
    """New referral → Triage, risk from factors, allocated to `officer`."""
    case = fresh(session, case)
    if case.stage == "new_referral":
        case = move(session, team, case, "triage")
    triaging.record_triage(session, actor=team["lead"], reference=case.reference,
                           factors=list(factors), version=case.version)
    session.commit()
    return allocate(session, team, case, officer)


def to_enquiries(session: Session, team: dict[str, Actor], case: Case, factors=()) -> Case:
    return move(session, team, triage(session, team, case, factors), "enquiries")


def stored_case(session: Session, reference: str) -> Case:
    """The case as stored now, read in a short session of its own and detached: reading it
    later can't start a transaction (on SQLite one would hold the write lock that a browser
    test's server is waiting for)."""
    with Session(session.get_bind()) as fresh:
        return fresh.exec(select(Case).where(Case.reference == reference)).one()


def referred_case(session: Session, team: dict[str, Actor], form: dict | None = None) -> str:
    """School A's referral (the example form, with `form`'s fields over it), submitted through
    the services; committed. Its case reference."""
    case = referrals.submit(session, actor=team["school"],
                            form={**example_referral_form(), **(form or {})})
    session.commit()
    return case.reference


def case_in_triage(session: Session, team: dict[str, Actor], form: dict | None = None) -> str:
    """A referred case the lead has moved to Triage."""
    reference = referred_case(session, team, form)
    lifecycle.move_case(session, actor=team["lead"], reference=reference, to_stage="triage",
                        version=stored_case(session, reference).version)
    session.commit()
    return reference


def case_in_enquiries(session: Session, team: dict[str, Actor], form: dict | None = None) -> str:
    """A referred case the lead has triaged Green, allocated to the team's officer and moved to
    Enquiries, one committed step at a time as the lead would."""
    reference = case_in_triage(session, team, form)
    lead = team["lead"]
    triaging.record_triage(session, actor=lead, reference=reference, factors=[],
                           version=stored_case(session, reference).version)
    session.commit()
    triaging.allocate(session, actor=lead, reference=reference,
                      officer_id=team["officer"].user_id,
                      version=stored_case(session, reference).version)
    session.commit()
    lifecycle.move_case(session, actor=lead, reference=reference, to_stage="enquiries",
                        version=stored_case(session, reference).version)
    session.commit()
    return reference


def checked_in_visit(reference: str, *, officer_id: int, buddy_id: int, at: datetime,
                     minutes: int = 30, stage: str = "enquiries",
                     address: str = "12 Harehills Lane, Leeds", **check_in) -> dict:
    """A visit document as the phone sends it once the officer has checked in: they saw the case
    in `stage` and started at `at` for `minutes`, alone, with `buddy_id` as their buddy, unless
    `check_in` says otherwise (accompanied, second_officer_id, risk_check_notes)."""
    return {
        "client_uuid": str(uuid.uuid4()),
        "case_reference": reference,
        "seen_case": {"stage": stage, "officer_id": officer_id},
        "check_in": {
            "at": at.isoformat(), "address": address, "risk_check_done": True,
            "accompanied": False, "buddy_id": buddy_id, "expected_minutes": minutes, **check_in,
        },
    }


def add_last_known_address(session: Session, case: Case) -> None:
    """The address the school gave for the child: 12 Harehills Lane, Leeds LS8 5AA."""
    session.add(Address(
        child_id=case.child_id, referral_id=case.referral_id, kind="last_known",
        line1="12 Harehills Lane", town="Leeds", postcode="LS8 5AA", source="school",
    ))


def session_token(session: Session, email: str, password: str = PASSWORD) -> str:
    """Sign in and exchange the ticket, as the browser does; the token the HttpOnly cookie
    would carry. The caller commits. For tests not about signing in: the password is checked,
    a staff user's authentication-code step is skipped (tests/services/trust/test_mfa.py
    covers it)."""
    user = auth.check_password(session, email=email, password=password)
    ticket = auth.open_session(session, user=user).ticket
    return auth.activate_session(session, ticket=ticket)


def state_for(cls, token: str, *, path: str = "/", query: dict | None = None,
              fragment: str = ""):
    """A page state as one browser tab sees it: the session cookie arrives only with the
    socket handshake's headers. `fragment`: the URL's #part, as the browser sends it."""
    import reflex as rx
    from reflex.istate.data import RouterData

    from cme_app.state.auth import SESSION_COOKIE

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    query = query or {}
    root.router = RouterData.from_router_data({
        "pathname": path,
        "asPath": (f"{path}?{urlencode(query)}" if query else path)
        + (f"#{fragment}" if fragment else ""),
        "query": query,
        "headers": {"origin": "http://localhost:3000", "cookie": f"{SESSION_COOKIE}={token}"},
    })
    return state


def loaded_tab(session: Session, email: str, cls, path: str, *, query: dict | None = None):
    """A page state as `email`'s browser tab has it after the page's on_load."""
    token = session_token(session, email)
    session.commit()
    state = state_for(cls, token, path=path, query=query)
    call_handler(state, "load")
    return state


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    """The audit trail's events of one action, oldest first."""
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all())


def call_handler(state, name: str, *args):
    """Run a page state's event handler as Reflex would: a coroutine to its end, a generator
    drained into a list of what it yielded."""
    result = type(state).event_handlers[name].fn(state, *args)
    if inspect.iscoroutine(result):
        result = run_async(result)
    if inspect.isgenerator(result):
        result = list(result)
    return result


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
    # Not the search index's triggers (cme_app/models/search.py): they keep its FTS5 table in
    # step with `case_search`, and emptying the tables must empty the index too.
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND name NOT LIKE 'case\\_search\\_%' ESCAPE '\\'"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


def at_once(work, times: int = 2, timeout: float | None = 60) -> tuple[list, list]:
    """Run `work()` in `times` threads released together, as racing workers or requests are;
    what they returned, and what they raised (a thread can't fail the test itself)."""
    start = threading.Barrier(times)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(work())
        except BaseException as exc:  # handed back to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, errors


def run_async(coroutine):
    """Run a coroutine to completion from a test. In its own thread: after the browser tests,
    Playwright's sync API leaves an event loop running in the main thread, where asyncio.run
    refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
