"""Lone working (services/visits/lone_working.py) with a controllable clock: a visit checked in at
10:00 for 30 minutes alerts the buddy at 10:45 and every lead at 11:00 (grace and lead delay
at their defaults of 15 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import HomeVisit, LoneWorkingAlert
from cme_app.services.visits import lone_working
from cme_app.services.visits import phone_log as visits
from tests.factories import at_once, audit_events, checked_in_visit, make_case

TEN = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
# A buddy, an officer who is neither, and every lead: two at work and one who has left.
pytestmark = pytest.mark.team(extra=("buddy", "other", "lead2", "lead_gone"))


def at(minutes: int) -> datetime:
    """10:00 plus `minutes`."""
    return TEN + timedelta(minutes=minutes)


def check_in(session, team, *, officer="officer", start=TEN, minutes=30, now=None) -> dict:
    """A visit checked in (and nothing more) through the phone's API service."""
    case = make_case(session, stage="enquiries", risk="amber",
                     officer_id=team[officer].user_id)
    session.commit()
    doc = checked_in_visit(case.reference, officer_id=team[officer].user_id,
                           buddy_id=team["buddy"].user_id, at=start, minutes=minutes)
    visits.sync_visit(session, actor=team[officer], payload=doc, now=now or start)
    session.commit()
    return doc


def alerts(session) -> list[tuple[str, int]]:
    return sorted(
        (a.level, a.recipient_id) for a in session.exec(select(LoneWorkingAlert)).all()
    )


def escalate(session, minutes: int) -> list[LoneWorkingAlert]:
    raised = lone_working.escalate_overdue(session, now=at(minutes))
    session.commit()
    return raised


def test_the_buddy_then_every_lead_is_alerted_on_time_and_only_once(session, team):
    doc = check_in(session, team)
    assert escalate(session, 44) == []
    raised = escalate(session, 45)
    assert [(a.level, a.recipient_id) for a in raised] == [("buddy", team["buddy"].user_id)]
    [event] = audit_events(session, "visit.overdue_buddy_alerted")
    assert (event.actor_id, event.actor_role) == (None, "system")
    assert event.detail == {"uuid": doc["client_uuid"], "recipients": [team["buddy"].user_id]}
    assert escalate(session, 46) == []
    assert escalate(session, 59) == []
    assert alerts(session) == [("buddy", team["buddy"].user_id)]

    raised = escalate(session, 60)
    # Every active lead; not the inactive one.
    assert sorted(a.recipient_id for a in raised) == [team["lead"].user_id, team["lead2"].user_id]
    assert {a.level for a in raised} == {"lead"}
    assert len(audit_events(session, "visit.overdue_lead_alerted")) == 1
    assert escalate(session, 61) == []
    [visit] = session.exec(select(HomeVisit)).all()
    assert (visit.buddy_alerted_at, visit.lead_alerted_at) == (at(45), at(60))

    # The officer ends the visit: every open alert of it is resolved.
    doc["record"] = {
        "outcome": "no_reply_occupied", "child_seen": "no", "calling_card_left": "yes",
        "safeguarding_raised": "no", "next_action": "Visit again",
        "next_action_due": "2026-11-30",
    }
    doc["check_out"] = {"at": at(62).isoformat()}
    visits.sync_visit(session, actor=team["officer"], payload=doc, now=at(62))
    session.commit()
    open_alerts = session.exec(
        select(LoneWorkingAlert).where(LoneWorkingAlert.resolved_at.is_(None))
    ).all()
    assert open_alerts == []
    assert escalate(session, 120) == []


def test_a_visit_checked_out_in_time_raises_nothing(session, team):
    doc = check_in(session, team)
    doc["record"] = {
        "outcome": "child_seen_safe", "child_seen": "yes", "seen_alone": "no",
        "calling_card_left": "no", "safeguarding_raised": "no", "next_action": "Close",
        "next_action_due": "2026-11-30",
    }
    doc["check_out"] = {"at": at(40).isoformat()}
    visits.sync_visit(session, actor=team["officer"], payload=doc, now=at(40))
    session.commit()
    assert escalate(session, 45) == [] and escalate(session, 60) == []


def test_a_visit_reported_late_is_escalated_at_once(session, team):
    """The check-in reaches the server only at 11:05 (no signal on the doorstep): both steps
    are due, and both are raised in the one look."""
    check_in(session, team, now=at(65))
    raised = escalate(session, 65)
    assert sorted(a.level for a in raised) == ["buddy", "lead", "lead"]


def test_two_workers_looking_at_once_raise_each_alert_once(db, session, team):
    check_in(session, team)

    def worker() -> int:
        with Session(db, expire_on_commit=False) as s:
            raised = len(lone_working.escalate_overdue(s, now=at(60)))
            s.commit()
        return raised

    counts, failures = at_once(worker)
    assert failures == []
    assert sorted(counts) == [0, 3]  # one worker raised buddy + two leads, the other nothing
    assert alerts(session) == sorted([
        ("buddy", team["buddy"].user_id), ("lead", team["lead"].user_id),
        ("lead", team["lead2"].user_id),
    ])
    assert len(audit_events(session, "visit.overdue_buddy_alerted")) == 1
    assert len(audit_events(session, "visit.overdue_lead_alerted")) == 1


def test_a_lead_on_a_visit_is_not_alerted_about_themselves(session, team):
    check_in(session, team, officer="lead")
    escalate(session, 60)
    assert alerts(session) == sorted([
        ("buddy", team["buddy"].user_id), ("lead", team["lead2"].user_id)
    ])


def test_open_alerts_for_each_person(session, team):
    doc = check_in(session, team)
    # Before the expected end: nothing for anyone.
    assert lone_working.open_alerts_for(session, actor=team["officer"], now=at(29)) == []
    # Past the expected end the officer is reminded; no row is needed for that.
    [own] = lone_working.open_alerts_for(session, actor=team["officer"], now=at(31))
    assert (own.level, own.id, own.client_uuid) == ("self", None, doc["client_uuid"])
    assert own.message == (
        "Your visit to 12 Harehills Lane, Leeds was due to end at 10:30. End your visit, or "
        "your buddy will be alerted."
    )
    assert session.exec(select(LoneWorkingAlert)).all() == []

    escalate(session, 60)
    [buddy] = lone_working.open_alerts_for(session, actor=team["buddy"], now=at(60))
    assert (buddy.level, buddy.officer_name, buddy.address) == (
        "buddy", "Olu Officer", "12 Harehills Lane, Leeds")
    assert buddy.message.startswith("Olu Officer has not checked out of a visit to 12 Harehills")
    assert buddy.raised_at == at(60) and buddy.expected_end_at == at(30)
    [lead] = lone_working.open_alerts_for(session, actor=team["lead"], now=at(60))
    assert lead.level == "lead" and "their buddy has been alerted" in lead.message
    [own] = lone_working.open_alerts_for(session, actor=team["officer"], now=at(60))
    assert own.level == "self" and "Your buddy has been alerted" in own.message
    assert lone_working.open_alerts_for(session, actor=team["other"], now=at(60)) == []
    as_json = buddy.to_json()
    assert as_json["checked_in_at"] == "2026-11-28T10:00:00+00:00"
    assert set(as_json) == {"id", "level", "client_uuid", "reference", "officer_name",
                            "address", "checked_in_at", "expected_end_at", "raised_at",
                            "message"}


def test_only_officers_and_leads_have_alerts(session, team):
    auditor = team["auditor"]
    with pytest.raises(NotAllowed):
        lone_working.open_alerts_for(session, actor=auditor, now=at(0))
    with pytest.raises(NotAllowed):
        lone_working.open_alerts_for(session, actor=None, now=at(0))


def test_the_recipient_resolves_every_open_alert_of_the_visit(session, team):
    doc = check_in(session, team)
    escalate(session, 60)
    [buddy_alert] = lone_working.open_alerts_for(session, actor=team["buddy"], now=at(60))
    resolved = lone_working.resolve_alerts(
        session, actor=team["buddy"], alert_id=buddy_alert.id, note="Spoke to Olu at 11:02, safe"
    )
    session.commit()
    assert resolved == 3
    assert lone_working.open_alerts_for(session, actor=team["lead"], now=at(61)) == []
    rows = session.exec(select(LoneWorkingAlert)).all()
    assert {(r.resolved_by_id, r.resolution) for r in rows} == {
        (team["buddy"].user_id, "Spoke to Olu at 11:02, safe")
    }
    [event] = audit_events(session, "visit.alert_resolved")
    assert event.detail == {"uuid": doc["client_uuid"], "alerts": sorted(r.id for r in rows)}
    assert "Spoke" not in str(event.detail)


def test_any_lead_may_resolve_an_alert_and_others_may_not(session, team):
    check_in(session, team)
    escalate(session, 45)
    [alert] = session.exec(select(LoneWorkingAlert)).all()
    with pytest.raises(NotFound):
        lone_working.resolve_alerts(session, actor=team["other"], alert_id=alert.id, note="x")
    session.commit()
    [refused] = audit_events(session, "visit.alert_resolved")
    assert refused.outcome == "not_found"
    with pytest.raises(NotFound):
        lone_working.resolve_alerts(session, actor=team["lead"], alert_id=99999, note="x")
    for note in ("", "   ", "x" * 401, None):
        with pytest.raises(ValidationFailed) as failed:
            lone_working.resolve_alerts(session, actor=team["lead"], alert_id=alert.id, note=note)
        assert [e.field for e in failed.value.errors] == ["note"]
    assert lone_working.resolve_alerts(
        session, actor=team["lead"], alert_id=alert.id, note="x" * 400
    ) == 1


def test_once_the_officer_is_known_safe_leads_are_not_called(session, team):
    check_in(session, team)
    escalate(session, 45)
    [alert] = session.exec(select(LoneWorkingAlert)).all()
    lone_working.resolve_alerts(session, actor=team["buddy"], alert_id=alert.id,
                                note="Spoke to Olu, visit running long")
    session.commit()
    assert escalate(session, 60) == []
    assert audit_events(session, "visit.overdue_lead_alerted") == []
