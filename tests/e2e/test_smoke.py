"""The harness works: the prod build is served and a page hydrates in Chromium."""

from playwright.sync_api import Page, expect

from tests.e2e.helpers import assert_no_axe_violations, screenshot, wait_for_hydration


def test_login_page_renders_and_connects(page: Page, app_url: str):
    page.goto(f"{app_url}/login")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    wait_for_hydration(page)
    assert page.evaluate("() => window.__cme_socket_connected") is True
    screenshot(page, "smoke-login")


def test_login_page_has_no_serious_axe_violations(page: Page):
    page.goto("/login")
    wait_for_hydration(page)
    assert_no_axe_violations(page, "login")
