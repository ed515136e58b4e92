"""One record per child, in Debian Chromium: a second school refers a child the LA already
knows; the officer sees the proposed match on the case page, merges the records with a
reason, and the case page then shows the child's record over time with both cases."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Child
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    open_case,
    open_tab,
    screenshot,
    sign_in,
)
from tests.e2e.test_case_journeys import expect_done, open_details

REASON = "Same UPN and the mother's name on both referrals"


def test_officer_merges_a_second_schools_referral_into_the_known_child(
    page: Page, team, session
):
    first = referrals.submit(session, actor=team["school"], form=example_referral_form())
    second = referrals.submit(session, actor=team["school_b"], form=example_referral_form())
    session.commit()
    first_ref, second_ref = first.reference, second.reference

    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, second_ref)
    open_tab(page, "Child and family")
    record = page.get_by_role("region", name="Child's record over time")
    expect(record).to_contain_text("Records that may be this child")
    expect(record).to_contain_text(first_ref)
    assert_no_axe_violations(page, "child-record-match")
    record.scroll_into_view_if_needed()
    screenshot(page, "child-record-match-desktop", full_page=False)

    merge = open_details(record, "Same child – merge records")
    merge.get_by_role("button", name="Same child – merge records").click()
    expect(page.get_by_role("alert")).to_contain_text("10 characters")  # the reason is needed
    merge.get_by_label("Why they are the same child").fill(REASON)
    merge.get_by_role("button", name="Same child – merge records").click()
    expect_done(page, "Records merged")
    cases = record.get_by_role("table").last
    expect(cases).to_contain_text(first_ref)
    expect(cases).to_contain_text(second_ref)
    with fresh_session(session) as fresh:
        newer = fresh.exec(select(Child).where(Child.merged_into_id.is_not(None))).one()
    assert newer.merged_into_id == first.child_id

    page.set_viewport_size(PHONE)
    record.scroll_into_view_if_needed()
    screenshot(page, "child-record-merged-phone", full_page=False)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"case page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "child-record-merged-phone")
