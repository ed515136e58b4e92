"""The school's referral journey and the officer's first view, in Debian Chromium."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func
from sqlmodel import select

from cme_app.models import AuditEvent, Referral
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    WORKERS,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    sign_out,
    wait_for_hydration,
)


def open_new_referral(page: Page) -> None:
    page.goto("/referrals/new")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Refer a child missing education")


def fill_referral(page: Page, *, upn: str = "A383200012401", last_name: str = "Test") -> None:
    """Complete every section the way a school attendance officer would."""
    today = date.today()
    aware = (today - timedelta(days=10)).isoformat()
    page.get_by_label("Your name").fill("Sam Patel")
    page.get_by_label("Job title").fill("Attendance officer")
    page.locator("#referrer_phone").fill("0113 496 0000")
    page.get_by_label("First name").fill("Amira")
    if last_name:
        page.get_by_label("Last name", exact=True).fill(last_name)
    page.get_by_label("Date of birth", exact=True).fill("2014-03-02")
    page.locator("#sex-female").check()
    page.get_by_label("UPN").fill(upn)
    page.get_by_label("Special educational needs").select_option("none")
    page.get_by_label("Home address").fill("14 Example Street")
    page.locator("#home_town").fill("Leeds")
    page.get_by_label("Postcode", exact=True).fill("LS2 8BU")

    person = "[id^=person-]"
    page.locator(f"select{person}[id$=-kind]").select_option("parent_carer")
    page.locator(f"input{person}[id$=-full_name]").fill("Layla Test")
    page.locator(f"input{person}[id$=-relationship]").fill("Mother")
    page.locator(f"input{person}[id$=-phone]").fill("07700 900123")
    page.locator(f"input{person}[id$=-lives_with_child]").check()

    page.locator("#on_roll_status-on_roll").check()
    page.get_by_label("Why are you referring the child?").select_option("whereabouts_unknown")
    page.get_by_label("Date last attended").fill((today - timedelta(days=13)).isoformat())
    page.get_by_label("Date school became aware").fill(aware)

    checks = [
        ("first_day_call", "Mother", "phone", "No answer"),
        ("emergency_contacts", "Both emergency contacts", "phone", "No answer"),
        ("letter", "Last known address", "letter", "No reply"),
        ("siblings_friends", "Friends in Year 6", "in_person", "Not seen"),
        ("home_visit", "14 Example Street", "visit", "No reply, curtains closed"),
        ("social_media", "Mother's public profiles", "social_media", "Nothing recent"),
    ]
    for i, (kind, who, how, result) in enumerate(checks):
        if i:
            page.get_by_role("button", name="Add another enquiry").click()
        row = page.locator("fieldset.row-card", has_text=f"Enquiry {i + 1}")
        expect(row).to_be_visible()
        row.get_by_label("Type of enquiry").select_option(kind)
        row.get_by_label("Date of enquiry").fill(aware)
        row.get_by_label("Who was contacted").fill(who)
        row.get_by_label("How").select_option(how)
        row.get_by_label("Result").fill(result)
    page.get_by_label("Why this was not possible: Schools of siblings contacted").fill(
        "No siblings at other schools"
    )
    page.get_by_label("Why this was not possible: Agencies known to be involved contacted").fill(
        "No agencies involved"
    )
    page.get_by_label("None known").check()
    page.get_by_label("Name of the designated safeguarding lead").fill("Dee Safeguarding")
    for group in ("known_to_csc", "cp_plan", "child_in_need", "looked_after", "significant_harm"):
        page.locator(f"#{group}-no").check()
    page.get_by_label("Appraisal of the risk to the child").fill("Not known to CSC.")


def submitted_count(session) -> int:
    with fresh_session(session) as fresh:
        return fresh.exec(
            select(func.count()).select_from(Referral).where(Referral.status == "submitted")
        ).one()


def test_school_submits_a_complete_referral_and_sees_it_in_their_list(page: Page, team, session):
    sign_in(page, "school.107999@example.org", viewport=DESKTOP)
    open_new_referral(page)
    assert_no_axe_violations(page, "referral-form")
    fill_referral(page)
    screenshot(page, "referral-form-filled-desktop")
    page.get_by_role("button", name="Submit referral").click()

    panel = page.locator(".panel")
    expect(panel).to_contain_text("Referral submitted")
    reference = panel.locator("strong").inner_text()
    assert reference.startswith(f"CME-{date.today().year}-")
    screenshot(page, "referral-submitted-desktop")
    assert_no_axe_violations(page, "referral-submitted")
    assert submitted_count(session) == 1

    page.get_by_role("link", name="View your referrals").click()
    page.wait_for_url("**/referrals")
    row = page.get_by_role("row", name=reference)
    expect(row).to_contain_text("Amira Test")
    expect(row).to_contain_text("Received")
    screenshot(page, "referrals-list-desktop")
    assert_no_axe_violations(page, "referrals-list")

    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Referral {reference}")
    assert_no_axe_violations(page, "referral-detail")
    screenshot(page, "referral-detail-desktop")


def test_wrong_upn_and_missing_field_show_the_error_summary_and_create_nothing(
    page: Page, team, session
):
    sign_in(page, "school.107999@example.org")
    open_new_referral(page)
    fill_referral(page, upn="B383200012401", last_name="")
    page.get_by_role("button", name="Submit referral").click()

    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(
        [
            "Enter the child's last name",
            "UPN check letter invalid. Check the UPN in your school's records",
        ]
    )
    expect(page.locator("#upn-error")).to_contain_text("UPN check letter invalid")
    expect(summary).to_be_focused()
    assert_no_axe_violations(page, "referral-errors")
    screenshot(page, "referral-errors-desktop")

    summary.get_by_role("link", name="Enter the child's last name").click()
    expect(page.get_by_label("Last name", exact=True)).to_be_focused()
    assert submitted_count(session) == 0
    # What was typed is still there to correct.
    expect(page.get_by_label("First name")).to_have_value("Amira")


def test_draft_is_saved_then_resumed_after_signing_in_again(page: Page, team, session):
    sign_in(page, "school.107999@example.org")
    open_new_referral(page)
    page.get_by_label("First name").fill("Dina")
    page.get_by_label("Last name", exact=True).fill("Draft")
    page.get_by_label("UPN").fill("N380123456789")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Your draft has been saved")

    sign_out(page)
    sign_in(page, "school.107999@example.org")
    page.get_by_role("link", name="Continue draft for Dina Draft").click()
    page.wait_for_url("**/referrals/new?draft=*")
    wait_for_hydration(page)
    expect(page.get_by_label("First name")).to_have_value("Dina")
    expect(page.get_by_label("UPN")).to_have_value("N380123456789")
    assert submitted_count(session) == 0


def test_other_school_gets_not_found_for_a_referral_url(page: Page, team, session):
    case = referrals.submit(
        session,
        actor=team["school"],
        form=example_referral_form(first_name="Secret", last_name="Child"),
    )
    session.commit()
    sign_in(page, "school.108111@example.org")
    page.goto(f"/referrals/{case.reference}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral not found")
    expect(page.locator("body")).not_to_contain_text("Secret")
    with fresh_session(session) as fresh:
        attempt = fresh.exec(
            select(AuditEvent).where(
                AuditEvent.actor_id == team["school_b"].user_id,
                AuditEvent.action == "referral.view",
            )
        ).one()
    assert attempt.outcome == "not_found"


def test_officer_lands_on_the_board_and_sees_the_new_case(page: Page, team, session):
    case = referrals.submit(session, actor=team["school"], form=example_referral_form())
    session.commit()
    sign_in(page, "officer@example.org")
    page.wait_for_url("**/board")
    wait_for_hydration(page)
    column = page.get_by_role("list", name="New referral")
    expect(column.get_by_role("listitem").filter(has_text=case.reference)).to_contain_text(
        "Amira Test"
    )
    assert_no_axe_violations(page, "board")
    screenshot(page, "board-desktop")


def test_school_pages_work_at_phone_width(page: Page, team, session):
    referrals.submit(session, actor=team["school"], form=example_referral_form())
    session.commit()
    sign_in(page, "school.107999@example.org", viewport=PHONE)
    screenshot(page, "referrals-list-phone")
    open_new_referral(page)
    screenshot(page, "referral-form-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "referral-form-phone")


def test_school_user_cannot_open_the_board(page: Page, team):
    sign_in(page, "school.107999@example.org")
    page.goto("/board")
    page.wait_for_url("**/referrals")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your school's referrals")


def test_wrong_password_shows_the_same_error_as_an_unknown_account(page: Page, team):
    for email in ("school.107999@example.org", "nobody@example.org"):
        sign_in(page, email, password="not the right password", by_form=True, lands_on=None)
        summary = page.locator("#error-summary")
        expect(summary.get_by_role("link")).to_have_text(
            ["Enter a correct email address and password."]
        )
    assert_no_axe_violations(page, "login-error")
    screenshot(page, "login-error-desktop")


# Keeps Reflex's websockets so the test can drop them, as a lost connection would (going
# offline alone leaves an open socket up in Chromium).
DROPPABLE_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const sockets = [];
  window.__cmeDropSockets = () => sockets.forEach((ws) => ws.close());
  function Kept(url, protocols) {
    const ws = new Native(url, protocols);
    sockets.push(ws);
    return ws;
  }
  Kept.prototype = Native.prototype;
  Object.assign(Kept, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Kept;
})();
"""


@pytest.mark.skipif(
    WORKERS > 1,
    reason="single-worker pass only: with several workers a tab that reconnects soon after a drop "
    "may be given a new token and fresh state by Reflex's Redis token manager (docs/deploy.md); "
    "it failed once in a full production-profile run and passed both times it was run alone",
)
def test_submit_while_offline_shows_no_confirmation_and_is_stored_once_on_reconnect(
    page: Page, context, team, session
):
    page.set_viewport_size(DESKTOP)
    page.add_init_script(DROPPABLE_SOCKETS)
    sign_in(page, "school.107999@example.org")
    open_new_referral(page)
    fill_referral(page)

    context.set_offline(True)
    page.evaluate("() => window.__cmeDropSockets()")
    page.wait_for_function("() => window.__cme_socket_connected !== true", timeout=15_000)
    page.get_by_role("button", name="Submit referral").click()
    page.wait_for_timeout(1500)  # time for a confirmation to appear, if one wrongly did
    expect(page.get_by_role("heading", name="Referral submitted")).to_have_count(0)
    assert submitted_count(session) == 0

    context.set_offline(False)
    page.wait_for_function("() => window.__cme_socket_connected === true", timeout=30_000)
    expect(page.locator(".panel")).to_contain_text("Referral submitted", timeout=20_000)
    reference = page.locator(".panel strong").inner_text()
    assert submitted_count(session) == 1
    with fresh_session(session) as fresh:
        (stored,) = fresh.exec(select(Referral).where(Referral.status == "submitted")).all()
        assert stored.submission_id is not None and len(stored.submission_id) == 32
    assert reference.startswith(f"CME-{date.today().year}-")


def test_a_child_who_never_started_or_was_already_removed_is_asked_the_right_dates(
        page: Page, team, session):
    """Issue 17 rules 9 and 10: a child who never started gives the expected start date, not a
    date last attended; a child already removed from the roll gives the date and ground, and
    ground I needs the attendance codes confirmed."""
    sign_in(page, "school.107999@example.org", viewport=DESKTOP)
    open_new_referral(page)
    fill_referral(page)
    page.locator("#on_roll_status-never_started").check()
    expect(page.get_by_label("Date the child was expected to start")).to_be_visible()
    expect(page.get_by_label("Date last attended")).to_have_count(0)
    page.get_by_label("Date the child was expected to start").fill(
        (date.today() - timedelta(days=12)).isoformat())

    page.locator("#on_roll_status-deleted").check()
    expect(page.get_by_label("Date last attended")).to_be_visible()
    page.get_by_label("Date last attended").fill((date.today() - timedelta(days=13)).isoformat())
    page.get_by_label("Date removed from your roll").fill(date.today().isoformat())
    page.get_by_label("Ground you removed the child under").select_option("I")
    page.get_by_role("button", name="Submit referral").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Confirm that every day of the absence was coded G, N or O")
    assert_no_axe_violations(page, "referral-form-ground-i")
    page.locator("#absence_codes_confirmed-yes").check()
    page.get_by_role("button", name="Submit referral").click()
    expect(page.locator(".panel")).to_contain_text("Referral submitted")
    with fresh_session(session) as fresh:
        stored = fresh.exec(select(Referral).where(Referral.status == "submitted")).one()
        assert (stored.roll_deletion_ground, stored.absence_codes_confirmed) == ("I", True)
