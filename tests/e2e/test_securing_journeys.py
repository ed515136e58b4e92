"""Securing education on the case page, in Debian Chromium: an officer takes a child found in
Leeds (Located – securing education) through the keyworker, the in-year application and its
offer, the offer's acceptance and start date; closing as on roll at a Leeds school is refused
before the start date, with the date, and proposed once the start date has come; a lead
approves it and the officer makes the outcome letter for the referring school, which has
readmitted the child: the PDF says so, and names no ground for deleting them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from cme_app.dates import long_date, uk_today
from cme_app.models import CmeEpisode, SecuringStep
from cme_app.services.casework import lifecycle
from cme_app.services.returns import episodes
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fill_date,
    fresh_session,
    open_case,
    open_tab,
    sign_in,
)
from tests.e2e.test_case_journeys import expect_done, open_details
from tests.factories import case_in_enquiries, stored_case
from tests.services.documents.test_documents import pdf_text

TODAY = uk_today()
SHOTS = Path("/tmp/shots-securing")


def _shot(page: Page, name: str, part: Locator | None = None) -> None:
    """The viewport, or the whole of `part` (a section taller than the screen)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SHOTS / f"{name}.png")
    if part is not None:
        part.screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=False)


def _located(session, team) -> str:
    reference = case_in_enquiries(session, team)
    lifecycle.move_case(session, actor=team["officer"], reference=reference,
                        to_stage="located", version=stored_case(session, reference).version)
    session.commit()
    episodes.start_episode(session, actor=team["officer"], reference=reference, form={
        "start_date": (TODAY - timedelta(days=20)).isoformat(), "start_basis": "arrived_in_la",
        "lives_in_la": "yes", "primary_reason": "Moved in from another local authority"})
    session.commit()
    return reference


def _steps(session) -> list[SecuringStep]:
    with fresh_session(session) as fresh:
        return list(fresh.exec(select(SecuringStep).order_by(SecuringStep.id)).all())


def test_officer_secures_a_school_place_and_closes_from_the_start_date(
    page: Page, team, session
):
    reference = _located(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "CME episode")
    section = page.get_by_role("region", name="Securing education")
    expect(section).to_contain_text("Keyworker due")

    # The keyworker the case was given on entering Located.
    keyworker = open_details(section, "Record or change the keyworker")
    keyworker.get_by_label("Keyworker's name and team").fill("Pat Keyworker, SAS East")
    fill_date(keyworker, "Date allocated", TODAY)
    keyworker.get_by_role("button", name="Save changes").click()
    expect_done(page, "School Attendance Service keyworker updated")
    expect(section).to_contain_text("Pat Keyworker, SAS East")

    # The in-year application: a mistake first, then awaiting its outcome.
    apply = open_details(section, "Record an in-year admission application")
    apply.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Enter the school or schools applied for")
    apply.get_by_label("School or schools applied for").fill("Aire Valley Primary (107999)")
    fill_date(apply, "Date applied", TODAY - timedelta(days=2))
    apply.get_by_label("Outcome").select_option(label="Awaiting outcome")
    apply.get_by_role("button", name="Save").click()
    expect_done(page, "In-year admission application recorded")
    expect(section).to_contain_text("Decision due")
    expect(page.get_by_role("region", name="CME episode")).to_contain_text(
        "School application awaiting outcome")

    # The school offers; the parent accepts, starting in three days.
    offer = open_details(section, "Record an offer of a school place")
    offer.get_by_label("School offered").fill("Aire Valley Primary")
    fill_date(offer, "Date of the offer", TODAY)
    offer.get_by_label("Has the parent accepted the offer?").select_option(label="Accepted")
    start = TODAY + timedelta(days=3)
    fill_date(offer, "Agreed start date", start)
    offer.get_by_role("button", name="Save").click()
    expect_done(page, "Offer of a school place recorded")
    expect(section).to_contain_text(f"Starts on {long_date(start)}")
    expect(section).to_contain_text("Offer recorded")  # the application it answers
    assert [s.kind for s in _steps(session)] == ["keyworker", "application", "offer"]
    # The child's DfE reason followed the steps: still CME, waiting to start school.
    episode = page.get_by_role("region", name="CME episode")
    expect(episode).to_contain_text("Waiting school start")
    expect(episode).to_contain_text("following the securing-education steps")
    assert_no_axe_violations(page, "securing-steps")

    _shot(page, "securing-desktop-1280", section)
    page.set_viewport_size(PHONE)
    _shot(page, "securing-phone-360", section)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"case page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "securing-phone")
    page.set_viewport_size(DESKTOP)

    # Before the start date: still CME, waiting school start; closing as on roll is refused.
    open_tab(page, "Closing")
    close = page.locator("#close").locator("..")
    close.get_by_label("Outcome").select_option(label="Located – on roll at a Leeds school")
    warning = close.locator(".warning-box")
    expect(warning).to_contain_text(f"due to start school on {long_date(start)}")
    expect(warning).to_contain_text("waiting school start")
    close.get_by_label("School URN").fill("107999")
    fill_date(close, "Start date", start)
    close.get_by_label("Confirmed by (school or admissions)").fill("Admissions team")
    close.get_by_role("button", name="Propose closure").click()
    # The start date typed here has not come either: an error at its field.
    expect(page.get_by_role("alert").filter(has_text="There is a problem")
           ).to_contain_text(f"The child starts on {long_date(start)}")
    _shot(page, "securing-close-refused-1280")
    _shot(page, "securing-close-form-1280", close)
    assert stored_case(session, reference).stage == "located"

    # The start date moves to today (the school could take the child sooner).
    open_tab(page, "CME episode")
    offer_row = section.get_by_role("listitem").filter(has_text="Offer of a school place")
    update = open_details(offer_row, "Update this step")
    fill_date(update, "Agreed start date", TODAY)
    update.get_by_role("button", name="Save changes").click()
    expect_done(page, "Offer of a school place updated")

    open_tab(page, "Closing")
    close = page.locator("#close").locator("..")
    close.get_by_label("Outcome").select_option(label="Located – on roll at a Leeds school")
    expect(close.locator(".warning-box")).to_have_count(0)
    close.get_by_label("School URN").fill("107999")
    fill_date(close, "Start date", TODAY)
    close.get_by_label("Confirmed by (school or admissions)").fill("Admissions team")
    close.get_by_role("button", name="Propose closure").click()
    expect_done(page, "Closure proposed")
    assert_no_axe_violations(page, "securing-proposed")
    with fresh_session(session) as fresh:
        [episode_row] = fresh.exec(select(CmeEpisode)).all()
    assert episode_row.primary_reason == "Waiting school start"

    # A lead approves; the officer then makes the outcome letter for the referring school.
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    open_case(page, reference)
    pending = page.get_by_role("region", name="Closure waiting for approval")
    pending.get_by_role("button", name="Approve closure").click()
    expect_done(page, "Closure approved")
    assert stored_case(session, reference).outcome == "onroll_leeds"

    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "Documents")
    documents = page.get_by_role("region", name="Documents")
    create = open_details(documents, "Create a document")
    create.get_by_label("Document", exact=True).select_option(label="Outcome of your referral")
    create.get_by_role("button", name="Create the document").click()
    expect_done(page, "Outcome of your referral created (version 1)")
    row = documents.get_by_role("row").filter(has_text="Outcome of your referral")
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    text = pdf_text(Path(info.value.path()).read_bytes())
    assert reference in text and "on roll at a Leeds school" in text, text
    # Readmitted by the school that referred them: no deletion ground for that school.
    assert "on roll at your school again" in text, text
    assert_no_axe_violations(page, "securing-outcome-letter")
