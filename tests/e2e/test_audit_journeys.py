"""Issue 5 in the browser: an officer opens a colleague's case and says why; the DPO finds that
access on /audit and downloads the child's access record as CSV."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import AuditEvent
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    LAPTOP,
    LARGE_PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)

REASON = "Parent rang the duty line about a move"


@pytest.fixture
def olus_case(session, team):
    """A referral allocated to Olu Officer; Priya Patel is another officer."""
    case = referrals.submit(session, actor=team["school"], form=example_referral_form(
        first_name="Amira", last_name="Privatesurname"))
    case.allocated_officer_id = team["officer"].user_id
    session.add(case)
    session.commit()
    return case.reference


def open_case(page: Page, reference: str) -> None:
    page.goto(f"/cases/{reference}")
    page.wait_for_url(f"**/cases/{reference}")
    wait_for_hydration(page)


def _views_once_there(page: Page, session, reference: str, *, count: int, seconds: float = 10):
    """The case's `case.viewed` events, once there are `count` of them (or the deadline)."""
    deadline = time.monotonic() + seconds
    while True:
        with fresh_session(session) as fresh:
            viewed = fresh.exec(select(AuditEvent).where(
                AuditEvent.action == "case.viewed", AuditEvent.entity_id == reference,
            ).order_by(AuditEvent.id)).all()
        if len(viewed) >= count or time.monotonic() > deadline:
            return viewed
        page.wait_for_timeout(100)


def test_officer_gives_a_purpose_and_the_dpo_finds_it_and_downloads_csv(
    page: Page, olus_case, session
):
    reference = olus_case
    sign_in(page, "officer2@example.org", viewport=LAPTOP)
    open_case(page, reference)
    expect(page.get_by_role("heading", level=1)).to_have_text("Why are you opening this case?")
    assert "Privatesurname" not in page.content()  # nothing of the child before a purpose
    screenshot(page, "case-purpose-desktop")
    assert_no_axe_violations(page, "case-purpose")

    page.get_by_role("button", name="Continue").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Select why you are opening this case")
    expect(summary).to_be_focused()
    assert_no_axe_violations(page, "case-purpose-errors")

    page.get_by_role("radio", name="Other").check()
    page.get_by_label("If other, give the reason").fill(REASON)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amira Privatesurname")
    # Not asked again for the rest of the day. The tab's earlier state can show the case for a
    # moment before the reload's own view is recorded (the same tab token brings it back), so
    # wait for the view itself, not only for the heading.
    open_case(page, reference)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amira Privatesurname")
    viewed = _views_once_there(page, session, reference, count=3)
    assert [(e.outcome, e.detail) for e in viewed] == [
        ("purpose_required", {}),
        ("ok", {"purpose": "other", "purpose_other": REASON}),
        ("ok", {}),
    ]

    # The DPO lands on the audit log and has no case files.
    sign_in(page, "auditor@example.org")
    page.wait_for_url("**/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.get_by_role("link", name="Cases")).to_have_count(0)
    page.get_by_label("Case reference or child").fill(reference)
    page.get_by_label("Action").select_option(label="Viewed a case")
    page.get_by_role("button", name="Search").click()
    found = page.get_by_role("row", name=f"Other: {REASON}")
    expect(found).to_contain_text("Priya Patel (CME officer)")
    expect(found).to_contain_text(f"Case {reference}")
    expect(page.get_by_text("(3 events)")).to_be_visible()

    page.get_by_role("button", name="Who has accessed this child's record").click()
    expect(page.get_by_role("heading", name="Who has accessed this child's record")).to_be_focused()
    expect(page.get_by_text(f": case {reference}")).to_be_visible()
    screenshot(page, "audit-accesses-desktop")
    assert_no_axe_violations(page, "audit-accesses")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("accesses-child-")
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Who", "Role", "When (UTC)", "Action", "Outcome", "Record", "Purpose",
                       "IP address"]
    given = [r for r in rows[1:] if r[6]]
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in given] == [
        ("Priya Patel", "CME officer", "Viewed a case", "Done", f"Case {reference}",
         f"Other: {REASON}")
    ]
    assert given[0][2].endswith("+00:00") and "Privatesurname" not in text
    with fresh_session(session) as fresh:
        exported = fresh.exec(select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
    assert exported.detail["rows"] == len(rows) - 1

    # Case pages stay closed to the DPO.
    page.goto(f"/cases/{reference}")
    page.wait_for_url("**/audit")


def test_audit_log_and_purpose_prompt_on_a_phone(page: Page, olus_case):
    sign_in(page, "officer2@example.org", viewport=LARGE_PHONE)
    open_case(page, olus_case)
    expect(page.get_by_role("heading", level=1)).to_have_text("Why are you opening this case?")
    screenshot(page, "case-purpose-phone")
    assert_no_axe_violations(page, "case-purpose-phone")

    sign_in(page, "auditor@example.org")
    page.wait_for_url("**/audit")
    page.get_by_label("Case reference or child").fill("Amira")  # never by name
    page.get_by_role("button", name="Search").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Enter a case reference like CME-2026-00042")
    expect(summary).to_be_focused()
    screenshot(page, "audit-errors-phone")
    assert_no_axe_violations(page, "audit-errors-phone")
    page.get_by_label("Case reference or child").fill(olus_case)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.get_by_role("row", name="Asked for a purpose")).to_contain_text("Priya Patel")
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= LARGE_PHONE["width"], f"/audit scrolls sideways on a phone ({scroll} px)"
    screenshot(page, "audit-phone")
    assert_no_axe_violations(page, "audit-phone")
