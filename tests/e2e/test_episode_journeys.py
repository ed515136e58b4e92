"""The child's CME episode on the case page, in Debian Chromium: an officer finds the child is
on no roll, starts an episode (a mistake first: GOV.UK errors, nothing saved), changes the
reason from a date, and a lead closes the case as on roll, which ends the episode."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.models import CmeEpisode
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fill_date,
    fresh_session,
    open_case,
    open_tab,
    screenshot,
    sign_in,
)
from tests.e2e.test_case_journeys import expect_done, open_details
from tests.factories import case_in_enquiries

TODAY = uk_today()


def fresh_episodes(session) -> list[CmeEpisode]:
    """What is stored now, read in a short session of its own (the test's would hold
    SQLite's write lock while the server waits: helpers.fresh_session)."""
    with fresh_session(session) as fresh:
        return list(fresh.exec(select(CmeEpisode)).all())


def _section(page: Page):
    return page.get_by_role("region", name="CME episode")


def test_officer_starts_and_changes_the_childs_cme_episode(page: Page, team, session):
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "CME episode")
    section = _section(page)
    expect(section).to_contain_text("not recorded as missing education")

    start = open_details(section, "Start a CME episode")
    fill_date(start, "Date the child became missing education", TODAY + timedelta(days=3))
    start.get_by_role("button", name="Start the episode").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("must be today or in the past")
    expect(summary).to_contain_text("Choose the primary reason from DfE's list")
    assert fresh_episodes(session) == []
    assert_no_axe_violations(page, "episode-errors")

    fill_date(start, "Date the child became missing education", TODAY - timedelta(days=20))
    start.get_by_label("What that date is the date of").select_option(
        label="Deleted from a school roll")
    start.get_by_label("Yes").check()
    start.get_by_label("Primary reason (DfE's list)").select_option(
        "Believed to have moved to another local authority")
    start.get_by_role("button", name="Start the episode").click()
    expect_done(page, "CME episode started")
    expect(section).to_contain_text("Believed to have moved to another local authority")
    expect(section).to_contain_text("(deleted from a school roll)")

    change = open_details(section, "Change the episode")
    change.get_by_label("Primary reason (DfE's list)").select_option(
        "Moved in from another country")
    fill_date(change, "If the reason changed: the date it applies from", TODAY - timedelta(days=2))
    change.get_by_role("button", name="Save the episode").click()
    expect_done(page, "CME episode saved")
    expect(section.get_by_text("Primary reason over time")).to_be_visible()
    (episode,) = fresh_episodes(session)
    assert episode.primary_reason == "Moved in from another country"
    assert_no_axe_violations(page, "episode-open")
    section.scroll_into_view_if_needed()
    screenshot(page, "case-episode-desktop", full_page=False)

    page.set_viewport_size(PHONE)
    section.scroll_into_view_if_needed()
    screenshot(page, "case-episode-phone", full_page=False)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"case page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "episode-phone")
