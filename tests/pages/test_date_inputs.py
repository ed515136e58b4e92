"""Every date is asked with the GOV.UK date input (Day, Month, Year): the handler adapter joins
the three boxes into the one date every page and service reads, so a wrong date still gets the
service's own message, and nothing else in the form changes."""

from __future__ import annotations

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import join_date_boxes, uk_today
from cme_app.models import HomeVisit
from cme_app.pages.casework.case.state import CaseState
from tests.factories import call_handler, case_in_enquiries, loaded_tab, run_async


def test_the_three_boxes_become_one_date_and_the_rest_is_untouched():
    sent = {"visit-visited_on-day": "5", "visit-visited_on-month": "3",
            "visit-visited_on-year": "2026", "visit-address": "14 Example Street",
            "sec-x-done_on-day": " 31", "sec-x-done_on-month": "2", "sec-x-done_on-year": "2026",
            "odd-day": "Tuesday"}  # a field that only looks like a box: not all three sent
    assert join_date_boxes(sent) == {
        "visit-visited_on": "2026-03-05", "visit-address": "14 Example Street",
        "sec-x-done_on": "2026-02-31",  # the service says it is not a real date
        "odd-day": "Tuesday",
    }
    assert join_date_boxes({"d-day": "", "d-month": "", "d-year": ""}) == {"d": ""}
    assert join_date_boxes({"d-day": "1", "d-month": "Jan", "d-year": "2026"}) == {
        "d": "2026-Jan-1"}
    assert join_date_boxes({"d-day": 1, "d-month": None, "d-year": ["2026"]}) == {"d": ""}
    assert join_date_boxes({1: "x"}) == {1: "x"}


def _visit_tab(session, team):
    reference = case_in_enquiries(session, team)
    return loaded_tab(session, team["officer"].email, CaseState, f"/cases/{reference}"), reference


VISIT = {"visit-address": "14 Example Street", "visit-child_seen": "no",
         "visit-outcome": "no_reply_vacant"}


def test_a_visit_recorded_with_the_date_boxes_keeps_its_date(session, team):
    state, _ = _visit_tab(session, team)
    today = uk_today()
    call_handler(state, "record_visit", {
        **VISIT, "visit-visited_on-day": str(today.day), "visit-visited_on-month":
        str(today.month), "visit-visited_on-year": str(today.year)})
    assert state.errors == {}, state.errors
    (visit,) = session.exec(select(HomeVisit)).all()
    assert visit.visited_on == today


def test_the_boxes_are_joined_when_the_browser_names_the_argument(session, team):
    """Reflex calls a handler with the browser's arguments by name (form_data=...)."""
    state, _ = _visit_tab(session, team)
    today = uk_today()
    handler = type(state).event_handlers["record_visit"].fn
    run_async(handler(state, form_data={
        **VISIT, "visit-visited_on-day": str(today.day), "visit-visited_on-month":
        str(today.month), "visit-visited_on-year": str(today.year)}))
    assert state.errors == {}, state.errors
    assert [v.visited_on for v in session.exec(select(HomeVisit)).all()] == [today]


def test_a_date_that_is_not_real_gets_the_services_message_at_its_date_input(session, team):
    state, _ = _visit_tab(session, team)
    call_handler(state, "record_visit", {
        **VISIT, "visit-visited_on-day": "31", "visit-visited_on-month": "2",
        "visit-visited_on-year": "2026"})
    assert state.errors["visit-visited_on"] == "The date of the visit must be a real date"
    assert ["visit-visited_on", state.errors["visit-visited_on"]] in state.error_list
    assert session.exec(select(HomeVisit)).all() == []
