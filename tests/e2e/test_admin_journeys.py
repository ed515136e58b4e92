"""The administrator's accounts page in Chromium: add an officer (a common password first, then
a good one), find them in the list and disable their account."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import AuditEvent, User
from cme_app.services.trust import auth
from tests.e2e.helpers import (
    DESKTOP,
    LARGE_PHONE,
    PHONE,
    assert_no_axe_violations,
    fresh_session,
    screenshot,
    sign_in,
    wait_for_hydration,
)
from tests.factories import make_school, make_user

GOOD_PASSWORD = "marble kettle orchard swim"


@pytest.fixture
def accounts(session):
    make_school(session, "107999", "Aire Valley Primary School")
    make_user(session, "admin", email="admin@example.org", name="Ada Admin")
    make_user(session, "officer", email="officer@example.org", name="Olu Officer")
    make_user(session, "school", email="school.a@example.org", school_urn="107999",
              name="Aire Valley office")
    session.commit()


def _shots(page: Page, name: str) -> None:
    assert_no_axe_violations(page, name)
    screenshot(page, f"{name}-desktop")
    for size, label in ((LARGE_PHONE, "phone"), (PHONE, "360")):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{label}")
        assert_no_axe_violations(page, f"{name}-{label}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/admin/users scrolls sideways at 360 px ({width} px)"
    page.set_viewport_size(DESKTOP)


def open_menu(row):
    """Open a row's Actions menu (a disclosure), if it is closed."""
    menu = row.locator("details.row-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    return menu


def test_admin_adds_an_account_and_disables_it(page: Page, session, accounts):
    sign_in(page, "admin@example.org", viewport=DESKTOP)
    page.get_by_role("link", name="Users").click()
    page.wait_for_url("**/admin/users")
    wait_for_hydration(page)
    table = page.get_by_role("table", name="Accounts, by role then name")
    expect(table).to_contain_text("Olu Officer")
    expect(table).to_contain_text("Aire Valley Primary School (URN 107999)")

    add = page.get_by_role("region", name="Add an account")
    add.get_by_label("Email").fill("nia.new@example.org")
    add.get_by_label("Full name").fill("Nia Newton")
    # School appears for a school account only, offering the registered schools.
    expect(add.get_by_label("School")).to_have_count(0)
    add.get_by_label("Role").select_option(label="School")
    expect(add.get_by_label("School")).to_contain_text("Aire Valley Primary School (URN 107999)")
    add.get_by_label("Role").select_option(label="CME officer")
    expect(add.get_by_label("School")).to_have_count(0)
    add.get_by_label("Password", exact=True).fill("password1234")
    add.get_by_role("button", name="Add account").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name=auth.TOO_COMMON)).to_have_attribute(
        "href", re.compile(r"#password$")
    )
    # Nothing saved; what was typed is kept, except the password.
    expect(add.get_by_label("Email")).to_have_value("nia.new@example.org")
    expect(add.get_by_label("Full name")).to_have_value("Nia Newton")
    expect(add.get_by_label("Password", exact=True)).to_have_value("")
    with fresh_session(session) as fresh:
        assert fresh.exec(select(User).where(User.email == "nia.new@example.org")).first() is None
    assert_no_axe_violations(page, "admin-users-error")
    screenshot(page, "admin-users-error-desktop")

    add.get_by_label("Password", exact=True).fill(GOOD_PASSWORD)
    add.get_by_role("button", name="Add account").click()
    expect(page.locator("#account-added")).to_contain_text("Account added")
    expect(page.locator("#account-added")).to_contain_text("nia.new@example.org")
    screenshot(page, "admin-users-added-desktop")
    expect(summary).to_have_count(0)
    row = table.get_by_role("row").filter(has_text="Nia Newton")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Not set up yet")
    with fresh_session(session) as fresh:
        nia = fresh.exec(select(User).where(User.email == "nia.new@example.org")).one()
        assert (nia.role, nia.name, nia.is_active) == ("officer", "Nia Newton", True)

    # "Add an account" comes first; no row leads with a red button: actions are in a menu.
    found = page.get_by_role("search", name="Find accounts")
    assert add.bounding_box()["y"] < found.bounding_box()["y"] < table.bounding_box()["y"]
    expect(row.get_by_role("button", name="Disable account for Nia Newton")).to_be_hidden()
    open_menu(row).get_by_role("button", name="Disable account for Nia Newton").click()
    confirm = page.locator("#confirm-action")
    expect(confirm).to_contain_text("Disable account for Nia Newton")
    screenshot(page, "admin-users-confirm-desktop")
    confirm.get_by_role("button", name="Yes, disable account").click()
    expect(page.locator("#users-message")).to_contain_text(
        "Account disabled for Nia Newton (nia.new@example.org)"
    )
    expect(row).to_contain_text("Disabled")
    expect(open_menu(row).get_by_role("button", name="Enable account for Nia Newton")
           ).to_be_visible()
    # The Status filter finds her among the disabled accounts.
    page.get_by_label("Status").select_option(label="Disabled")
    page.get_by_role("button", name="Search").click()
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Nia's row
    expect(table).to_contain_text("Nia Newton")
    page.goto("/admin/users")
    wait_for_hydration(page)
    expect(page.get_by_label("Status")).to_have_value("")  # a new visit: no filter
    # The admin's own row offers no way to lock themselves out.
    expect(table.get_by_role("row").filter(has_text="Ada Admin")).to_contain_text("Your account")
    _shots(page, "admin-users")

    with fresh_session(session) as fresh:
        nia = fresh.exec(select(User).where(User.email == "nia.new@example.org")).one()
        assert not nia.is_active
        actions = fresh.exec(
            select(AuditEvent.action).where(AuditEvent.entity_id == str(nia.id))
        ).all()
        assert {"user.created", "user.disabled"} <= set(actions)
