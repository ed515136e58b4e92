"""Issue 18, finding 5: a write on a case outside the caseload needs the purpose too.

Every write service that takes a case reference, called by an officer (or an admin, for the
other-LA notices) on a case allocated to another officer: refused without a purpose (a clear
PurposeRequired, audited as refused), allowed once the purpose was given on opening the case,
and the write's audit row carries that purpose. The one check is `purpose.for_write`, called by
`lifecycle.load_case` (and by the writes that load a case unlocked). The visits API is in
tests/services/visits/test_visits.py; securing education in
tests/services/casework/test_securing.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.errors import NotAllowed, Refusal, ServiceError
from cme_app.models import AuditEvent, Case
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import case_file, closure, lifecycle, records, securing, triage
from cme_app.services.documents import documents
from cme_app.services.intake import referrals
from cme_app.services.returns import episodes
from cme_app.services.trust import purpose, sharing
from cme_app.services.visits import safety
from tests.factories import fresh, to_enquiries

TODAY = uk_today()


@dataclass(frozen=True)
class Write:
    call: Callable  # (session, actor, case) -> the service call
    action: str  # the audit action of the attempt
    allowed: bool = True  # False: once the purpose is given, the write's own rule refuses


def _ref(case: Case) -> dict:
    return {"reference": case.reference}


WRITES = {
    "record_safeguarding": Write(lambda s, a, c: records.record_safeguarding(
        s, actor=a, **_ref(c), form={
            "kind": "notification", "agency": "front_door", "contacted_on": TODAY.isoformat(),
            "contacted_by": "Sam", "contact_reference": "FD-1"}),
        "case.safeguarding_recorded"),
    "log_enquiry": Write(lambda s, a, c: records.log_enquiry(s, actor=a, **_ref(c), form={
        "kind": "health", "done_on": TODAY.isoformat(), "method": "system",
        "contacted": "Records team", "result": "no_trace", "summary": "Checked."}),
        "case.enquiry_logged"),
    "record_visit": Write(lambda s, a, c: records.record_visit(s, actor=a, **_ref(c), form={
        "visited_on": TODAY.isoformat(), "address": "14 Example Street",
        "outcome": "no_reply_vacant", "child_seen": "no", "notes": "Post piled up."}),
        "case.visit_recorded"),
    "send_la_notification": Write(lambda s, a, c: records.send_la_notification(
        s, actor=a, **_ref(c), form={"la_name": "Bradford", "contact": "cme@bradford.example",
                                     "question": "Known?"}),
        "case.la_notified"),
    "record_overseas": Write(lambda s, a, c: records.record_overseas(s, actor=a, **_ref(c), form={
        "country": "Pakistan", "organisation": "Lahore Grammar",
        "evidence_type": "school_letter", "independent": "yes",
        "received_on": TODAY.isoformat()}),
        "case.overseas_recorded"),
    "record_share": Write(lambda s, a, c: sharing.record_share(s, actor=a, **_ref(c), form={
        "shared_on": TODAY.isoformat(), "recipient_type": "other_la",
        "recipient_name": "Bradford CME team", "categories": ["identity"],
        "reason": "Family believed to have moved", "lawful_basis": "art6_1_e"}),
        "case.shared"),
    "record_triage": Write(lambda s, a, c: triage.record_triage(
        s, actor=a, **_ref(c), factors=[], version=fresh(s, c).version),
        "case.triaged"),
    "start_episode": Write(lambda s, a, c: episodes.start_episode(s, actor=a, **_ref(c), form={
        "start_date": TODAY.isoformat(), "start_basis": "arrived_in_la", "lives_in_la": "yes",
        "primary_reason": "Moved in from another local authority"}),
        "episode.started"),
    # Their own rules refuse another officer even with a purpose; the purpose is asked first.
    "move_case": Write(lambda s, a, c: lifecycle.move_case(
        s, actor=a, **_ref(c), to_stage="home_visit", version=fresh(s, c).version),
        "case.moved", allowed=False),
    "set_visit_safety": Write(lambda s, a, c: safety.set_visit_safety(
        s, actor=a, **_ref(c), warning_markers="Dog", joint_visit_required=True,
        version=fresh(s, c).version),
        "case.visit_safety_changed", allowed=False),
    # Refused without a purpose before anything else is looked at (the form is not read).
    "return_to_referrer": Write(lambda s, a, c: lifecycle.return_to_referrer(
        s, actor=a, **_ref(c), note="More detail please", version=fresh(s, c).version),
        "referral.returned", allowed=False),
    "propose_closure": Write(lambda s, a, c: closure.propose_closure(
        s, actor=a, **_ref(c), outcome="untraceable", evidence={},
        version=fresh(s, c).version, today=TODAY),
        "case.closure_proposed", allowed=False),
    "record_police_report": Write(lambda s, a, c: records.record_police_report(
        s, actor=a, **_ref(c), form={}, version=fresh(s, c).version),
        "case.police_report", allowed=False),
    "link_household": Write(lambda s, a, c: records.link_household(
        s, actor=a, **_ref(c), other_reference="CME-2026-99999", reason="Siblings"),
        "case.linked", allowed=False),
    "record_la_response": Write(lambda s, a, c: records.record_la_response(
        s, actor=a, **_ref(c), notification_id=0, form={}),
        "case.la_response_recorded", allowed=False),
    "record_la_reply": Write(lambda s, a, c: records.record_la_reply(
        s, actor=a, **_ref(c), notification_id=0, form={}),
        "case.la_reply_recorded", allowed=False),
    "change_episode": Write(lambda s, a, c: episodes.change_episode(
        s, actor=a, **_ref(c), episode_id=0, form={}, version=1),
        "episode.changed", allowed=False),
    "end_episode": Write(lambda s, a, c: episodes.end_episode(
        s, actor=a, **_ref(c), episode_id=0, form={}, version=1),
        "episode.ended", allowed=False),
    # Securing education is for a located child (allowed with a purpose: test_securing.py).
    "securing_record_step": Write(lambda s, a, c: securing.record_step(
        s, actor=a, **_ref(c), kind="application", form={}),
        "securing.recorded", allowed=False),
    "securing_follow_again": Write(lambda s, a, c: securing.follow_again(s, actor=a, **_ref(c)),
        "episode.reason_followed", allowed=False),
    "generate_document": Write(lambda s, a, c: documents.generate(
        s, actor=a, **_ref(c), kind="outcome_letter"),
        "document.created", allowed=False),
}


@pytest.fixture
def case(session, team) -> Case:
    """A case in Enquiries allocated to "officer"; "officer2" is outside its caseload."""
    made = referrals.submit(session, actor=team["school"], form=example_referral_form())
    session.commit()
    return to_enquiries(session, team, made)


def _give_purpose(session, team, case, who="officer2") -> None:
    case_file.view_case(session, actor=team[who], reference=case.reference,
                        purpose_form={"purpose": "other", "purpose_other": "Covering leave"})
    session.commit()


def _events(session, action: str, actor) -> list[AuditEvent]:
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.action == action,
                                 AuditEvent.actor_id == actor.user_id)
        .order_by(AuditEvent.id)
    ).all())


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_write_outside_the_caseload_is_refused_without_a_purpose(session, team, case, name):
    write = WRITES[name]
    before = fresh(session, case).version
    with pytest.raises(purpose.PurposeRequired, match="say why you are working on it"):
        write.call(session, team["officer2"], case)
    session.commit()  # as the handler adapter does after a refusal: its audit row stays
    [event] = _events(session, write.action, team["officer2"])
    assert (event.outcome, event.detail) == ("refused", {"reason": "purpose_required"})
    assert fresh(session, case).version == before


@pytest.mark.parametrize("name", sorted(n for n, w in WRITES.items() if w.allowed))
def test_with_the_purpose_given_the_write_is_allowed_and_its_audit_says_why(
    session, team, case, name
):
    write = WRITES[name]
    _give_purpose(session, team, case)
    write.call(session, team["officer2"], case)
    session.commit()
    events = _events(session, write.action, team["officer2"])
    assert events and all(e.outcome == "ok" for e in events)
    assert all(
        (e.detail["purpose"], e.detail["purpose_other"]) == ("other", "Covering leave")
        for e in events
    )
    assert purpose.label(events[-1].detail) == "Other: Covering leave"


@pytest.mark.parametrize("name", sorted(n for n, w in WRITES.items() if not w.allowed))
def test_with_the_purpose_given_the_writes_own_rules_decide(session, team, case, name):
    _give_purpose(session, team, case)
    with pytest.raises(ServiceError) as err:  # a refusal or field errors of its own
        WRITES[name].call(session, team["officer2"], case)
    assert not isinstance(err.value, purpose.PurposeRequired)


def test_the_purpose_is_per_case_and_person(session, team, case):
    """A purpose given for another case, or by another officer, does not count."""
    other = referrals.submit(session, actor=team["school"], form=example_referral_form())
    session.commit()
    other = to_enquiries(session, team, other)
    _give_purpose(session, team, other)  # officer2, for the other case
    with pytest.raises(purpose.PurposeRequired):
        WRITES["log_enquiry"].call(session, team["officer2"], case)
    session.rollback()


def test_the_allocated_officer_and_a_lead_are_never_asked(session, team, case):
    WRITES["log_enquiry"].call(session, team["officer"], case)
    WRITES["log_enquiry"].call(session, team["lead"], case)
    session.commit()
    for who in ("officer", "lead"):
        [event] = _events(session, "case.enquiry_logged", team[who])
        assert "purpose" not in event.detail


def test_an_admin_notifying_another_la_on_an_officers_case_needs_the_purpose(
    session, team, case
):
    write = WRITES["send_la_notification"]
    with pytest.raises(purpose.PurposeRequired):
        write.call(session, team["admin"], case)
    session.commit()
    _give_purpose(session, team, case, who="admin")
    write.call(session, team["admin"], case)
    session.commit()
    refused, done = _events(session, write.action, team["admin"])
    assert refused.outcome == "refused" and done.detail["purpose"] == "other"


def test_a_role_refusal_comes_before_the_purpose(session, team, case):
    """A school never learns the case is someone else's: it is simply not allowed."""
    with pytest.raises(NotAllowed) as err:
        WRITES["log_enquiry"].call(session, team["school"], case)
    assert not isinstance(err.value, purpose.PurposeRequired)
    assert isinstance(err.value, Refusal)
