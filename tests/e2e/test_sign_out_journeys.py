"""Nothing survives sign-out (issue 18, part 1), in Debian Chromium.

An officer opens a case and signs out. The tab gets a new Reflex tab token; Back shows no
child's name, online and offline; and when a school then signs in on the same tab, neither the
page nor any WebSocket frame ever carries the officer's case (its child's name is the canary).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    LAPTOP,
    LOGIN_URL,
    PHONE,
    open_case,
    screenshot,
    session_cookie,
    sign_in,
    sign_out,
    wait_for_hydration,
)
from tests.e2e.socket_client import EventSocket
from tests.factories import CANARY_FIRST, CANARY_LAST, PASSWORD, make_case

REFERRALS_URL = re.compile(r"/referrals/?$")
TAB_TOKEN_JS = "() => window.sessionStorage.getItem('token')"
# Every cache of the service worker and the paths it holds.
CACHED_PATHS_JS = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) {
      out.push(new URL(request.url).pathname);
    }
  }
  return out;
}"""


@pytest.fixture
def officer_case(session, team):
    officer = team["officer"]
    case = make_case(session, stage="enquiries", risk="amber", first_name=CANARY_FIRST,
                     last_name=CANARY_LAST, officer_id=officer.user_id,
                     school_id=team["school"].school_id)
    session.commit()
    return officer, case


class Frames:
    """Every WebSocket frame the page sends or receives from the moment `start` is called."""

    def __init__(self, page: Page):
        self.recording = False
        self.seen: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framereceived", self._keep)
        ws.on("framesent", self._keep)

    def _keep(self, payload) -> None:
        if self.recording:
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            self.seen.append(text)

    def start(self) -> None:
        self.recording = True


def _no_canary_on(page: Page) -> None:
    expect(page.get_by_text(CANARY_LAST)).to_have_count(0)
    content = page.content()
    assert CANARY_LAST not in content and CANARY_FIRST not in content


def _officer_opens_the_case_and_signs_out(page: Page, officer, case, frames: Frames) -> str:
    """The officer's journey up to the sign-in page; the tab token the case was seen under."""
    sign_in(page, officer.email)
    open_case(page, case.reference)
    expect(page.get_by_text(CANARY_LAST).first).to_be_visible()
    before = page.evaluate(TAB_TOKEN_JS)
    assert before
    frames.start()
    sign_out(page)
    wait_for_hydration(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    return before


def test_after_sign_out_the_tab_has_a_new_token_back_shows_nothing_and_a_school_gets_nothing(
    page: Page, officer_case, team
):
    officer, case = officer_case
    frames = Frames(page)
    page.set_viewport_size(LAPTOP)
    before = _officer_opens_the_case_and_signs_out(page, officer, case, frames)

    # A full navigation with a new tab token, not a client-side move keeping the old one.
    after = page.evaluate(TAB_TOKEN_JS)
    assert after and after != before
    _no_canary_on(page)
    screenshot(page, "sign-out-login-laptop")
    page.set_viewport_size(PHONE)
    screenshot(page, "sign-out-login-phone")
    page.set_viewport_size(LAPTOP)

    # Back: the page before is loaded again, signed out, and goes to the sign-in page.
    page.go_back()
    page.wait_for_url(LOGIN_URL)
    wait_for_hydration(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _no_canary_on(page)

    # Another school (not the one that referred the child) signs in on the same tab.
    page.get_by_label("Email").fill(team["school_b"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(REFERRALS_URL)
    wait_for_hydration(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate(TAB_TOKEN_JS) not in (before, after)  # signing in starts one too
    _no_canary_on(page)

    # The school tries the officer's case page in this tab.
    page.goto(f"/cases/{case.reference}")
    page.wait_for_url(REFERRALS_URL)
    wait_for_hydration(page)
    _no_canary_on(page)

    assert frames.seen, "no WebSocket frames were recorded after sign-out"
    for frame in frames.seen:
        assert CANARY_LAST not in frame and CANARY_FIRST not in frame, frame[:300]


@pytest.mark.browser_context_args(service_workers="allow")
def test_back_after_sign_out_offline_shows_no_record(page: Page, officer_case):
    officer, case = officer_case
    frames = Frames(page)
    sign_in(page, officer.email)
    # The service worker controls the tab, as on an officer's phone.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null",
                           timeout=15_000)
    _officer_opens_the_case_and_signs_out(page, officer, case, frames)
    cached = page.evaluate(CACHED_PATHS_JS)
    assert not [p for p in cached if p.startswith(("/cases", "/board"))], cached

    page.context.set_offline(True)
    try:
        page.go_back()
        expect(page.get_by_role("heading", level=1, name="You're offline")).to_be_visible()
        _no_canary_on(page)
    finally:
        page.context.set_offline(False)
    for frame in frames.seen:
        assert CANARY_LAST not in frame and CANARY_FIRST not in frame, frame[:300]


def test_a_socket_of_another_session_on_the_officers_tab_token_is_sent_nothing_of_the_case(
    app_url: str, officer_case, team
):
    """The attack itself, at the socket: the officer's tab token is reused by a socket with
    another school's cookie, then by one with none. The first update either receives (the
    hydrate) is built after the state was reset."""
    officer, case = officer_case
    tab_token = str(uuid.uuid4())
    path = f"/cases/{case.reference}"
    with EventSocket(app_url, path=path, cookie=session_cookie(app_url, officer.email),
                     token=tab_token) as officer_socket:
        officer_socket.settle(0)
        assert CANARY_LAST in officer_socket.received_text()  # the officer's case was loaded
    for cookie in (session_cookie(app_url, team["school_b"].email), None):
        with EventSocket(app_url, path=path, cookie=cookie, token=tab_token) as other:
            other.settle(0)
            other.load("/referrals")
            text = other.received_text()
        assert text != "[]", "the socket received nothing at all"
        assert CANARY_LAST not in text and CANARY_FIRST not in text
        assert case.reference not in text.replace(path, "")
