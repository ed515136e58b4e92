"""Visits and lone working at a desk, in Debian Chromium: a lead edits a case's warning markers
and joint-visit flag and reviews a flagged visit on the case page, and an overdue visit's alert
reaches the board (and the dashboard), where the lead marks the officer safe.

Each journey builds its starting point through the services, then does the step under test in
the browser as the person who does it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from cme_app.models import Case, HomeVisit, LoneWorkingAlert
from cme_app.services.term_dates import seed_term_dates
from tests.e2e.helpers import SCREENSHOTS, assert_no_axe_violations, wait_for_hydration
from tests.factories import PASSWORD, make_case, make_school, make_user

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
MARKERS = "Police marker (2025): father hostile to officials. Large dog at the property."


@pytest.fixture
def team(session):
    school = make_school(session, "107999", "Aire Valley Primary School")
    seed_term_dates(session)
    people = {
        "lead": make_user(session, "lead", email="lead@example.org", name="Lee Lead"),
        "officer": make_user(session, "officer", email="officer@example.org",
                             name="Olu Officer"),
        "officer2": make_user(session, "officer", email="officer2@example.org",
                              name="Priya Patel"),
    }
    session.commit()
    return {"school": school, **people}


def red_case(session, team) -> Case:
    case = make_case(
        session, stage="enquiries", risk="red", first_name="Jayden", last_name="Example",
        officer_id=team["officer"].user_id, school_id=team["school"].id,
    )
    session.commit()
    return case


def sign_in(page: Page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    wait_for_hydration(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    wait_for_hydration(page)


def open_case(page: Page, reference: str) -> None:
    page.goto(f"/cases/{reference}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def section(page: Page, anchor: str) -> Locator:
    return page.locator(f"section[aria-labelledby={anchor}]")


def expect_done(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(text)


def shot(part: Locator, name: str) -> None:
    """A screenshot of one part of the page, under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    part.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def fresh_case(session, reference: str) -> Case:
    session.expire_all()
    case = session.exec(select(Case).where(Case.reference == reference)).one()
    session.expunge(case)
    session.rollback()  # SQLite: don't hold the lock the server needs
    return case


def flagged_visit(session, team, case: Case) -> HomeVisit:
    """A visit the phone logged offline while the case moved on: kept, and flagged."""
    checked_in = datetime.now(UTC) - timedelta(hours=3)
    visit = HomeVisit(
        client_uuid=str(uuid.uuid4()), case_id=case.id, visited_on=checked_in.date(),
        address="7 Harehills Lane, Leeds LS8 5AA", officer_id=team["officer"].user_id,
        risk_check_done=True, accompanied=True, second_officer_id=team["officer2"].user_id,
        buddy_id=team["lead"].user_id, checked_in_at=checked_in, expected_minutes=30,
        expected_end_at=checked_in + timedelta(minutes=30),
        checked_out_at=checked_in + timedelta(minutes=25), outcome="no_reply_vacant",
        people_spoken_to=[{"name": "", "relationship": "Neighbour",
                           "description": "Woman at No. 9, about 60"}],
        neighbours_spoken=True, neighbours_said="Family left about 3 weeks ago",
        calling_card_left=True, notes="Post piled up behind the door. Curtains closed.",
        opinion="Looks as if the family has moved out.", next_action="Notify Bradford",
        next_action_due=checked_in.date() + timedelta(days=3),
        record_saved_at=checked_in + timedelta(minutes=20), created_offline=True,
        synced_at=checked_in + timedelta(minutes=50),
        flag_reason="The case moved from Enquiries to Home visit while this visit was offline.",
    )
    session.add(visit)
    session.commit()
    return visit


def test_lead_edits_visit_safety_and_reviews_a_flagged_visit(page: Page, team, session):
    case = red_case(session, team)
    visit = flagged_visit(session, team, case)
    page.set_viewport_size(DESKTOP)
    sign_in(page, "lead@example.org")
    open_case(page, case.reference)

    safety = section(page, "safety")
    expect(safety).to_contain_text("None recorded")
    safety.locator("summary", has_text="Change visit safety").click()
    safety.get_by_label("Warning markers").fill("x" * 1001)
    safety.get_by_role("button", name="Save visit safety").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Use 1000 characters or fewer").click()
    expect(safety.get_by_label("Warning markers")).to_be_focused()
    assert_no_axe_violations(page, "visit-safety-error")

    safety.get_by_label("Warning markers").fill(MARKERS)
    safety.get_by_label("Joint visit required").check()
    safety.get_by_role("button", name="Save visit safety").click()
    expect_done(page, "Visit safety saved")
    expect(safety).to_contain_text(MARKERS)
    expect(safety.locator(".warning-text")).to_contain_text(
        "Joint visit required. A visit can't start with only one officer."
    )
    saved = fresh_case(session, case.reference)
    assert (saved.warning_markers, saved.joint_visit_required) == (MARKERS, True)

    visits = section(page, "visits")
    item = visits.get_by_role("listitem").filter(has_text="Needs review")
    expect(item).to_contain_text("The case moved from Enquiries to Home visit")
    expect(item).to_contain_text("Olu Officer with Priya Patel (accompanied)")
    expect(item).to_contain_text("Woman at No. 9, about 60 (Neighbour)")
    expect(item.locator(".visit__obs").first).to_contain_text("Post piled up behind the door")
    expect(item.locator(".visit__obs").last).to_contain_text("Looks as if the family has moved")
    expect(item).to_contain_text("Recorded offline, sent")
    expect(visits.get_by_role("link", name="Start a visit on your phone")).to_have_attribute(
        "href", f"/visits/new?case={case.reference}"
    )
    assert_no_axe_violations(page, "case-visits")
    shot(safety, "case-safety-desktop")
    shot(visits, "case-visits-desktop")

    item.get_by_role("button", name="Mark reviewed").click()
    expect_done(page, "Visit marked as reviewed")
    expect(visits).to_contain_text("Reviewed by Lee Lead")
    expect(visits.get_by_role("button", name="Mark reviewed")).to_have_count(0)
    session.expire_all()
    assert session.get(HomeVisit, visit.id).flag_reviewed_by_id == team["lead"].user_id
    session.rollback()

    page.set_viewport_size(PHONE)
    shot(safety, "case-safety-phone")
    shot(visits, "case-visits-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the case page scrolls sideways at 360 px ({width} px)"
    assert_no_axe_violations(page, "case-visits-phone")


def open_alerts(session) -> list[LoneWorkingAlert]:
    session.expire_all()
    rows = session.exec(
        select(LoneWorkingAlert).where(LoneWorkingAlert.resolved_at.is_(None))
    ).all()
    session.rollback()
    return rows


def overdue_visit(session, team, case: Case) -> HomeVisit:
    """Olu checked in 75 minutes ago for 30 minutes, with Priya as buddy, and never ended."""
    checked_in = datetime.now(UTC) - timedelta(minutes=75)
    visit = HomeVisit(
        client_uuid=str(uuid.uuid4()), case_id=case.id, visited_on=checked_in.date(),
        address="7 Harehills Lane, Leeds LS8 5AA", officer_id=team["officer"].user_id,
        risk_check_done=True, buddy_id=team["officer2"].user_id, checked_in_at=checked_in,
        expected_minutes=30, expected_end_at=checked_in + timedelta(minutes=30),
    )
    session.add(visit)
    session.commit()
    return visit


def escalate(session, team, visit: HomeVisit) -> None:
    now = datetime.now(UTC)
    for level, who in (("buddy", "officer2"), ("lead", "lead")):
        session.add(LoneWorkingAlert(visit_id=visit.id, level=level,
                                     recipient_id=team[who].user_id, raised_at=now))
    session.commit()


def panel(page: Page) -> Locator:
    return page.get_by_role("region", name="Lone working")


def test_an_overdue_visit_alerts_the_lead_on_the_board_who_marks_the_officer_safe(
    page: Page, team, session
):
    case = red_case(session, team)
    visit = overdue_visit(session, team, case)
    page.set_viewport_size(DESKTOP)
    sign_in(page, "lead@example.org")
    page.goto("/board")
    wait_for_hydration(page)
    expect(panel(page)).to_have_count(0)

    escalate(session, team, visit)  # while the board is open: the next poll brings it
    alert = panel(page).get_by_role("listitem").filter(has_text="Sent to team leads")
    expect(alert).to_be_visible(timeout=10_000)
    expect(alert.get_by_role("alert")).to_contain_text("Olu Officer has not checked out")
    expect(alert).to_contain_text("7 Harehills Lane")
    expect(alert.get_by_role("link", name=case.reference)).to_be_visible()
    assert_no_axe_violations(page, "board-alerts")
    shot(panel(page), "board-alerts-desktop")

    alert.get_by_role("button", name="Mark safe").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()
    assert len(open_alerts(session)) == 2

    page.set_viewport_size(PHONE)
    shot(panel(page), "board-alerts-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the board scrolls sideways at 360 px ({width} px)"
    assert_no_axe_violations(page, "board-alerts-phone")
    page.set_viewport_size(DESKTOP)

    page.goto("/dashboard")
    wait_for_hydration(page)
    expect(panel(page).get_by_role("listitem")).to_have_count(2)
    assert_no_axe_violations(page, "dashboard-alerts")

    page.goto("/board")
    wait_for_hydration(page)
    alert = panel(page).get_by_role("listitem").filter(has_text="Sent to team leads")
    alert.get_by_label("How do you know they are safe?").fill("Rang Olu at 10:52: safe, leaving.")
    alert.get_by_role("button", name="Mark safe").click()
    expect(panel(page).get_by_role("status")).to_have_text(
        "Marked safe. Your note is kept with the visit."
    )
    expect(panel(page).get_by_role("listitem")).to_have_count(0)
    assert open_alerts(session) == []
