"""Signing in through the page, in Debian Chromium: staff with an authentication code, staff
setting up their app with the QR code, a replayed code refused, schools in one step."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import User, utcnow
from cme_app.services.trust import mfa
from tests.e2e.helpers import (
    LAPTOP,
    LARGE_PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)

SECRET = "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def people(session, team):
    """The team; the officer has set up their authenticator app, the lead has not (enrols)."""
    mfa.set_secret(session, session.get(User, team["officer"].user_id), SECRET)
    session.commit()


def _fresh_code(secret: str) -> str:
    """A code from a step the tests have not used yet: the next one once this one is taken."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))


def test_the_login_page_desktop_and_phone(page: Page, people):
    for name, size in (("desktop", LAPTOP), ("phone", LARGE_PHONE)):
        page.set_viewport_size(size)
        page.goto("/login")
        wait_for_hydration(page)
        expect(page.get_by_label("Email")).to_be_visible()
        assert_no_axe_violations(page, f"login-{name}")
        screenshot(page, f"login-{name}")


def test_staff_sign_in_asks_for_the_authentication_code(page: Page, people):
    sign_in(page, "officer@example.org", by_form=True, lands_on=None)
    code = page.get_by_label("Authentication code")
    expect(code).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your authentication code")
    assert "/login" in page.url and not [c for c in page.context.cookies()
                                         if c["name"] == "cme_session" and c["value"]]
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    for name, size in (("desktop", LAPTOP), ("phone", LARGE_PHONE)):
        page.set_viewport_size(size)
        assert_no_axe_violations(page, f"login-code-{name}")
        screenshot(page, f"login-code-{name}")

    code.fill("12345")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary").get_by_role("link")).to_have_text(
        [mfa.CODE_FORMAT]
    )
    assert_no_axe_violations(page, "login-code-error")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(SECRET).now())
    page.get_by_role("button", name="Continue").click()
    # Signed in at a phone's width (the loop above left it there): the visit log, not the
    # board (at a desktop's width: test_a_replayed_code_is_refused).
    page.wait_for_url("**/visits")
    wait_for_hydration(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_replayed_code_is_refused(page: Page, people):
    code = _fresh_code(SECRET)
    sign_in(page, "officer@example.org", by_form=True, code=code, lands_on="/board")

    # Someone who saw the code (and knows the password) tries it straight after.
    sign_in(page, "officer@example.org", by_form=True, code=code, lands_on=None)
    expect(page.locator("#error-summary").get_by_role("link")).to_have_text([mfa.CODE_WRONG])
    assert "/login" in page.url


def test_first_sign_in_sets_up_the_app_with_a_qr_code(page: Page, people, session):
    sign_in(page, "lead@example.org", by_form=True, lands_on=None)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    secret = page.locator("#setup-key").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    for name, size in (("desktop", LAPTOP), ("phone", LARGE_PHONE)):
        page.set_viewport_size(size)
        assert_no_axe_violations(page, f"login-enrol-{name}")
        screenshot(page, f"login-enrol-{name}")
    with fresh_session(session) as fresh:
        lead = fresh.exec(select(User).where(User.email == "lead@example.org")).one()
        assert lead.totp_secret is None  # nothing saved before a right code

    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/visits")  # a lead at a phone's width starts on the visit log too
    with fresh_session(session) as fresh:
        lead = fresh.exec(select(User).where(User.email == "lead@example.org")).one()
        assert lead.totp_secret == secret


def test_school_sign_in_has_no_code_step(page: Page, people):
    sign_in(page, "school.107999@example.org", by_form=True, lands_on="/referrals")
    expect(page.get_by_label("Authentication code")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your school's referrals")
