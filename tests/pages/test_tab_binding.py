"""A tab's server-side state belongs to the session it was built for (issue 18, part 1).

Each test drives one tab through Reflex's own state manager the way its event processor does
for every event (router data from the socket -> the app's middleware -> the handler -> the
delta sent to the browser), and looks for the officer's case canary in what would be sent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import json
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State
from reflex_base.event.context import EventContext

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.db import session_scope
from cme_app.pages.casework.case.state import CaseState
from cme_app.pages.trust.login import LoginState
from cme_app.services.trust import auth
from cme_app.state import tab
from cme_app.state.auth import SESSION_COOKIE, AuthState
from tests.factories import (
    CANARY_FIRST,
    CANARY_LAST,
    PASSWORD,
    make_case,
    make_team,
    make_user,
    session_token,
)

TAB = "tab-0001"


def run_async(coroutine):
    """Run a coroutine in a thread of its own (see tests.factories.run_async), in a copy of
    this thread's context: Reflex finds the app's state classes through a context variable."""
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


@pytest.fixture
def officer_case(session):
    people = make_team(session)
    case = make_case(session, stage="enquiries", risk="amber", first_name=CANARY_FIRST,
                     last_name=CANARY_LAST, officer_id=people["officer"].user_id)
    tokens = {key: session_token(session, people[key].email) for key in ("officer", "school")}
    session.commit()
    return case, tokens


class Tab:
    """One browser tab's events, processed in order against one state manager."""

    def __init__(self, manager, ident: str = TAB):
        self.manager, self.ident = manager, ident
        self.app = SimpleNamespace(state_manager=manager)
        self.binding = tab.TabBinding(AuthState, AuthState._session_token)

    async def event(self, cls, name: str, *args, cookie: str | None, path: str):
        """Process one event as Reflex does; (what the handler answered, the delta sent, the
        whole state as a hydrate would send it)."""
        headers = {"origin": "http://localhost:3000"}
        if cookie is not None:
            headers["cookie"] = f"{SESSION_COOKIE}={cookie}"
        router_data = {"pathname": path, "asPath": path, "query": {}, "headers": headers,
                       "token": self.ident, "sid": "sid-1"}
        key = BaseStateToken(ident=self.ident, cls=cls)
        context = EventContext(token=self.ident, state_manager=self.manager,
                               enqueue_impl=None)  # as Reflex sets it for every event
        with context:
            return await self._process(key, cls, name, args, router_data)

    async def _process(self, key, cls, name, args, router_data):
        async with self.manager.modify_state(key) as root:
            merged = root._update_router_vars(router_data, root.router_data)
            if merged != root.router_data:
                root.router_data = merged
            await self.binding.preprocess(app=self.app, state=root, event=None)
            state = await root.get_state(cls)
            answered = cls.event_handlers[name].fn(state, *args)
            if inspect.iscoroutine(answered):  # every adapter handler is a coroutine
                answered = await answered
            delta = await root._get_resolved_delta()
            root._clean()
            whole = json.dumps(root.dict(), default=str)
        return answered, json.dumps(delta, default=str), whole

    async def purged(self) -> None:
        """Let the purge asked for by the last event run to its end."""
        await asyncio.sleep(0)  # the purge is scheduled with call_soon_threadsafe
        await asyncio.gather(*list(tab._purging))


def _case_path(case) -> str:
    return f"/cases/{case.reference}"


def test_a_socket_of_another_session_gets_the_state_reset_before_anything_is_sent(
    session, officer_case
):
    case, tokens = officer_case

    async def scenario():
        t = Tab(StateManagerMemory())
        _, officer_delta, _ = await t.event(CaseState, "load", cookie=tokens["officer"],
                                            path=_case_path(case))
        # The same officer again: the state is theirs, nothing is reset.
        _, _, officer_again = await t.event(AuthState, "poll_unread", cookie=tokens["officer"],
                                            path=_case_path(case))
        # The school's socket, same tab token: the header's poll, then what a hydrate sends.
        _, school_delta, school_whole = await t.event(
            AuthState, "poll_unread", cookie=tokens["school"], path="/referrals")
        return officer_delta, officer_again, school_delta, school_whole

    officer_delta, officer_again, school_delta, school_whole = run_async(scenario())
    assert CANARY_LAST in officer_delta  # the officer's case reached the officer's page
    assert CANARY_LAST in officer_again
    for sent in (school_delta, school_whole):
        assert CANARY_FIRST not in sent
        assert CANARY_LAST not in sent
        assert case.reference not in sent
    assert "Olu Officer" not in school_whole  # not even the officer's name in the header


def test_a_socket_with_no_session_gets_the_state_reset(session, officer_case):
    case, tokens = officer_case

    async def scenario():
        t = Tab(StateManagerMemory())
        await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
        return await t.event(LoginState, "load", cookie=None, path="/login")

    _, delta, whole = run_async(scenario())
    assert CANARY_LAST not in delta
    assert CANARY_LAST not in whole


def test_the_binding_keeps_a_fingerprint_not_the_cookie(session, officer_case):
    case, tokens = officer_case

    async def scenario():
        manager = StateManagerMemory()
        await Tab(manager).event(CaseState, "load", cookie=tokens["officer"],
                                 path=_case_path(case))
        root = await manager.get_state(BaseStateToken(ident=TAB, cls=State))
        return (await root.get_state(AuthState))._bound_to

    bound = run_async(scenario())
    assert bound == tab.fingerprint(tokens["officer"])
    assert tokens["officer"] not in bound and len(bound) == 16


def test_signing_out_wipes_the_tab_and_drops_its_state(session, officer_case):
    case, tokens = officer_case

    async def scenario():
        manager = StateManagerMemory()
        t = Tab(manager)
        await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
        answered, delta, whole = await t.event(
            AuthState, "confirm_sign_out", True, cookie=tokens["officer"], path=_case_path(case))
        await t.purged()
        return answered, delta, whole, TAB in manager.states

    answered, delta, whole, kept = run_async(scenario())
    assert "cmeSignOut" in repr(answered)
    assert CANARY_LAST not in delta and CANARY_LAST not in whole
    assert '"case_rx_state_": null' in delta  # the page in the browser was emptied too
    assert not kept  # the tab's state is gone from the manager
    assert auth.actor_for_token(session, tokens["officer"]) is None


def test_signing_in_wipes_the_tab_and_drops_its_state(session, officer_case):
    """Someone signs in on a tab left showing another person's page: the sign-in step itself
    wipes what the tab held and drops it; the browser then loads with a new token."""
    case, tokens = officer_case
    make_school_email = "s-login@example.org"
    make_user(session, "school", email=make_school_email, school_urn="107999")
    session.commit()

    async def scenario():
        manager = StateManagerMemory()
        t = Tab(manager)
        await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
        answered, delta, whole = await t.event(
            LoginState, "sign_in", {"email": make_school_email, "password": PASSWORD},
            cookie=tokens["officer"], path="/login")
        await t.purged()
        return answered, delta, whole, TAB in manager.states

    answered, delta, whole, kept = run_async(scenario())
    assert "cmeSignIn" in repr(answered)
    assert CANARY_LAST not in delta and CANARY_LAST not in whole
    assert not kept


def test_a_tab_never_built_for_anyone_is_sent_to_sign_in_and_not_dropped(session, officer_case):
    """A socket with no session opening a page: sent to sign in with a new tab token, and its
    state (nothing of anyone's) is kept. Dropping it made Reflex rebuild the state for the
    page load still under way, which found no session and dropped it again: an anonymous
    socket kept a worker busy sending thousands of updates a second."""
    case, _ = officer_case

    async def scenario():
        manager = StateManagerMemory()
        t = Tab(manager)
        answered, _, _ = await t.event(CaseState, "load", cookie=None, path=_case_path(case))
        await t.purged()
        anonymous_kept = TAB in manager.states
        # A cookie that is no session at all, on the same tab: the same.
        answered_again, _, _ = await t.event(CaseState, "load", cookie="not-a-session",
                                             path=_case_path(case))
        await t.purged()
        return answered, answered_again, anonymous_kept, TAB in manager.states

    answered, answered_again, anonymous_kept, kept = run_async(scenario())
    for sent in (answered, answered_again):
        assert "cmeNewTab" in repr(sent) and "/login" in repr(sent)
    assert anonymous_kept and kept


def test_a_load_after_the_session_ended_wipes_the_tab_and_starts_a_new_token(
    session, officer_case
):
    case, tokens = officer_case

    async def scenario():
        manager = StateManagerMemory()
        t = Tab(manager)
        await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
        with_case = CANARY_LAST in json.dumps(
            (await manager.get_state(BaseStateToken(ident=TAB, cls=State))).dict(), default=str)
        with session_scope() as db:  # signed out in another tab: this one's cookie is dead
            auth.sign_out(db, token=tokens["officer"], actor=None)
        answered, delta, whole = await t.event(CaseState, "load", cookie=tokens["officer"],
                                               path=_case_path(case))
        await t.purged()
        return with_case, answered, delta, whole, TAB in manager.states

    with_case, answered, delta, whole, kept = run_async(scenario())
    assert with_case
    assert "cmeNewTab" in repr(answered) and "/login" in repr(answered)
    assert CANARY_LAST not in delta and CANARY_LAST not in whole
    assert not kept


def test_with_redis_a_signed_out_tab_is_left_empty_and_a_stranger_socket_gets_nothing(
    session, officer_case, redis_url
):
    """Production keeps tab state in Redis: there a purge writes the tab back empty (its keys
    expire with Reflex's token TTL), and a socket of another session is reset as in memory."""
    case, tokens = officer_case

    async def scenario():
        manager = StateManagerRedis(redis=Redis.from_url(redis_url))
        try:
            t = Tab(manager)
            await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
            _, stranger_delta, stranger_whole = await t.event(
                AuthState, "poll_unread", cookie=tokens["school"], path="/referrals")
            await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
            await t.event(AuthState, "confirm_sign_out", True, cookie=tokens["officer"],
                          path=_case_path(case))
            await t.purged()
            stored = b"".join([
                await manager.redis.get(k) or b"" async for k in manager.redis.scan_iter("*")
            ])
            return stranger_delta, stranger_whole, stored
        finally:
            await manager.close()

    stranger_delta, stranger_whole, stored = run_async(scenario())
    assert CANARY_LAST not in stranger_delta and CANARY_LAST not in stranger_whole
    assert stored  # the tab's keys are there (empty) until the TTL
    assert CANARY_LAST.encode() not in stored


def test_a_handler_after_the_session_ended_wipes_the_tab_and_starts_a_new_token(
    session, officer_case
):
    """The idle timeout's path: the page is still open, the session has ended, and the next
    click (any handler) leaves nothing of the case in the tab."""
    case, tokens = officer_case

    async def scenario():
        manager = StateManagerMemory()
        t = Tab(manager)
        await t.event(CaseState, "load", cookie=tokens["officer"], path=_case_path(case))
        with session_scope() as db:
            auth.sign_out(db, token=tokens["officer"], actor=None)
        answered, delta, whole = await t.event(
            CaseState, "save_triage", {"factor-no_contact": "on"}, cookie=tokens["officer"],
            path=_case_path(case))
        await t.purged()
        return answered, delta, whole, TAB in manager.states

    answered, delta, whole, kept = run_async(scenario())
    assert "cmeNewTab" in repr(answered) and "/login" in repr(answered)
    assert CANARY_LAST not in delta and CANARY_LAST not in whole
    assert '"case_rx_state_": null' in delta
    assert not kept
