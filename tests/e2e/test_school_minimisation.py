"""Field-level data minimisation over a real socket (issue 5, BR-D6).

School A's case is worked by the CME team through the services, with a distinct canary string
in every officer-side text field. School A's user then signs in over a real `/_event` socket
with the HttpOnly cookie, opens every page a school can reach (and the staff pages it can't),
calls every handler a school may use there, and every delta it receives is searched for every
canary: none may appear. The child's name the school entered must appear (so the search is
proven to work). School B does the same and must not see even the child's name.

| Model.field                          | Written by                                   |
|--------------------------------------|----------------------------------------------|
| Case.risk_rationale                  | triage.override_risk (reason)              |
| RiskAssessment.reason                | triage.override_risk                       |
| Case.warning_markers                 | safety.set_visit_safety                    |
| SafeguardingContact.contacted_by     | records.record_safeguarding                 |
| SafeguardingContact.reference        | records.record_safeguarding                 |
| SafeguardingContact.notes            | records.record_safeguarding                 |
| EnquiryAction.contacted              | records.log_enquiry                         |
| EnquiryAction.summary                | records.log_enquiry (the enquiry result)    |
| EnquiryAction.next_action            | records.log_enquiry                         |
| HomeVisit.address, .notes            | records.record_visit (desk)                 |
| HomeVisit.risk_check_notes           | visits.sync_visit (phone check-in)           |
| HomeVisit.people_spoken_to           | visits.sync_visit (name, description)        |
| HomeVisit.neighbours_said, .opinion  | visits.sync_visit                            |
| HomeVisit.mash_reference             | visits.sync_visit                            |
| HomeVisit.next_action                | visits.sync_visit                            |
| LoneWorkingAlert.resolution          | lone_working.resolve_alerts (mark safe note) |
| LaNotification.la_name, .contact     | records.send_la_notification                |
| LaNotification.question              | records.send_la_notification                |
| LaNotification.response              | records.record_la_response                  |
| StageChange.reason                   | enter_stage "Notified <la_name>"             |
| OverseasVerification.country, .organisation, .notes | records.record_overseas      |
| CaseLink.reason                      | records.link_household                      |
| Linked inbound case: Child names, Address.line1, Person.full_name, Referral.source_name,  |
|   Referral.concerns_narrative, LaNotification (inbound) | inbound_referrals.log_inbound      |
| CaseClosure.evidence (proposed, withdrawn) | closing.propose_closure (left UK unverified) |
| CaseClosure.evidence (closed)        | closing.close_case (transferred: summary)  |
| Notification.subject, .body (staff)  | notifications.notify to the officer          |
| AuditEvent.detail                    | audit.record by the officer                  |
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import SQLModel, select

from cme_app.domain import NotifyEvent
from cme_app.models import Case, LoneWorkingAlert, Notification, utcnow
from cme_app.ops.demo import example_referral_form
from cme_app.pages.intake.referral_detail import ReferralDetailState
from cme_app.pages.intake.referral_form import ReferralFormState
from cme_app.pages.intake.referrals import ReferralsState
from cme_app.pages.notify.inbox import InboxState
from cme_app.pages.notify.inbox_settings import InboxSettingsState
from cme_app.pages.trust.login import LoginState
from cme_app.services.casework import closure as closing
from cme_app.services.casework import lifecycle, records, triage
from cme_app.services.intake import inbound as inbound_referrals
from cme_app.services.intake import referrals
from cme_app.services.notify import notifications
from cme_app.services.trust import audit
from cme_app.services.visits import lone_working, safety
from cme_app.services.visits import phone_log as visit_service
from cme_app.state.auth import AuthState
from tests.e2e.helpers import fresh_session, session_cookie
from tests.e2e.socket_client import EventSocket, handler_name
from tests.factories import CANARY_FIRST, CANARY_LAST, CANARY_UPN, checked_in_visit, make_team

TODAY = date.today()


def _canary(field: str) -> str:
    # Distinct, searchable, and plain enough for every validator (letters and digits only).
    return f"Cnry{field}Q7"


# Officer-side fields (see the table above): no school may ever receive these.
OFFICER_CANARIES = {
    field: _canary(field)
    for field in (
        "RiskReason", "Markers", "SgBy", "SgRef", "SgNotes", "EnqContacted", "EnqSummary",
        "EnqNext", "DeskAddress", "DeskNotes", "RiskCheck", "SpokeName", "SpokeDesc",
        "Neighbours", "Opinion", "VisitMash", "VisitNext", "SafeNote", "LaName", "LaContact",
        "LaQuestion", "LaResponse", "OsCountry", "OsOrg", "OsNotes", "LinkReason",
        "InFirst", "InLast", "InLine", "InParent", "InSummary", "InLa", "PropReasons",
        "PropChecks", "CloseSummary", "StaffSubject", "StaffBody", "AuditDetail",
    )
}


def _work_the_case(session) -> dict:
    """School A refers; the team triages, enquires, visits, notifies, links and closes."""
    team = make_team(session)
    school_a, school_b = team["school"], team["school_b"]
    officer, buddy, lead = team["officer"], team["officer2"], team["lead"]
    c = OFFICER_CANARIES
    form = example_referral_form(first_name=CANARY_FIRST, last_name=CANARY_LAST, upn=CANARY_UPN)
    case = referrals.submit(session, actor=school_a, form=form)
    ref = case.reference

    def version() -> int:
        session.flush()
        return session.exec(select(Case.version).where(Case.id == case.id)).one()

    lifecycle.move_case(session, actor=lead, reference=ref, to_stage="triage", version=version())
    triage.record_triage(session, actor=lead, reference=ref, factors=[], version=version())
    triage.override_risk(session, actor=lead, reference=ref, risk="amber",
                           reason=f"Because {c['RiskReason']}", version=version())
    triage.allocate(session, actor=lead, reference=ref, officer_id=officer.user_id,
                      version=version())
    safety.set_visit_safety(session, actor=officer, reference=ref,
                              warning_markers=c["Markers"], joint_visit_required=False,
                              version=version())
    records.record_safeguarding(session, actor=officer, reference=ref, form={
        "kind": "notification", "agency": "mash", "contacted_on": TODAY.isoformat(),
        "contacted_time": "10:00", "contacted_by": c["SgBy"], "contact_reference": c["SgRef"],
        "notes": c["SgNotes"],
    })
    lifecycle.move_case(session, actor=lead, reference=ref, to_stage="enquiries",
                        version=version())
    records.log_enquiry(session, actor=officer, reference=ref, form={
        "kind": "csws", "done_on": TODAY.isoformat(), "method": "phone",
        "contacted": c["EnqContacted"], "result": "no_trace", "summary": c["EnqSummary"],
        "next_action": c["EnqNext"],
    })
    records.record_visit(session, actor=officer, reference=ref, form={
        "visited_on": TODAY.isoformat(), "address": c["DeskAddress"],
        "outcome": "no_reply_vacant", "child_seen": "no", "notes": c["DeskNotes"],
    })
    # A phone visit, checked in 2 hours ago for 30 minutes and never ended: it alerts the buddy
    # and the lead, and the lead marks the officer safe.
    start = utcnow() - timedelta(hours=2)
    visit = checked_in_visit(ref, officer_id=officer.user_id, buddy_id=buddy.user_id, at=start,
                             address="14 Example Street, Leeds",
                             risk_check_notes=c["RiskCheck"])
    visit_service.sync_visit(session, actor=officer, now=start + timedelta(minutes=25), payload={
        **visit,
        "record": {
            "saved_at": (start + timedelta(minutes=20)).isoformat(),
            "outcome": "parent_seen_child_not", "child_seen": "no", "seen_alone": "",
            "people_spoken_to": [{"name": c["SpokeName"], "relationship": "Other relative",
                                  "description": c["SpokeDesc"]}],
            "neighbours_spoken": "yes", "neighbours_said": c["Neighbours"],
            "calling_card_left": "yes", "notes": "Post behind the door.",
            "opinion": c["Opinion"], "safeguarding_raised": "yes",
            "mash_reference": c["VisitMash"], "next_action": c["VisitNext"],
            "next_action_due": (TODAY + timedelta(days=3)).isoformat(),
        },
    })
    lone_working.escalate_overdue(session, now=utcnow())
    alert_id = session.exec(select(LoneWorkingAlert.id)).first()
    lone_working.resolve_alerts(session, actor=lead, alert_id=alert_id, note=c["SafeNote"])
    inbound = inbound_referrals.log_inbound(session, actor=officer, form={
        "source_type": "other_la", "la_name": c["InLa"], "received_on": TODAY.isoformat(),
        "first_name": c["InFirst"], "last_name": c["InLast"], "date_of_birth": "2015-05-05",
        "sex": "male", "line1": c["InLine"], "town": "Leeds", "parent_name": c["InParent"],
        "summary": c["InSummary"],
    })
    records.link_household(session, actor=officer, reference=ref,
                            other_reference=inbound.reference, reason=c["LinkReason"])
    records.record_overseas(session, actor=officer, reference=ref, form={
        "country": c["OsCountry"], "organisation": c["OsOrg"], "evidence_type": "phone_call",
        "independent": "yes", "received_on": TODAY.isoformat(), "notes": c["OsNotes"],
    })
    note = records.send_la_notification(session, actor=officer, reference=ref, form={
        "la_name": c["LaName"], "la_code": "380", "contact": c["LaContact"],
        "question": c["LaQuestion"],
    })
    session.flush()
    records.record_la_response(session, actor=officer, reference=ref, notification_id=note.id,
                                form={"acknowledged_on": TODAY.isoformat(),
                                      "response_on": TODAY.isoformat(),
                                      "response": c["LaResponse"]})
    closing.propose_closure(session, actor=officer, reference=ref,
                              outcome="left_uk_unverified", version=version(), today=TODAY,
                              evidence={"reasons": c["PropReasons"],
                                        "checks_done": c["PropChecks"]})
    closing.close_case(session, actor=lead, reference=ref, outcome="transferred_other_la",
                         evidence={"summary": c["CloseSummary"],
                                   "beyond_reasonable_distance": "yes"}, version=version(),
                         today=TODAY)
    notifications.notify(session, event=NotifyEvent.CASE_ALLOCATED,
                         recipients=[officer.user_id], key=f"canary:{ref}", reference=ref,
                         subject=c["StaffSubject"], body=c["StaffBody"], link=f"/cases/{ref}")
    audit.record(session, actor=officer, action="case.viewed", entity_type="case",
                 entity_id=ref, child_id=case.child_id, detail={"purpose": c["AuditDetail"]})
    session.commit()
    return {"reference": ref, "school_a": school_a, "school_b": school_b}


@pytest.fixture
def worked_case(session):
    return _work_the_case(session)


def _stored_text(session) -> str:
    """Every row of every table, as text: proves each canary really reached the database."""
    with fresh_session(session) as s:
        return " ".join(
            repr(row) for table in SQLModel.metadata.sorted_tables
            for row in s.execute(select(table)).all()
        )


def _inbox_item(session, user_id: int) -> int:
    with fresh_session(session) as s:
        return s.exec(select(Notification.id).where(Notification.recipient_id == user_id)).one()


QUIET_CALL = 1.0  # seconds to wait for a handler that may answer nothing


def _walk_school_pages(sock: EventSocket, reference: str, item_id: int | None) -> None:
    """Every page a school can reach, and every handler it may call there, with sensible
    arguments; then the staff pages, which must send it away with nothing."""
    detail = f"/referrals/{reference}"
    sock.load("/referrals")
    sock.call(handler_name(ReferralsState, "load"), path="/referrals")
    sock.load(detail)
    sock.call(handler_name(ReferralDetailState, "load"), path=detail)
    # The polls answer nothing when nothing changed: wait a second, not the 10 s timeout (any
    # later answer is still searched below, with everything else received).
    sock.call(handler_name(AuthState, "poll_unread"), path=detail, timeout=QUIET_CALL)
    sock.load("/referrals/new?section=child")
    form_state = ReferralFormState
    sock.call(handler_name(form_state, "add_row"), {"group": "person"})
    sock.call(handler_name(form_state, "set_category"), {"value": "whereabouts_unknown"})
    sock.call(handler_name(form_state, "save_page"), {"form_data": {"first_name": ""}})
    sock.call(handler_name(form_state, "set_intent"), {"intent": "draft"})
    sock.call(handler_name(form_state, "save_page"), {"form_data": {"first_name": "Draft"}})
    sock.load("/referrals/new?section=check")
    sock.call(handler_name(form_state, "submit_referral"), {"form_data": {}})
    sock.load("/inbox")
    inbox = InboxState
    sock.call(handler_name(inbox, "poll"), timeout=QUIET_CALL)
    sock.call(handler_name(inbox, "set_filter"), {"value": "unread"})
    sock.call(handler_name(inbox, "set_filter"), {"value": "all"})
    if item_id is not None:
        sock.call(handler_name(inbox, "mark_read"), {"notification_id": item_id})
        sock.call(handler_name(inbox, "open_item"), {"notification_id": item_id})
    sock.call(handler_name(inbox, "mark_all_read"), path="/inbox")
    sock.load("/inbox/settings")
    sock.call(handler_name(InboxSettingsState, "save_preferences"),
              {"form_data": {"delivery-case_outcome": "digest",
                             "delivery-referral_returned": "immediate"}})
    sock.load("/login")
    sock.call(handler_name(LoginState, "go_home"), path="/login")
    for other_page in ("/", f"/cases/{reference}", "/board", "/visits",
                       f"/visits/new?case={reference}", "/dashboard", "/cases/new"):
        sock.load(other_page)
    sock.call(handler_name(AuthState, "sign_out"), path="/referrals")


@pytest.mark.parametrize("school", ["school A (referrer)", "school B (another school)"])
def test_school_deltas_carry_no_officer_canary(app_url, session, worked_case, school):
    own = school.startswith("school A")
    actor = worked_case["school_a" if own else "school_b"]
    reference = worked_case["reference"]
    stored = _stored_text(session)
    assert [f for f, canary in OFFICER_CANARIES.items() if canary not in stored] == []
    item_id = _inbox_item(session, actor.user_id) if own else None
    cookie = session_cookie(app_url, actor.email)
    with EventSocket(app_url, path="/referrals", cookie=cookie) as sock:
        assert '"school"' in sock.received_text(), "the cookie did not sign the socket in"
        _walk_school_pages(sock, reference, item_id)
        sock.settle(len(sock.updates), timeout=3)
        assert sock.connected
        text = sock.received_text()
    # The search works: what school A may see is there (its own child, and the outcome).
    if own:
        for visible in (CANARY_FIRST, reference, "Child lives in another area", "has an outcome"):
            assert visible in text, f"school A did not receive {visible!r}"
    leaked = [f for f, canary in OFFICER_CANARIES.items() if canary in text]
    assert not leaked, f"{school} received officer-side fields: {leaked}"
    if not own:
        # (The reference it typed comes back in the router data: that is no leak.)
        for canary in (CANARY_FIRST, CANARY_LAST, CANARY_UPN):
            assert canary not in text, f"school B received {canary!r}"
