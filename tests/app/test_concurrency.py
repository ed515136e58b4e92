"""Several real OS processes changing the same case at once, through the app's session factory
(cme_app.db.session_scope) and its services, on SQLite or PostgreSQL (CME_TEST_DB_URL).

Each process is a page that read the case's version, then saves a change with it: the
service loads the case locked for update and checks the version, so a change made from an
out-of-date view is refused with "changed by … — you are now seeing the latest" and never
silently overwrites the other. Every refused save is retried from a fresh read, so each process
ends with its 300 changes made.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from cme_app.models import AuditEvent, Case
from cme_app.services.trust import audit
from tests.factories import make_case

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
CHANGES = 300


def test_four_processes_make_300_changes_each_with_no_lock_errors_and_no_lost_update(
    session, team, tmp_path
):
    case = make_case(session, stage="triage", officer_id=team["officer"].user_id)
    session.commit()
    before = case.version
    start = tmp_path / "go"
    jobs = []
    for worker in range(PROCESSES):
        job = {
            "worker": worker,
            "reference": case.reference,
            "user_id": team["lead"].user_id,
            "changes": CHANGES,
            "start_file": str(start),
            "out": str(tmp_path / f"out-{worker}.json"),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.concurrency_worker", json.dumps(job)],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        jobs.append((job, proc))
    start.touch()  # every process has its imports done or nearly: go together
    for _job, proc in jobs:
        assert proc.wait(timeout=300) == 0
    results = [json.loads(Path(job["out"]).read_text()) for job, _proc in jobs]

    # No "database is locked" (or any other database error) in any process.
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert [len(r["done"]) for r in results] == [CHANGES] * PROCESSES

    # No lost update: every change got a version of its own, one after another, and the case
    # went up by exactly the number of changes made.
    written = sorted(v for r in results for v, _markers in r["done"])
    assert written == list(range(before + 1, before + 1 + PROCESSES * CHANGES))
    session.expire_all()
    final = session.exec(select(Case).where(Case.id == case.id)).one()
    assert final.version == before + PROCESSES * CHANGES
    last_markers = {v: m for r in results for v, m in r["done"]}[final.version]
    assert final.warning_markers == last_markers  # the last change made is the one that stands

    # The processes really overlapped (some saves were made from a view another had just
    # made stale), and every refusal said who changed the case. Each change is in the audit
    # trail, whose hash chain is unbroken after all that interleaving.
    refusals = [m for r in results for m in r["refusals"]]
    assert refusals
    who = re.escape(team["lead"].name)
    pattern = rf"{case.reference} was changed by {who} at \d\d:\d\d\."
    pattern += r" You are now seeing the latest\."
    assert all(re.fullmatch(pattern, m) for m in refusals), refusals[:3]
    counts = dict(
        session.exec(
            select(AuditEvent.outcome, func.count())
            .where(AuditEvent.action == "case.visit_safety_changed")
            .group_by(AuditEvent.outcome)
        ).all()
    )
    assert counts == {"ok": PROCESSES * CHANGES}
    assert audit.verify_chain(session).ok
