"""Forged events over a real `/_event` socket to the served app (issue 18, findings 4 and 5).

4. A school's socket sends the team's privileged events (move, allocate, approve a closure,
   legal hold) with well-formed arguments: each is refused, changes nothing, and leaves one
   `permission.refused` audit row naming the handler and the school's user.
5. An officer's socket writes to a case allocated to a colleague without giving the purpose:
   nothing is written and the refusal is audited; after the purpose event the same write goes
   in and its audit row carries the purpose.
"""

from __future__ import annotations

import time

from sqlalchemy import func
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.models import AuditEvent, Case, EnquiryAction
from cme_app.pages.casework.board import BoardState
from cme_app.pages.casework.case.data_protection import DataProtectionState
from cme_app.pages.casework.case.state import CaseState
from tests.e2e.helpers import fresh_session, session_cookie
from tests.e2e.socket_client import EventSocket, handler_name
from tests.factories import case_in_enquiries

TODAY = uk_today()


def _case(session, reference: str) -> tuple:
    with fresh_session(session) as s:
        c = s.exec(select(Case).where(Case.reference == reference)).one()
        return (c.stage, c.version, c.allocated_officer_id, c.legal_hold, c.outcome)


def _audit(session, **where) -> list[AuditEvent]:
    with fresh_session(session) as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(s.exec(query).all())


def _wait_for(check, timeout: float = 10) -> None:
    """The server commits after it answers: poll the database until `check` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the server did not record it in time"
        time.sleep(0.1)


def test_a_schools_forged_privileged_events_are_refused_and_each_audited(
    app_url, session, team
):
    reference = case_in_enquiries(session, team)
    version = _case(session, reference)[1]
    before = _case(session, reference)
    school = team["school"]
    forged = [
        (BoardState, "move", {"reference": reference, "to_stage": "home_visit",
                              "version": version}, "/board"),
        (CaseState, "allocate", {"form_data": {"allocate-officer_id": str(
            team["officer2"].user_id)}}, f"/cases/{reference}"),
        (CaseState, "approve_closure", {}, f"/cases/{reference}"),
        (DataProtectionState, "save_legal_hold", {"form_data": {
            "hold-action": "set", "hold-reason": "Court order"}}, f"/cases/{reference}"),
    ]
    cookie = session_cookie(app_url, school.email)
    with EventSocket(app_url, path="/referrals", cookie=cookie) as sock:
        assert '"school"' in sock.received_text(), "the cookie did not sign the socket in"
        for cls, name, payload, path in forged:
            sock.call(handler_name(cls, name), payload, path=path)

    assert _case(session, reference) == before, "a forged event changed the case"
    for cls, name, _payload, _path in forged:
        label = f"{cls.__name__}.{name}"
        _wait_for(lambda label=label: _audit(session, action="permission.refused",
                                             entity_id=label))
        [row] = _audit(session, action="permission.refused", entity_id=label)
        assert (row.actor_id, row.actor_role, row.outcome) == (school.user_id, "school",
                                                               "refused")


def test_an_officers_write_to_a_colleagues_case_needs_the_purpose_over_the_socket(
    app_url, session, team
):
    reference = case_in_enquiries(session, team)  # allocated to "officer"
    covering = team["officer2"]
    enquiry = {"form_data": {
        "enq-kind": "health", "enq-done_on": TODAY.isoformat(), "enq-method": "system",
        "enq-contacted": "Records team", "enq-result": "no_trace",
        "enq-summary": "Checked the GP register."}}

    def enquiries() -> int:
        with fresh_session(session) as s:
            return s.exec(select(func.count()).select_from(EnquiryAction)).one()

    before = enquiries()
    path = f"/cases/{reference}"
    log = handler_name(CaseState, "log_enquiry")
    cookie = session_cookie(app_url, covering.email)
    with EventSocket(app_url, path=path, cookie=cookie) as sock:
        sock.call(log, enquiry)  # forged: the case page never showed the form
        _wait_for(lambda: _audit(session, action="case.enquiry_logged",
                                 actor_id=covering.user_id))
        assert enquiries() == before, "a write without a purpose went in"
        [refused] = _audit(session, action="case.enquiry_logged", actor_id=covering.user_id)
        assert refused.outcome == "refused"
        assert refused.detail.get("reason") == "purpose_required"

        sock.call(handler_name(CaseState, "give_purpose"),
                  {"form_data": {"purpose": "covering"}})
        sock.call(log, enquiry)
        _wait_for(lambda: enquiries() == before + 1)

    done = [e for e in _audit(session, action="case.enquiry_logged",
                              actor_id=covering.user_id) if e.outcome != "refused"]
    assert len(done) == 1 and done[0].detail.get("purpose") == "covering"
