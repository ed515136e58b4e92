"""The lone-working monitor (ops/workers.py): each look is its own unit of work, and a failed
look is logged without personal data and the next one still happens."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from cme_app.models import LoneWorkingAlert
from cme_app.ops import workers
from cme_app.services.visits import phone_log
from tests.factories import make_case, make_user


def test_run_once_commits_through_session_scope(session):
    officer = make_user(session, "officer", email="officer@example.org", name="Olu Officer")
    buddy = make_user(session, "officer", email="buddy@example.org", name="Bea Buddy")
    make_user(session, "lead", email="lead@example.org", name="Lee Lead")
    make_user(session, "lead", email="lead2@example.org", name="Lia Lead")
    case = make_case(session, stage="enquiries", risk="amber", officer_id=officer.user_id)
    session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    phone_log.sync_visit(session, actor=officer, now=now, payload={
        "client_uuid": str(uuid.uuid4()), "case_reference": case.reference,
        "check_in": {"at": (now - timedelta(minutes=90)).isoformat(),
                     "address": "12 Harehills Lane, Leeds", "risk_check_done": True,
                     "accompanied": False, "buddy_id": buddy.user_id, "expected_minutes": 30},
    })
    session.commit()
    assert workers.run_once() == 3  # the buddy, then both leads
    session.expire_all()
    assert len(session.exec(select(LoneWorkingAlert)).all()) == 3
    session.commit()  # end the read, so the next unit of work can write (SQLite)
    assert workers.run_once() == 0


def test_the_monitor_keeps_looking_after_a_failure(monkeypatch, caplog):
    calls, pauses = [], []

    def flaky_run_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Olu Officer at 12 Harehills Lane")  # must not be logged
        return 2

    async def fake_sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            raise asyncio.CancelledError

    monkeypatch.setattr(workers, "run_once", flaky_run_once)
    monkeypatch.setattr(workers.asyncio, "sleep", fake_sleep)
    # In a thread of its own: earlier browser tests can leave an event loop on this one.
    raised = []

    def run_monitor():
        try:
            asyncio.run(workers.monitor())
        except BaseException as exc:  # handed back to the test's thread
            raised.append(exc)

    with caplog.at_level(logging.INFO, logger="cme_app.ops.workers"):
        worker = threading.Thread(target=run_monitor)
        worker.start()
        worker.join(timeout=30)
    assert len(raised) == 1 and isinstance(raised[0], asyncio.CancelledError)
    assert len(calls) == 3 and pauses == [30, 30, 30]
    assert "Lone working check failed: RuntimeError" in caplog.text
    assert "raised 2 alert(s)" in caplog.text
    assert "Harehills" not in caplog.text and "Olu" not in caplog.text
