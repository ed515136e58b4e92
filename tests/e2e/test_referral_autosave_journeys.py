"""A referral is never lost: to its length (issue 18, finding 6) or to a timeout. In Debian
Chromium, against the served app."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Referral, UserSession, utcnow
from tests.e2e.helpers import (
    DESKTOP,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.e2e.test_referral_journeys import DROPPABLE_SOCKETS, fill_referral, open_new_referral
from tests.factories import PASSWORD

SCHOOL = "school.107999@example.org"
# Text a school might paste: Urdu, as a family's words were written down. Every character is
# 6 bytes in the event as the server measures it, so a few long answers pass the 64 KB limit.
URDU = "خاندان نے بتایا کہ وہ واپس نہیں آئیں گے اور بچہ اپنے چچا کے ساتھ ہے۔ "


def _long(n: int, start: str) -> str:
    return (start + " " + URDU * (n // len(URDU) + 1))[:n].rstrip()


def _referral(session, public_id: str) -> Referral | None:
    with fresh_session(session) as fresh:
        return fresh.exec(select(Referral).where(Referral.public_id == public_id)).first()


def _draft_id(page: Page) -> str:
    """The draft the form is editing: its address names it after the first autosave."""
    page.wait_for_url("**/referrals/new?draft=*")
    return page.url.split("draft=")[1][:32]


def _end_sessions_by_timeout(session) -> None:
    """As if the school had left the form alone for 31 minutes: every session timed out."""
    with fresh_session(session) as fresh:
        for row in fresh.exec(select(UserSession).where(UserSession.revoked_at.is_(None))):
            row.last_seen_at = utcnow() - timedelta(minutes=31)
            fresh.add(row)
        fresh.commit()


CHECK_ANSWERS = "Check your answers before sending your referral"


def _change(page: Page, question: str, heading: str) -> None:
    page.get_by_role("link", name=f"Change {question.lower()}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    wait_for_hydration(page)


def _save_back(page: Page) -> None:
    page.wait_for_timeout(300)  # as a person would (see save_and_continue)
    page.get_by_role("button", name="Save and go back to check your answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_ANSWERS)
    wait_for_hydration(page)


def test_a_referral_too_long_for_one_event_is_submitted_whole(page: Page, team, session):
    """Long answers on several pages, together far past what one event may carry: each page
    is saved on its own and the draft submitted whole; first a GOV.UK error at the one answer
    longer than it can be stored, linked to its page, with nothing lost; then, shortened, the
    whole referral is accepted as typed."""
    sign_in(page, SCHOOL, viewport=DESKTOP)
    open_new_referral(page)
    fill_referral(page)
    public_id = _draft_id(page)
    _change(page, "Where the child may be", "The absence")
    where = page.get_by_label("Where do you think the child may be? (optional)")
    where.fill(_long(1200, "Where:"))  # its column keeps 1,000
    _save_back(page)
    letter = "Letter to the last known address and the emergency contact's address"
    long_answers = [("Home visit", "Home visit", "Result", 1000, "Result:"),
                    (letter, letter, "Result", 1000, "Letter:"),
                    ("Description", "Specific concerns", "Describe the concerns", 4000,
                     "Concerns:"),
                    ("Appraisal of the risk", "Safeguarding lead's view",
                     "Appraisal of the risk to the child", 4000, "Appraisal:")]
    # 6 bytes a character as the server counts: 6 + 6 + 24 + 24 KB, with "Where" about 67 KB.
    for question, heading, label, length, start in long_answers:
        _change(page, question, heading)
        page.get_by_label(label).fill(_long(length, start))
        _save_back(page)
    kept = _referral(session, public_id)
    assert kept.status == "draft"
    assert kept.form_data["enquiry-homevisit-result"] == _long(1000, "Result:")

    page.get_by_role("button", name="Submit referral").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(
        "Shorten this answer to 1,000 characters or fewer (it has 1,200)")
    screenshot(page, "referral-too-long-error-desktop")
    summary.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The absence")
    expect(where).to_have_value(_long(1200, "Where:"))  # nothing typed is lost
    where.fill(_long(1000, "Where:"))
    _save_back(page)
    page.get_by_role("button", name="Submit referral").click()
    expect(page.locator(".panel")).to_contain_text("Referral submitted")
    sent = _referral(session, public_id)
    assert sent.status == "submitted"
    assert sent.believed_destination == _long(1000, "Where:")
    assert sent.concerns_narrative == _long(4000, "Concerns:")
    assert sent.form_data["dsl_appraisal"] == _long(4000, "Appraisal:")


def test_an_answer_typed_before_the_connection_drops_is_kept_when_it_comes_back(
        page: Page, team, session):
    """The connection drops while a school is typing and comes back: Reflex loads the page
    again, and the answer typed meanwhile must still be on it and be what Save keeps."""
    page.add_init_script(DROPPABLE_SOCKETS)
    sign_in(page, SCHOOL, viewport=DESKTOP)
    open_new_referral(page)
    fill_referral(page)
    public_id = _draft_id(page)
    _change(page, "Home visit", "Home visit")
    result = page.get_by_label("Result")
    typed = "A neighbour says the family left in March for Bradford"
    result.fill(typed)
    connects = page.evaluate("() => window.__cme_connects")
    page.evaluate("() => window.__cmeDropSockets()")
    page.wait_for_function(f"() => window.__cme_connects > {connects}", timeout=30_000)
    wait_for_hydration(page)
    page.wait_for_timeout(500)  # the page's load again has answered
    expect(result).to_have_value(typed)
    _save_back(page)
    assert _referral(session, public_id).form_data["enquiry-homevisit-result"] == typed


def test_save_after_a_timeout_signs_in_again_and_lands_on_the_kept_draft(
        page: Page, team, session):
    sign_in(page, SCHOOL, viewport=DESKTOP)
    open_new_referral(page)
    page.get_by_role("link", name="The child").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The child")
    wait_for_hydration(page)
    page.get_by_label("First name").fill("Amira")
    page.get_by_label("UPN").click()  # leaving the field saves it
    public_id = _draft_id(page)

    _end_sessions_by_timeout(session)
    page.get_by_label("Middle names (optional)").fill("Typed after the timeout")
    # The pause in typing sends it: kept in the draft although the session has ended, and
    # the page stays on screen as typed.
    for _ in range(100):
        if _referral(session, public_id).form_data.get("middle_names"):
            break
        page.wait_for_timeout(100)
    assert _referral(session, public_id).form_data["middle_names"] == "Typed after the timeout"
    page.get_by_label("Last name", exact=True).fill("Kept")
    assert "fields=" not in page.url and "Amira" not in page.url
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/login?next=*")
    wait_for_hydration(page)
    page.get_by_label("Email").fill(SCHOOL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"**/referrals/new?draft={public_id}&timeout=1")
    wait_for_hydration(page)
    notice = page.get_by_role("region", name="You were signed out")
    expect(notice).to_contain_text("We saved your referral as a draft")
    expect(notice).to_be_focused()
    expect(page.locator("#status-child")).to_have_text("In progress")
    assert _referral(session, public_id).form_data["last_name"] == "Kept"
    screenshot(page, "referral-kept-after-timeout-desktop", full_page=False)
    assert_no_axe_violations(page, "referral-kept-after-timeout")
    page.set_viewport_size(PHONE)
    screenshot(page, "referral-kept-after-timeout-phone", full_page=False)
    page.get_by_role("link", name="The child").click()
    expect(page.get_by_label("Middle names (optional)")).to_have_value("Typed after the timeout")
    expect(page.get_by_label("First name")).to_have_value("Amira")
    assert _referral(session, public_id).status == "draft"


def test_the_timeout_warning_shows_two_minutes_before_and_stay_signed_in_keeps_the_session(
        page: Page, team, session):
    page.clock.install()
    sign_in(page, SCHOOL, viewport=DESKTOP)
    page.goto("/referrals")
    wait_for_hydration(page)
    dialog = page.get_by_role("alertdialog", name="You will be signed out soon")
    expect(dialog).to_be_hidden()

    page.clock.fast_forward("27:00")  # 27 minutes idle: no warning yet
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("01:05")  # past 28 minutes: 2 minutes before the idle timeout
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("You will be signed out in 2 minutes")
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    screenshot(page, "timeout-warning-desktop", full_page=False)
    assert_no_axe_violations(page, "timeout-warning")
    page.set_viewport_size(PHONE)
    screenshot(page, "timeout-warning-phone", full_page=False)

    with fresh_session(session) as fresh:
        row = fresh.exec(select(UserSession).where(UserSession.revoked_at.is_(None))
                         .order_by(UserSession.id.desc())).first()
        row.last_seen_at = utcnow() - timedelta(minutes=28)
        fresh.add(row)
        fresh.commit()
        row_id = row.id
    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()

    def seen_recently() -> bool:
        with fresh_session(session) as fresh:
            seen = fresh.get(UserSession, row_id).last_seen_at
        return utcnow() - seen < timedelta(minutes=1)

    # The server counted it as activity (the browser's clock is fake; the server's is not).
    for _ in range(100):
        if seen_recently():
            break
        page.wait_for_timeout(100)
    assert seen_recently()
