"""The case board in Debian Chromium: drag and drop, the keyboard Move menu, refusals, two
people on one board, filters in the URL, read-only viewers, and the phone width."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select

from cme_app.models import Case
from tests.e2e.helpers import (
    DESKTOP,
    LAPTOP,
    PHONE,
    WORKERS,
    assert_no_axe_violations,
    fresh_session,
    on_another_worker,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import make_case

RED_GUARD = (
    "A Red case can't leave Triage until a CSC, MASH or Front Door notification is recorded."
)


def case_in(session, team, stage: str, *, risk: str | None = "amber", first_name: str,
            allocated: bool = True, days_ago: int = 3, **kw) -> Case:
    case = make_case(
        session, stage=stage, risk=risk, first_name=first_name, last_name="Example",
        officer_id=team["officer"].user_id if allocated else None,
        school_id=team["school"].school_id,
        entered_at=datetime.now(UTC) - timedelta(days=days_ago), **kw,
    )
    session.commit()
    return case


def stage_of(session, reference: str) -> str:
    """The case's stage as stored now, read in a short session of its own (fresh_session says
    why never through the test's `session`)."""
    with fresh_session(session) as fresh:
        return fresh.exec(select(Case.stage).where(Case.reference == reference)).one()


def column(page: Page, name: str) -> Locator:
    return page.get_by_role("list", name=name, exact=True)


def card(page: Page, stage: str, reference: str) -> Locator:
    return column(page, stage).get_by_role("listitem").filter(has_text=reference)


def announcement(page: Page) -> Locator:
    return page.locator("[aria-live=polite]#board-announcement")


def drag(page: Page, item: Locator, target: Locator, *, at_bottom: bool = False) -> None:
    """A real mouse drag: press on the card's name line, nudge past pangea's click threshold,
    travel, drop near the top of `target` (or, at_bottom, just past its middle: lower, and
    pangea would start scrolling the window under the pointer)."""
    item.scroll_into_view_if_needed()
    box, goal = item.locator(".card__child").bounding_box(), target.bounding_box()
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 10, start_y + 10, steps=4)
    goal_y = goal["y"] + (goal["height"] * 0.55 if at_bottom else 40)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal_y, steps=20)
    page.wait_for_timeout(250)  # let pangea settle over the target list
    page.mouse.up()


# ----- (1) mouse drag ---------------------------------------------------------------------------


def test_lead_drags_a_card_to_the_next_stage_and_it_stays(page: Page, team, session):
    page.set_viewport_size(DESKTOP)
    case = case_in(session, team, "new_referral", risk=None, first_name="Dara",
                   allocated=False)
    sign_in(page, "lead@example.org")
    expect(card(page, "New referral", case.reference)).to_contain_text("Dara Example")

    drag(page, card(page, "New referral", case.reference), column(page, "Triage"))

    expect(announcement(page)).to_have_text(f"{case.reference} moved to Triage.")
    expect(card(page, "Triage", case.reference)).to_be_visible()
    expect(card(page, "New referral", case.reference)).to_have_count(0)
    assert stage_of(session, case.reference) == "triage"
    # Its own move comes back to the board as a live update too: still where it was dropped.
    page.wait_for_timeout(1000)
    expect(card(page, "Triage", case.reference)).to_be_visible()
    expect(column(page, "Triage").locator("xpath=..").locator(".board-col__count")).to_have_text(
        re.compile(r"^1")
    )


def test_a_card_dropped_on_the_empty_foot_of_a_column_lands_there(page: Page, team, session):
    page.set_viewport_size(LAPTOP)
    case = case_in(session, team, "triage", first_name="Efe")
    waiting = case_in(session, team, "enquiries", first_name="Wren")
    sign_in(page, "lead@example.org")
    enquiries = column(page, "Enquiries")
    # The list reaches the foot of the column, far below its one card: the drop lands well
    # below the card, on what used to be no drop target at all.
    list_box = enquiries.bounding_box()
    card_box = card(page, "Enquiries", waiting.reference).bounding_box()
    assert list_box["y"] + list_box["height"] > card_box["y"] + card_box["height"] + 300
    assert list_box["y"] + list_box["height"] * 0.55 > card_box["y"] + card_box["height"] + 100

    drag(page, card(page, "Triage", case.reference), enquiries, at_bottom=True)

    expect(announcement(page)).to_have_text(f"{case.reference} moved to Enquiries.")
    expect(card(page, "Enquiries", case.reference)).to_be_visible()
    expect(card(page, "Triage", case.reference)).to_have_count(0)
    assert stage_of(session, case.reference) == "enquiries"


# ----- (2) keyboard only ------------------------------------------------------------------------


def test_officer_moves_a_card_with_the_keyboard_only(page: Page, team, session):
    page.set_viewport_size(DESKTOP)
    case = case_in(session, team, "triage", first_name="Kai")
    sign_in(page, "officer@example.org")

    move = card(page, "Triage", case.reference).get_by_role("button", name="Move")
    expect(move).to_have_accessible_name(f"Move {case.reference}")  # "Move" is what shows
    move.focus()
    page.keyboard.press("Enter")
    menu = card(page, "Triage", case.reference).get_by_role(
        "list", name=f"Move {case.reference} to"
    )
    expect(menu.get_by_role("button")).to_have_text(["Enquiries", "Home visit"])
    expect(menu.get_by_role("link")).to_have_text("Propose closure…")
    expect(menu.get_by_role("button", name="Enquiries")).to_be_focused()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("button", name="Home visit")).to_be_focused()
    page.keyboard.press("Enter")

    expect(announcement(page)).to_have_text(f"{case.reference} moved to Home visit.")
    moved = card(page, "Home visit", case.reference)
    expect(moved).to_be_visible()
    expect(moved.get_by_role("button", name="Move")).to_be_focused()  # focus went with it
    assert stage_of(session, case.reference) == "home_visit"
    screenshot(page, "board-keyboard-moved-desktop")

    # pangea's own keyboard drag: space to lift, left arrow to Enquiries, space to drop. A card
    # can't be lifted while it still shows "Saving…" (the server has not confirmed the last
    # move yet, which takes a while on a busy machine).
    expect(moved.get_by_text("Saving…")).to_have_count(0, timeout=15_000)
    moved.focus()
    page.keyboard.press("Space")
    expect(moved).to_have_class(re.compile(r"\bcard--dragging\b"))  # lifted, on a slow machine too
    page.keyboard.press("ArrowLeft")
    expect(column(page, "Enquiries")).to_have_class(re.compile(r"\bboard-col__list--over\b"))
    page.keyboard.press("Space")
    expect(announcement(page)).to_have_text(f"{case.reference} moved to Enquiries.")
    expect(card(page, "Enquiries", case.reference)).to_be_visible()
    assert stage_of(session, case.reference) == "enquiries"


# ----- (3) refused moves ------------------------------------------------------------------------


def test_illegal_moves_are_refused_and_the_card_returns_with_the_reason(
    page: Page, team, session
):
    page.set_viewport_size(DESKTOP)
    red = case_in(session, team, "triage", risk="red", first_name="Rosa",
                  factors=["cp_plan"])
    new = case_in(session, team, "new_referral", risk=None, first_name="Nia", allocated=False)
    sign_in(page, "lead@example.org")

    # The Move menu offers only what is allowed now, and says why there is nothing.
    red_card = card(page, "Triage", red.reference)
    expect(red_card).to_contain_text("Red")
    # The card's details (here the risk factors) open from its Details button, by keyboard too.
    expect(red_card.get_by_text("Child protection plan")).to_be_hidden()
    details = red_card.get_by_role("button", name=f"Details for {red.reference}")
    details.focus()
    page.keyboard.press("Enter")
    expect(details).to_have_attribute("aria-expanded", "true")
    expect(red_card.get_by_text("Child protection plan")).to_be_visible()
    red_card.get_by_role("button", name="Move").click()
    expect(red_card.locator(".move__menu").get_by_role("button")).to_have_count(0)
    expect(red_card.locator(".move__menu")).to_contain_text(RED_GUARD)
    page.keyboard.press("Escape")
    expect(red_card.get_by_role("button", name="Move")).to_be_focused()

    # Dragging past the guard: the server refuses, the card goes back, the reason is shown.
    drag(page, red_card, column(page, "Enquiries"))
    expect(announcement(page)).to_have_text(f"{red.reference} was not moved. {RED_GUARD}")
    expect(card(page, "Triage", red.reference)).to_be_visible()
    # ... and on the card itself, where the person was looking.
    expect(card(page, "Triage", red.reference).locator(".card__refusal")).to_have_text(
        f"{red.reference} was not moved. {RED_GUARD}")
    expect(card(page, "Enquiries", red.reference)).to_have_count(0)
    screenshot(page, "board-refused-desktop")

    drag(page, card(page, "New referral", new.reference), column(page, "Home visit"))
    expect(announcement(page)).to_have_text(
        f"{new.reference} was not moved. A case can't move from New referral to Home visit."
    )
    expect(card(page, "New referral", new.reference)).to_be_visible()
    expect(card(page, "Home visit", new.reference)).to_have_count(0)
    assert stage_of(session, red.reference) == "triage"
    assert stage_of(session, new.reference) == "new_referral"
    assert_no_axe_violations(page, "board-refused")


# ----- (4) two people on one board --------------------------------------------------------------


def test_two_people_see_each_others_moves_and_a_stale_move_is_refused(
    new_context, team, session
):
    first = case_in(session, team, "triage", first_name="Ada")
    second = case_in(session, team, "enquiries", first_name="Bo")
    lead = new_context(viewport=DESKTOP).new_page()
    officer = new_context(viewport=DESKTOP).new_page()
    sign_in(lead, "lead@example.org")
    sign_in(officer, "officer@example.org")
    if WORKERS > 1:
        # The production profile: the two boards are served by different backend workers, so
        # each sees the other's moves through the shared database, not one process's memory.
        on_another_worker(officer, lead)
    expect(card(officer, "Triage", first.reference)).to_be_visible()

    lead_move = card(lead, "Triage", first.reference).get_by_role("button", name="Move")
    lead_move.click()
    card(lead, "Triage", first.reference).get_by_role("button", name="Enquiries").click()
    expect(announcement(lead)).to_have_text(f"{first.reference} moved to Enquiries.")

    # The officer's board follows within a few seconds, without a reload.
    expect(card(officer, "Enquiries", first.reference)).to_be_visible(timeout=8000)
    expect(card(officer, "Triage", first.reference)).to_have_count(0)
    assert officer.evaluate("() => performance.getEntriesByType('navigation').length") == 1

    # The officer opens a Move menu (the board holds still while it is open) ...
    officer_card = card(officer, "Enquiries", second.reference)
    officer_card.get_by_role("button", name="Move").click()
    expect(officer_card.get_by_role("button", name="Located – securing education")).to_be_visible()
    # ... the lead moves that case meanwhile ...
    card(lead, "Enquiries", second.reference).get_by_role("button", name="Move").click()
    card(lead, "Enquiries", second.reference).get_by_role("button", name="Home visit").click()
    expect(announcement(lead)).to_have_text(f"{second.reference} moved to Home visit.")
    # ... and the officer's choice, made on the old view, is refused and the board catches up.
    officer_card.get_by_role("button", name="Located – securing education").click()
    expect(announcement(officer)).to_contain_text(
        f"{second.reference} was changed by Lee Lead at "
    )
    expect(card(officer, "Home visit", second.reference)).to_be_visible()
    expect(card(officer, "Located – securing education", second.reference)).to_have_count(0)
    assert stage_of(session, second.reference) == "home_visit"
    screenshot(officer, "board-stale-refused-desktop")


@pytest.mark.team(extra=("lead2",))
def test_a_colleagues_move_appears_on_an_open_board_without_a_reload(new_context, team, session):
    """Pushed, not polled (issue 19): lead B's board shows lead A's move as it commits. On the
    production profile the two tabs are on different workers, so it crosses Redis."""
    case = case_in(session, team, "triage", first_name="Lin")
    lead_a = new_context(viewport=DESKTOP).new_page()
    lead_b = new_context(viewport=DESKTOP).new_page()
    sign_in(lead_a, "lead@example.org")
    sign_in(lead_b, "lead2@example.org")
    if WORKERS > 1:
        on_another_worker(lead_b, lead_a)
    expect(card(lead_b, "Triage", case.reference)).to_be_visible()

    item = card(lead_a, "Triage", case.reference)
    item.get_by_role("button", name="Move").click()
    item.get_by_role("button", name="Enquiries").click()
    expect(announcement(lead_a)).to_have_text(f"{case.reference} moved to Enquiries.")

    expect(card(lead_b, "Enquiries", case.reference)).to_be_visible(timeout=5000)
    expect(card(lead_b, "Triage", case.reference)).to_have_count(0)
    assert lead_b.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    assert_no_axe_violations(lead_b, "board after a live update")
    screenshot(lead_b, "board-live-update-desktop")
    lead_b.set_viewport_size(PHONE)
    screenshot(lead_b, "board-live-update-phone")


# ----- filters, show more, closing, readers, phone -------------------------------------------


def test_filters_combine_and_live_in_the_url(page: Page, team, session):
    page.set_viewport_size(DESKTOP)
    mine_red = case_in(session, team, "enquiries", risk="red", first_name="Mina")
    other_red = case_in(session, team, "enquiries", risk="red", first_name="Omar",
                        allocated=False)
    amber = case_in(session, team, "enquiries", risk="amber", first_name="Amy")
    sign_in(page, "lead@example.org")
    page.goto("/board?risk=red&school=107999&officer=99999&junk=1")
    wait_for_hydration(page)
    expect(page.get_by_label("Risk")).to_have_value("red")
    expect(page.get_by_label("School")).to_have_value("107999")
    expect(page.get_by_label("Officer")).to_have_value("")  # unknown officer dropped
    expect(page).to_have_url(re.compile(r"/board\?risk=red&school=107999$"))
    enquiries = column(page, "Enquiries")
    expect(enquiries.get_by_role("listitem")).to_have_count(2)
    expect(enquiries).not_to_contain_text(amber.reference)

    page.get_by_label("Officer").select_option(label="Olu Officer")
    officer_id = team["officer"].user_id
    expect(page).to_have_url(
        re.compile(rf"/board\?risk=red&officer={officer_id}&school=107999$")
    )
    expect(enquiries.get_by_role("listitem").filter(has_text=mine_red.reference)).to_be_visible()
    expect(enquiries.get_by_role("listitem")).to_have_count(1)
    expect(enquiries).not_to_contain_text(other_red.reference)

    page.reload()  # the URL is enough to get the same board back
    wait_for_hydration(page)
    expect(page.get_by_label("Officer")).to_have_value(str(officer_id))
    expect(column(page, "Enquiries").get_by_role("listitem")).to_have_count(1)
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/board$"))
    expect(column(page, "Enquiries").get_by_role("listitem")).to_have_count(3)


def test_show_more_in_one_column(page: Page, team, session):
    page.set_viewport_size(DESKTOP)
    for i in range(22):
        case_in(session, team, "enquiries", first_name=f"Many{i}", days_ago=i + 1)
    sign_in(page, "lead@example.org")
    enquiries = column(page, "Enquiries")
    expect(enquiries.get_by_role("listitem")).to_have_count(20)
    expect(page.get_by_text("Showing 20 of 22")).to_be_visible()
    page.get_by_role("button", name="Show more in Enquiries").click()
    expect(enquiries.get_by_role("listitem")).to_have_count(22)
    expect(page.get_by_role("button", name="Show more in Enquiries")).to_have_count(0)


def test_closing_from_the_board_goes_to_the_case_page(page: Page, team, session):
    page.set_viewport_size({"width": 1920, "height": 1000})  # every column in view
    case = case_in(session, team, "located", first_name="Cal")
    sign_in(page, "lead@example.org")
    item = card(page, "Located – securing education", case.reference)
    item.get_by_role("button", name="Move").click()
    expect(item.get_by_role("link", name="Close case…")).to_have_attribute(
        "href", f"/cases/{case.reference}#close"
    )
    page.keyboard.press("Escape")
    drag(page, item, column(page, "Closed"))
    page.wait_for_url(f"**/cases/{case.reference}#close", wait_until="commit")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cal Example")
    # The old deep link opens the Closing tab, with focus on its section.
    expect(page.get_by_role("tab", name="Closing")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("heading", name="Close case", level=2)).to_be_focused()
    assert stage_of(session, case.reference) == "located"  # closing is never a board move


def test_admin_sees_a_read_only_board(page: Page, team, session):
    page.set_viewport_size(DESKTOP)
    case = case_in(session, team, "triage", first_name="Ida")
    sign_in(page, "admin@example.org")
    item = card(page, "Triage", case.reference)
    expect(item).to_contain_text("Ida Example")
    expect(item.get_by_role("button", name="Move")).to_have_count(0)
    expect(page.get_by_text("Only CME officers and team leads move cases.")).to_be_visible()
    drag(page, item, column(page, "Enquiries"))
    page.wait_for_timeout(500)
    expect(card(page, "Triage", case.reference)).to_be_visible()
    assert stage_of(session, case.reference) == "triage"
    assert_no_axe_violations(page, "board-read-only")


def test_board_screens_at_desktop_and_phone_width(page: Page, team, session):
    stages = ["new_referral", "triage", "enquiries", "home_visit", "awaiting_verification",
              "located"]
    for i in range(14):
        case_in(session, team, stages[i % 6], risk=("red", "amber", "green", None)[i % 4],
                first_name=f"Child{i}", allocated=bool(i % 2), days_ago=i + 1,
                factors=[["cp_plan", "domestic_abuse"], ["sen"], [], []][i % 4],
                triage_due_on=(datetime.now(UTC) - timedelta(days=i % 3 - 1)).date(),
                possible_matches=["CME-2025-00001"] if i == 3 else None)
    case_in(session, team, "closed", first_name="Closed", closed_at=datetime.now(UTC),
            outcome="ehe")
    sign_in(page, "lead@example.org", viewport=DESKTOP)
    expect(column(page, "Closed").get_by_role("listitem")).to_have_count(1)
    assert_no_axe_violations(page, "board-desktop")
    screenshot(page, "board-lead-desktop")
    first = column(page, "Triage").get_by_role("listitem").first
    first.get_by_role("button", name="Move").click()
    screenshot(page, "board-move-menu-desktop", full_page=False)
    assert_no_axe_violations(page, "board-move-menu")
    page.keyboard.press("Escape")

    page.set_viewport_size(PHONE)
    page.reload()
    wait_for_hydration(page)
    expect(column(page, "New referral").get_by_role("listitem").first).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 360 px ({width} px wide)"
    region = page.get_by_role("region", name="Case board")
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # columns scroll inside
    screenshot(page, "board-lead-phone")
    assert_no_axe_violations(page, "board-phone")


# ----- a full board ---------------------------------------------------------------------------

# Cards whose box lies wholly inside the viewport and inside every box that clips it (a column
# that scrolls, the board's sideways scroll): what a person sees at once without scrolling.
CARDS_IN_VIEW_JS = """() => {
  const within = (r, b) => r.left >= b.left - 0.5 && r.right <= b.right + 0.5
    && r.top >= b.top - 0.5 && r.bottom <= b.bottom + 0.5;
  const screen = {left: 0, top: 0, right: innerWidth, bottom: innerHeight};
  let cards = 0;
  for (const li of document.querySelectorAll(".board-col li.card")) {
    const r = li.getBoundingClientRect();
    let seen = within(r, screen);
    for (let p = li.parentElement; seen && p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (/auto|scroll|hidden|clip/.test(s.overflowX + s.overflowY)) {
        seen = within(r, p.getBoundingClientRect());
      }
    }
    cards += seen ? 1 : 0;
  }
  const heights = [...document.querySelectorAll(".board-col li.card")].map(
    (li) => li.getBoundingClientRect().height);
  return {cards, page_height: document.documentElement.scrollHeight,
          page_width: document.documentElement.scrollWidth,
          tallest_card: Math.max(...heights), shortest_card: Math.min(...heights)};
}"""


def cards_in_view(page: Page) -> dict:
    return page.evaluate(CARDS_IN_VIEW_JS)


def test_a_board_of_300_cases_at_desktop_and_phone_width(page: Page, team, session):
    """A caseload's worth of open cases (test data of its own: the next test starts from an
    empty database): every column header in view at 1280 px, axe clean at both widths."""
    stages = ["new_referral", "triage", "enquiries", "home_visit", "awaiting_verification",
              "located"]
    surnames = ["Example", "Okonkwo-Smith", "Li", "Nowak", "Fernández García", "Ahmed"]
    now = datetime.now(UTC)
    for i in range(300):
        make_case(
            session, stage=stages[i % 6], risk=("red", "amber", "green", None)[i % 4],
            first_name=f"Child{i}", last_name=surnames[i % len(surnames)],
            officer_id=team["officer"].user_id if i % 3 else None,
            school_id=team["school"].school_id, entered_at=now - timedelta(days=i % 40 + 1),
            factors=[["cp_plan", "domestic_abuse"], ["sen"], [], []][i % 4],
            triage_due_on=(now - timedelta(days=i % 5 - 2)).date(),
        )
    session.commit()
    sign_in(page, "lead@example.org", viewport=LAPTOP)
    headers = page.locator(".board-col__title")
    expect(headers).to_have_count(7)
    expect(column(page, "Enquiries").get_by_role("listitem")).to_have_count(20)
    measured = cards_in_view(page)
    page.evaluate("() => window.scrollTo(0, document.querySelector('.board').offsetTop)")
    scrolled = cards_in_view(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    print(f"\n300-case board at 1280x800: {measured} (board scrolled to the top: {scrolled})")
    screenshot(page, "board-300-desktop", full_page=False)
    screenshot(page, "board-300-desktop-full")
    for i in range(7):
        box = headers.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"], (
            f"column header {i + 1} is not within the 1280 px viewport: {box}")
    assert measured["page_width"] <= LAPTOP["width"]
    assert measured["page_height"] < 2 * LAPTOP["height"], "the page, not the columns, scrolls"
    # A column scrolls on its own; its name, count and sort order stay in view above its cards.
    section = page.locator("#board-col-enquiries")
    expect(section.locator(".board-col__sort")).to_have_text("Red first, longest waiting")
    assert section.evaluate("el => el.scrollHeight > el.clientHeight + 500")
    section.evaluate("el => { el.scrollTop = 600; }")
    page.wait_for_timeout(100)
    top = section.bounding_box()["y"]
    assert abs(section.locator(".board-col__title").bounding_box()["y"] - top) < 12
    assert page.evaluate("() => window.scrollY") == 0
    assert_no_axe_violations(page, "board-300-desktop")

    page.set_viewport_size({"width": 360, "height": 800})
    page.wait_for_timeout(300)
    phone = cards_in_view(page)
    page.evaluate("() => window.scrollTo(0, document.querySelector('.board').offsetTop)")
    print(f"300-case board at 360x800: {phone} (scrolled to the board: {cards_in_view(page)})")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "board-300-phone", full_page=False)
    screenshot(page, "board-300-phone-full")
    assert phone["page_width"] <= 360, "the page scrolls sideways at 360 px"
    assert_no_axe_violations(page, "board-300-phone")
