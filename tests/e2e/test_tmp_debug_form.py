from datetime import date

from playwright.sync_api import Page, expect
from sqlmodel import select

from cme_app.models import Referral
from tests.e2e.helpers import PHONE_TALL, fresh_session, sign_in, wait_for_hydration
from tests.e2e.test_referral_journeys import fill_child, fill_date


def _dob(session):
    with fresh_session(session) as fresh:
        r = fresh.exec(select(Referral)).first()
        return r and r.form_data.get("date_of_birth")


def test_debug(page: Page, team, session):
    sign_in(page, "school.107999@example.org", viewport=PHONE_TALL)
    page.goto("/referrals/new?section=child")
    wait_for_hydration(page)
    fill_child(page)
    page.wait_for_timeout(2000)
    print("after fill", _dob(session))
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Addresses")
    print("after save", _dob(session))
    draft = page.url.split("draft=")[1][:32]
    page.goto(f"/referrals/new?draft={draft}&section=check")
    wait_for_hydration(page)
    page.get_by_role("link", name="Change date of birth").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The child")
    wait_for_hydration(page)
    print("boxes", [page.locator(f"#date_of_birth-{p}").input_value() for p in ("day", "month", "year")])
    fill_date(page, "Date of birth", date(2014, 4, 5))
    print("boxes2", [page.locator(f"#date_of_birth-{p}").input_value() for p in ("day", "month", "year")])
    page.wait_for_timeout(2000)
    print("after edit", _dob(session))
    page.get_by_role("button", name="Save and go back to check your answers").click()
    page.wait_for_timeout(2000)
    print("after save2", _dob(session))
