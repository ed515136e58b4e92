"""The `cme-app` command line, run as a real subprocess against the test database."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pyotp
import sqlalchemy as sa
from sqlmodel import col, select

from cme_app.models import AuditEvent, Case, School, User, utcnow
from cme_app.ops import demo
from cme_app.services.trust import auth, mfa
from tests.conftest import TEST_DB_URL
from tests.factories import session_token


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
    # a case in every board column, one returned to its school and one a school's ground I
    # deletion return opened
    assert len(stages) == 10
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
    from cme_app.services.trust import audit
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
def test_account_commands_end_sessions_keep_mfa_and_print_nothing_secret(session):
    secret = "DEMOLEADAAAAAAAAAAAAAAAAAAAAAAAA"
    made = cme_app("users", "create", "--email", "l@example.org", "--role", "lead",
                   "--totp-secret", secret, stdin="first long passphrase\n")
    assert made.returncode == 0, made.stderr
    session.expire_all()
    user = session.exec(select(User).where(User.email == "l@example.org")).one()
    assert user.totp_secret == secret
    token = session_token(session, "l@example.org", "first long passphrase")
    session.commit()

    reset = cme_app("users", "reset-password", "--email", "l@example.org",
                    stdin="second long passphrase\n")
    assert reset.returncode == 0, reset.stderr
    assert "passphrase" not in reset.stdout + reset.stderr and secret not in reset.stdout
    session.expire_all()
    assert auth.actor_for_token(session, token) is None
    assert session.get(User, user.id).totp_secret == secret  # MFA kept
    session.rollback()  # end the read: the next command needs the write lock

    weak = cme_app("users", "reset-password", "--email", "l@example.org", stdin="password\n")
    assert weak.returncode == 2 and "Traceback" not in weak.stderr

    assert cme_app("users", "reset-mfa", "--email", "l@example.org").returncode == 0
    assert cme_app("users", "disable", "--email", "l@example.org").returncode == 0
    session.expire_all()
    user = session.get(User, user.id)
    assert user.totp_secret is None and not user.is_active
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id)))
    assert {"user.password_reset", "auth.mfa_reset", "user.disabled"} <= set(actions.all())
    session.rollback()

    enabled = cme_app("users", "enable", "--email", "l@example.org")
    assert enabled.returncode == 0 and "Enabled l@example.org" in enabled.stdout
    session.expire_all()
    assert session.get(User, user.id).is_active
    assert session.exec(select(AuditEvent.action).where(
        AuditEvent.entity_id == str(user.id), AuditEvent.action == "user.enabled")).one()
    assert auth.actor_for_token(session, token) is None  # ended sessions stay ended
    session.rollback()
    missing = cme_app("users", "disable", "--email", "ghost@example.org")
    assert missing.returncode == 2 and "no account" in missing.stderr


def test_demo_code_only_for_demo_staff_logins(session):
    assert cme_app("demo").returncode == 0
    code = cme_app("demo-code", "--email", "officer@example.org")
    assert code.returncode == 0, code.stderr
    step = int(utcnow().timestamp()) // 30
    totp = pyotp.TOTP(next(x.totp_secret for x in demo.LOGINS if x.email == "officer@example.org"))
    assert code.stdout.strip() in {totp.generate_otp(s) for s in (step - 1, step, step + 1)}
    cme_app("users", "create", "--email", "real@leeds.gov.uk", "--role", "officer",
            "--totp-secret", mfa.new_secret(), stdin="a real officer passphrase\n")
    for email in ("real@leeds.gov.uk", "school.a@example.org"):
        refused = cme_app("demo-code", "--email", email)
        assert refused.returncode == 2 and not re.search(r"\d{6}", refused.stdout)


def _returns_file(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_returns_import_prints_a_line_per_row_and_exits_1_on_a_refused_row(session, tmp_path):
    from cme_app.models import DeletionReturn, NewPupilReturn
    from cme_app.services.school_returns.uploads import DELETION_COLUMNS, NEW_PUPIL_COLUMNS

    cme_app("schools", "add", "--urn", "107999", "--name", "Aire Valley Primary")
    good = ("107999,,Ann,Roe,2014-03-02,F,12 Gledhow Road,LS8 4AB,Jo Roe,0113 496 0000,"
            "2026-12-01,G,,,,")
    rows = [",".join(DELETION_COLUMNS), good, good.replace("Ann", "Bo").replace(",G,", ",I,"),
            good.replace("107999", "999999")]
    result = cme_app("returns", "import", _returns_file(tmp_path, "d.csv", "\n".join(rows)))
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stderr
    assert re.fullmatch(r"row 2: accepted [0-9a-f]{32}", lines[0])
    assert lines[1].startswith("row 3: refused: absence_codes_confirmed: Confirm that every day")
    assert lines[2] == "row 4: refused: school_urn: no school with URN '999999' is registered"
    assert "1 accepted, 2 refused" in result.stderr and "Traceback" not in result.stderr
    confirmed = cme_app("returns", "import", "--confirm-ground-i",
                        _returns_file(tmp_path, "i.csv", "\n".join(rows[:1] + rows[2:3])))
    assert confirmed.returncode == 0 and confirmed.stdout.startswith("row 2: accepted")
    session.expire_all()
    assert sorted(r.first_name for r in session.exec(select(DeletionReturn)).all()) == [
        "Ann", "Bo"]
    session.rollback()  # SQLite: every transaction takes the write lock the command needs

    joined = [",".join(NEW_PUPIL_COLUMNS), "107999,,Cy,Lee,2015-01-02,2026-12-02,"]
    result = cme_app("returns", "import-new-pupils",
                     _returns_file(tmp_path, "n.csv", "\n".join(joined)))
    assert result.returncode == 0 and result.stdout.startswith("row 2: accepted"), result.stdout
    session.expire_all()
    assert [n.first_name for n in session.exec(select(NewPupilReturn)).all()] == ["Cy"]
    bad = cme_app("returns", "import", _returns_file(tmp_path, "b.csv", "name\nx\n"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: returns_file: The first row")
