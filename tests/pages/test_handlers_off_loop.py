"""Issue 19: no handler holds the worker's event loop. Every handler and page load declared
through the adapter is a coroutine whose steps (the session check, the body, the unit of work,
the answer) run in a worker thread while the loop stays free (structural checks: which thread
did the work; `make bench`'s loop_block measures the stall, no timings here)."""

from __future__ import annotations

import inspect
import threading

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.pages.casework.board import BoardState
from cme_app.services.casework import board, lifecycle
from cme_app.services.trust import auth
from cme_app.state.handlers import capabilities_of
from tests.factories import case_in_enquiries, run_async, session_token, state_for, stored_case
from tests.pages.test_handler_guards import app_states
from tests.pages.test_sign_in_off_loop import Where


def _declared() -> list[tuple[str, object]]:
    out = []
    for cls in app_states():
        for name, event in cls.event_handlers.items():
            if capabilities_of(event.fn) is not None:
                out.append((f"{cls.__name__}.{name}", event.fn))
    return out


def test_every_declared_handler_and_page_load_is_a_coroutine():
    declared = _declared()
    assert len(declared) > 50  # the adapter's handlers were found
    on_the_loop = [name for name, fn in declared if not inspect.iscoroutinefunction(fn)]
    assert on_the_loop == []


def test_a_move_and_the_board_load_do_their_database_work_off_the_loop(session, team,
                                                                      monkeypatch):
    reference = case_in_enquiries(session, team)
    version = stored_case(session, reference).version
    token = session_token(session, team["lead"].email)
    session.commit()
    where = Where()
    for module, name in ((auth, "actor_for_token"), (board, "load_board"),
                         (lifecycle, "move_case"), (board, "moved_card")):
        monkeypatch.setattr(module, name, where.wrap(getattr(module, name)))
    state = state_for(BoardState, token, path="/board")

    async def on_the_loop():
        await BoardState.event_handlers["load"].fn(state)
        await BoardState.event_handlers["move"].fn(state, reference, "home_visit", version)
        return threading.current_thread()

    loop_thread = run_async(on_the_loop())
    assert state.announcement == f"{reference} moved to Home visit."
    assert len(where.calls) >= 5  # the session (twice), the board, the move and its card
    assert all(t is not loop_thread and not on_a_loop for t, on_a_loop in where.calls)
