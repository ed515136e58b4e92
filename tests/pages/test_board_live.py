"""Live board updates without polling (issue 19): an open board waits on the change bus
without touching the database, reloads once when a colleague's change commits, wakes by
itself when an alert falls due, stops when the session ends, and hears other workers'
changes through Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from reflex.istate.data import ReflexURL
from sqlalchemy import event
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers the page states)
from cme_app.db import get_engine, session_scope
from cme_app.models import Case, HomeVisit, UserSession, utcnow
from cme_app.pages.casework.board import BoardState
from cme_app.services.casework import board, board_events, lifecycle
from tests.factories import call_handler, make_case, run_async, session_token, state_for

pytestmark = pytest.mark.team(without=("officer2",), term_dates=False)


def _board(session, email: str) -> BoardState:
    token = session_token(session, email)
    session.commit()
    state = state_for(BoardState, token, path="/board")
    call_handler(state, "load")
    return state


def _listen(state: BoardState):
    return BoardState.event_handlers["listen"].fn(state)


async def _until_waiting(bus: board_events.Bus, key: str = "") -> board_events.Subscription:
    for _ in range(500):
        sub = bus.subscription(key)
        if sub is not None and sub._waiter is not None:
            return sub
        await asyncio.sleep(0.01)
    raise AssertionError("the board never started listening")


class _Statements:
    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)

    def __enter__(self):
        event.listen(get_engine(), "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(get_engine(), "before_cursor_execute", self)


def _move(actor, reference: str, to_stage: str) -> None:
    with session_scope() as s:
        version = s.exec(select(Case.version).where(Case.reference == reference)).one()
        lifecycle.move_case(s, actor=actor, reference=reference, to_stage=to_stage,
                            version=version)


def test_an_idle_board_runs_no_query_and_a_colleagues_move_reloads_it_once(
        session, team, bus, monkeypatch):
    case = make_case(session, stage="new_referral", risk="amber")
    session.commit()
    state = _board(session, "officer@example.org")
    assert [c.reference for c in state.col_new_referral.cards] == [case.reference]
    revision = state.board_revision
    loads = []
    real = board.load_board
    monkeypatch.setattr(board, "load_board", lambda *a, **k: loads.append(1) or real(*a, **k))

    async def scenario():
        listening = asyncio.create_task(_listen(state))
        await _until_waiting(bus)
        with _Statements() as quiet:
            await asyncio.sleep(1.0)  # nothing changes: not one statement
        # A colleague moves the card (another tab, another thread): one reload. (A burst of
        # commits folding into one is tests/services/casework/test_board_events.py's.)
        await asyncio.to_thread(_move, team["lead"], case.reference, "triage")
        for _ in range(500):
            if state.board_revision != revision:
                break
            await asyncio.sleep(0.01)
        await _until_waiting(bus)  # reloaded and listening again
        with _Statements() as after:
            await asyncio.sleep(0.3)
        listening.cancel()  # the tab navigates away: Reflex cancels the page load's chain
        with pytest.raises(asyncio.CancelledError):
            await listening
        return quiet.seen, after.seen

    quiet, after = run_async(scenario())
    assert quiet == [] and after == []
    assert loads == [1]
    assert state.board_revision == revision + 1
    assert state.col_new_referral.cards == ()
    assert [c.reference for c in state.col_triage.cards] == [case.reference]
    assert bus.listeners() == 0  # nothing left behind


def test_the_listener_stops_when_the_session_has_ended(session, team, bus):
    case = make_case(session, stage="new_referral")
    session.commit()
    state = _board(session, "officer@example.org")

    async def scenario():
        listening = asyncio.create_task(_listen(state))
        await _until_waiting(bus)
        with session_scope() as s:  # signed out in another tab
            for row in s.exec(select(UserSession)).all():
                row.revoked_at = utcnow()
        await asyncio.to_thread(_move, team["lead"], case.reference, "triage")
        return await asyncio.wait_for(listening, 5)

    answer = run_async(scenario())
    assert "cmeNewTab" in str(answer)  # to the sign-in page, with a new tab token
    assert bus.listeners() == 0
    assert state.col_triage.cards == ()  # nothing of the board was reloaded for them


def test_an_own_overdue_visit_wakes_the_board_at_its_expected_end(session, team, bus):
    case = make_case(session, stage="home_visit", officer_id=team["officer"].user_id)
    now = utcnow()
    session.add(HomeVisit(
        client_uuid="5b0c4f3e-0000-4000-8000-000000000001", case_id=case.id,
        visited_on=now.date(), address="1 Late Street", officer_id=team["officer"].user_id,
        checked_in_at=now - timedelta(minutes=30), expected_end_at=now + timedelta(seconds=1),
    ))
    session.commit()
    state = _board(session, "officer@example.org")
    assert state.alerts == []
    assert 0 < state._due_at - now.timestamp() <= 1.5

    async def scenario():
        listening = asyncio.create_task(_listen(state))
        await _until_waiting(bus)
        for _ in range(300):
            if state.alerts:
                break
            await asyncio.sleep(0.01)
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)

    run_async(scenario())
    assert [a.level for a in state.alerts] == ["self"]
    assert state._due_at > now.timestamp() + 60  # next: midnight, not a poll


def test_a_second_board_load_on_the_tab_ends_the_first_listener(session, team, bus):
    state = _board(session, "officer@example.org")

    async def scenario():
        first = asyncio.create_task(_listen(state))
        await _until_waiting(bus)
        await BoardState.event_handlers["load"].fn(state)
        return await asyncio.wait_for(first, 5)

    assert run_async(scenario()) is None
    assert bus.listeners() == 1  # the new load's subscription, for its own listener


def test_redis_carries_a_change_to_another_workers_boards(redis_url):
    worker_a, worker_b = board_events.RedisBus(redis_url), board_events.RedisBus(redis_url)
    sub = worker_b.subscribe("tab-on-b")

    async def scenario():
        waiting = asyncio.create_task(sub.wait(timeout=5))
        await asyncio.sleep(0.3)  # worker B's relay has subscribed to the channel
        await asyncio.to_thread(worker_a.publish)  # a commit on worker A
        return await waiting

    try:
        assert run_async(scenario()) == board_events.CHANGED
    finally:
        worker_a.close()
        worker_b.close()


def test_a_tab_gone_elsewhere_stops_listening_at_the_next_change(session, team, bus):
    case = make_case(session, stage="new_referral")
    session.commit()
    state = _board(session, "officer@example.org")
    root = state.parent_state.parent_state

    async def scenario():
        listening = asyncio.create_task(_listen(state))
        await _until_waiting(bus)
        # The tab went to a case page (Reflex normally cancels the listener as it does).
        root.router = dataclasses.replace(root.router, url=ReflexURL(
            f"http://localhost:3000/cases/{case.reference}"))
        await asyncio.to_thread(_move, team["lead"], case.reference, "triage")
        return await asyncio.wait_for(listening, 5)

    revision = state.board_revision
    assert run_async(scenario()) is None
    assert state.board_revision == revision  # not reloaded for a page nobody looks at
    assert bus.listeners() == 0
