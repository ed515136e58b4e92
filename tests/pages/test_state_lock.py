"""A handler that outlives Reflex's Redis state lock cannot corrupt the tab's state (issue 6),
and long work runs as a background event, off the lock.

Runs against a real Redis server of the test's own, through Reflex's own Redis state manager.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import StateToken
from reflex.state import State
from reflex_base.utils.exceptions import LockExpiredError

from cme_app.pages.reporting.dashboard import DashboardState
from cme_app.services.reporting import reports
from tests.factories import make_team, run_async, session_token, state_for

LOCK_MS = 600


def test_a_handler_that_outlives_the_lock_cannot_overwrite_the_newer_state(redis_url):
    """The slow handler's lock expires; a second event for the same tab takes the lock and
    saves. The slow one's save is then refused whole (LockExpiredError), so the tab keeps the
    second event's state, never the stale one."""

    async def scenario():
        manager = StateManagerRedis(redis=Redis.from_url(redis_url), lock_expiration=LOCK_MS,
                                    lock_warning_threshold=LOCK_MS // 2)
        token = StateToken(ident="tab-1", cls=State)
        try:
            async with manager.modify_state(token) as state:
                state.is_hydrated = False

            async def slow():
                async with manager.modify_state(token) as state:
                    state.is_hydrated = True
                    await asyncio.sleep(LOCK_MS * 2.5 / 1000)  # past the lock's expiry

            async def quick():
                await asyncio.sleep(LOCK_MS * 1.2 / 1000)
                async with manager.modify_state(token) as state:
                    assert state.is_hydrated is False  # the slow one has saved nothing
                    state.is_hydrated = False
                    state.dirty_vars.add("is_hydrated")

            results = await asyncio.gather(slow(), quick(), return_exceptions=True)
            final = await manager.get_state(token)
            return results, final.is_hydrated
        finally:
            await manager.close()

    results, hydrated = run_async(scenario())
    assert isinstance(results[0], LockExpiredError), results
    assert results[1] is None, results
    assert hydrated is False  # the slow handler's late save was refused


def test_the_open_cases_export_leaves_the_event_loop_free(session, monkeypatch):
    """The lead's export of every open case is a background event built in a thread: while it
    runs (made slow here) the worker's event loop goes on serving, and the download arrives.
    make bench's head-of-line figure measures the same with 2,500 real cases."""
    people = make_team(session)
    token = session_token(session, people["lead"].email)
    session.commit()
    assert DashboardState.event_handlers["download_csv"].is_background

    def slow_export(session, *, actor, today):
        time.sleep(0.5)
        return "reference\r\n"

    monkeypatch.setattr(reports, "open_cases_csv", slow_export)
    state = state_for(DashboardState, token, path="/dashboard")

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        result = await DashboardState.download_csv.fn(state)
        beat.cancel()
        return result, ticks

    result, ticks = run_async(scenario())
    assert ticks >= 20, f"the event loop ticked {ticks} times in a 0.5 s export"
    assert "open-cases-" in str(result)  # the download of the export
