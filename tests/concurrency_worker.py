"""A child process for tests/app/test_concurrency.py: one of several real OS processes
editing the same case through the app's own session factory and services.

    python -m tests.concurrency_worker RMW_JSON

The JSON names the case, the acting lead, how many changes to make, a start file to wait for
(so every process starts together) and where to write the result. REFLEX_DB_URL comes from the
parent's environment (tests/conftest.py sets it to the test database).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlmodel import select

from cme_app.db import get_engine, session_scope
from cme_app.models import Case, User
from cme_app.permissions import Actor
from cme_app.services.casework.lifecycle import StaleCase
from cme_app.services.visits import safety


def run(job: dict) -> dict:
    with session_scope() as session:
        user = session.get(User, job["user_id"])
        actor = Actor(user_id=user.id, role=user.role, name=user.name, email=user.email)
    start = Path(job["start_file"])
    deadline = time.monotonic() + 60
    while not start.exists() and time.monotonic() < deadline:
        time.sleep(0.01)

    done: list[list] = []  # [version written, markers written]
    refusals: list[str] = []
    errors: list[str] = []
    attempts = 0
    while len(done) < job["changes"] and attempts < job["changes"] * 20:
        attempts += 1
        # The page's view of the case: read in its own transaction, as a loaded page holds it.
        with session_scope() as session:
            seen = session.exec(
                select(Case.version).where(Case.reference == job["reference"])
            ).one()
        markers = f"worker {job['worker']} change {len(done)}"
        try:
            with session_scope() as session:
                case = safety.set_visit_safety(
                    session,
                    actor=actor,
                    reference=job["reference"],
                    warning_markers=markers,
                    joint_visit_required=False,
                    version=seen,
                )
                written = case.version
        except StaleCase as exc:
            refusals.append(str(exc))
            continue
        except OperationalError as exc:  # "database is locked", deadlock, lost connection
            errors.append(str(exc.orig)[:200])
            continue
        done.append([written, markers])
    get_engine().dispose()
    return {"done": done, "refusals": refusals, "errors": errors, "attempts": attempts}


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    result = run(job)
    Path(job["out"]).write_text(json.dumps(result))
