"""Visits and lone working at a desk, in Debian Chromium: a lead edits a case's warning markers
and joint-visit flag and reviews a flagged visit on the case page, and an overdue visit's alert
reaches the board (and the dashboard), where the lead marks the officer safe.

Each journey builds its starting point through the services, then does the step under test in
the browser as the person who does it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from cme_app.models import Case, HomeVisit, LoneWorkingAlert
from cme_app.services.visits import lone_working
from cme_app.services.visits import phone_log as visits
from tests.e2e.helpers import (
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import checked_in_visit, make_case, stored_case

LONDON = ZoneInfo("Europe/London")
MARKERS = "Police marker (2025): father hostile to officials. Large dog at the property."


def red_case(session, team, stage: str = "enquiries") -> Case:
    case = make_case(
        session, stage=stage, risk="red", first_name="Jayden", last_name="Example",
        officer_id=team["officer"].user_id, school_id=team["school"].school_id,
    )
    session.commit()
    session.expunge(case)  # detached: reading it later can't start a transaction (SQLite lock)
    return case


def section(page: Page, anchor: str) -> Locator:
    return page.locator(f"section[aria-labelledby={anchor}]")


def expect_done(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(text)


def shot(part: Locator, name: str) -> None:
    """A screenshot of one part of the page, under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    part.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def visit_doc(case: Case, team, *, started: datetime, minutes: int = 30) -> dict:
    doc = checked_in_visit(
        case.reference, officer_id=team["officer"].user_id, buddy_id=team["lead"].user_id,
        at=started, minutes=minutes, address="7 Harehills Lane, Leeds LS8 5AA",
        risk_check_notes="Dog kept in the back room", accompanied=True,
        second_officer_id=team["officer2"].user_id,
    )
    return doc | {"created_offline": True}


def flagged_visit(session, team, case: Case) -> HomeVisit:
    """Olu logged a visit offline while the case moved on to Home visit: it reaches the server
    later, is kept, and is flagged for a lead."""
    started = datetime.now(UTC) - timedelta(hours=3)
    doc = visit_doc(case, team, started=started)
    doc["record"] = {
        "saved_at": (started + timedelta(minutes=20)).isoformat(),
        "outcome": "no_reply_vacant", "child_seen": "no", "seen_alone": "",
        "people_spoken_to": [{"name": "", "relationship": "Neighbour",
                              "description": "Woman at No. 9, about 60"}],
        "neighbours_spoken": "yes", "neighbours_said": "Family left about 3 weeks ago",
        "calling_card_left": "yes",
        "notes": "Post piled up behind the door. Curtains closed.",
        "opinion": "Looks as if the family has moved out.",
        "safeguarding_raised": "no", "mash_reference": "",
        "next_action": "Notify Bradford CME team",
        "next_action_due": (started + timedelta(days=3)).date().isoformat(),
    }
    doc["check_out"] = {"at": (started + timedelta(minutes=25)).isoformat()}
    answer = visits.sync_visit(session, actor=team["officer"], payload=doc,
                               now=started + timedelta(minutes=50))
    session.commit()
    assert answer["flagged"], answer
    with fresh_session(session) as fresh:
        return fresh.exec(
            select(HomeVisit).where(HomeVisit.client_uuid == doc["client_uuid"])
        ).one()


def test_lead_edits_visit_safety_and_reviews_a_flagged_visit(page: Page, team, session):
    case = red_case(session, team, stage="home_visit")
    visit = flagged_visit(session, team, case)
    sign_in(page, "lead@example.org", viewport=LAPTOP)  # lands on the board
    review = page.locator("details.review-visits")
    review.locator("summary").click()
    expect(review.locator("summary")).to_have_text("Visits to review (1)")
    expect(review).to_contain_text("Jayden Example")
    shot(review, "board-review-desktop")
    review.get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"**/cases/{case.reference}#visits")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)

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
    saved = stored_case(session, case.reference)
    assert (saved.warning_markers, saved.joint_visit_required) == (MARKERS, True)

    visits = section(page, "visits")
    item = visits.get_by_role("listitem").filter(has_text="Needs review")
    expect(item).to_contain_text("The case moved from Enquiries to Home visit")
    expect(item).to_contain_text("Warning markers reviewed: Dog kept in the back room")
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
    with fresh_session(session) as fresh:
        reviewed_by = fresh.get(HomeVisit, visit.id).flag_reviewed_by_id
    assert reviewed_by == team["lead"].user_id

    page.set_viewport_size(PHONE)
    shot(safety, "case-safety-phone")
    shot(visits, "case-visits-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the case page scrolls sideways at 360 px ({width} px)"
    assert_no_axe_violations(page, "case-visits-phone")

    page.goto("/board")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Case board")
    expect(page.locator("details.review-visits")).to_have_count(0)


def open_alerts(session) -> list[LoneWorkingAlert]:
    with fresh_session(session) as fresh:
        return fresh.exec(
            select(LoneWorkingAlert).where(LoneWorkingAlert.resolved_at.is_(None))
        ).all()


def overdue_visit(session, team, case: Case) -> datetime:
    """Olu checked in 40 minutes ago for 30 minutes, with Priya as buddy. The app's own
    monitor would alert Priya in 5 minutes; the test raises each step itself, earlier."""
    started = datetime.now(UTC) - timedelta(minutes=40)
    doc = visit_doc(case, team, started=started)
    doc["check_in"] |= {"accompanied": False, "second_officer_id": None,
                        "buddy_id": team["officer2"].user_id}
    visits.sync_visit(session, actor=team["officer"], payload=doc, now=started)
    session.commit()
    return started


def escalate(session, now: datetime) -> None:
    lone_working.escalate_overdue(session, now=now)
    session.commit()


def panel(page: Page) -> Locator:
    return page.get_by_role("region", name="Lone working")


def test_an_overdue_visit_alerts_the_lead_on_the_board_who_marks_the_officer_safe(
    page: Page, team, session
):
    case = red_case(session, team)
    started = overdue_visit(session, team, case)
    sign_in(page, "lead@example.org", viewport=LAPTOP)
    page.goto("/board")
    wait_for_hydration(page)
    expect(panel(page)).to_have_count(0)

    # The buddy is alerted. The app's own monitor runs in the server's worker, so its commit
    # reaches open boards through the change bus (tests/services/casework/test_board_events.py);
    # raised here from the test's process, which the server's bus does not hear, the alert
    # shows on the board's next load.
    escalate(session, started + timedelta(minutes=46))
    page.reload()
    wait_for_hydration(page)
    alert = panel(page).get_by_role("listitem")
    expect(alert).to_contain_text("Buddy alerted", timeout=10_000)
    expect(alert.get_by_role("alert")).to_contain_text(
        "Their buddy, Priya Patel, has been alerted."
    )
    # Then the leads: the same visit, now raised to this lead.
    escalate(session, started + timedelta(minutes=61))
    page.reload()
    wait_for_hydration(page)
    expect(alert).to_contain_text("Sent to you as team lead", timeout=10_000)
    expect(alert).to_have_count(1)
    expect(panel(page).get_by_role("heading")).to_have_text("Lone working: 1 visit overdue")
    expect(alert.get_by_role("alert")).to_contain_text("Olu Officer has not checked out")
    expect(alert).to_contain_text("7 Harehills Lane")
    expect(alert.get_by_role("link", name=case.reference)).to_be_visible()
    assert_no_axe_violations(page, "board-alerts")
    shot(panel(page), "board-alerts-desktop")
    screenshot(page, "board-with-alert-desktop", full_page=False)

    alert.get_by_role("button", name="Mark safe").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Enter what you did to check they are safe").click()
    expect(alert.get_by_label("What did you do to check they are safe?")).to_be_focused()
    assert len(open_alerts(session)) == 2  # Priya's as buddy and Lee's as the one lead

    page.set_viewport_size(PHONE)
    shot(panel(page), "board-alerts-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the board scrolls sideways at 360 px ({width} px)"
    assert_no_axe_violations(page, "board-alerts-phone")
    page.set_viewport_size(LAPTOP)

    # The case page shows the visit still under way, and overdue, in words.
    panel(page).get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"**/cases/{case.reference}?tab=visits")  # the alert opens Visits
    wait_for_hydration(page)
    under_way = section(page, "visits").get_by_role("listitem").first
    expected = (started + timedelta(minutes=30)).astimezone(LONDON).strftime("%H:%M")
    expect(under_way).to_contain_text(f"In progress — expected back {expected}")
    expect(under_way.locator(".tag").first).to_have_text("Overdue")
    expect(under_way).to_contain_text("Not recorded yet")
    shot(section(page, "visits"), "case-visit-overdue-desktop")
    assert_no_axe_violations(page, "case-visit-overdue")

    page.goto("/dashboard")
    wait_for_hydration(page)
    expect(panel(page).get_by_role("listitem")).to_have_count(1)
    assert_no_axe_violations(page, "dashboard-alerts")
    screenshot(page, "dashboard-with-alert-desktop", full_page=False)

    page.goto("/board")
    wait_for_hydration(page)
    alert = panel(page).get_by_role("listitem")
    note = alert.get_by_label("What did you do to check they are safe?")
    note.fill("Rang Olu at 10:52: safe, leaving.")
    alert.get_by_role("button", name="Mark safe").click()
    expect(panel(page).get_by_role("status")).to_have_text(
        "Marked safe. Your note is kept with the visit."
    )
    expect(panel(page).get_by_role("listitem")).to_have_count(0)
    assert open_alerts(session) == []
