"""The officer's phone visit log (/visits, /visits/new?case=REF) in Chromium with a phone
viewport: the safety check, the visit record, the offline outbox and its replay, and sign-out
with visits still waiting.

Every journey seeds an allocated case through the services, then does the visit in the browser
as the officer would, and reads the database afterwards to count what reached the server.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, timedelta

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError
from sqlmodel import select

from cme_app.models import Case, HomeVisit, LoneWorkingAlert, User, utcnow
from cme_app.ops.demo import example_referral_form
from cme_app.services.trust import mfa
from cme_app.services.visits import lone_working
from cme_app.services.visits import phone_log as visits
from tests.conftest import TEST_DB_URL
from tests.e2e.helpers import (
    ARTIFACTS,
    LAPTOP,
    PHONE,
    ROOT,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import case_in_enquiries, checked_in_visit

pytestmark = pytest.mark.team(extra=("second", "buddy"))  # a second officer and a buddy
ON_A_PHONE = {"viewport": PHONE, "is_mobile": True, "has_touch": True}  # browser context args
ON_A_LAPTOP = {"viewport": LAPTOP}
MARKERS = "Dog at the property. Father hostile to officials in 2025."
SYNC_TIMEOUT = 30_000
# Resolves once the service worker is active and controls the page (it claims open pages).
# Fails after 20 s instead of hanging the run if the worker never takes the page over.
SW_CONTROLS_JS = """async () => {
  const controlled = (async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener(
        "controllerchange", resolve, {once: true}));
    }
    return true;
  })();
  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error("service worker never controlled the page")), 20000));
  return Promise.race([controlled, timeout]);
}"""


# ----- Seeding ----------------------------------------------------------------------------


def allocated_case(session, team, *, joint: bool = False, markers: str | None = None,
                   first_name: str = "Amira") -> str:
    """A Green case in Enquiries, allocated to the officer (as a school and a lead make it)."""
    reference = case_in_enquiries(session, team, example_referral_form(first_name=first_name))
    if joint or markers:
        row = session.exec(select(Case).where(Case.reference == reference)).one()
        row.joint_visit_required = joint
        row.warning_markers = markers
        session.add(row)
        session.commit()
    return reference


def visits_for(session, reference: str) -> list[HomeVisit]:
    with fresh_session(session) as fresh:
        case = fresh.exec(select(Case).where(Case.reference == reference)).one()
        return list(fresh.exec(select(HomeVisit).where(HomeVisit.case_id == case.id)))


# ----- Browser helpers --------------------------------------------------------------------


def phone(new_context, **extra) -> Page:
    return new_context(**ON_A_PHONE, **extra).new_page()


def open_visits(page: Page) -> None:
    page.goto("/visits")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", name="Your cases", exact=False)).to_be_visible()


def waiting(page: Page, n: int, timeout: float = SYNC_TIMEOUT) -> None:
    expect(page.get_by_text(f"Waiting to send ({n})", exact=True)).to_be_visible(timeout=timeout)


def start_from_list(page: Page, reference: str) -> None:
    page.get_by_role("link", name=f"Start a visit for {reference}").click()
    page.wait_for_url(re.compile(r"/visits/new/?\?case="))
    expect(page.get_by_role("heading", name="Before you go")).to_be_visible()


def check_in(page: Page, *, second: str | None = None, buddy: str = "Bea Buddy",
             minutes: str = "30 minutes") -> None:
    page.get_by_label("I have reviewed the warning markers").check()
    if second:
        page.get_by_label(re.compile(r"^Second officer")).select_option(label=second)
    page.get_by_label("Your buddy").select_option(label=buddy)
    page.get_by_label("How long will the visit take?").select_option(label=minutes)
    page.get_by_role("button", name="Start visit").click()
    expect(page.get_by_role("heading", name="The visit")).to_be_visible()


def radio(page: Page, legend: str, option: str) -> None:
    page.get_by_role("group", name=legend, exact=True).get_by_label(option, exact=True).check()


def record(page: Page, *, due: str | None = None) -> None:
    # "Child seen" is asked first; the outcome is asked only when the child was not seen.
    radio(page, "Child seen", "No")
    radio(page, "Outcome", "No reply, property appears vacant")
    people = page.get_by_role("group", name="People spoken to")
    people.get_by_label("Relationship to the child").select_option("Neighbour")
    people.get_by_label("Description, if they won’t give a name").fill("Woman at No. 14, about 60")
    radio(page, "Neighbours spoken to", "Yes")
    page.get_by_label("What neighbours said").fill("Family left about 3 weeks ago")
    radio(page, "Calling card left", "Yes")
    page.get_by_label("Notes", exact=True).fill("Post piled up behind the door. Curtains closed.")
    page.get_by_label("Your opinion").fill("Looks as if the family has moved out.")
    radio(page, "Safeguarding concern raised", "No")
    page.get_by_label("Next action", exact=True).fill("Notify Bradford CME team")
    page.get_by_label("Next action due").fill(due or (date.today() + timedelta(days=3)).isoformat())


def save_and_end(page: Page) -> None:
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("heading", name="Visit record saved")).to_be_visible()
    expect(page.get_by_role("button", name="End visit")).to_be_enabled()
    page.get_by_role("button", name="End visit").click()
    expect(page.get_by_role("heading", name="Visit saved")).to_be_visible()


def outbox_count(page: Page) -> int:
    return page.evaluate("() => window.cmeOutbox.count()")


def assert_in_view(page: Page, locator) -> None:
    """The element is inside the viewport (top and bottom), as a person would see it."""
    box = locator.evaluate("el => { const r = el.getBoundingClientRect();"
                           " return {top: r.top, bottom: r.bottom, height: innerHeight}; }")
    assert box["top"] >= 0 and box["bottom"] <= box["height"], box


def assert_fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways at 360 px ({width} px wide)"


# ----- Journeys ---------------------------------------------------------------------------


def test_full_visit_logged_online(new_context, team, session):
    reference = allocated_case(session, team, joint=True, markers=MARKERS)
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    open_visits(page)
    waiting(page, 0)
    card = page.get_by_role("listitem").filter(has_text=reference)
    expect(card).to_contain_text("Joint visit required")
    expect(card).to_contain_text(MARKERS)
    expect(card).to_contain_text("Green risk")
    assert_fits(page)
    screenshot(page, "visits-phone-list")
    start_from_list(page, reference)

    # Start visit is never disabled: pressed with nothing done, it says what is missing, with
    # a link to each field (the safety check; a joint visit's second officer; buddy; length).
    start = page.get_by_role("button", name="Start visit")
    expect(page.get_by_text(MARKERS)).to_be_visible()
    expect(start).to_be_enabled()
    start.click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text([
        "Confirm you have reviewed the warning markers",
        "Choose the officer who is going with you",
        "Choose your buddy: a colleague who will check you are safe",
        "Choose how long the visit will take, from 15 minutes to 2 hours",
    ])
    summary.get_by_role("link", name="Confirm you have reviewed the warning markers").click()
    expect(page.get_by_label("I have reviewed the warning markers")).to_be_focused()
    screenshot(page, "visits-phone-start-visit-missing")
    page.get_by_label("I have reviewed the warning markers").check()
    page.get_by_label("Second officer (required)").select_option(label="Sam Second")
    assert_fits(page)
    screenshot(page, "visits-phone-before-you-go")
    check_in(page, second="Sam Second")
    expect(page.get_by_role("status").filter(has_text="Sent to the office")).to_be_visible(
        timeout=SYNC_TIMEOUT)
    screenshot(page, "visits-phone-record")
    record(page)
    # The app takes no photos: the form offers no way to take or attach one.
    expect(page.locator("input[type=file]")).to_have_count(0)
    expect(page.get_by_text(re.compile("photo", re.IGNORECASE))).to_have_count(0)
    page.get_by_role("button", name="Add another person").click()
    people = page.get_by_role("group", name="People spoken to")
    person2 = people.get_by_role("group", name="Person 2")
    expect(person2.get_by_label("Name", exact=True)).to_be_focused()
    person2.get_by_label("Name", exact=True).fill("Mrs Patel")
    person2.get_by_label("Relationship to the child").select_option("Landlord or agent")
    assert_fits(page)
    save_and_end(page)
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^Sent$"))).to_be_visible(
        timeout=SYNC_TIMEOUT)
    screenshot(page, "visits-phone-done")
    assert outbox_count(page) == 0

    rows = visits_for(session, reference)
    assert len(rows) == 1
    visit = rows[0]
    assert visit.outcome == "no_reply_vacant"
    assert visit.child_seen is False
    assert visit.calling_card_left is True
    assert visit.neighbours_spoken is True
    assert visit.neighbours_said == "Family left about 3 weeks ago"
    assert visit.notes == "Post piled up behind the door. Curtains closed."
    assert visit.opinion == "Looks as if the family has moved out."
    assert visit.safeguarding_raised is False
    assert visit.next_action == "Notify Bradford CME team"
    assert visit.risk_check_done is True
    assert visit.accompanied is True
    assert visit.second_officer_id == team["second"].user_id
    assert visit.buddy_id == team["buddy"].user_id
    assert visit.expected_minutes == 30
    assert visit.checked_in_at is not None and visit.checked_out_at is not None
    assert visit.created_offline is False
    assert [p.get("relationship") for p in visit.people_spoken_to] == [
        "Neighbour", "Landlord or agent"]
    assert visit.people_spoken_to[0].get("description") == "Woman at No. 14, about 60"
    assert visit.people_spoken_to[1].get("name") == "Mrs Patel"

    # A lead at a desk sees it on the case page.
    page.wait_for_load_state("networkidle")
    desk = new_context(**ON_A_LAPTOP).new_page()
    sign_in(desk, "lead@example.org")
    desk.goto(f"/cases/{reference}?tab=visits")
    wait_for_hydration(desk)
    section = desk.get_by_role("region", name="Visits", exact=True)
    expect(section).to_contain_text("No reply, property appears vacant")
    expect(section).to_contain_text("Post piled up behind the door")


@pytest.mark.browser_context_args(service_workers="allow")  # offline needs the worker
def test_visit_saved_offline_survives_a_reload_and_is_sent_once_online(new_context, team,
                                                                         session):
    reference = allocated_case(session, team)
    context: BrowserContext = new_context(**ON_A_PHONE)
    page = context.new_page()
    sign_in(page, "officer@example.org")
    open_visits(page)
    # The service worker (production build) caches the shell for offline use.
    page.evaluate(SW_CONTROLS_JS)
    expect(page.get_by_text(reference).first).to_be_visible()
    start_from_list(page, reference)
    wait_for_hydration(page)

    context.set_offline(True)
    check_in(page)
    record(page)
    save_and_end(page)
    expect(page.get_by_role("status").filter(has_text="Waiting to send")).to_have_text(
        "Waiting to send — it will be sent when you have signal")
    screenshot(page, "visits-phone-done-offline")

    page.goto("/visits")  # a full reload with no network
    waiting(page, 1)
    expect(page.get_by_text(re.compile(r"Showing the list saved at \d\d:\d\d"))).to_be_visible()
    expect(page.get_by_text(reference).first).to_be_visible()
    assert_fits(page)
    screenshot(page, "visits-phone-offline-waiting")
    assert visits_for(session, reference) == []

    context.set_offline(False)
    waiting(page, 0)
    expect(page.get_by_text(re.compile(r"Last sent \d\d:\d\d"))).to_be_visible()
    rows = visits_for(session, reference)
    assert len(rows) == 1
    assert rows[0].created_offline is True
    assert rows[0].checked_out_at is not None and rows[0].outcome == "no_reply_vacant"
    page.wait_for_load_state("networkidle")


def test_server_stopped_mid_sync_gives_exactly_one_visit(new_context, team, session):
    before_commit = allocated_case(session, team, first_name="Aisha")
    after_commit = allocated_case(session, team, first_name="Bilal")
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    posts: list[tuple[str, str]] = []  # (client_uuid, what happened)
    plan = {"mode": "", "done": False}

    def server(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = route.request.post_data_json
        uuid = body["client_uuid"]
        if plan["done"]:
            posts.append((uuid, "through"))
            route.continue_()
        elif plan["mode"] == "before commit":
            # The very first send of the visit (its check-in) never reaches the database.
            plan["done"] = True
            posts.append((uuid, "before commit"))
            route.abort("connectionreset")
        elif body.get("check_out"):
            # The send that ends the visit is stored, but the answer never comes back.
            plan["done"] = True
            response = route.fetch()
            assert response.status == 200, response.text()
            posts.append((uuid, "after commit"))
            route.abort("connectionreset")
        else:
            posts.append((uuid, "through"))
            route.continue_()

    page.route("**/api/v1/visits", server)

    for reference, mode in ((before_commit, "before commit"), (after_commit, "after commit")):
        plan.update(mode=mode, done=False)
        open_visits(page)
        start_from_list(page, reference)
        check_in(page)
        record(page)
        save_and_end(page)
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^Sent$"))).to_be_visible(
            timeout=SYNC_TIMEOUT)
        rows = visits_for(session, reference)
        assert len(rows) == 1, f"{mode}: {len(rows)} rows"
        assert rows[0].checked_out_at is not None
        uuids = {u for u, _ in posts if u == rows[0].client_uuid}
        assert uuids == {rows[0].client_uuid}
        died = [what for u, what in posts if u == rows[0].client_uuid and what != "through"]
        assert died == [mode], posts
        retried = [what for u, what in posts if u == rows[0].client_uuid and what == "through"]
        assert retried, "the visit was never sent again"
    assert outbox_count(page) == 0
    page.wait_for_load_state("networkidle")


def test_visit_pages_have_no_serious_accessibility_problems(new_context, team, session):
    reference = allocated_case(session, team, joint=True, markers=MARKERS)
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    open_visits(page)
    assert_no_axe_violations(page, "visits-list")
    start_from_list(page, reference)
    assert_no_axe_violations(page, "visits-before")

    # Start visit with only the check ticked and the second officer chosen: error summary.
    page.get_by_label("I have reviewed the warning markers").check()
    page.get_by_label("Second officer (required)").select_option(label="Sam Second")
    page.get_by_role("button", name="Start visit").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    buddy = "Choose your buddy: a colleague who will check you are safe"
    expect(summary.get_by_role("link", name=buddy)).to_be_visible()
    summary.get_by_role("link", name=buddy).click()
    expect(page.get_by_label("Your buddy")).to_be_focused()
    screenshot(page, "visits-phone-before-errors")
    assert_no_axe_violations(page, "visits-before-errors")

    page.get_by_label("Your buddy").select_option(label="Bea Buddy")
    page.get_by_label("How long will the visit take?").select_option(label="45 minutes")
    page.get_by_role("button", name="Start visit").click()
    expect(page.get_by_role("heading", name="The visit")).to_be_visible()
    assert_no_axe_violations(page, "visits-record")

    # "Child seen" is asked once: yes needs no outcome (it is "Child seen and safe"); no asks
    # for one of the others, never "Child seen and safe", so the two can't contradict.
    radio(page, "Child seen", "Yes")
    expect(page.get_by_role("group", name="Outcome", exact=True)).to_have_count(0)
    radio(page, "Child seen", "No")
    outcome = page.get_by_role("group", name="Outcome", exact=True)
    expect(outcome.get_by_label("Child seen and safe")).to_have_count(0)
    page.get_by_role("group", name="Person 1").get_by_label("Name", exact=True).fill("Mr Khan")
    page.get_by_role("button", name="Save visit").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    for message in ("Choose the outcome of the visit",
                    "Person 1: choose how they are related to the child",
                    "Say whether you left a calling card",
                    "Enter the next action",
                    "Enter the date the next action is due"):
        expect(summary.get_by_role("link", name=message)).to_be_visible()
    summary.get_by_role("link", name="Person 1: choose how they are related to the child").click()
    expect(page.get_by_label("Relationship to the child")).to_be_focused()
    # GOV.UK's behaviour: the field's label (and its message) stay in view above it.
    assert_in_view(page, page.get_by_text("Relationship to the child", exact=True))
    assert_in_view(page, page.get_by_label("Relationship to the child"))
    summary.get_by_role("link", name="Enter the next action").click()
    expect(page.get_by_label("Next action", exact=True)).to_be_focused()
    assert_in_view(page, page.locator("label[for=record-next_action]"))
    assert_in_view(page, page.locator("#record-next_action-error"))
    screenshot(page, "visits-phone-error-link-in-view", full_page=False)
    # End visit before saving: never a disabled button, it says what to do first.
    page.get_by_role("button", name="End visit").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("link")).to_have_text(
        ["Save the visit record before you end the visit"])
    summary.get_by_role("link").click()
    expect(page.get_by_role("button", name="Save visit")).to_be_focused()
    assert_fits(page)
    screenshot(page, "visits-phone-record-errors")
    assert_no_axe_violations(page, "visits-record-errors")

    # Desktop width too.
    page.set_viewport_size(LAPTOP)
    screenshot(page, "visits-desktop-record-errors")
    page.goto("/visits")
    wait_for_hydration(page)
    expect(page.get_by_text("Visits in progress")).to_be_visible()
    waiting(page, 0)
    screenshot(page, "visits-desktop-list")
    assert_no_axe_violations(page, "visits-list-in-progress")
    assert visits_for(session, reference)[0].outcome is None  # checked in, not recorded


def test_sign_out_with_an_unsent_visit_asks_first_and_keeps_it(new_context, team, session):
    reference = allocated_case(session, team)
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    open_visits(page)
    page.route("**/api/v1/visits", lambda route: route.abort("connectionrefused"))
    start_from_list(page, reference)
    check_in(page)
    record(page)
    save_and_end(page)
    expect(page.get_by_role("status").filter(has_text="Waiting to send")).to_be_visible()
    assert outbox_count(page) == 1

    messages: list[str] = []

    def dismiss(dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Sign out").click()
    for _ in range(100):
        if messages:
            break
        page.wait_for_timeout(100)
    assert len(messages) == 1
    assert messages[0].startswith("1 visit on this phone has not been sent."), messages
    assert "Sign out anyway?" in messages[0]
    # Dismissed: still signed in, and the visit is still waiting.
    expect(page).to_have_url(re.compile(r"/visits/new/?\?"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert outbox_count(page) == 1
    assert visits_for(session, reference) == []

    # If the session ends some other way, the login page says visits are waiting.
    page.context.clear_cookies()
    page.goto("/login")
    wait_for_hydration(page)
    expect(page.get_by_text(
        "1 visit is waiting to be sent from this phone. Sign in to send it.")).to_be_visible()
    screenshot(page, "visits-phone-login-waiting")
    assert_no_axe_violations(page, "login-waiting")

    # Signing in again sends it (the server is reachable again).
    page.unroute("**/api/v1/visits")
    sign_in(page, "officer@example.org")
    for _ in range(100):
        if outbox_count(page) == 0:
            break
        page.wait_for_timeout(200)
    assert outbox_count(page) == 0
    rows = visits_for(session, reference)
    assert len(rows) == 1 and rows[0].checked_out_at is not None


def test_sign_out_with_nothing_waiting_signs_out_at_once(new_context, team, session):
    allocated_case(session, team)
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    open_visits(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    wait_for_hydration(page)
    assert dialogs == []
    # The phone's cached case list went with the session.
    assert page.evaluate("() => window.cmeOutbox.loadMine()") is None


@pytest.mark.browser_context_args(service_workers="allow")  # the list reloads offline
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_visit_screens_at_phone_and_desktop_width(new_context, team, session, size):
    """Every screen of a visit, for people to look at (test-artifacts/screenshots)."""
    reference = allocated_case(session, team, joint=True, markers=MARKERS)
    context = new_context(**(ON_A_PHONE if size == "phone" else ON_A_LAPTOP))
    page = context.new_page()
    sign_in(page, "officer@example.org")
    open_visits(page)
    page.evaluate(SW_CONTROLS_JS)
    screenshot(page, f"visits-{size}-1-list")
    start_from_list(page, reference)
    screenshot(page, f"visits-{size}-2-before-you-go")
    page.get_by_label("I have reviewed the warning markers").check()
    page.get_by_label("Second officer (required)").select_option(label="Sam Second")
    page.get_by_role("button", name="Start visit").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    screenshot(page, f"visits-{size}-3-before-you-go-errors")
    page.get_by_label("Your buddy").select_option(label="Bea Buddy")
    page.get_by_label("How long will the visit take?").select_option(label="1 hour")
    page.get_by_role("button", name="Start visit").click()
    expect(page.get_by_role("heading", name="The visit")).to_be_visible()
    screenshot(page, f"visits-{size}-4-record")
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_focused()
    screenshot(page, f"visits-{size}-5-record-errors")
    context.set_offline(True)
    record(page)
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("heading", name="Visit record saved")).to_be_visible()
    screenshot(page, f"visits-{size}-6-end-visit")
    page.get_by_role("button", name="End visit").click()
    expect(page.get_by_role("heading", name="Visit saved")).to_be_visible()
    screenshot(page, f"visits-{size}-7-done-offline")
    page.get_by_role("link", name="Back to your visits").click()
    waiting(page, 1)
    expect(page.get_by_text(re.compile(r"Showing the list saved at"))).to_be_visible()
    screenshot(page, f"visits-{size}-8-list-offline-waiting")
    if size == "phone":
        assert_fits(page)
    context.set_offline(False)
    waiting(page, 0)
    page.wait_for_load_state("networkidle")


def test_overdue_visit_alerts_the_buddy_who_marks_it_safe_and_the_officer_ends_it(
    new_context, team, session
):
    reference = allocated_case(session, team, first_name="Chloe")
    # Olu checked in two hours ago on another phone, for 15 minutes, and never checked out.
    started = utcnow() - timedelta(hours=2)
    client_uuid = str(uuid.uuid4())
    visits.sync_visit(session, actor=team["officer"], payload=checked_in_visit(
        reference, officer_id=team["officer"].user_id, buddy_id=team["buddy"].user_id,
        at=started, minutes=15, address="14 Example Street, Leeds",
    ) | {"client_uuid": client_uuid})
    lone_working.escalate_overdue(session, now=utcnow())
    session.commit()

    buddy = phone(new_context)
    sign_in(buddy, "buddy@example.org")
    open_visits(buddy)
    alerts = buddy.get_by_role("region", name="Lone-working alerts")
    expect(alerts).to_contain_text("Olu Officer has not checked out of a visit")
    note = alerts.get_by_label("What you did to check they are safe")
    alerts.get_by_role("button", name="Mark safe").click()
    expect(alerts.get_by_text("Enter what you did to check they are safe").first).to_be_visible()
    screenshot(buddy, "visits-phone-alert-for-buddy")
    assert_no_axe_violations(buddy, "visits-alert")
    note.fill("Phoned Olu at 10:52, safe and leaving")
    alerts.get_by_role("button", name="Mark safe").click()
    expect(buddy.get_by_role("region", name="Lone-working alerts")).to_have_count(0)
    with fresh_session(session) as fresh:
        raised = fresh.exec(select(LoneWorkingAlert)).all()
    assert {a.level for a in raised} == {"buddy", "lead"}  # two hours late: leads too
    assert all(a.resolved_at is not None and a.resolved_by_id == team["buddy"].user_id
               for a in raised)

    # Olu's phone has nothing of this visit, but the server's list lets Olu carry on.
    officer = phone(new_context)
    sign_in(officer, "officer@example.org")
    open_visits(officer)
    expect(officer.get_by_role("region", name="Lone-working alerts")).to_contain_text(
        "End your visit")
    in_progress = officer.get_by_role("region", name="Visits in progress")
    expect(in_progress).to_contain_text(reference)
    in_progress.get_by_role("link", name=f"Continue visit to {reference}").click()
    expect(officer.get_by_role("heading", name="The visit")).to_be_visible()
    record(officer)
    save_and_end(officer)
    expect(officer.get_by_role("status").filter(has_text=re.compile(r"^Sent$"))).to_be_visible(
        timeout=SYNC_TIMEOUT)
    rows = visits_for(session, reference)
    assert len(rows) == 1 and rows[0].client_uuid == client_uuid
    assert rows[0].outcome == "no_reply_vacant" and rows[0].checked_out_at is not None


def test_a_visit_the_server_refuses_needs_attention_and_is_fixed_on_the_form(
    new_context, team, session
):
    reference = allocated_case(session, team)
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    refused = {"done": False}

    def server(route: Route) -> None:
        body = route.request.post_data_json
        if body.get("record") and not refused["done"]:
            # The server judges the record by a rule the phone did not know about.
            refused["done"] = True
            route.fulfill(status=422, json={"error": "invalid", "errors": [
                {"field": "record.people_spoken_to.0.name",
                 "message": "Enter their name, or describe them if they would not give it"},
            ]})
        else:
            route.continue_()

    page.route("**/api/v1/visits", server)
    open_visits(page)
    start_from_list(page, reference)
    check_in(page)
    record(page)
    page.get_by_role("button", name="Save visit").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    message = "Person 1: enter their name, or describe them if they would not give it"
    expect(summary.get_by_role("link", name=message)).to_be_visible(timeout=SYNC_TIMEOUT)
    expect(summary).to_be_focused()

    page.goto("/visits")
    wait_for_hydration(page)
    waiting(page, 1)
    attention = page.get_by_role("region", name="Visits that need your attention")
    expect(attention).to_contain_text("Enter their name, or describe them")
    attention.get_by_role("link", name=f"Fix this visit to {reference}").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary.get_by_role("link", name=message)).to_be_visible()
    summary.get_by_role("link", name=message).click()
    expect(page.get_by_role("group", name="Person 1").get_by_label("Name", exact=True)
           ).to_be_focused()
    page.keyboard.type("Mrs Okafor")
    save_and_end(page)
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^Sent$"))).to_be_visible(
        timeout=SYNC_TIMEOUT)
    rows = visits_for(session, reference)
    assert len(rows) == 1
    assert rows[0].people_spoken_to[0]["name"] == "Mrs Okafor"
    assert rows[0].checked_out_at is not None


class ApiServer:
    """The visit API (cme_app.api) alone, in a process of its own on the test database, so a
    test can really kill it (SIGKILL: no clean shutdown) and start it again on the same port."""

    def __init__(self, app_url: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REFLEX_DB_URL": TEST_DB_URL,
            "CME_ALLOWED_ORIGINS": f"{app_url},{app_url.replace('localhost', '127.0.0.1')}",
        }
        self.proc: subprocess.Popen | None = None
        self.log = ARTIFACTS / f"api-server-{self.port}.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "cme_app.api:api", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2
                ) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError(f"the API did not start; see {self.log}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api_server(app_url):
    server = ApiServer(app_url)
    server.start()
    yield server
    server.kill()


def test_api_process_killed_mid_sync_and_restarted_gives_exactly_one_visit(
    new_context, team, session, api_server
):
    """The phone's POSTs go to a separate API process, killed with SIGKILL (a) before it
    stores the visit and (b) after it has stored it but before the answer leaves; the phone
    keeps retrying with the same uuid until the restarted process answers."""
    before_commit = allocated_case(session, team, first_name="Dara")
    after_commit = allocated_case(session, team, first_name="Emeka")
    page = phone(new_context)
    sign_in(page, "officer@example.org")
    plan = {"kill": "", "killed": 0, "refused": 0}

    def via_api_server(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = route.request.post_data_json
        headers = {k: v for k, v in route.request.all_headers().items() if k != "host"}
        if plan["kill"] == "before commit":
            plan["kill"], plan["killed"] = "", plan["killed"] + 1
            api_server.kill()
        try:
            response = route.fetch(url=f"{api_server.url}/api/v1/visits", headers=headers)
        except PlaywrightError:
            plan["refused"] += 1
            route.abort("connectionrefused")
            return
        if plan["kill"] == "after commit" and body.get("check_out"):
            plan["kill"], plan["killed"] = "", plan["killed"] + 1
            api_server.kill()  # stored; the answer dies with the process
            route.abort("connectionreset")
            return
        route.fulfill(response=response)

    page.route("**/api/v1/visits", via_api_server)
    for reference, when in ((before_commit, "before commit"), (after_commit, "after commit")):
        plan.update(kill=when, killed=0, refused=0)
        open_visits(page)
        start_from_list(page, reference)
        check_in(page)
        record(page)
        save_and_end(page)
        expect(page.get_by_role("status").filter(has_text="Waiting to send")).to_be_visible()
        # Down for at least one retry, then back on the same port.
        for _ in range(100):
            if plan["refused"] >= 1:
                break
            page.wait_for_timeout(200)
        assert plan["killed"] == 1 and plan["refused"] >= 1, plan
        rows = visits_for(session, reference)
        assert len(rows) == (1 if when == "after commit" else 0)
        api_server.start()
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^Sent$"))).to_be_visible(
            timeout=60_000)
        rows = visits_for(session, reference)
        assert len(rows) == 1, f"{when}: {len(rows)} rows"
        assert rows[0].outcome == "no_reply_vacant" and rows[0].checked_out_at is not None
    assert outbox_count(page) == 0


# ----- Issue 20: the phone tells the truth -------------------------------------------------

ON_A_360_PHONE = {**ON_A_PHONE, "viewport": {"width": 360, "height": 800}}

# Watches the list page from now on: every change to the page is checked at once (not once at
# the end), noting whether `reference` ever shows under "Visits in progress" or has a
# "Continue visit" link, and every "Waiting to send (N)" shown.
WATCH_JS = """(reference) => {
  window.__cme_watch = {inProgress: [], counts: []};
  const look = () => {
    const open = document.querySelector("section[aria-labelledby=open-title]");
    const cont = document.querySelector(`a[aria-label="Continue visit to ${reference}"]`);
    if ((open && open.textContent.includes(reference)) || cont) {
      window.__cme_watch.inProgress.push(new Date().toISOString());
    }
    const count = document.querySelector(".sync-status__count");
    const counts = window.__cme_watch.counts;
    if (count && counts[counts.length - 1] !== count.textContent) counts.push(count.textContent);
  };
  look();
  new MutationObserver(look).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@pytest.mark.browser_context_args(service_workers="allow")  # the list reloads offline
def test_a_visit_ended_offline_never_shows_in_progress_after_reconnecting(new_context, team,
                                                                            session):
    reference = allocated_case(session, team)
    context: BrowserContext = new_context(**ON_A_360_PHONE)
    page = context.new_page()
    sign_in(page, "officer@example.org")
    open_visits(page)
    page.evaluate(SW_CONTROLS_JS)
    start_from_list(page, reference)
    check_in(page)
    expect(page.get_by_role("status").filter(has_text="Sent to the office")).to_be_visible(
        timeout=SYNC_TIMEOUT)

    # Online, the list (and the copy the phone keeps) shows the visit in progress.
    open_visits(page)
    expect(page.get_by_role("link", name=f"Continue visit to {reference}").first).to_be_visible()
    page.get_by_role("link", name=f"Continue visit to {reference}").first.click()
    expect(page.get_by_role("heading", name="The visit")).to_be_visible()
    wait_for_hydration(page)

    # No signal: record and end it, then back to the list, still offline.
    context.set_offline(True)
    record(page)
    save_and_end(page)
    page.get_by_role("link", name="Back to your visits").click()
    waiting(page, 1)
    expect(page.get_by_text(re.compile(r"Showing the list saved at"))).to_be_visible()
    expect(page.get_by_text("Visits in progress")).to_have_count(0)
    expect(page.get_by_role("link", name=f"Start a visit for {reference}")).to_be_visible()
    screenshot(page, "visits-phone-ended-offline-list")
    page.evaluate(WATCH_JS, reference)

    # Signal again: the outbox sends the end; all through the sync the visit is never shown
    # as in progress, and the count goes from 1 to 0.
    context.set_offline(False)
    waiting(page, 0)
    expect(page.get_by_text(re.compile(r"Last sent \d\d:\d\d"))).to_be_visible()
    page.wait_for_timeout(3000)  # and stays so once the server's list comes back
    watch = page.evaluate("() => window.__cme_watch")
    assert watch["inProgress"] == [], watch
    assert watch["counts"][0] == "Waiting to send (1)" and watch["counts"][-1] == (
        "Waiting to send (0)"), watch
    expect(page.get_by_text("Visits in progress")).to_have_count(0)
    assert outbox_count(page) == 0
    assert_fits(page)
    screenshot(page, "visits-phone-ended-after-reconnect")
    assert_no_axe_violations(page, "visits-list-after-reconnect")
    page.set_viewport_size(LAPTOP)
    screenshot(page, "visits-desktop-ended-after-reconnect")
    page.set_viewport_size(ON_A_360_PHONE["viewport"])
    rows = visits_for(session, reference)
    assert len(rows) == 1 and rows[0].checked_out_at is not None

    # A reload agrees (the server's list no longer names it either).
    open_visits(page)
    waiting(page, 0)
    expect(page.get_by_text("Visits in progress")).to_have_count(0)
    page.wait_for_load_state("networkidle")


def test_an_officer_signing_in_on_a_phone_lands_on_the_visit_log(new_context, team, session):
    """The sign-in page knows the screen's width; on a phone an officer starts on /visits
    (on a desktop, the board: tests/e2e/test_sign_in_journeys.py)."""
    secret = "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"
    mfa.set_secret(session, session.get(User, team["officer"].user_id), secret)
    session.commit()
    page = new_context(**ON_A_360_PHONE).new_page()
    code = pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))
    sign_in(page, "officer@example.org", by_form=True, code=code, lands_on="/visits")
    expect(page.get_by_role("heading", name="Visits", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Your cases", exact=False)).to_be_visible()
    assert_fits(page)
