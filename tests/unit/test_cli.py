"""The `cme-app` command line, run as a real subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from sqlmodel import col, select

from cme_app.models import Case, School, User
from tests.conftest import TEST_DB_URL


def cme_app(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "REFLEX_DB_URL": TEST_DB_URL}
    return subprocess.run(
        [sys.executable, "-m", "cme_app.cli", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_schools_add_and_users_create_read_password_from_stdin(session):
    added = cme_app("schools", "add", "--urn", "107999", "--name", "Aire Valley Primary")
    assert added.returncode == 0, added.stderr
    password = "a long enough password"
    made = cme_app("users", "create", "--email", "s@example.org", "--role", "school",
                   "--school-urn", "107999", stdin=password + "\n")
    assert made.returncode == 0, made.stderr
    assert password not in made.stdout + made.stderr
    session.expire_all()
    user = session.exec(select(User).where(User.email == "s@example.org")).one()
    school = session.exec(select(School).where(School.urn == "107999")).one()
    assert user.school_id == school.id and user.role == "school"


def test_users_create_reports_errors_without_a_traceback(session):
    result = cme_app("users", "create", "--email", "x@example.org", "--role", "school",
                     "--school-urn", "000000", stdin="a long enough password\n")
    assert result.returncode == 2
    assert "school_urn" in result.stderr and "Traceback" not in result.stderr


def test_demo_is_idempotent_and_prints_logins(session):
    first = cme_app("demo")
    second = cme_app("demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    for email in ("school.a@example.org", "school.b@example.org", "officer@example.org",
                  "lead@example.org", "admin@example.org"):
        assert email in second.stdout
    session.expire_all()
    assert len(session.exec(select(User)).all()) == 7
    assert "officer2@example.org" in second.stdout
    stages = session.exec(select(Case.stage)).all()
    assert len(stages) == 9
    # a case in every board column, plus one returned to its school
    assert set(stages) == {
        "new_referral", "triage", "enquiries", "home_visit", "awaiting_verification",
        "located", "closed", "returned",
    }
    assert "0 schools, 0 users, 0 cases" in second.stdout
    assert "0 visit_safety_notes" in second.stdout and "2 visit_safety_notes" in first.stdout
    # The Red case needs a joint visit; the officer's phone list has open cases to visit.
    marked = session.exec(select(Case).where(col(Case.warning_markers).is_not(None))).all()
    assert sorted((c.risk, c.joint_visit_required) for c in marked) == [
        ("green", False), ("red", True)
    ]
    officer = session.exec(select(User).where(User.email == "officer@example.org")).one()
    open_allocated = session.exec(
        select(Case).where(Case.allocated_officer_id == officer.id,
                           col(Case.stage).not_in(["closed", "returned"]))
    ).all()
    assert len(open_allocated) >= 3


def test_audit_verify_exit_codes_and_output(session):
    from cme_app.models import AuditEvent
    from cme_app.services import audit
    from tests.factories import audit_guard_off

    for n in range(3):
        audit.record(session, actor=None, action="test.append", detail={"n": n})
    session.commit()
    ids = session.exec(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    head = session.get(AuditEvent, ids[-1]).hash
    session.commit()  # end the read: on SQLite it holds the write lock (BEGIN IMMEDIATE)

    intact = cme_app("audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "3 events" in intact.stdout and head in intact.stdout

    with session.get_bind().begin() as conn, audit_guard_off(conn):
        conn.execute(sa.text("UPDATE auditevent SET outcome = 'failed' WHERE id = :id"),
                     {"id": ids[1]})
    broken = cme_app("audit", "verify")
    assert broken.returncode == 1
    assert f"event {ids[1]}: edited" in broken.stdout and "Traceback" not in broken.stderr
