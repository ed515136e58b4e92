"""Schools' statutory returns, in Debian Chromium: a school sends a deletion return (and is
stopped until it confirms ground I's absence codes), uploads a CSV file and sees each row's
result; a lead sees a possible off-rolling flag on the case and reviews it; an officer proposes
closing a case when a school records the child as a new pupil. Each page is checked with axe
and photographed at 1280 and 360 px."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.models import Case, CaseClosure, DeletionReturn, NewPupilReturn
from cme_app.ops.demo import example_deletion_form
from cme_app.services.school_returns import deletions, uploads
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fill_date,
    fresh_session,
    open_case,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import case_in_enquiries

SCHOOL_A = "school.107999@example.org"
SCHOOL_B = "school.108111@example.org"
TODAY = uk_today()
DELETED = (TODAY - timedelta(days=3)).isoformat()
GROUND_I = "20 school days' continuous unauthorised absence"


def both_widths(page: Page, name: str) -> None:
    """Screenshots at 1280 and 360 px, checking the page never scrolls sideways on a phone."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"school-returns-{name}-1280")
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at 360 px ({width} px wide)"
    screenshot(page, f"school-returns-{name}-360")
    page.set_viewport_size(DESKTOP)


def go(page: Page, link: str, url: str, *, role: str = "link") -> None:
    page.get_by_role(role, name=link, exact=True).first.click()
    page.wait_for_url(f"**{url}")
    wait_for_hydration(page)


def fill_deletion(page: Page) -> None:
    page.get_by_label("UPN (optional)").fill("")
    page.get_by_label("First name").fill("Kai")
    page.get_by_label("Last name").fill("Return")
    fill_date(page, "Date of birth", "2013-05-04")
    page.get_by_label("Male", exact=True).check()
    page.get_by_label("Address", exact=True).fill("3 Example Row")
    page.get_by_label("Postcode (optional)").fill("LS6 2AB")
    page.get_by_label("Parent or carer's full name", exact=True).fill("Ria Return")
    page.get_by_label("Their emergency phone number", exact=True).fill("07700 900456")
    fill_date(page, "Date the pupil was deleted from the register", DELETED)
    page.get_by_label(GROUND_I).check()


def test_a_school_sends_a_ground_i_deletion_return(page: Page, team, session):
    sign_in(page, SCHOOL_A, viewport=DESKTOP)
    go(page, "Returns", "/returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your school's returns")
    expect(page.get_by_text("Your school has not sent any returns yet.")).to_be_visible()
    assert_no_axe_violations(page, "school-returns-empty")

    go(page, "Send a deletion return", "/returns/new", role="button")
    assert_no_axe_violations(page, "deletion-form")
    both_widths(page, "deletion-form")
    fill_deletion(page)
    # Ground I asks for the school's confirmation, right under it.
    confirm = page.get_by_label(re.compile(r"^Every day of the absence was coded G, N or O"))
    expect(confirm).to_be_visible()
    expect(page.get_by_label("URN of the school the pupil is now registered at")).to_have_count(0)
    page.get_by_role("button", name="Send deletion return").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link")
    expect(link).to_have_count(1)
    expect(link).to_contain_text("Confirm that every day of the absence was coded G, N or O")
    expect(link).to_have_attribute("href", re.compile(r"#absence_codes_confirmed$"))
    assert_no_axe_violations(page, "deletion-form-error")
    both_widths(page, "deletion-form-error")
    with fresh_session(session) as fresh:
        assert fresh.exec(select(DeletionReturn)).all() == []

    confirm.check()
    page.get_by_role("button", name="Send deletion return").click()
    sent = page.locator("#return-sent")
    expect(sent.get_by_role("heading", level=1)).to_have_text("Deletion return sent")
    expect(sent).to_contain_text("Kai Return")
    expect(sent).to_contain_text("Being looked into")
    expect(sent).to_contain_text("The CME team is making enquiries")
    assert_no_axe_violations(page, "deletion-sent")
    both_widths(page, "deletion-sent")

    sent.get_by_role("button", name="Back to your returns").click()
    page.wait_for_url("**/returns")
    wait_for_hydration(page)
    row = page.get_by_role("row").filter(has_text="Kai Return")
    expect(row).to_contain_text("Being looked into")
    expect(row).to_contain_text(f"{GROUND_I} (ground I)")
    assert_no_axe_violations(page, "school-returns-list")
    both_widths(page, "school-list")
    with fresh_session(session) as fresh:
        [stored] = fresh.exec(select(DeletionReturn)).all()
    assert (stored.ground, stored.route, stored.absence_codes_confirmed) == ("I", "cme", True)
    assert stored.possible_off_rolling and stored.case_id is not None


def deletion_csv(rows: list[str]) -> str:
    return ",".join(uploads.DELETION_COLUMNS) + "\n" + "\n".join(rows) + "\n"


def test_a_school_uploads_a_csv_and_sees_each_rows_result(page: Page, team, session,
                                                          tmp_path: Path):
    good = [
        f"107999,,Ann,One,2014-01-01,F,1 Road,LS1 4AP,Pat One,07700 900111,{DELETED},G,,384,,",
        f"107999,,Ben,Two,2014-02-02,M,2 Road,,Pat Two,07700 900222,{DELETED},F,,,,",
        f"107999,,Cal,Three,2014-03-03,U,3 Road,,Pat Three,07700 900333,{DELETED},A,108111,,,",
    ]
    bad = [
        f"107999,,Dee,Four,2014-04-04,X,4 Road,,Pat Four,07700 900444,{DELETED},A,,,,",
        f"108111,,Eve,Five,2014-05-05,F,5 Road,,Pat Five,07700 900555,{DELETED},G,,,,",
    ]
    sign_in(page, SCHOOL_A, viewport=DESKTOP)
    page.goto("/returns/upload")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload returns as a CSV file")

    # A file that can't be read as agreed is refused whole, and nothing is stored.
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,date\nAnn,2014-01-01\n", encoding="utf-8")
    page.get_by_label("Deletions from your register").check()
    page.get_by_label("CSV file").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload and check the file").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("The first row must be the headings school_urn,upn,")
    expect(summary.get_by_role("link")).to_have_attribute("href", re.compile(r"#returns_file$"))
    assert_no_axe_violations(page, "upload-error")
    both_widths(page, "upload-error")

    # The real file: 3 good rows and 2 bad ones, ground I not in it.
    path = tmp_path / "deletions.csv"
    path.write_text(deletion_csv(good[:2] + bad[:1] + good[2:] + bad[1:]), encoding="utf-8")
    expect(page.get_by_role("table").first).to_contain_text("destination_school_urn")
    page.get_by_label(re.compile(r"^Every ground I row")).check()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check the file").click()
    expect(page.locator("#upload-summary")).to_have_text("3 rows accepted, 2 refused")
    expect(page.locator("#error-summary")).to_have_count(0)
    results = page.get_by_role("region", name="What happened to each row")
    rows = results.get_by_role("row")
    expect(rows).to_have_count(6)
    expect(rows.nth(1)).to_contain_text("Accepted")
    expect(rows.nth(3)).to_contain_text("Refused")
    expect(rows.nth(3)).to_contain_text("sex: Select the pupil's sex")
    expect(rows.nth(3)).to_contain_text("destination_school_urn: Enter the URN")
    expect(rows.nth(5)).to_contain_text("you can only send returns for your own school")
    assert_no_axe_violations(page, "upload-results")
    both_widths(page, "upload-results")
    with fresh_session(session) as fresh:
        stored = fresh.exec(select(DeletionReturn.first_name, DeletionReturn.route)).all()
    assert sorted(stored) == [("Ann", "cme"), ("Ben", "ehe_list"), ("Cal", "match_roll")]

    go(page, "Returns", "/returns")
    expect(page.get_by_role("row")).to_have_count(4)


def test_a_lead_sees_possible_off_rolling_and_reviews_it(page: Page, team, session):
    ret = deletions.submit_deletion(session, actor=team["school"], form=example_deletion_form(
        first_name="Ola", last_name="Offroll"))
    session.commit()
    reference = session.get(Case, ret.case_id).reference
    public_id = ret.public_id
    session.commit()

    sign_in(page, "lead@example.org", viewport=DESKTOP)
    open_case(page, reference)
    part = page.get_by_role("region", name="School returns")
    expect(part.locator(".warning-text")).to_contain_text(
        "Possible off-rolling: Aire Valley Primary deleted this pupil under ground I")
    expect(part).to_contain_text(
        "Aire Valley Primary deleted this pupil on")
    part.scroll_into_view_if_needed()
    screenshot(page, "school-returns-case-off-rolling-1280", full_page=False)
    assert_no_axe_violations(page, "case-off-rolling")

    go(page, "School returns", "/returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("School returns")
    expect(page.locator("#off-rolling-link")).to_have_text(
        "Possible off-rolling: 1 not yet reviewed")
    row = page.get_by_role("row").filter(has_text="Ola Offroll")
    expect(row).to_contain_text("Possible off-rolling")
    expect(row.get_by_role("link", name=reference)).to_have_attribute("href",
                                                                     f"/cases/{reference}")
    assert_no_axe_violations(page, "la-returns")
    both_widths(page, "la-list")

    go(page, "Possible off-rolling", "/returns/off-rolling")
    item = page.locator(".inset-text").filter(has_text="Ola Offroll")
    expect(item).to_contain_text("Not yet reviewed")
    expect(item).to_contain_text(GROUND_I)
    assert_no_axe_violations(page, "off-rolling")
    both_widths(page, "off-rolling")
    item.get_by_role("button", name="Mark as reviewed").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Say what you found or did")
    expect(summary.get_by_role("link")).to_have_attribute(
        "href", re.compile(f"#review-{public_id}-note$"))
    item.get_by_label("What you found or did").fill(
        "Spoke to the head: the family left for Poland; CME enquiry continues.")
    item.get_by_role("button", name="Mark as reviewed").click()
    expect(page.locator("#off-rolling-message")).to_contain_text("Marked as reviewed")
    expect(item).to_contain_text("Reviewed")
    expect(item.get_by_role("button", name="Mark as reviewed")).to_have_count(0)
    with fresh_session(session) as fresh:
        assert fresh.get(DeletionReturn, ret.id).off_rolling_reviewed_at is not None


def test_an_officer_proposes_closing_when_a_school_records_the_child(page: Page, team,
                                                                     session):
    reference = case_in_enquiries(session, team)  # Amira Test, born 2 March 2014
    session.commit()

    sign_in(page, SCHOOL_B, viewport=DESKTOP)
    page.goto("/returns/new-pupil")
    wait_for_hydration(page)
    expect(page.get_by_label("School the pupil joined")).to_have_count(0)  # its own school
    assert_no_axe_violations(page, "new-pupil-form")
    both_widths(page, "new-pupil-form")
    page.get_by_label("First name").fill("Amira")
    page.get_by_label("Last name").fill("Test")
    fill_date(page, "Date of birth", "2014-03-02")
    fill_date(page, "Date the pupil joined the admission register", TODAY - timedelta(days=1))
    page.get_by_role("button", name="Record new pupil").click()
    sent = page.locator("#return-sent")
    expect(sent.get_by_role("heading", level=1)).to_have_text("New pupil recorded")
    expect(sent).to_contain_text("Received")
    expect(sent).not_to_contain_text("case")  # never whether the CME team knew the child
    both_widths(page, "new-pupil-sent")

    sign_in(page, "officer@example.org", viewport=DESKTOP)
    page.goto("/returns/new-pupil")
    wait_for_hydration(page)
    expect(page.get_by_label("School the pupil joined")).to_contain_text(
        "Aire Valley Primary (URN 107999)")
    both_widths(page, "new-pupil-form-la")

    open_case(page, reference)
    part = page.get_by_role("region", name="School returns")
    expect(part).to_contain_text(
        "Kirkstall Hill Academy recorded a new pupil on ")
    expect(part).to_contain_text("who matches this child on name and date of birth")
    assert_no_axe_violations(page, "case-new-pupil")
    part.scroll_into_view_if_needed()
    screenshot(page, "school-returns-case-new-pupil-1280", full_page=False)
    page.set_viewport_size(PHONE)
    part.scroll_into_view_if_needed()
    screenshot(page, "school-returns-case-new-pupil-360", full_page=False)
    page.set_viewport_size(DESKTOP)

    part.get_by_role("button", name="Propose closing: on roll at Kirkstall Hill Academy").click()
    expect(page.locator("#case-message")).to_contain_text("Closure proposed")
    pending = page.get_by_role("region", name="Closure waiting for approval")
    expect(pending).to_contain_text("proposed by Olu Officer on")
    expect(page.get_by_role("region", name="School returns")).to_have_count(0)
    with fresh_session(session) as fresh:
        [closure] = fresh.exec(select(CaseClosure)).all()
        [pupil] = fresh.exec(select(NewPupilReturn)).all()
    assert (closure.status, closure.outcome, pupil.proposal) == (
        "proposed", "onroll_leeds", "confirmed")
