"""The case page keeps its place (issue 20): after an action low on the page, the view stays
where it was, focus stays on the button that was used, and the result is announced in a live
region, instead of the page jumping to a message at its top.

The same journey takes the case page's screenshots (summary and a few tabs, 1280 and 360 px),
checks them with axe, and prints the page's height for the issue's before/after count."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fill_date,
    open_case,
    open_tab,
    screenshot,
    sign_in,
)
from tests.e2e.test_case_journeys import open_details
from tests.factories import case_in_enquiries

TODAY_FIELDS = {"os-country": "Romania", "os-organisation": "Scoala Gimnaziala nr. 5"}


def _height(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollHeight")


def _screens(page: Page, name: str) -> None:
    """Screenshots at 1280 and 360 px, each checked with axe; back at 1280 after."""
    for size, label in ((DESKTOP, "1280"), (PHONE, "360")):
        page.set_viewport_size(size)
        page.evaluate("() => window.scrollTo(0, 0)")
        screenshot(page, f"{name}-{label}")
        assert_no_axe_violations(page, f"{name}-{label}")
        if size is PHONE:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} scrolls sideways at 360 px ({width} px)"
    page.set_viewport_size(DESKTOP)


def test_an_action_low_on_the_case_page_keeps_the_place_and_is_announced(
    page: Page, team, session
):
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    summary = page.locator(".case-meta")
    expect(summary).to_contain_text("2 March 2014")
    expect(summary).to_contain_text("14 Example Street, Leeds, LS2 8BU")
    expect(summary).to_contain_text("First visit due by")
    heights = {"desktop": _height(page)}
    _screens(page, "case-summary")
    page.set_viewport_size(PHONE)
    heights["phone"] = _height(page)
    page.set_viewport_size(DESKTOP)
    print(f"CASE-PAGE-HEIGHT first tab: desktop={heights['desktop']} phone={heights['phone']}")

    # Tabs by keyboard: the arrow key moves to the next tab and opens it, with its own URL.
    page.get_by_role("tab", name="Stage and risk").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Child and family")).to_be_focused()
    expect(page.get_by_role("tab", name="Child and family")).to_have_attribute(
        "aria-selected", "true")
    expect(page).to_have_url(re.compile(rf"/cases/{reference}\?tab=child$"))
    _screens(page, "case-tab-child")

    open_tab(page, "Enquiries")
    expect(page).to_have_url(re.compile(rf"/cases/{reference}\?tab=enquiries$"))
    form = open_details(page.locator("section[aria-labelledby=overseas]"),
                        "Record overseas evidence")
    for field, value in TODAY_FIELDS.items():
        form.locator(f"#{field}").fill(value)
    form.get_by_label("Type of evidence").select_option(
        label="Letter or email from the school on letterhead")
    form.locator("#os-independent-yes").check()
    fill_date(form, "Date received", "2026-11-30")
    form.locator("#os-translated-no").check()
    button = form.get_by_role("button", name="Record evidence")
    # The button low in the window, as an officer would have it after filling the form.
    button.evaluate("b => b.scrollIntoView({block: 'end'})")
    page.evaluate("() => window.scrollBy(0, 120)")
    before_y = page.evaluate("() => window.scrollY")
    assert before_y > 300, "the action is not low on the page"
    before_top = button.evaluate("b => b.getBoundingClientRect().top")
    button.click()

    status = page.get_by_role("status").filter(has_text="Done")
    expect(status).to_contain_text("Overseas evidence recorded")
    expect(page.locator("#case-message")).to_have_attribute("aria-live", "polite")
    expect(page.locator("section[aria-labelledby=overseas]")).to_contain_text("Romania")
    after = page.get_by_role("button", name="Record evidence")
    expect(after).to_be_focused()
    page.wait_for_timeout(200)  # past the answer's own 50 ms
    after_y = page.evaluate("() => window.scrollY")
    after_top = after.evaluate("b => b.getBoundingClientRect().top")
    # The button sits where it was; the page moved only by the new row above it.
    assert abs(after_top - before_top) <= 5, (before_top, after_top)
    assert abs(after_y - before_y) <= 200, (before_y, after_y)
    assert after_y > 300, "the page jumped to the top"
    assert_no_axe_violations(page, "case-enquiries-done")
    screenshot(page, "case-enquiries-done-1280", full_page=False)
    _screens(page, "case-tab-enquiries")

    open_tab(page, "Visits")
    _screens(page, "case-tab-visits")
    open_tab(page, "Closing")
    _screens(page, "case-tab-closing")


def test_a_desk_visit_asks_child_seen_once_and_shows_what_follows(page: Page, team, session):
    """The case page's desk visit form asks "Child seen" first, as the phone does: Yes asks
    whether the child was seen alone; No asks what happened. An empty record says what is
    missing; the recorded visit shows the outcome the answer gave."""
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "Visits")
    form = open_details(page.locator("section[aria-labelledby=visits]"),
                        "Record a visit at your desk")
    alone = form.get_by_role("group", name="Seen alone")
    what = form.get_by_role("group", name="Outcome")
    expect(alone).to_be_hidden()
    expect(what).to_be_hidden()
    form.get_by_role("button", name="Record visit").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Say whether the child was seen")
    assert_no_axe_violations(page, "case-desk-visit-errors")

    form.locator("#visit-child_seen-yes").check()
    expect(alone).to_be_visible()
    expect(what).to_be_hidden()
    form.locator("#visit-child_seen-no").check()
    expect(alone).to_be_hidden()
    expect(what).to_be_visible()
    expect(what.get_by_role("radio", name="Child seen and safe")).to_have_count(0)
    fill_date(form, "Date of visit", "2026-11-30")
    form.get_by_label("Address visited").fill("14 Example Street, Leeds")
    what.get_by_role("radio", name="No reply, property appears vacant").check()
    _screens(page, "case-desk-visit")
    form.get_by_role("button", name="Record visit").click()
    expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text("Visit recorded")
    visits = page.locator("section[aria-labelledby=visits] .visit-list")
    expect(visits).to_contain_text("No reply, property appears vacant")
