"""The session cookie in Debian Chromium (issue 5): set by an HTTP route as HttpOnly and
SameSite=Lax, invisible to scripts and storage, carried by the WebSocket, and ended for every
tab of the user when they sign out."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from cme_app.state.auth import SESSION_COOKIE
from tests.e2e.helpers import LOGIN_URL, sign_in, sign_out, wait_for_hydration


def _storage_dump(page: Page) -> str:
    return page.evaluate(
        """() => JSON.stringify({
            cookie: document.cookie,
            local: Object.entries(localStorage),
            session: Object.entries(sessionStorage),
            url: location.href,
        })"""
    )


def test_the_session_cookie_is_httponly_and_never_reaches_scripts(page: Page, team):
    sign_in(page, "lead@example.org", lands_on="/board")
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    dump = _storage_dump(page)
    assert SESSION_COOKIE not in dump
    assert cookie["value"] not in dump
    # The board is live over the socket: the cookie came with the handshake.
    expect(page.get_by_role("heading", name="Case board")).to_be_visible()


def test_signing_out_ends_the_users_other_tabs_at_their_next_event(page: Page, team, new_context):
    sign_in(page, "lead@example.org", lands_on="/board")
    other = new_context().new_page()
    sign_in(other, "lead@example.org", lands_on="/board")

    sign_out(page)
    # The cookie is cleared by the DELETE the page sends alongside its move to /login.
    deadline = time.monotonic() + 10
    while [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]:
        assert time.monotonic() < deadline, "signing out left the session cookie"
        page.wait_for_timeout(100)

    # The other browser still holds its cookie, but the server ended that session too.
    other.goto("/inbox")
    other.wait_for_url(LOGIN_URL)
    wait_for_hydration(other)
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
