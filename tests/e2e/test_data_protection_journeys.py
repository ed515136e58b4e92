"""Data protection in Chromium: a lead puts a case on legal hold and records a share on the
case page, then the retention page lists what is due and keeps the held case off the list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Case, RetentionApproval, ShareRecord
from tests.e2e.helpers import (
    DESKTOP,
    LARGE_PHONE,
    assert_no_axe_violations,
    fill_date,
    fresh_session,
    open_tab,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.e2e.test_case_journeys import open_details
from tests.factories import make_case

LONG_AGO = datetime(2018, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def cases(session, team):
    to_hold = make_case(session, stage="closed", closed_at=LONG_AGO, outcome="ehe")
    due = make_case(session, stage="closed", closed_at=LONG_AGO, outcome="onroll_leeds")
    session.commit()
    return {"hold": to_hold.reference, "due": due.reference}


def _shots(page: Page, name: str) -> None:
    assert_no_axe_violations(page, name)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(LARGE_PHONE)
    screenshot(page, f"{name}-phone")
    assert_no_axe_violations(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_lead_holds_a_case_records_a_share_and_reviews_the_destruction_list(
    page: Page, session, cases
):
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    page.goto(f"/cases/{cases['hold']}")
    wait_for_hydration(page)
    open_tab(page, "Documents")
    section = page.get_by_role("region", name="Sharing log")
    expect(section).to_contain_text("Nothing has been shared outside the team yet.")

    hold = open_details(section, "Put on legal hold")
    hold.get_by_label("Reason for the hold").fill("IICSA retention instruction")
    hold.get_by_role("button", name="Put on legal hold").click()
    expect(page.get_by_role("status")).to_contain_text("Legal hold set")
    expect(page.locator(".legal-hold")).to_contain_text("Legal hold")
    expect(page.locator(".legal-hold")).to_contain_text("IICSA retention instruction")

    share = open_details(section, "Record a share")
    fill_date(share, "Date shared", "2026-11-20")
    share.get_by_label("Shared with").select_option("other_la")
    share.get_by_label("Recipient").fill("Bradford CME team")
    share.get_by_label("Addresses").check()
    share.get_by_label("Why it was shared").fill("Family believed to live in Bradford now")
    share.get_by_label("UK GDPR Art 6(1)(e) public task").check()
    share.get_by_role("button", name="Record share").click()
    expect(page.get_by_role("status")).to_contain_text("Share recorded")
    expect(section.get_by_role("table")).to_contain_text("Bradford CME team")
    expect(section.get_by_role("table")).to_contain_text("UK GDPR Art 6(1)(e) public task")
    _shots(page, "case-sharing-log")

    with fresh_session(session) as fresh:
        held = fresh.exec(select(Case).where(Case.reference == cases["hold"])).one()
        assert held.legal_hold and held.legal_hold_reason == "IICSA retention instruction"
        shares = fresh.exec(select(ShareRecord).where(ShareRecord.case_id == held.id)).all()
        assert [s.categories for s in shares] == [["addresses"]]

    page.get_by_role("link", name="Retention").click()
    page.wait_for_url("**/retention")
    wait_for_hydration(page)
    listed = page.get_by_role("table", name="Records due for destruction")
    expect(listed).to_contain_text(cases["due"])
    expect(listed).not_to_contain_text(cases["hold"])
    expect(page.get_by_role("table", name="Past their date but kept under legal hold")
           ).to_contain_text(cases["hold"])
    listed.get_by_role("button", name=f"Approve {cases['due']}").click()
    expect(page.get_by_role("status")).to_contain_text("Approved for destruction")
    expect(listed.get_by_role("row").filter(has_text=cases["due"])).to_contain_text("Approved")
    _shots(page, "retention")

    with fresh_session(session) as fresh:
        approvals = fresh.exec(select(RetentionApproval)).all()
        assert [(a.record_class, a.destroyed_at) for a in approvals] == [("closed_case", None)]
