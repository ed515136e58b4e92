"""Notices and letters on the case page, in Debian Chromium: the allocated officer makes the
outcome letter for a closed case, sees it listed and downloads the PDF; the referring school
finds it on its referral page and downloads it too. axe on both; screenshots at 1280 and
360 px into /tmp/shots-documents/ (with the letter's first page, rendered by pdftoppm)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import CaseClosure, Document, Referral, School
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    open_case,
    open_tab,
    sign_in,
    wait_for_hydration,
)
from tests.e2e.test_case_journeys import expect_done, open_details
from tests.factories import make_case

SHOTS = Path("/tmp/shots-documents")


def _closed_case(session, team) -> str:
    school_id = session.exec(select(School.id).where(School.urn == "107999")).one()
    case = make_case(session, stage="closed", outcome="left_uk_unverified", school_id=school_id,
                     first_name="Amira", last_name="Hartley",
                     officer_id=team["officer"].user_id,
                     closed_at=datetime(2026, 12, 1, 10, tzinfo=UTC))
    referral = session.get(Referral, case.referral_id)
    referral.proposed_deletion_ground = "I"
    session.add(CaseClosure(case_id=case.id, episode=1, outcome="left_uk_unverified",
                            status="closed", closed_at=case.closed_at,
                            evidence={"reasons": "Flights booked", "checks_done": "Visits"}))
    session.commit()
    return case.reference


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _download(page: Page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    return Path(path).read_bytes()


def test_officer_makes_the_outcome_letter_and_the_school_downloads_it(page: Page, team, session):
    reference = _closed_case(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "Documents")
    section = page.get_by_role("region", name="Documents")
    expect(section).to_contain_text("No notices or letters have been made on this case yet")

    create = open_details(section, "Create a document")
    create.get_by_label("Document", exact=True).select_option(label="Outcome of your referral")
    create.get_by_role("button", name="Create the document").click()
    expect_done(page, "Outcome of your referral created (version 1)")
    row = section.get_by_role("row").filter(has_text="Outcome of your referral")
    expect(row).to_contain_text("Olu Officer, CME officer")
    expect(row).to_contain_text("The referring school")
    with fresh_session(session) as fresh:
        (stored,) = fresh.exec(select(Document)).all()
        assert (stored.kind, stored.version) == ("outcome_letter", 1)

    pdf = _download(page, row.get_by_role("link", name="Download"))
    assert pdf.startswith(b"%PDF-") and pdf == stored.content
    assert_no_axe_violations(page, "documents-case")
    section.scroll_into_view_if_needed()
    _shot(page, "case-documents-1280")
    page.set_viewport_size(PHONE)
    section.scroll_into_view_if_needed()
    _shot(page, "case-documents-360")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"case page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "documents-case-phone")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "outcome-letter.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(SHOTS / "outcome-letter.pdf"),
                        str(SHOTS / "outcome-letter")], check=True)

    # The school: its inbox item links to the referral page, which lists the letter.
    sign_in(page, "school.107999@example.org", viewport=DESKTOP)
    page.goto("/inbox")
    wait_for_hydration(page)
    item = page.locator("li", has_text=f"Referral {reference}: Outcome of your referral")
    expect(item).to_contain_text("Sign in to read and download it")
    expect(item).not_to_contain_text("Amira")
    item.get_by_role("link", name=f"Open {reference}").click()
    page.wait_for_url(f"**/referrals/{reference}**")
    wait_for_hydration(page)
    letters = page.locator("#documents + ul")
    expect(letters).to_contain_text("Outcome of your referral (version 1, PDF)")
    got = _download(page, letters.get_by_role("link", name="Outcome of your referral"))
    assert got == stored.content
    # The clicked link keeps focus, and GOV.UK's focus style swaps the underline for a yellow
    # block, which axe's link-in-text-block rule can't see: check the page at rest.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    assert_no_axe_violations(page, "documents-school")
    page.locator("#documents").scroll_into_view_if_needed()
    _shot(page, "school-referral-documents-1280")
    page.set_viewport_size(PHONE)
    page.locator("#documents").scroll_into_view_if_needed()
    _shot(page, "school-referral-documents-360")
    assert_no_axe_violations(page, "documents-school-phone")

    # Another school's user gets nothing: the route answers 404 for the same link.
    sign_in(page, "school.108111@example.org", viewport=DESKTOP)
    answer = page.request.get(f"/api/v1/documents/{stored.public_id}")
    assert answer.status == 404
