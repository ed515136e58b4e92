"""The case page (/cases/REF) and staff intake (/cases/new), in Debian Chromium.

Each journey builds its starting point through the services (as a school, officer or lead would
have), then does the step under test in the browser as the person who does it.
"""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Locator, Page, expect

from cme_app.ops.demo import example_referral_form
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    assert_no_axe_violations,
    fill_date,
    open_case,
    open_tab,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import case_in_enquiries, case_in_triage, referred_case, stored_case

TODAY = date.today().isoformat()
RED_FORM = {
    "cp_plan": "yes",
    "concern-none_known": "",
    "concern-fgm": "on",
    "concerns_narrative": "Sister was taken abroad last summer.",
    "mash_referred_on": TODAY,
    "mash_reference": "MASH-0001",
    # Open to social care: the school says whether the social worker was told (issue 17).
    "social_worker_told": "yes",
    "social_worker_told_on": TODAY,
}
MASH_GATE = (
    "A Red case can't leave Triage until a CSC, MASH or Front Door notification is recorded."
)


def header(page: Page):
    return page.locator(".case-meta")


def expect_done(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(text)


def open_details(scope: Page | Locator, summary: str):
    """Open a <details> disclosure (if closed) within `scope` and return it."""
    root = scope if isinstance(scope, Page) else scope.page
    details = scope.locator("details", has=root.locator("summary", has_text=summary)).first
    if details.get_attribute("open") is None:
        details.locator("summary").first.click()
    expect(details).to_have_attribute("open", "")
    return details


def test_red_case_cannot_leave_triage_until_mash_is_notified(page: Page, team, session):
    reference = case_in_triage(session, team, RED_FORM)
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    open_case(page, reference)
    expect(header(page)).to_contain_text("Triage")
    expect(header(page)).to_contain_text("proposed Red")

    allocate = open_details(page, "Allocate an officer")
    allocate.get_by_label("Officer").select_option(str(team["officer"].user_id))
    allocate.get_by_role("button", name="Allocate").click()
    expect_done(page, "Officer allocated")

    triage = open_details(page, "Triage: confirm the risk factors")
    expect(triage.get_by_label("FGM risk")).to_be_checked()
    expect(triage.get_by_label("Child protection plan")).to_be_checked()
    triage.get_by_role("button", name="Save triage").click()
    expect_done(page, "Triage saved")
    expect(header(page).locator(".risk-tag")).to_have_text("Red")
    expect(page.locator(".case-header--red")).to_be_visible()

    # A move not open yet is said in words with its reason, not offered as a button.
    expect(page.get_by_role("list", name="Moves not open yet")).to_contain_text(
        "Move to Enquiries")
    expect(page.get_by_role("list", name="Moves not open yet")).to_contain_text(MASH_GATE)
    expect(page.get_by_role("button", name="Move to Enquiries")).to_have_count(0)
    expect(header(page)).to_contain_text("Triage")
    assert stored_case(session, reference).stage == "triage"
    assert_no_axe_violations(page, "case-red-refused")
    screenshot(page, "case-red-triage-desktop")

    form = open_details(page, "Record CSC/MASH notification")
    expect(form.get_by_label("Notification (referral to CSC, MASH or Front Door)")).to_be_checked()
    form.get_by_label("Agency").select_option(label="MASH")
    fill_date(form, "Date contacted", TODAY)
    form.get_by_label("Time contacted").fill("10:30")
    form.get_by_label("Contacted by").fill("Lee Lead")
    form.get_by_label("Their reference").fill("MASH-2026-118")
    form.get_by_role("button", name="Record notification").click()
    expect_done(page, "Safeguarding contact recorded")
    expect(page.locator("#safeguarding").locator("..")).to_contain_text("MASH-2026-118")

    page.get_by_role("button", name="Move to Enquiries").click()
    expect_done(page, "Case moved to Enquiries")
    expect(header(page)).to_contain_text("Enquiries")
    assert stored_case(session, reference).stage == "enquiries"
    open_tab(page, "Closing")
    expect(page.locator("#timeline").locator("..")).to_contain_text("Triage → Enquiries")

    page.set_viewport_size(PHONE)
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "case-red-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"case page scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "case-red-phone")


def test_returned_referral_comes_back_to_new_referral_after_the_school_resubmits(
    page: Page, team, session
):
    reference = referred_case(session, team)
    note = "Please complete home visit and sibling-school checks"
    sign_in(page, "officer@example.org")
    open_case(page, reference)
    form = open_details(page, "Return to referrer")
    form.get_by_label("What more information does the school need to give?").fill(note)
    form.get_by_role("button", name="Return to school").click()
    expect_done(page, "Referral returned to the school")
    expect(header(page)).to_contain_text("Returned to referrer")

    sign_in(page, "school.107999@example.org")
    page.goto(f"/referrals/{reference}")
    wait_for_hydration(page)
    notice = page.get_by_role("region", name="More information needed")
    expect(notice).to_contain_text(note)
    expect(page.locator(".tag").first).to_have_text("More information needed")
    notice.get_by_role("link", name="Add the information and resubmit").click()
    page.wait_for_url("**/referrals/new?draft=*")
    wait_for_hydration(page)
    # Issue 20: the page says what was asked, names the referral and says "resubmit".
    expect(page.get_by_role("heading", level=1)).to_have_text("Resubmit referral")
    request = page.get_by_role("region", name="The CME team needs more information")
    expect(request).to_contain_text(note)
    expect(request).to_contain_text(reference)
    assert_no_axe_violations(page, "referral-resubmit")
    screenshot(page, "referral-resubmit-desktop")
    page.get_by_role("link", name="Check your answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before sending your referral")
    expect(page.get_by_role("region", name="The CME team needs more information")).to_contain_text(
        note)
    page.get_by_role("button", name="Resubmit referral").click()
    expect(page.locator(".panel")).to_contain_text("Referral resubmitted")
    expect(page.locator(".panel")).to_contain_text(reference)

    case = stored_case(session, reference)
    assert case.stage == "new_referral"
    sign_in(page, "officer@example.org")
    open_case(page, reference)
    expect(header(page)).to_contain_text("New referral")
    open_tab(page, "Closing")
    timeline = page.locator("#timeline").locator("..")
    expect(timeline).to_contain_text("Returned to referrer → New referral")
    expect(timeline).to_contain_text("Resubmitted by the school")


def test_notify_another_la_then_lead_closes_as_transferred(page: Page, team, session):
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org", viewport=DESKTOP)
    open_case(page, reference)
    open_tab(page, "Enquiries")
    form = open_details(page, "Notify another LA")
    form.get_by_label("Local authority", exact=True).fill("Bradford")
    form.get_by_label("DfE LA code (optional)").fill("380")
    form.get_by_label("CME contact at that LA").fill("cme@bradford.example.gov.uk")
    form.get_by_label("What are you asking them?").fill(
        "Mother has a new tenancy in Bradford. Is the child known, on roll, or has a place "
        "been applied for?"
    )
    form.get_by_role("button", name="Send notification").click()
    expect_done(page, "Notification to the other LA recorded")
    expect(header(page)).to_contain_text("Awaiting verification")
    expect(header(page)).to_contain_text("LA response due")

    sign_in(page, "lead@example.org")
    open_case(page, reference)
    open_tab(page, "Enquiries")
    row = page.get_by_role("row").filter(has_text="To Bradford")
    details = open_details(row, "Record response")
    fill_date(details, "Date acknowledged", TODAY)
    fill_date(details, "Date of response", TODAY)
    details.get_by_label("Their response").fill(
        "Application for a school place in process at a Bradford school."
    )
    details.get_by_role("button", name="Record response").click()
    expect_done(page, "reply is recorded")
    expect(page.get_by_role("row").filter(has_text="To Bradford")).to_contain_text(
        "Application for a school place in process"
    )

    open_tab(page, "Closing")
    close = page.locator("#close").locator("..")
    close.get_by_label("Outcome").select_option(label="Transferred to another LA")
    summary = close.get_by_label("Summary of the LA's response")
    summary.fill("Bradford accepted the case; school place application in process.")
    # The ground the school may now use depends on it (issue 17 rule 6).
    close.locator("#close-transferred_other_la-beyond_reasonable_distance-yes").check()
    expect(close.get_by_role("button", name="Propose closure")).to_have_count(0)
    close.get_by_role("button", name="Close case").click()
    expect_done(page, "Case closed: Transferred to another LA")
    expect(header(page)).to_contain_text("Closed")
    assert stored_case(session, reference).stage == "closed"
    assert_no_axe_violations(page, "case-closed")
    screenshot(page, "case-closed-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "case-closed-phone")
    assert_no_axe_violations(page, "case-closed-phone")

    sign_in(page, "school.107999@example.org")
    page.goto(f"/referrals/{reference}")
    wait_for_hydration(page)
    expect(page.get_by_role("region", name="Outcome")).to_contain_text(
        "Child lives in another area; that area's CME team has the case."
    )


def test_officer_proposes_closure_and_a_lead_approves_it(page: Page, team, session):
    reference = case_in_enquiries(session, team)
    sign_in(page, "officer@example.org")
    open_case(page, reference)
    open_tab(page, "Closing")
    close = page.locator("#close").locator("..")
    expect(close.get_by_role("button", name="Close case")).to_have_count(0)
    # Untraceable shows its checklist and what still stops it, before anyone presses a button.
    close.get_by_label("Outcome").select_option(label="Untraceable – enquiries exhausted")
    checklist = close.locator(".checklist")
    expect(checklist.get_by_role("listitem").filter(has_text="S2S Lost Pupils Database search")
           ).to_contain_text("✗ Not done")
    expect(close.locator(".warning-box")).to_contain_text("Not done yet: At least one home visit.")
    expect(close.get_by_role("group", name="Off-roll date agreed with the school")).to_be_visible()
    assert_no_axe_violations(page, "case-close-untraceable")
    close.get_by_label("Outcome").select_option(label="Not CME – attendance matter")
    expect(checklist).to_have_count(0)
    close.get_by_label("Evidence the child still lives there").fill(
        "Home visit: mother confirms the family still lives here; child refusing school."
    )
    close.get_by_role("button", name="Propose closure").click()
    expect_done(page, "Closure proposed")
    pending = page.get_by_role("region", name="Closure waiting for approval")
    expect(pending).to_contain_text("Not CME – attendance matter")
    expect(pending.get_by_role("button", name="Approve closure")).to_have_count(0)
    assert stored_case(session, reference).stage == "enquiries"

    sign_in(page, "lead@example.org")
    open_case(page, reference)
    pending = page.get_by_role("region", name="Closure waiting for approval")
    expect(pending).to_contain_text("child refusing school")
    pending.get_by_role("button", name="Approve closure").click()
    expect_done(page, "Closure approved")
    expect(header(page)).to_contain_text("Closed")
    assert stored_case(session, reference).outcome == "not_cme_attendance"
    open_tab(page, "Closing")
    expect(page.get_by_role("button", name="Reopen case")).to_be_visible()


def test_admin_logs_an_inbound_notification_from_wakefield(page: Page, team, session):
    sign_in(page, "admin@example.org", viewport=DESKTOP)
    page.get_by_role("link", name="Log inbound").click()
    page.wait_for_url("**/cases/new")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Log an inbound notification or new-to-country referral"
    )
    assert_no_axe_violations(page, "case-new")

    page.get_by_role("button", name="Log referral").click()
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Enter the child's first name").click()
    expect(page.get_by_label("First name")).to_be_focused()
    assert_no_axe_violations(page, "case-new-errors")

    page.get_by_label("Another local authority").check()
    page.get_by_label("Local authority that notified us").fill("Wakefield")
    page.get_by_label("DfE LA code (optional)").fill("384")
    fill_date(page, "Date received", TODAY)
    page.get_by_label("First name").fill("Maya")
    page.get_by_label("Last name").fill("Inbound")
    fill_date(page, "Date of birth", "2015-06-01")
    page.locator("#sex-female").check()
    page.get_by_label("Address", exact=True).fill("22 Moving Lane")
    page.get_by_label("Town or city").fill("Leeds")
    page.get_by_label("Postcode").fill("LS9 8AA")
    page.get_by_label("Parent or carer's name").fill("Rosa Inbound")
    page.get_by_label("Summary").fill("Wakefield CME believe the family moved to Leeds in May.")
    screenshot(page, "case-new-desktop")
    page.get_by_role("button", name="Log referral").click()

    page.wait_for_url("**/cases/CME-*")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maya Inbound")
    expect(header(page)).to_contain_text("Other LA (Wakefield)")
    expect(header(page)).to_contain_text("New referral")
    # Admin reads the case but has no caseworker forms.
    expect(page.get_by_role("button", name="Save triage")).to_have_count(0)
    expect(page.get_by_role("button", name="Propose closure")).to_have_count(0)
    expect(page.get_by_role("button", name="Close case")).to_have_count(0)
    assert_no_axe_violations(page, "case-inbound")
    wakefield = page.url

    # Another LA's notice is answered by us: the reply, not "their response".
    open_tab(page, "Enquiries")
    others = page.locator("#la").locator("..")
    row = others.get_by_role("row").filter(has_text="From Wakefield")
    open_details(row, "Record reply")
    reply = page.get_by_role("form", name="Record reply sent to Wakefield")
    expect(others.get_by_role("form", name="Record response from Wakefield")).to_have_count(0)
    reply.get_by_role("button", name="Record reply").click()
    expect(reply.get_by_text("Choose what the reply said")).to_be_visible()
    reply.get_by_label("School application in progress").check()
    fill_date(reply, "Date sent", TODAY)
    reply.get_by_label("What the reply said").fill("Application made to Harehills Primary.")
    others.scroll_into_view_if_needed()
    others.screenshot(path=SCREENSHOTS / "case-la-reply-desktop.png")
    assert_no_axe_violations(page, "case-la-reply")
    page.set_viewport_size(PHONE)
    others.scroll_into_view_if_needed()
    others.screenshot(path=SCREENSHOTS / "case-la-reply-form-phone.png")
    page.set_viewport_size(DESKTOP)
    reply.get_by_role("button", name="Record reply").click()
    expect_done(page, "Our reply to the other LA is recorded")
    expect(row).to_contain_text("School application in progress")
    expect(row).to_contain_text("Application made to Harehills Primary.")

    # A partner's referral: the referrer's fields appear once Health is chosen.
    page.set_viewport_size(PHONE)
    page.goto("/cases/new")
    wait_for_hydration(page)
    screenshot(page, "case-new-phone")
    expect(page.get_by_label("Referrer's name")).to_be_hidden()
    page.get_by_label("A member of the public (helpline or email)").check()
    expect(page.get_by_label("They want to stay anonymous")).to_be_visible()
    expect(page.get_by_label("Organisation or service")).to_be_hidden()
    screenshot(page, "case-new-public-phone")
    page.get_by_label("Health (GP, health visitor, school nurse, hospital)").check()
    expect(page.get_by_label("Local authority that notified us")).to_be_hidden()
    page.get_by_role("button", name="Log referral").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Enter the referrer's name").click()
    expect(page.get_by_label("Referrer's name")).to_be_focused()
    screenshot(page, "case-new-health-phone")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/cases/new scrolls sideways at 360 px ({width} px wide)"
    assert_no_axe_violations(page, "case-new-health-errors")

    page.set_viewport_size(DESKTOP)
    page.get_by_label("How did the referral come in?").select_option(label="Secure email")
    page.get_by_label("Referrer's name").fill("Hana Visitor")
    page.get_by_label("Organisation or service").fill("Leeds Community Healthcare")
    page.get_by_label("Role or job title (optional)").fill("Health visitor")
    page.get_by_label("Email address").fill("hana.visitor@nhs.example")
    fill_date(page, "Date received", TODAY)
    page.get_by_label("First name").fill("Ruby")
    page.get_by_label("Last name").fill("Partner")
    fill_date(page, "Date of birth", "2014-09-12")
    page.locator("#sex-female").check()
    page.get_by_label("Address", exact=True).fill("8 Health Row")
    page.get_by_label("Postcode").fill("LS7 2AB")
    page.get_by_label("Parent or carer's name").fill("Jo Partner")
    page.get_by_label("Summary").fill("Health visitor found the child at home in school hours.")
    screenshot(page, "case-new-health-desktop")
    page.get_by_role("button", name="Log referral").click()
    page.wait_for_url("**/cases/CME-*")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ruby Partner")
    expect(header(page)).to_contain_text("Health (Leeds Community Healthcare)")
    reference = page.url.rsplit("/", 1)[-1]
    page.goto("/board")
    wait_for_hydration(page)
    card = page.get_by_role("list", name="New referral", exact=True).get_by_role(
        "listitem").filter(has_text=reference)
    expect(card).to_contain_text("Health (Leeds Community Healthcare)")

    # The other LA's part of the case page on a phone.
    page.set_viewport_size(PHONE)
    page.goto(wakefield + "?tab=enquiries")  # the tab's own URL
    wait_for_hydration(page)
    others = page.locator("#la").locator("..")
    expect(others).to_contain_text("School application in progress")
    others.scroll_into_view_if_needed()
    others.screenshot(path=SCREENSHOTS / "case-la-replied-phone.png")


def test_possible_match_links_siblings_as_one_household(page: Page, team, session):
    first = referred_case(session, team)
    sibling = referred_case(session, team, example_referral_form(
        first_name="Adam", upn="N380123456789", date_of_birth="2016-05-04"))
    sign_in(page, "officer@example.org")
    open_case(page, sibling)
    panel = page.get_by_role("region", name="Possible match")
    expect(panel).to_contain_text("Same home address")
    expect(panel.get_by_role("link", name=first)).to_have_attribute("href", f"/cases/{first}")
    form = open_details(panel, "Link as same household")
    form.get_by_label("Case to link").select_option(first)
    form.get_by_label("Why they are the same household").fill("Brother and sister, same address")
    form.get_by_role("button", name="Link as same household").click()
    expect_done(page, "Cases linked as the same household")
    open_tab(page, "Child and family")
    linked = page.locator("#child").locator("..")
    expect(linked.get_by_role("row").filter(has_text=first)).to_contain_text("Same household")
