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
from tests.factories import PASSWORD, call_handler, make_school, make_user, run_async, state_for

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
    assert len(where.calls) == 2  # the refused password was never hashed
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
    if mine >= 19:
        pytest.skip("the test already runs at the lowest CPU priority")
    theirs = login.SIGN_IN_THREADS.submit(niceness).result()
    assert theirs == min(19, mine + 10)


def test_an_administrator_setting_a_password_hashes_it_off_the_event_loop(session, monkeypatch):
    """Adding an account and resetting a password hash a password: both are background
    events, the hash made in the adapter's worker thread; the page still answers as before."""
    from cme_app.pages.trust.accounts import AdminUsersState
    from tests.factories import session_token

    make_user(session, "admin", email="admin@example.org")
    make_user(session, "officer", email="o@example.org")
    token = session_token(session, "admin@example.org")
    session.commit()
    assert AdminUsersState.event_handlers["add_account"].is_background
    assert AdminUsersState.event_handlers["confirm_action"].is_background
    where = Where()
    hasher = auth._hasher()
    monkeypatch.setattr(hasher, "hash", where.wrap(hasher.hash))

    state = state_for(AdminUsersState, token, path="/admin/users")
    call_handler(state, "load")
    new_password = "correct horse battery staple"
    _, loop_thread = _run(state, "add_account", {
        "email": "new@example.org", "name": "New Person", "role": "officer",
        "password": new_password})
    assert state.created_email == "new@example.org", state.error_list
    assert any(r.email == "new@example.org" for r in state.rows)

    row = next(r for r in state.rows if r.email == "o@example.org")
    call_handler(state, "choose_action", "reset_password", row.id)
    assert state.pending_action == "reset_password"
    # A password the policy refuses: the error at the field, and the question stays open.
    _run(state, "confirm_action", {"new_password": "short"})
    assert state.errors and state.error_list[0][0] == "new_password", state.error_list
    assert state.pending_action == "reset_password"
    _run(state, "confirm_action", {"new_password": "another long passphrase here"})
    assert state.message.startswith("Password reset for"), (state.problem, state.error_list)
    assert state.pending_action == ""

    assert len(where.calls) == 2  # the refused password was never hashed
    assert all(t is not loop_thread and not loop for t, loop in where.calls)


def test_argon2_runs_with_no_unit_of_work_open(session, monkeypatch):
    """On SQLite a transaction holds the database's write lock from its first statement: a
    hash inside one would make every writer (a signed-in user's event on the loop too) wait
    for it. The password step is two short units of work with the hash between them."""
    from contextlib import contextmanager

    make_school(session)
    make_user(session, "school", email="s@example.org", school_urn="107999")
    session.commit()
    open_units = []
    real_scope = login.session_scope

    @contextmanager
    def counted_scope():
        open_units.append(1)
        try:
            with real_scope() as s:
                yield s
        finally:
            open_units.pop()

    seen: list[int] = []
    hasher = auth._hasher()
    real_verify = hasher.verify

    def verify(*args, **kwargs):
        seen.append(len(open_units))
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(login, "session_scope", counted_scope)
    monkeypatch.setattr(hasher, "verify", verify)
    state = state_for(LoginState, "", path="/login")
    returned, _ = _run(state, "sign_in", {"email": "s@example.org", "password": PASSWORD})
    assert "cmeSignIn" in repr(returned)
    _run(state, "sign_in", {"email": "s@example.org", "password": "wrong password 123"})
    assert seen == [0, 0]
