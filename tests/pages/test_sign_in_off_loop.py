"""Issue 18, part 2: no one stalls the server before signing in. The sign-in steps are
background events whose password hashing and database work run in a thread, never on the
worker's event loop (structural checks: which thread did the work, no timings). make bench's
`sign_in_flood` measures what this buys: a signed-in user's p95 during a sign-in flood."""

from __future__ import annotations

import asyncio
import threading

import pyotp
import pytest

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import User
from cme_app.pages.trust import login
from cme_app.pages.trust.login import CODE_STEP, LoginState
from cme_app.services.trust import auth, mfa
from tests.factories import PASSWORD, make_school, make_user, run_async, state_for

SECRET = "DEMOLEADAAAAAAAAAAAAAAAAAAAAAAAA"
# Every pre-sign-in step that reads or writes the database, or hashes.
BLOCKING_STEPS = ("load", "go_home", "sign_in", "submit_code")


class Where:
    """Records the thread each wrapped call ran in, and whether an event loop ran there."""

    def __init__(self):
        self.calls: list[tuple[threading.Thread, bool]] = []

    def wrap(self, fn):
        def recorded(*args, **kwargs):
            try:
                asyncio.get_running_loop()
                on_a_loop = True
            except RuntimeError:
                on_a_loop = False
            self.calls.append((threading.current_thread(), on_a_loop))
            return fn(*args, **kwargs)

        return recorded


def _run(state, handler: str, *args):
    """Run the handler on an event loop; (what it returned, the loop's thread)."""

    async def on_the_loop():
        result = await type(state).event_handlers[handler].fn(state, *args)
        return result, threading.current_thread()

    return run_async(on_the_loop())


@pytest.mark.parametrize("name", BLOCKING_STEPS)
def test_every_blocking_sign_in_step_is_a_background_event(name):
    assert LoginState.event_handlers[name].is_background, name


def test_password_hashing_runs_in_a_thread_not_on_the_event_loop(session, monkeypatch):
    make_school(session)
    make_user(session, "school", email="s@example.org", school_urn="107999")
    session.commit()
    where = Where()
    hasher = auth._hasher()
    monkeypatch.setattr(hasher, "verify", where.wrap(hasher.verify))

    state = state_for(LoginState, "", path="/login")
    returned, loop_thread = _run(state, "sign_in",
                                 {"email": "s@example.org", "password": PASSWORD})
    assert "cmeSignIn" in repr(returned)  # it signed in
    assert where.calls, "the password was never verified"
    for thread, on_a_loop in where.calls:
        assert thread is not loop_thread and not on_a_loop
        assert thread.name.startswith("cme-sign-in")

    # A wrong password (and an unknown email, verified against the dummy hash) likewise.
    where.calls.clear()
    for email in ("s@example.org", "nobody@example.org"):
        _run(state, "sign_in", {"email": email, "password": "wrong password 123"})
    assert len(where.calls) == 2
    assert all(t is not loop_thread and not loop for t, loop in where.calls)


def test_the_code_step_and_session_lookups_run_in_a_thread(session, monkeypatch):
    actor = make_user(session, "lead", email="lead@example.org")
    session.get(User, actor.user_id).totp_secret = SECRET
    session.commit()
    where = Where()
    monkeypatch.setattr(mfa, "complete_sign_in", where.wrap(mfa.complete_sign_in))
    monkeypatch.setattr(auth, "actor_for_token", where.wrap(auth.actor_for_token))

    state = state_for(LoginState, "", path="/login")
    _, loop_thread = _run(state, "load")
    assert len(where.calls) == 1  # the page's load looked the session up, in a thread
    _run(state, "sign_in", {"email": "lead@example.org", "password": PASSWORD})
    assert state.step == CODE_STEP
    returned, _ = _run(state, "submit_code", {"code": pyotp.TOTP(SECRET).now()})
    assert "cmeSignIn" in repr(returned)
    _run(state, "go_home")
    assert len(where.calls) == 3
    assert all(t is not loop_thread and not loop for t, loop in where.calls)


def test_sign_in_threads_run_below_the_event_loops_cpu_priority():
    """argon2's lanes start from these threads and inherit their priority."""
    import os

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = niceness()
    theirs = login.SIGN_IN_THREADS.submit(niceness).result()
    assert theirs > mine
