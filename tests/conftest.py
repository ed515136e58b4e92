"""Test database setup.

SQLite by default (a temp file per run). With CME_TEST_DB_URL set to a PostgreSQL server URL,
each run creates a database of its own on that server and drops it at the end, so repeated or
parallel runs never collide. The URL is exported as REFLEX_DB_URL *before* the app is imported.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

_BASE_URL = os.environ.get("CME_TEST_DB_URL", "")
_TMP = Path(tempfile.mkdtemp(prefix="cme-test-"))


def _make_test_database() -> tuple[str, str | None]:
    if not _BASE_URL:
        return f"sqlite:///{_TMP / 'test.db'}", None
    url = sa.engine.make_url(_BASE_URL)
    name = f"cme_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


TEST_DB_URL, _PG_DB_NAME = _make_test_database()
os.environ["REFLEX_DB_URL"] = TEST_DB_URL
os.environ.setdefault("CME_SECRET_KEY", "test-secret-key-not-for-production")
# The least argon2 work for the suite's hundreds of accounts (refused in production); the
# standard cost has its own test (tests/services/trust/test_auth.py).
os.environ.setdefault("CME_ARGON2_COST", "test")
os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
os.environ["REFLEX_CHECK_LATEST_VERSION"] = "0"

from sqlmodel import Session, SQLModel  # noqa: E402

from cme_app import models  # noqa: E402, F401
from cme_app.db import get_engine  # noqa: E402
from cme_app.migrations import upgrade_to_head  # noqa: E402
from cme_app.services.school_calendar.school_days import forget_calendars  # noqa: E402
from tests.factories import audit_guard_off, make_case, make_team  # noqa: E402

# Searches every log of the run for the personal-data canaries (tests/log_canaries.py).
pytest_plugins = ["tests.log_canaries"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "team(**kwargs): the `team` fixture's make_team keywords for this module")


def pytest_sessionfinish(session, exitstatus):
    get_engine().dispose()
    if _PG_DB_NAME:
        admin = sa.create_engine(sa.engine.make_url(_BASE_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{_PG_DB_NAME}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def engine():
    upgrade_to_head(TEST_DB_URL)
    return get_engine()


_SEQUENCE_RESET: dict[str, str] = {}  # per database URL: one statement resetting every id


def _sequence_reset(conn) -> str:
    """One SELECT that restarts every id sequence at 1, as a fresh database would."""
    key = str(conn.engine.url)
    if key not in _SEQUENCE_RESET:
        sequences = []
        for table in SQLModel.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if len(keys) != 1:
                continue
            found = conn.exec_driver_sql(
                f"SELECT pg_get_serial_sequence('\"{table.name}\"', '{keys[0].name}')").scalar()
            sequences += [found] if found else []
        _SEQUENCE_RESET[key] = "SELECT " + ", ".join(f"setval('{q}', 1, false)" for q in sequences)
    return _SEQUENCE_RESET[key]


def _wipe(engine) -> None:
    """Empty every table in one transaction. A browser test's server may still be writing
    (a poll, a page load) while this runs, so no late event may slip in between two deletes:
    on PostgreSQL every table is locked first (then DELETE, and the ids restart: 20x quicker
    than TRUNCATE on tables this small), and a deadlock with the server is retried; on SQLite
    the transaction is BEGIN IMMEDIATE, so the server waits."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    forget_calendars()  # the term dates go behind the app's back
    for attempt in range(5):
        try:
            with engine.begin() as conn, audit_guard_off(conn):
                if conn.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                for table in tables:
                    conn.execute(table.delete())
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(_sequence_reset(conn))
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def db(engine):
    """A clean, migrated database for one test (emptied before it starts: what a test leaves
    is cleared by the next one)."""
    _wipe(engine)
    return engine


@pytest.fixture
def session(db):
    with Session(db, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def team(request, session):
    """The standing team (factories.make_team), committed. A module whose rules need another
    team says how, with make_team's keywords:
    `pytestmark = pytest.mark.team(extra=("buddy", "lead2"), without=("officer2",))`."""
    marker = request.node.get_closest_marker("team")
    return make_team(session, **(marker.kwargs if marker else {}))


@pytest.fixture
def case(session, team):
    """An Amber case in Enquiries, allocated to the team's officer (Olu Officer); committed."""
    row = make_case(session, stage="enquiries", risk="amber", officer_id=team["officer"].user_id)
    session.commit()
    return row


@pytest.fixture
def scratch_url():
    """An empty database of its own (same backend as the test run), dropped afterwards."""
    url = sa.engine.make_url(TEST_DB_URL)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp(prefix='cme-scratch-')) / 'scratch.db'}"
        return
    name = f"cme_scratch_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# How long each part of the suite took, printed at the end (CI reads the phases' times).
_PHASE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    parts = Path(str(report.fspath)).parts
    phase = "browser journeys (tests/e2e)" if "e2e" in parts else "everything else"
    _PHASE_SECONDS[phase] = _PHASE_SECONDS.get(phase, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    for phase, seconds in sorted(_PHASE_SECONDS.items()):
        terminalreporter.write_line(f"=== phase \"{phase}\": {seconds:.0f}s ===")


@pytest.fixture
def bus():
    """The board's change bus of this test's own, in-process (services/casework/board_events)."""
    from cme_app.services.casework import board_events

    local = board_events.LocalBus()
    old = board_events.use_bus(local)
    yield local
    board_events.use_bus(old)
    local.close()
