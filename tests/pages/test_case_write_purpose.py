"""Issue 18, finding 5, through the case page's state as a browser tab drives it: another
officer's case asks for the purpose before showing anything to write with, and a forged write
event sent without one (the form was never shown) changes nothing, is audited as refused, says
why in plain words and brings the purpose question up. Once the purpose is given on the page,
the same event works and its audit row carries the purpose."""

from __future__ import annotations

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import uk_today
from cme_app.models import AuditEvent, EnquiryAction
from cme_app.pages.casework.case.state import CaseState
from cme_app.services.trust import purpose
from tests.factories import call_handler, case_in_enquiries, session_token, state_for

TODAY = uk_today()
ENQUIRY = {"enq-kind": "health", "enq-done_on": TODAY.isoformat(), "enq-method": "system",
           "enq-contacted": "Records team", "enq-result": "no_trace", "enq-summary": "Checked."}


def _tab(session, email: str, reference: str) -> CaseState:
    token = session_token(session, email)
    session.commit()
    return state_for(CaseState, token, path=f"/cases/{reference}")


def _enquiries(session) -> int:
    n = len(session.exec(select(EnquiryAction.id)).all())
    session.rollback()
    return n


def _events(session, actor) -> list[AuditEvent]:
    rows = list(session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.enquiry_logged", AuditEvent.actor_id == actor.user_id,
    ).order_by(AuditEvent.id)).all())
    session.rollback()
    return rows


def test_the_page_asks_for_the_purpose_before_anything_to_write_with(session, team):
    reference = case_in_enquiries(session, team)  # allocated to "officer"
    state = _tab(session, team["officer2"].email, reference)
    call_handler(state, "load")
    assert state.purpose_needed and state.case is None  # no case file, so no write forms
    mine = _tab(session, team["officer"].email, reference)
    call_handler(mine, "load")
    assert not mine.purpose_needed and mine.case is not None


def test_a_forged_write_without_a_purpose_is_refused_and_audited(session, team):
    reference = case_in_enquiries(session, team)
    before = _enquiries(session)
    state = _tab(session, team["officer2"].email, reference)  # never loaded: a forged event
    call_handler(state, "log_enquiry", ENQUIRY)
    assert _enquiries(session) == before
    assert state.problem == purpose.WRITE_MESSAGE
    assert state.purpose_needed and state.case is None  # the page asks why next
    [refused] = _events(session, team["officer2"])
    assert (refused.outcome, refused.detail) == ("refused", {"reason": "purpose_required"})


def test_with_the_purpose_given_on_the_page_the_write_works_and_says_why(session, team):
    reference = case_in_enquiries(session, team)
    state = _tab(session, team["officer2"].email, reference)
    call_handler(state, "load")
    call_handler(state, "give_purpose", {"purpose": "covering"})
    assert state.case is not None and not state.purpose_needed
    before = _enquiries(session)
    call_handler(state, "log_enquiry", ENQUIRY)
    assert state.problem == "" and state.message == "Enquiry logged."
    assert _enquiries(session) == before + 1
    [done] = _events(session, team["officer2"])
    assert done.outcome == "ok" and done.detail["purpose"] == "covering"
