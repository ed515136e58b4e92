"""The case page's report to the police (issue 17 rule 14), through the page state as a browser
tab drives it: a bad form shows GOV.UK errors and changes nothing; a good one shows in the
case header's words and is audited. Refusals for other roles: test_handler_guards.py."""

from __future__ import annotations

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import long_date, uk_today
from cme_app.models import AuditEvent, Case
from cme_app.pages.casework.case.state import CaseState
from tests.factories import call_handler, case_in_enquiries, session_token, state_for

TODAY = uk_today()


def _page(session, team, reference: str, who: str = "officer") -> CaseState:
    token = session_token(session, team[who].email)
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}")
    call_handler(state, "load")
    assert state.case is not None and state.case.reference == reference
    return state


def test_a_report_without_its_date_shows_the_error_and_records_nothing(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    call_handler(state, "save_police_report", {"police-reported": "yes"})
    assert set(state.errors) == {"police-reported_on"}
    assert state.case.police_report == ""
    stored = session.exec(select(Case).where(Case.reference == state.case.reference)).one()
    assert stored.reported_missing_to_police is False


def test_a_report_shows_on_the_case_and_is_audited(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    call_handler(state, "save_police_report", {
        "police-reported": "yes", "police-reported_on": TODAY.isoformat(),
        "police-police_reference": "WY-2026-1234"})
    assert state.errors == {} and state.message.startswith("Report to the police saved")
    assert state.case.police_report == (
        f"Reported missing to police on {long_date(TODAY)} (reference WY-2026-1234)")
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.police_report")).one()
    assert event.detail["after"]["reported"] is True
