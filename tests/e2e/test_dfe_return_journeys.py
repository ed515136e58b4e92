"""The termly DfE return, in Debian Chromium: a lead opens it, follows a number to the children
behind it, imports the EHE team's counts and downloads the workbook; it fits a phone."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import AuditEvent, CensusDate, CmeEpisode, EpisodeReason
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import make_case

CENSUS = date(2026, 10, 1)
EHE_GOOD = (
    "measure,category,count\non_census_day,,5\nby_sex,Female,3\nby_sex,Male,2\n"
    "by_reason,Philosophical or preference,5\nany_time_previous_year,,12\n"
)
EHE_BAD = "measure,category,count\non_census_day,,5\nby_sex,Boy,5\nany_time_previous_year,,1\n"


@pytest.fixture
def counted(session, team):
    """The autumn census day (before today, so the page opens on it) and two children counted
    on it: one with a start date, one without (a warning)."""
    session.add(CensusDate(census_date=CENSUS, term="Autumn 2026"))
    made = {}
    for key, first, start, reason in (
        ("amira", "Amira", date(2026, 9, 10), "Mental health"),
        ("bilal", "Bilal", None, "Other"),
    ):
        case = make_case(session, stage="enquiries", first_name=first, last_name="Test")
        episode = CmeEpisode(child_id=case.child_id, case_id=case.id, start_date=start,
                             start_basis="deleted_from_roll", primary_reason=reason,
                             created_at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
        session.add(episode)
        session.flush()
        session.add(EpisodeReason(episode_id=episode.id, reason=reason,
                                  from_date=start or date(2026, 9, 1)))
        made[key] = case
    session.commit()
    return made


def open_return(page: Page) -> None:
    page.get_by_role("link", name="DfE return").click()
    page.wait_for_url("**/reports/dfe-return")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "DfE return: children missing education")
    expect(page.get_by_label("Census day shown")).to_have_value("2026-10-01")


def assert_fits(page: Page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the return scrolls sideways at {width} px ({scroll} px wide)"


def choose_ehe_file(page: Page, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.get_by_label("EHE counts file (CSV)").set_input_files(str(path))
    page.get_by_role("button", name="Import the EHE counts").click()


def test_lead_follows_a_number_to_its_children_and_downloads_the_return(
        page: Page, counted, session, tmp_path):
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    open_return(page)
    cme = page.get_by_role("region", name="Children missing education (CME)")
    headline = cme.locator(".stat").first
    expect(headline).to_contain_text("children missing education on census day")
    expect(headline.get_by_role("button")).to_have_accessible_name("2, show the children")
    expect(page.get_by_role("region", name="Check these before you send the return")
           ).to_contain_text("1 child counted with no episode start date")

    # A number opens the children behind it, as at census day.
    by_reason = cme.get_by_role("table", name="CME by primary reason")
    by_reason.get_by_role("button", name="1 child: Mental health").click()
    listed = page.get_by_role("region", name="CME by primary reason: Mental health")
    expect(listed.get_by_role("heading", level=2)).to_be_focused()
    row = listed.get_by_role("row").nth(1)
    expect(row).to_contain_text("Amira Test")
    expect(row).to_contain_text("10 September 2026")
    expect(row).to_contain_text("2 to 4 weeks")
    expect(row.get_by_role("link", name=counted["amira"].reference)).to_have_attribute(
        "href", f"/cases/{counted['amira'].reference}")
    with fresh_session(session) as fresh:
        viewed = fresh.exec(select(AuditEvent).where(
            AuditEvent.action == "dfe_return.children_viewed")).all()
    assert [e.detail for e in viewed] == [{"census_date": "2026-10-01", "measure": "by_reason",
                                           "category": "Mental health", "children": 1}]

    # The warning links to its child.
    page.get_by_role("button", name="1 child counted with no episode start date",
                     exact=False).click()
    expect(page.locator(".children-list")).to_contain_text("Bilal Test")

    # A bad EHE file is refused with a specific error and changes nothing; a good one counts.
    choose_ehe_file(page, tmp_path, "bad.csv", EHE_BAD)
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Row 3: 'Boy' is not a category of by_sex")
    expect(summary.get_by_role("link")).to_have_attribute("href", re.compile(r"#ehe_file$"))
    ehe = page.get_by_role("region", name="Elective home education (EHE)")
    expect(ehe).to_contain_text("No EHE counts have been imported")
    choose_ehe_file(page, tmp_path, "good.csv", EHE_GOOD)
    expect(page.locator("#return-message")).to_contain_text("EHE counts imported: 5 figures.")
    expect(ehe.locator(".stat").first).to_contain_text("5 electively home educated")

    screenshot(page, "dfe-return-desktop")
    assert_fits(page, DESKTOP["width"])
    assert_no_axe_violations(page, "dfe-return-desktop")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the return (XLSX)").click()
    assert download.value.suggested_filename == "dfe-return-2026-10-01.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    counts = {(r[0], r[1]): r[2]
              for r in book["CME counts"].iter_rows(min_row=2, values_only=True)}
    assert counts[("CME on census day", "Total")] == 2
    assert counts[("CME by primary reason", "Mental health")] == 1
    ehe_counts = {(r[0], r[1]): r[2]
                  for r in book["EHE counts"].iter_rows(min_row=2, values_only=True)}
    assert ehe_counts[("EHE on census day", "Total")] == 5
    names = [r[0] for r in book["Children on census day"].iter_rows(min_row=2,
                                                                    values_only=True)]
    assert sorted(names) == ["Amira Test", "Bilal Test"]
    with fresh_session(session) as fresh:
        export = fresh.exec(select(AuditEvent).where(
            AuditEvent.action == "dfe_return.export")).one()
    assert export.detail["format"] == "xlsx" and export.detail["census_date"] == "2026-10-01"


def test_the_return_fits_a_phone(page: Page, counted):
    sign_in(page, "lead@example.org", viewport=PHONE)
    page.goto("/reports/dfe-return")
    wait_for_hydration(page)
    expect(page.get_by_label("Census day shown")).to_have_value("2026-10-01")
    page.get_by_role("table", name="CME by sex").get_by_role(
        "button", name="2 children: Female").click()
    expect(page.locator(".children-list")).to_contain_text("Amira Test")
    page.locator("#reasons-title").click()
    assert_fits(page, PHONE["width"])
    screenshot(page, "dfe-return-phone")
    assert_no_axe_violations(page, "dfe-return-phone")


def test_the_auditor_reads_the_return_but_sets_nothing(page: Page, counted):
    sign_in(page, "auditor@example.org")
    open_return(page)
    expect(page.get_by_role("heading", name="Census days")).to_have_count(0)
    expect(page.get_by_role("button", name="Import the EHE counts")).to_have_count(0)
    page.get_by_role("button", name="2 children: Female").click()
    listed = page.locator(".children-list")
    expect(listed).to_contain_text("Amira Test")
    expect(listed.get_by_role("link")).to_have_count(0)  # no way into the case files
