"""The case page keeps its place: after an action low on the page, the view, the focus and an
announcement of the result (issue 20)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import DESKTOP, PHONE, open_case, sign_in
from tests.factories import case_in_enquiries


def _height(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollHeight")


def test_case_page_height(page: Page, team, session):
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    desktop = _height(page)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    phone = _height(page)
    print(f"CASE-PAGE-HEIGHT desktop={desktop} phone={phone}")
