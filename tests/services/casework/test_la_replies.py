"""Another LA's notice that a child moved here is answered by us (BR-L10): the reply we sent,
and, when the case closes, the outcome we told them. Our own notices keep the other LA's
response (tests/services/casework/test_casework.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.dates import long_date, uk_today
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import AuditEvent, LaNotification
from cme_app.services.casework import case_file as casework
from cme_app.services.casework import closure as closing
from cme_app.services.casework import records
from cme_app.services.casework.lifecycle import StaleCase
from cme_app.services.intake import inbound
from tests.factories import fresh, to_enquiries, triage

TODAY = uk_today()
NOTICE = {
    "source_type": "other_la",
    "la_name": "Wakefield",
    "la_code": "384",
    "received_on": TODAY.isoformat(),
    "first_name": "Jonah",
    "last_name": "Example",
    "date_of_birth": "2015-06-01",
    "sex": "male",
    "line1": "3 New Road",
    "postcode": "LS6 1AA",
    "summary": "Family moved to Leeds.",
}
REPLY = {
    "reply_kind": "on_roll_leeds",
    "response_on": TODAY.isoformat(),
    "response": "On roll at Aire Valley Primary School since 2 November.",
}
ON_ROLL = {"school_urn": "107999", "start_date": TODAY.isoformat(),
           "confirmed_by": "Aire Valley Primary admissions"}


@pytest.fixture
def notice_case(session, team):
    case = inbound.log_inbound(session, actor=team["admin"], form=NOTICE)
    session.commit()
    return case


def notice_of(session, case) -> LaNotification:
    session.expire_all()
    return session.exec(select(LaNotification).where(LaNotification.case_id == case.id)).one()


def reply(session, team, case, form=REPLY, who="officer") -> LaNotification:
    row = records.record_la_reply(session, actor=team[who], reference=case.reference,
                                  notification_id=notice_of(session, case).id, form=form)
    session.commit()
    return row


def test_our_reply_to_another_las_notice_is_recorded_and_audited(session, team, notice_case):
    reply(session, team, notice_case, who="admin")
    row = notice_of(session, notice_case)
    assert (row.reply_kind, row.response_on, row.response) == (
        "on_roll_leeds", TODAY, REPLY["response"])
    view = casework.view_case(session, actor=team["lead"], reference=notice_case.reference)
    shown = view.la_notifications[0]
    assert (shown.direction, shown.inbound, shown.reply_kind, shown.response) == (
        "From", True, "Known: on roll at a Leeds school", REPLY["response"])
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.la_reply_recorded",
        AuditEvent.entity_id == notice_case.reference,
    )).one()
    assert event.detail["notification"] == row.id
    assert event.detail["after"] == {"response_on": TODAY.isoformat(),
                                     "response_chars": len(REPLY["response"]),
                                     "reply_kind": "on_roll_leeds"}


def test_a_reply_is_checked_field_by_field(session, team, notice_case):
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as err:
        reply(session, team, notice_case, {"reply_kind": "maybe", "response_on": tomorrow,
                                           "response": "x" * 4001})
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("reply_kind", "Choose what the reply said"),
        ("response_on", "The date the reply was sent must be today or in the past"),
        ("response", "Use 4000 characters or fewer"),
    ]
    session.rollback()
    with pytest.raises(ValidationFailed) as err:
        reply(session, team, notice_case, {})
    assert [e.field for e in err.value.errors] == ["reply_kind", "response_on", "response"]
    session.rollback()
    assert notice_of(session, notice_case).reply_kind is None


def test_a_reply_is_refused_on_our_own_notice_and_a_response_on_theirs(session, team):
    case = to_enquiries(session, team, fresh(session, inbound.log_inbound(
        session, actor=team["admin"], form={**NOTICE, "source_type": "new_to_country"})))
    ours = records.send_la_notification(
        session, actor=team["officer"], reference=case.reference,
        form={"la_name": "Bradford", "contact": "cme@bradford.example", "question": "Known?"},
    )
    session.commit()
    with pytest.raises(NotAllowed, match="The notice to Bradford is answered by them"):
        records.record_la_reply(session, actor=team["officer"], reference=case.reference,
                                notification_id=ours.id, form=REPLY)
    session.rollback()
    theirs = inbound.log_inbound(session, actor=team["admin"], form=NOTICE)
    session.commit()
    with pytest.raises(NotAllowed, match="The notice from Wakefield is answered by us"):
        records.record_la_response(
            session, actor=team["officer"], reference=theirs.reference,
            notification_id=notice_of(session, theirs).id,
            form={"response_on": TODAY.isoformat(), "response": "Known to us"},
        )
    session.rollback()
    assert session.get(LaNotification, ours.id).reply_kind is None
    assert notice_of(session, theirs).response is None


@pytest.mark.parametrize("who", ["school", "auditor"])
def test_only_roles_that_notify_las_record_a_reply(session, team, notice_case, who):
    with pytest.raises(NotAllowed):
        reply(session, team, notice_case, who=who)
    session.rollback()
    assert notice_of(session, notice_case).reply_kind is None


def test_a_different_reply_recorded_meanwhile_is_not_overwritten(session, team, notice_case):
    reply(session, team, notice_case)
    with pytest.raises(StaleCase, match=r"The reply to Wakefield .* was changed by Olu Officer"):
        reply(session, team, notice_case, {**REPLY, "reply_kind": "not_known"}, who="lead")
    session.rollback()
    assert notice_of(session, notice_case).reply_kind == "on_roll_leeds"
    reply(session, team, notice_case, who="lead")  # the same reply again is no clash


def test_closing_a_case_from_another_las_notice_records_that_they_were_told(
    session, team, notice_case
):
    case = triage(session, team, notice_case)
    closing.close_case(session, actor=team["lead"], reference=case.reference,
                       outcome="onroll_leeds", evidence=ON_ROLL,
                       version=fresh(session, case).version, today=TODAY)
    session.commit()
    row = notice_of(session, case)
    assert (row.outcome_sent_on, row.outcome_sent) == (
        TODAY, "Told Wakefield: Located – on roll at a Leeds school")
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert view.la_notifications[0].outcome_sent == (
        f"Outcome sent to Wakefield on {long_date(TODAY)}")
    closed = session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.closed", AuditEvent.entity_id == case.reference)).one()
    assert closed.detail["outcome_sent_to"] == ["Wakefield"]


def test_approving_an_officers_closure_also_tells_the_other_la(session, team, notice_case):
    case = triage(session, team, notice_case)
    closing.propose_closure(session, actor=team["officer"], reference=case.reference,
                            outcome="onroll_leeds", evidence=ON_ROLL,
                            version=fresh(session, case).version, today=TODAY)
    session.commit()
    assert notice_of(session, case).outcome_sent_on is None  # proposing tells nobody
    closing.approve_closure(session, actor=team["lead"], reference=case.reference,
                            version=fresh(session, case).version, today=TODAY)
    session.commit()
    assert notice_of(session, case).outcome_sent_on == TODAY
