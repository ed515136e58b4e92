"""The team lead's dashboard and the open-cases export, in Debian Chromium."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import AuditEvent, CaseClosure, CmeEpisode, Referral, StageChange
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)

HEADINGS = (
    "Children missing education",
    "Open cases by stage",
    "Open cases by risk",
    "Overdue cases by officer",
    "Time to locate a child",
    "Closed cases by outcome",
)


@pytest.fixture
def cases(session, team):
    """Open cases at several stages and risks, two of them overdue, one located, two closed;
    CME episodes for the children the located and closed cases found, and one still open."""
    school, officer = team["school"], team["officer"]
    now, today = datetime.now(UTC), date.today()

    def case(first: str, stage: str, risk: str | None = None, **fields):
        c = referrals.submit(session, actor=school,
                             form=example_referral_form(first_name=first, last_name="Test"))
        c.stage, c.risk = stage, risk
        for name, value in fields.items():
            setattr(c, name, value)
        session.add(c)
        return c

    made = {
        "overdue": case("Olive", "triage", "red", allocated_officer_id=officer.user_id,
                        triage_due_on=today - timedelta(days=3)),
        "unallocated": case("Umar", "new_referral", triage_due_on=today - timedelta(days=1)),
        "amber": case("Ava", "enquiries", "amber"),
        "located": case("Leo", "located", "green"),
        "closed": case("Cleo", "closed", "green", outcome="onroll_leeds",
                       closed_at=now - timedelta(hours=1)),
        "home_educated": case("Hana", "closed", "green", outcome="ehe",
                              closed_at=now - timedelta(hours=2)),
    }
    session.get(Referral, made["located"].referral_id).submitted_at = now - timedelta(days=14)
    for key in ("closed", "home_educated"):
        session.get(Referral, made[key].referral_id).submitted_at = now - timedelta(days=10)
    session.add(StageChange(case_id=made["located"].id, from_stage="enquiries",
                            to_stage="located", at=now - timedelta(days=7)))
    for key in ("closed", "home_educated"):
        c = made[key]
        session.add(CaseClosure(case_id=c.id, episode=1, outcome=c.outcome, status="closed",
                                closed_at=c.closed_at))
    # Time to locate counts from the episode's start; Ava is still missing education.
    for key, days, ended in (("located", 21, False), ("closed", 12, True),
                             ("home_educated", 12, True), ("amber", 30, False)):
        c = made[key]
        session.add(CmeEpisode(child_id=c.child_id, case_id=c.id,
                               start_date=today - timedelta(days=days),
                               start_basis="deleted_from_roll", primary_reason="Unknown",
                               end_date=today if ended else None,
                               end_reason="on_roll" if ended else None))
    session.commit()
    return made


def open_dashboard(page: Page) -> None:
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Team dashboard")


def assert_fits(page: Page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the dashboard scrolls sideways at {width} px ({scroll} px wide)"


def test_lead_sees_the_dashboard_and_downloads_open_cases(page: Page, cases, session):
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    open_dashboard(page)
    for heading in HEADINGS:
        expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
    # Every chart drew its bars: stage, risk, overdue and outcomes.
    expect(page.locator(".chart .recharts-wrapper > svg")).to_have_count(4)
    expect(page.locator(".chart .recharts-bar-rectangle").first).to_be_visible()
    cme = page.get_by_role("region", name="Children missing education")
    expect(cme).to_contain_text("2 missing education today")  # Leo (located) and Ava
    expect(cme.get_by_role("table", name="Children missing education today, by primary reason")
           ).to_contain_text("Unknown")
    stats = page.locator(".stats", has_text="open cases")
    expect(stats).to_contain_text("4 open cases")
    expect(stats).to_contain_text("2 overdue open cases")
    expect(stats).to_contain_text("2 closed in the last 12 months")
    expect(page.locator(".recharts-legend-item-text")).to_have_text(
        ["Located – on roll at a Leeds school", "Electively home educated"]
    )

    # The text alternative: each chart's numbers as a table.
    stage_card = page.get_by_role("region", name="Open cases by stage")
    stage_card.get_by_text("Show the data as a table").click()
    table = stage_card.get_by_role("table", name="Open cases by stage")
    expect(table.get_by_role("row", name="Triage 1")).to_be_visible()
    expect(table.get_by_role("row", name="Home visit 0")).to_be_visible()
    officers = page.get_by_role("region", name="Overdue cases by officer")
    officers.get_by_text("Show the data as a table").click()
    rows = officers.get_by_role("row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_have_accessible_name("Olu Officer 1")
    expect(rows.nth(2)).to_have_accessible_name("Unallocated 1")
    expect(page.get_by_role("region", name="Time to locate a child")).to_contain_text(
        "based on 3 cases"  # the located case and the two closed as found
    )
    assert_fits(page, DESKTOP["width"])
    screenshot(page, "dashboard-desktop")
    assert_no_axe_violations(page, "dashboard-desktop")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download open cases (CSV)").click()
    assert download.value.suggested_filename == f"open-cases-{date.today().isoformat()}.csv"
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    refs = {r[0] for r in rows[1:]}
    assert cases["overdue"].reference in refs and cases["closed"].reference not in refs
    assert len(refs) == 4
    olive = next(r for r in rows if r[0] == cases["overdue"].reference)
    assert olive[1:4] == ["Triage", "Red", "Olive"] and olive[10] == "Triage overdue"
    with fresh_session(session) as fresh:
        export = fresh.exec(select(AuditEvent).where(AuditEvent.action == "case.export")).one()
    assert export.detail == {"rows": 4}


def test_dashboard_fits_a_phone(page: Page, cases):
    sign_in(page, "lead@example.org", viewport=PHONE)
    open_dashboard(page)
    expect(page.locator(".chart .recharts-bar-rectangle").first).to_be_visible()
    for details in page.locator("details").all():
        details.locator("summary").click()
    assert_fits(page, PHONE["width"])
    screenshot(page, "dashboard-phone")
    assert_no_axe_violations(page, "dashboard-phone")


def test_officer_cannot_open_the_dashboard(page: Page, cases):
    sign_in(page, "officer@example.org")
    expect(page.get_by_role("link", name="Cases")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    page.goto("/dashboard")
    page.wait_for_url("**/board")
    expect(page.get_by_role("heading", level=1)).to_have_text("Case board")
    expect(page.locator("body")).not_to_contain_text("Team dashboard")
