"""The inbox in Debian Chromium: a school's Red referral reaches the lead's inbox and header
count, and a lead changes how they and the team are told (issue 7)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Notification, NotificationPreference, TeamSettings
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referrals
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    sign_out,
    wait_for_hydration,
)
from tests.e2e.test_referral_journeys import fill_referral, open_new_referral

# A concern that proposes Red on its own (services/casework/risk.py: fgm is a Red factor).
RED_CONCERN = "Female genital mutilation (FGM)"


def _rows(session, query):
    with fresh_session(session) as fresh:
        return fresh.exec(query).all()


def inbox_link(page: Page):
    return page.locator("#header-inbox")


def _submit(session, school, *, first_name: str, upn: str, red: bool) -> str:
    form = example_referral_form(first_name=first_name, upn=upn)
    if red:
        form |= {
            "concern-none_known": "",
            "concern-fgm": "on",
            "concerns_narrative": "Sister taken abroad.",
        }
    reference = referrals.submit(session, actor=school, form=form).reference
    session.commit()
    return reference


def test_red_referral_reaches_the_leads_inbox_and_opening_it_clears_the_count(
    page: Page, team, session
):
    sign_in(page, "school.107999@example.org", viewport=DESKTOP)
    # Nothing for the school yet: the link says just "Inbox".
    expect(inbox_link(page)).to_have_accessible_name("Inbox")
    open_new_referral(page)

    def red_concern(p: Page) -> None:
        p.get_by_label(RED_CONCERN).check()
        p.get_by_label("Describe the concerns").fill("An older sister was taken abroad.")

    fill_referral(page, concerns=red_concern)
    page.get_by_role("button", name="Submit referral").click()
    panel = page.locator(".panel")
    expect(panel).to_contain_text("Referral submitted")
    red = panel.locator("strong").inner_text()
    sign_out(page)
    # A Green referral arrives after it: newer, but the urgent unread Red one stays on top.
    green = _submit(session, team["school"], first_name="Gina", upn="N380123456789", red=False)

    sign_in(page, "lead@example.org", lands_on="/board")
    link = inbox_link(page)
    expect(link).to_have_accessible_name("Inbox, 2 unread")
    expect(link).to_have_text(re.compile(r"^Inbox\s*2$"))
    link.click()
    page.wait_for_url("**/inbox")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")

    items = page.locator(".inbox-item")
    expect(items.get_by_role("heading", level=2)).to_have_text(
        [
            f"Urgent Unread Red referral {red}: triage it today",
            f"Unread New referral {green} to triage",
        ],
        use_inner_text=True,
    )
    item = items.first
    expect(item.locator(".tag", has_text="Urgent")).to_be_visible()
    expect(item.locator("time")).to_have_text(re.compile(r"^Today \d\d:\d\d$"))
    expect(page.get_by_role("button", name="Unread (2)")).to_have_attribute("aria-pressed", "false")
    assert_no_axe_violations(page, "inbox-lead")
    screenshot(page, "inbox-lead-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "inbox-lead-phone")
    page.set_viewport_size(DESKTOP)

    item.get_by_role("link", name=f"Open {red}").click()
    page.wait_for_url(f"**/cases/{red}")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(red)
    expect(inbox_link(page)).to_have_accessible_name("Inbox, 1 unread")
    lead_id = team["lead"].user_id
    read = _rows(
        session,
        select(Notification.reference, Notification.read_at.is_not(None)).where(
            Notification.recipient_id == lead_id
        ),
    )
    assert sorted(tuple(r) for r in read) == sorted([(red, True), (green, False)])

    # Another Red referral arrives while the lead is on the case page: the header's poll (on
    # the tab becoming visible, as well as every 30 s) shows it without a reload.
    _submit(session, team["school"], first_name="Rita", upn="K383200000413", red=True)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(inbox_link(page)).to_have_accessible_name("Inbox, 2 unread")

    # Back in the inbox: only the unread ones, mark one read, then the rest.
    inbox_link(page).click()
    page.wait_for_url("**/inbox")
    wait_for_hydration(page)
    page.get_by_role("button", name="Unread (2)").click()
    expect(items).to_have_count(2)
    page.get_by_role("button", name=f"Mark as read: New referral {green} to triage").click()
    expect(items).to_have_count(1)
    expect(inbox_link(page)).to_have_accessible_name("Inbox, 1 unread")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("You have no unread notifications.")).to_be_visible()
    expect(inbox_link(page)).to_have_accessible_name("Inbox")
    page.get_by_role("button", name="Show all notifications").click()
    expect(items.locator(".tag", has_text="Read")).to_have_count(3)
    screenshot(page, "inbox-lead-all-read-desktop")
    assert (
        _rows(
            session,
            select(Notification.id).where(
                Notification.recipient_id == lead_id, Notification.read_at.is_(None)
            ),
        )
        == []
    )


def test_lead_switches_an_event_to_the_digest_and_the_team_settings_refuse_bad_input(
    page: Page, team, session
):
    sign_in(page, "lead@example.org", viewport=DESKTOP, lands_on="/board")
    inbox_link(page).click()
    page.wait_for_url("**/inbox")
    wait_for_hydration(page)
    expect(page.get_by_text("You have no notifications yet.")).to_be_visible()
    page.get_by_role("link", name="Notification settings").click()
    page.wait_for_url("**/inbox/settings")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Notification settings")
    assert_no_axe_violations(page, "inbox-settings")
    screenshot(page, "inbox-settings-lead-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "inbox-settings-lead-phone")
    page.set_viewport_size(DESKTOP)

    # Red referrals cannot be turned off; "A case is allocated to you" can go to the digest.
    mine = page.locator("form#delivery")
    expect(mine).to_contain_text("Always emailed at once — cannot be turned off")
    allocated = mine.get_by_role("group", name="A case is allocated to you")
    expect(allocated.get_by_label("Email me straight away")).to_be_checked()
    allocated.get_by_label("Daily digest").check()
    mine.get_by_role("button", name="Save your choices").click()
    expect(page.locator("#settings-message")).to_have_text("Your email choices have been saved.")
    expect(page.locator("#settings-message")).to_be_focused()
    saved = _rows(
        session,
        select(NotificationPreference.event, NotificationPreference.delivery).where(
            NotificationPreference.user_id == team["lead"].user_id
        ),
    )
    assert [tuple(r) for r in saved] == [("case_allocated", "digest")]

    # The team form: choose the duty officer, then a forged default gets the error summary.
    team_form = page.locator("form", has=page.get_by_role("button", name="Save team settings"))
    team_form.get_by_label("Duty officer").select_option(label="Olu Officer")
    team_form.get_by_role("button", name="Save team settings").click()
    expect(page.locator("#settings-message")).to_have_text(
        "The team's notification settings have been saved."
    )
    duty = _rows(session, select(TeamSettings.duty_officer_id))
    assert duty == [team["officer"].user_id]
    page.evaluate(
        "const r = document.getElementById('default-referral_new-digest');"
        " r.value = 'weekly'; r.checked = true;"
    )
    team_form.get_by_role("button", name="Save team settings").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(
        ["Choose the default: New referral (Amber, Green or not yet rated)"]
    )
    expect(summary).to_be_focused()
    assert_no_axe_violations(page, "inbox-settings-errors")
    screenshot(page, "inbox-settings-errors-desktop")
    summary.get_by_role("link").click()
    expect(page.locator("#default-referral_new-immediate")).to_be_focused()


def test_admin_sees_who_is_told_and_a_school_sees_its_own_inbox(page: Page, team, session):
    sign_in(page, "admin@example.org", viewport=DESKTOP, lands_on="/board")
    inbox_link(page).click()
    page.wait_for_url("**/inbox")
    wait_for_hydration(page)
    expect(
        page.get_by_text("Administrators and auditors are not sent notifications")
    ).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Red referral arrives"))).to_contain_text(
        "The duty officer and every lead"
    )
    assert_no_axe_violations(page, "inbox-admin")
    screenshot(page, "inbox-admin-desktop")
    sign_out(page)

    sign_in(page, "school.107999@example.org")
    page.set_viewport_size(PHONE)
    inbox_link(page).click()
    page.wait_for_url("**/inbox")
    wait_for_hydration(page)
    expect(page.get_by_text("You have no notifications yet.")).to_be_visible()
    expect(
        page.get_by_role("listitem").filter(has_text="The outcome of your referral")
    ).to_be_visible()
    assert_no_axe_violations(page, "inbox-school")
    screenshot(page, "inbox-school-empty-phone")
