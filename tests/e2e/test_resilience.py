"""The production profile rides out its own parts failing: Redis restarted, then every backend
worker restarted, while ten browser tabs are connected (issue 6).

Runs only in that profile (CME_TEST_REDIS=1, as CI's PostgreSQL pass does), where the run owns
its Redis server and may restart it.
"""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import redis
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Case
from tests.e2e.helpers import (
    DESKTOP,
    PRIVATE_REDIS,
    REDIS_URL,
    WORKERS,
    fresh_session,
    sign_in,
    wait_for_hydration,
    worker_of,
)
from tests.e2e.test_board_journeys import announcement, card, case_in

pytestmark = pytest.mark.skipif(
    not PRIVATE_REDIS, reason="production profile only (CME_TEST_REDIS=1, CI's PostgreSQL pass)"
)
TABS = 10


def _granian_main(app_process) -> psutil.Process:
    """The process that supervises the workers (it takes SIGHUP as 'restart every worker')."""
    server = psutil.Process(app_process["proc"].pid)
    for proc in [server, *server.children(recursive=True)]:
        kids = proc.children()
        if len(kids) >= 2 and all(k.name() == kids[0].name() for k in kids):
            return proc
    raise AssertionError("no process supervising several workers")


def _workers(main: psutil.Process) -> set[int]:
    return {p.pid for p in main.children()}


def _wait_for_states(tabs: list[Page], timeout: float = 60) -> None:
    """Until every tab's state is back in Redis, rebuilt by an event of the tab's own."""
    store = redis.Redis.from_url(REDIS_URL)
    tokens = [tab.evaluate("() => window.sessionStorage.getItem('token')") for tab in tabs]
    deadline = time.monotonic() + timeout
    while missing := [t for t in tokens if not store.keys(f"{t}_*")]:
        assert time.monotonic() < deadline, f"{len(missing)} tabs' state never came back"
        time.sleep(0.5)


def _move(page: Page, reference: str, from_stage: str, to_stage: str) -> None:
    item = card(page, from_stage, reference)
    item.get_by_role("button", name="Move").click()
    item.get_by_role("button", name=to_stage).click()
    expect(announcement(page)).to_have_text(f"{reference} moved to {to_stage}.", timeout=20_000)


def _stages(session, references: list[str]) -> dict[str, tuple[str, int]]:
    with fresh_session(session) as s:
        rows = s.exec(select(Case.reference, Case.stage, Case.version)
                      .where(Case.reference.in_(references))).all()
    return {ref: (stage, version) for ref, stage, version in rows}


def test_ten_tabs_ride_out_a_redis_restart_then_a_worker_restart(
    new_context, team, session, redis_server, app_process
):
    cases = [case_in(session, team, "triage", first_name=f"Tab{i}") for i in range(TABS)]
    refs = [c.reference for c in cases]
    before = _stages(session, refs)
    context = new_context(viewport=DESKTOP)
    first = context.new_page()
    sign_in(first, "lead@example.org")
    tabs = [first] + [context.new_page() for _ in range(TABS - 1)]
    for tab in tabs[1:]:
        tab.goto("/board")
        wait_for_hydration(tab)
    for tab, ref in zip(tabs, refs, strict=True):
        expect(card(tab, "Triage", ref)).to_be_visible()
    # (A Redis restart loses Reflex's socket records too; they come back when sockets reconnect.)
    served_by = {worker_of(tab) for tab in tabs}

    # Redis is lost (killed: it kept nothing) and comes back empty on the same port. Each tab's
    # next poll rebuilds its state from the database (the page's loader runs again), signed in.
    redis_server.restart()
    _wait_for_states(tabs)
    for tab, ref in zip(tabs, refs, strict=True):
        _move(tab, ref, "Triage", "Enquiries")
        assert "/login" not in tab.url

    # Every backend worker is restarted, as a deploy or a crash-restart does: the sockets drop.
    main = _granian_main(app_process)
    workers = _workers(main)
    assert len(workers) == WORKERS
    main.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while (now := _workers(main)) & workers or len(now) < len(workers):
        assert time.monotonic() < deadline, "the workers were not replaced within 60 s"
        time.sleep(0.5)
    for tab, ref in zip(tabs, refs, strict=True):
        wait_for_hydration(tab)
        assert worker_of(tab) not in served_by  # reconnected, to a new worker
        _move(tab, ref, "Enquiries", "Home visit")
        assert "/login" not in tab.url
        assert tab.evaluate("() => performance.getEntriesByType('navigation').length") == 1

    # Nothing lost, nothing doubled: each case moved exactly twice.
    after = _stages(session, refs)
    for ref in refs:
        assert after[ref] == ("home_visit", before[ref][1] + 2), ref
