"""The school calendar in Chromium: an admin adds the next school year's first term (after a
mistake the error summary points at) and an INSET day, and school days count in it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models.calendar import NonTeachingDay, TermPeriod
from cme_app.services.school_calendar.default_terms import DEFAULT_TERMS
from cme_app.services.school_calendar.school_days import load_calendar
from tests.e2e.helpers import (
    DESKTOP,
    LARGE_PHONE,
    assert_no_axe_violations,
    fill_date,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import make_user


@pytest.fixture
def admin(session):
    make_user(session, "admin", email="admin@example.org", name="Ada Admin")
    # Only 2026-27 on record, so the page warns about the next school year.
    for seed in DEFAULT_TERMS:
        if seed.school_year == "2026-27":
            session.add(TermPeriod(**seed._asdict()))
    session.commit()


def test_admin_adds_a_school_year_and_an_inset_day(page: Page, session, admin):
    sign_in(page, "admin@example.org", viewport=DESKTOP)
    page.get_by_role("link", name="School calendar").click()
    page.wait_for_url("**/admin/calendar")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("School calendar")
    expect(page.get_by_role("region", name="Term dates missing")).to_contain_text("2027-28")

    form = page.get_by_role("form", name="Add a term")
    form.get_by_label("School year", exact=True).fill("2028-29")
    form.get_by_label("Term name", exact=True).fill("Autumn 1")
    fill_date(form, "First day", "2028-09-02")  # a Saturday
    fill_date(form, "Last day", "2028-10-20")
    form.get_by_role("button", name="Add term").click()

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    link = summary.get_by_role("link", name="First day must be a weekday (Monday to Friday)")
    expect(link).to_have_attribute("href", re.compile(r"#term-starts_on$"))
    # Nothing saved; what was typed is still there.
    expect(form.get_by_label("School year", exact=True)).to_have_value("2028-29")
    expect(form.get_by_label("Term name", exact=True)).to_have_value("Autumn 1")
    with fresh_session(session) as fresh:
        assert fresh.exec(select(TermPeriod).where(TermPeriod.school_year == "2028-29")
                          ).all() == []

    assert_no_axe_violations(page, "admin-calendar-error")
    screenshot(page, "admin-calendar-error", full_page=False)
    link.click()
    # The GOV.UK date input's first box, as its error link does on GOV.UK.
    expect(form.get_by_role("group", name="First day").get_by_label("Day")).to_be_focused()
    fill_date(form, "First day", "2028-09-04")
    form.get_by_role("button", name="Add term").click()
    expect(page.locator("#calendar-message")).to_contain_text("Autumn 1 added to 2028-29.")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_have_count(0)
    expect(page.get_by_role("button", name="2028-29")).to_have_attribute("aria-pressed", "true")
    terms = page.get_by_role("table", name="Terms in 2028-29")
    row = terms.get_by_role("row").filter(has_text="Autumn 1")
    for text in ("Mon 4 Sep 2028", "Fri 20 Oct 2028", "35"):
        expect(row).to_contain_text(text)

    day_form = page.get_by_role("form", name="Add a non-teaching day")
    fill_date(day_form, "Date", "2028-09-04")
    day_form.get_by_label("Reason", exact=True).fill("INSET day")
    day_form.get_by_role("button", name="Add non-teaching day").click()
    expect(page.locator("#calendar-message")).to_contain_text(
        "Mon 4 Sep 2028 added as a non-teaching day.")
    expect(page.get_by_role("table", name="Non-teaching days in 2028-29")).to_contain_text(
        "INSET day")
    expect(row).to_contain_text("34")  # one school day fewer in Autumn 1

    with fresh_session(session) as fresh:
        term = fresh.exec(select(TermPeriod).where(TermPeriod.school_year == "2028-29")).one()
        assert (term.name, term.starts_on, term.ends_on) == (
            "Autumn 1", date(2028, 9, 4), date(2028, 10, 20))
        inset = fresh.exec(select(NonTeachingDay).where(NonTeachingDay.on == date(2028, 9, 4))
                           ).one()
        assert inset.reason == "INSET day"
        assert load_calendar(fresh).school_days_between(date(2028, 9, 3), date(2028, 10, 20)) == 34

    assert_no_axe_violations(page, "admin-calendar")
    screenshot(page, "admin-calendar-desktop")
    page.set_viewport_size(LARGE_PHONE)
    screenshot(page, "admin-calendar-phone")
    assert_no_axe_violations(page, "admin-calendar-phone")
