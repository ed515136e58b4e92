"""Finding a child from the header's search box (issue 19), in Debian Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from stdnum.gb import upn

from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    screenshot,
    sign_in,
    wait_for_hydration,
)


@pytest.fixture
def closed_case(session, team):
    """Zoë Kowalski's case, closed a year ago (off the board) and allocated to Priya Patel, and
    an open one beside it."""
    case = referrals.submit(session, actor=team["school"], form=example_referral_form(
        first_name="Zoë", last_name="Kowalski"))
    case.stage, case.outcome = "closed", "onroll_leeds"
    case.allocated_officer_id = team["officer2"].user_id  # outside Olu Officer's caseload
    case.closed_at = datetime.now(UTC) - timedelta(days=365)
    session.add(case)
    body = "383200012402"
    referrals.submit(session, actor=team["school"], form=example_referral_form(
        first_name="Adam", last_name="Brown", upn=upn.calc_check_digit(body) + body))
    session.commit()
    return case.reference


def found(page: Page):
    """The results' heading ("1 case found")."""
    return page.locator("#search-results").get_by_role("heading", level=2)


def test_a_lead_finds_a_closed_case_from_the_header_and_opens_it(page: Page, closed_case):
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    box = page.get_by_role("search", name="Find a child").get_by_label("Search for a child")
    box.fill("zoe kowal")
    box.press("Enter")
    page.wait_for_url("**/search")
    wait_for_hydration(page)
    assert "kowal" not in page.url.lower()  # the words stay out of the address bar
    results = page.get_by_role("table", name="Cases found")
    expect(results.get_by_role("row")).to_have_count(2)  # the header row and Zoë's
    row = results.get_by_role("row", name=closed_case)
    expect(row).to_contain_text("Zoë Kowalski")
    expect(row).to_contain_text("Closed")
    expect(found(page)).to_have_text("1 case found")
    screenshot(page, "search-results-1280")
    assert_no_axe_violations(page, "search-results")

    # Too short: the GOV.UK error summary and the message at the field.
    page.get_by_role("main").get_by_role("searchbox", name="Search for a child").fill("zo")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter at least 3 characters")).to_be_visible()
    expect(page.locator("#search-results")).to_be_empty()  # no results under an error
    assert_no_axe_violations(page, "search-error")

    page.get_by_role("main").get_by_role("searchbox", name="Search for a child").fill("kowalski")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    expect(found(page)).to_have_text("1 case found")
    page.get_by_role("link", name=closed_case).click()
    page.wait_for_url(f"**/cases/{closed_case}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zoë Kowalski")


def test_on_a_phone_the_header_has_a_search_link_and_opening_asks_the_purpose(
        page: Page, closed_case):
    sign_in(page, "officer@example.org", viewport=PHONE)
    expect(page.get_by_role("search", name="Find a child")).to_be_hidden()
    page.get_by_role("link", name="Search for a child").click()
    page.wait_for_url("**/search")
    wait_for_hydration(page)
    page.get_by_role("main").get_by_role("searchbox", name="Search for a child").fill("LS2 8BU")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    expect(found(page)).to_have_text("2 cases found")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/search scrolls sideways on a phone ({width} px)"
    screenshot(page, "search-results-360")
    assert_no_axe_violations(page, "search-results-phone")

    # A case outside Olu's caseload opens through the purpose step, as from the board.
    page.get_by_role("link", name=closed_case).click()
    page.wait_for_url(f"**/cases/{closed_case}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Why are you opening this case?")
    assert "Kowalski" not in page.locator("main").inner_text()


def test_a_school_user_has_no_search_box_and_search_sends_them_home(page: Page, closed_case):
    sign_in(page, "school.107999@example.org", viewport=DESKTOP)
    expect(page.get_by_role("search", name="Find a child")).to_have_count(0)
    expect(page.get_by_role("link", name="Search for a child")).to_have_count(0)
    page.goto("/search")
    page.wait_for_url("**/referrals")
