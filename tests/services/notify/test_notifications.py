"""Notifications (services/notify/notifications.py) through the real actions that cause them, on a
real database: who is told, how (inbox, email at once or in the digest), at most once, never
with a child's details, and never when the action rolls back."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from cme_app.db import session_scope
from cme_app.domain import NotifyEvent
from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import (
    AuditEvent,
    Case,
    CmeEpisode,
    EmailMessage,
    HomeVisit,
    LaNotification,
    Notification,
    NotificationPreference,
    NotificationRule,
    TeamSettings,
    User,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import closure, lifecycle, records
from cme_app.services.casework import closure as closing
from cme_app.services.casework import triage as triaging
from cme_app.services.documents import documents
from cme_app.services.intake import inbound as inbound_referrals
from cme_app.services.intake import referrals
from cme_app.services.intake.referral_view import view_referral
from cme_app.services.notify import notifications, preferences, reminders
from cme_app.services.school_returns import deletions, new_pupils
from cme_app.services.visits import lone_working, safety
from cme_app.services.visits import phone_log as visits
from tests.factories import allocate, checked_in_visit, fresh, make_case, to_enquiries, triage

E = NotifyEvent
# Everyone the notification rules can choose among: school A's two users and one who left, a
# duty officer, a buddy, a second lead and one who left.
pytestmark = pytest.mark.team(
    extra=("school2", "school_gone", "duty", "buddy", "lead2", "lead_gone"))
TODAY = date(2026, 11, 25)  # a Wednesday in the autumn term: a working and a school day
TEN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

RED = {
    "cp_plan": "yes",
    "concern-none_known": "",
    "concern-fgm": "on",
    "concerns_narrative": "Sister was taken abroad last summer.",
    "mash_referred_on": TODAY.isoformat(),
    "mash_reference": "MASH-0001",
    # Open to social care: the school says whether the social worker was told (issue 17).
    "social_worker_told": "yes",
    "social_worker_told_on": TODAY.isoformat(),
}
AMBER = {"sen_status": "sen_support"}
NOT_CME = {"residence_evidence": "Mother confirms they still live there."}


# ---------------------------------------------------------------------------------------------
# People and helpers


def ids(team, *names: str) -> list[int]:
    return sorted(team[n].user_id for n in names)


def count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def items(session, event=None, reference=None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if event is not None:
        query = query.where(Notification.event == event)
    if reference is not None:
        query = query.where(Notification.reference == reference)
    session.expire_all()
    return list(session.exec(query).all())


def told(session, event, reference=None) -> list[int]:
    return sorted(n.recipient_id for n in items(session, event, reference))


def submit(session, team, *, red=False, amber=False, extra=None, public_id=None) -> Case:
    form = example_referral_form(today=TODAY)
    form.update(RED if red else {})
    form.update(AMBER if amber else {})
    form.update(extra or {})
    case = referrals.submit(
        session, actor=team["school"], form=form, public_id=public_id, today=TODAY
    )
    session.commit()
    return case


def make_duty(session, team, who="duty") -> None:
    preferences.set_duty_officer(session, actor=team["lead"], officer_id=team[who].user_id)
    session.commit()


def give_back(session, team, case) -> str:
    """Return the referral to the school; the draft id it resubmits."""
    case = fresh(session, case)
    lifecycle.return_to_referrer(
        session,
        actor=team["officer"],
        reference=case.reference,
        note="Please add the sibling-school checks",
        version=case.version,
    )
    session.commit()
    return view_referral(session, actor=team["school"], reference=case.reference).draft_id


def close(session, team, case, who="lead") -> None:
    case = fresh(session, case)
    fn = closing.close_case if who == "lead" else closing.propose_closure
    fn(
        session,
        actor=team[who],
        reference=case.reference,
        outcome="not_cme_attendance",
        evidence=NOT_CME,
        version=case.version,
    )
    session.commit()


def visit_doc(case: Case, team, *, seen_stage: str, address="12 Harehills Lane, Leeds") -> dict:
    """A visit checked in at 10:00 for 30 minutes by the allocated officer, as the phone
    sends it, having seen the case in `seen_stage`."""
    return checked_in_visit(case.reference, officer_id=case.allocated_officer_id,
                            buddy_id=team["buddy"].user_id, at=TEN, stage=seen_stage,
                            address=address)


RECORD = {
    "outcome": "no_reply_occupied",
    "child_seen": "no",
    "calling_card_left": "yes",
    "safeguarding_raised": "no",
    "next_action": "Visit again",
    "next_action_due": "2026-11-30",
}


def sync(session, team, doc, minutes=0, who="officer") -> dict:
    answer = visits.sync_visit(
        session, actor=team[who], payload=dict(doc), now=TEN + timedelta(minutes=minutes)
    )
    session.commit()
    return answer


def escalate(session, minutes: int) -> None:
    lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=minutes))
    session.commit()


def rules_form(**changes) -> dict:
    """The team settings form as a browser sends it: every switchable event on, at its
    default; `changes` replace (None drops a field, as an unticked box does)."""
    form = {}
    for event, info in notifications.EVENTS.items():
        if not info.urgent:
            form[f"enabled-{event}"] = "on"
            form[f"default-{event}"] = str(info.default)
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def audits(session, action: str) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# A referral arrives (submitted, resubmitted, logged inbound)


def test_red_referral_tells_the_duty_officer_and_every_active_lead_at_once(session, team):
    make_duty(session, team)
    case = submit(session, team, red=True)
    assert fresh(session, case).proposed_risk == "red"

    made = items(session)
    assert sorted(n.recipient_id for n in made) == ids(team, "duty", "lead", "lead2")
    for n in made:
        assert (n.event, n.urgent, n.delivery, n.read_at) == (
            E.REFERRAL_RED,
            True,
            "immediate",
            None,
        )
        assert n.reference == case.reference and case.reference in n.subject
        assert n.link == f"/cases/{case.reference}"
        email = session.get(EmailMessage, n.email_id)
        user = session.get(User, n.recipient_id)
        assert (email.recipient_id, email.to_address) == (user.id, user.email)
        assert (email.kind, email.status, email.dedupe_key) == ("immediate", "pending", f"n:{n.id}")
        assert email.subject == n.subject
        assert notifications.link_url(n.link) in email.body
    assert count(session, EmailMessage) == 3

    created = audits(session, "notification.created")
    assert sorted(int(a.entity_id) for a in created) == sorted(n.id for n in made)
    for a, n in zip(created, made, strict=True):
        assert (a.actor_id, a.actor_role, a.entity_type) == (None, "system", "notification")
        assert a.detail == {
            "event": "referral_red",
            "recipient": n.recipient_id,
            "reference": case.reference,
            "delivery": "immediate",
        }


def test_amber_and_green_referrals_wait_for_the_digest_with_no_email(session, team):
    make_duty(session, team)
    green = submit(session, team)  # first: a second referral of a child is Amber (BR-L2)
    amber = submit(session, team, amber=True)
    assert (fresh(session, amber).proposed_risk, fresh(session, green).proposed_risk) == (
        "amber",
        "green",
    )
    for case in (amber, green):
        made = items(session, reference=case.reference)
        assert sorted(n.recipient_id for n in made) == ids(team, "duty", "lead", "lead2")
        for n in made:
            assert (n.event, n.urgent, n.delivery, n.email_id) == (
                E.REFERRAL_NEW,
                False,
                "digest",
                None,
            )
    assert count(session, EmailMessage) == 0


def test_a_returned_referral_notifies_again_each_time_it_is_resubmitted(session, team):
    case = submit(session, team)  # Green; and no duty officer has been chosen
    assert session.get(TeamSettings, 1) is None
    assert told(session, E.REFERRAL_NEW) == ids(team, "lead", "lead2")

    draft = give_back(session, team, case)
    again = submit(session, team, red=True, public_id=draft)
    assert again.id == case.id
    assert told(session, E.REFERRAL_RED, case.reference) == ids(team, "lead", "lead2")
    assert all("resubmitted" in n.body for n in items(session, E.REFERRAL_RED))

    draft = give_back(session, team, case)
    submit(session, team, public_id=draft)  # Green again this time
    assert told(session, E.REFERRAL_NEW, case.reference) == ids(
        team, "lead", "lead", "lead2", "lead2"
    )
    assert len({n.dedupe_key for n in items(session, E.REFERRAL_NEW)}) == 2


def test_an_inbound_la_notification_tells_the_duty_officer_and_leads(session, team):
    make_duty(session, team, who="officer")
    form = {
        "source_type": "other_la",
        "la_name": "Wakefield",
        "la_code": "384",
        "received_on": date.today().isoformat(),
        "first_name": "Jonah",
        "last_name": "Example",
        "date_of_birth": "2015-06-01",
        "sex": "male",
        "line1": "3 New Road",
        "town": "Leeds",
        "postcode": "LS6 1AA",
        "summary": "Family moved to Leeds.",
    }
    case = inbound_referrals.log_inbound(session, actor=team["admin"], form=form)
    session.commit()
    made = items(session)
    assert sorted(n.recipient_id for n in made) == ids(team, "officer", "lead", "lead2")
    assert {(n.event, n.delivery, n.reference) for n in made} == {
        (E.REFERRAL_NEW, "digest", case.reference)
    }
    assert count(session, EmailMessage) == 0


def test_people_who_have_left_are_not_told_and_no_one_is_told_twice(session, team):
    make_duty(session, team)
    gone = session.get(User, team["duty"].user_id)
    gone.is_active = False
    session.add(gone)
    session.commit()
    first = submit(session, team, red=True)
    assert told(session, E.REFERRAL_RED, first.reference) == ids(team, "lead", "lead2")

    make_duty(session, team, who="lead")  # the duty officer is also a lead: told once
    second = submit(session, team, red=True)
    assert told(session, E.REFERRAL_RED, second.reference) == ids(team, "lead", "lead2")


# ---------------------------------------------------------------------------------------------
# Allocation


def test_allocation_tells_the_officer_once_and_a_lead_allocating_to_themselves_nothing(
    session, team
):
    case = submit(session, team)
    allocate(session, team, case, "lead")
    assert told(session, E.CASE_ALLOCATED) == []

    allocate(session, team, case, "officer")
    [n] = items(session, E.CASE_ALLOCATED)
    assert (n.recipient_id, n.delivery, n.urgent) == (team["officer"].user_id, "immediate", False)
    assert n.email_id is not None and "Lee Lead" in n.body

    allocate(session, team, case, "officer")  # the same officer again: nothing new
    assert told(session, E.CASE_ALLOCATED) == ids(team, "officer")
    allocate(session, team, case, "officer2")
    assert told(session, E.CASE_ALLOCATED) == ids(team, "officer", "officer2")
    allocate(session, team, case, "officer")  # handed back: that is news to them
    assert told(session, E.CASE_ALLOCATED) == ids(team, "officer", "officer", "officer2")
    assert count(session, EmailMessage) == 3  # one per allocation; the referral is in a digest


# ---------------------------------------------------------------------------------------------
# The referring school: returned for more information, and the outcome


def test_a_return_tells_only_the_referring_schools_active_users(session, team):
    case = submit(session, team)
    give_back(session, team, case)
    made = items(session, E.REFERRAL_RETURNED)
    assert sorted(n.recipient_id for n in made) == ids(team, "school", "school2")
    for n in made:
        assert n.link == f"/referrals/{case.reference}" and n.delivery == "immediate"
        assert (
            session.get(EmailMessage, n.email_id).to_address
            == session.get(User, n.recipient_id).email
        )
    # The staff heard only of the referral arriving.
    assert {n.event for n in items(session)} == {E.REFERRAL_NEW, E.REFERRAL_RETURNED}


def test_closing_a_case_tells_the_referring_school_of_the_outcome(session, team):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case)
    assert fresh(session, case).stage == "closed"
    made = items(session, E.CASE_OUTCOME)
    assert sorted(n.recipient_id for n in made) == ids(team, "school", "school2")
    assert {n.link for n in made} == {f"/referrals/{case.reference}"}


def test_an_approved_closure_tells_the_school_and_the_proposal_does_not(session, team):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case, who="officer")
    assert told(session, E.CASE_OUTCOME) == []
    closure.approve_closure(
        session,
        actor=team["lead"],
        reference=case.reference,
        version=fresh(session, case).version,
    )
    session.commit()
    assert told(session, E.CASE_OUTCOME) == ids(team, "school", "school2")


# ---------------------------------------------------------------------------------------------
# Offline visits flagged on sync, and lone working


def test_a_flagged_visit_tells_every_lead_once_per_new_flag(session, team):
    case = make_case(session, stage="enquiries", risk="amber", officer_id=team["officer"].user_id)
    session.commit()
    sync(session, team, visit_doc(case, team, seen_stage="enquiries"))
    assert told(session, E.VISIT_FLAGGED) == []  # nothing changed: no flag

    doc = visit_doc(case, team, seen_stage="triage")
    assert sync(session, team, doc)["flagged"] is True
    made = items(session, E.VISIT_FLAGGED)
    assert sorted(n.recipient_id for n in made) == ids(team, "lead", "lead2")
    assert {(n.delivery, n.link) for n in made} == {("immediate", f"/cases/{case.reference}")}
    sync(session, team, doc, minutes=1)  # the phone sends the same again
    assert len(items(session, E.VISIT_FLAGGED)) == 2

    visit_id = session.exec(
        select(HomeVisit.id).where(HomeVisit.client_uuid == doc["client_uuid"])
    ).one()
    safety.review_visit_flag(
        session, actor=team["lead"], reference=case.reference, visit_id=visit_id
    )
    session.commit()
    # The case moves on again before the officer sends the record: a new reason to look.
    row = fresh(session, case)
    row.stage = "home_visit"
    session.add(row)
    session.commit()
    sync(session, team, {**doc, "record": RECORD}, minutes=20)
    visit = session.get(HomeVisit, visit_id)
    session.refresh(visit)
    assert visit.flag_reviewed_at is None and "Home visit" in visit.flag_reason
    assert told(session, E.VISIT_FLAGGED) == ids(team, "lead", "lead", "lead2", "lead2")

    row = fresh(session, case)
    row.stage = "closed"
    session.add(row)
    session.commit()
    out = {"at": (TEN + timedelta(minutes=25)).isoformat()}
    sync(session, team, {**doc, "record": RECORD, "check_out": out}, minutes=25)
    assert len(items(session, E.VISIT_FLAGGED)) == 6
    assert told(session, E.VISIT_FLAGGED, case.reference).count(team["officer"].user_id) == 0


def test_lone_working_alerts_the_buddy_then_every_lead_and_cannot_be_silenced(session, team):
    # Rows the settings pages can't write: an urgent event switched off, and a digest choice.
    session.add(NotificationRule(event="lone_working", enabled=False, default_delivery="digest"))
    session.add(
        NotificationPreference(
            user_id=team["buddy"].user_id, event="lone_working", delivery="digest"
        )
    )
    session.commit()
    case = make_case(session, stage="enquiries", risk="amber", officer_id=team["officer"].user_id)
    session.commit()
    sync(session, team, visit_doc(case, team, seen_stage="enquiries"))

    escalate(session, 44)
    assert told(session, E.LONE_WORKING) == []
    escalate(session, 45)
    [buddy] = items(session, E.LONE_WORKING)
    assert buddy.recipient_id == team["buddy"].user_id
    assert (buddy.urgent, buddy.delivery, buddy.link) == (True, "immediate", "/visits")
    assert "Olu Officer" in buddy.subject and case.reference in buddy.subject
    assert session.get(EmailMessage, buddy.email_id).recipient_id == team["buddy"].user_id

    escalate(session, 59)
    assert told(session, E.LONE_WORKING) == ids(team, "buddy")
    escalate(session, 60)
    assert told(session, E.LONE_WORKING) == ids(team, "buddy", "lead", "lead2")
    leads = [n for n in items(session, E.LONE_WORKING) if n.recipient_id != buddy.recipient_id]
    assert {(n.urgent, n.delivery, n.link) for n in leads} == {(True, "immediate", "/dashboard")}
    assert all(n.email_id for n in leads)
    escalate(session, 61)
    assert len(items(session, E.LONE_WORKING)) == 3 and count(session, EmailMessage) == 3


def test_urgent_events_have_no_team_switch_and_a_forged_one_is_ignored(session, team):
    form = rules_form(
        **{
            "enabled-referral_red": "",
            "default-referral_red": "digest",
            "enabled-lone_working": "",
            "default-lone_working": "digest",
        }
    )
    preferences.set_team_rules(session, actor=team["lead"], form=form)
    session.commit()
    assert session.get(NotificationRule, "referral_red") is None
    assert session.get(NotificationRule, "lone_working") is None
    shown = {r.event: r for r in preferences.team_rules(session, actor=team["lead"])}
    for event in ("referral_red", "lone_working"):
        assert (shown[event].locked, shown[event].enabled, shown[event].default_delivery) == (
            True,
            True,
            "immediate",
        )
    # A row written behind the service's back does not silence a Red referral either.
    session.add(NotificationRule(event="referral_red", enabled=False, default_delivery="digest"))
    session.commit()
    submit(session, team, red=True)
    made = items(session, E.REFERRAL_RED)
    assert sorted(n.recipient_id for n in made) == ids(team, "lead", "lead2")
    assert {n.delivery for n in made} == {"immediate"} and count(session, EmailMessage) == 2


# ---------------------------------------------------------------------------------------------
# The scans: response targets (BR-L3) and LA chases (SC-11)


def test_a_triage_target_due_today_then_missed_is_told_once_each(session, team):
    nobody = submit(session, team, red=True)
    mine = allocate(session, team, submit(session, team, red=True), "officer")
    assert fresh(session, nobody).triage_due_on == mine.triage_due_on == TODAY
    emails_before = count(session, EmailMessage)

    assert reminders.scan_targets(session, today=TODAY - timedelta(days=1)) == 0
    assert reminders.scan_targets(session, today=TODAY) == 3
    session.commit()
    assert told(session, E.TARGET_DUE, nobody.reference) == ids(team, "lead", "lead2")
    assert told(session, E.TARGET_DUE, mine.reference) == ids(team, "officer")
    due = items(session, E.TARGET_DUE)
    assert {(n.delivery, n.email_id, n.urgent) for n in due} == {("digest", None, False)}
    assert all("Triage due today" in n.subject for n in due)
    assert count(session, EmailMessage) == emails_before
    assert reminders.scan_targets(session, today=TODAY) == 0
    session.commit()
    assert len(items(session, E.TARGET_DUE)) == 3

    assert reminders.scan_targets(session, today=TODAY + timedelta(days=1)) == 5
    session.commit()
    assert told(session, E.TARGET_MISSED, nobody.reference) == ids(team, "lead", "lead2")
    assert told(session, E.TARGET_MISSED, mine.reference) == ids(team, "officer", "lead", "lead2")
    missed = items(session, E.TARGET_MISSED)
    assert {n.delivery for n in missed} == {"immediate"} and all(n.email_id for n in missed)
    assert count(session, EmailMessage) == emails_before + 5
    # Still missed days later: already told.
    assert reminders.scan_targets(session, today=TODAY + timedelta(days=1)) == 0
    assert reminders.scan_targets(session, today=TODAY + timedelta(days=6)) == 0


def test_a_first_visit_target_is_told_and_a_visited_case_has_none(session, team):
    waiting = to_enquiries(session, team, submit(session, team))
    visited = to_enquiries(session, team, submit(session, team))
    records.record_visit(
        session,
        actor=team["officer"],
        reference=visited.reference,
        form={
            "visited_on": date.today().isoformat(),
            "address": "14 Example Street",
            "outcome": "no_reply_vacant",
            "child_seen": "no",
        },
    )
    session.commit()
    due_on = waiting.first_visit_due_on
    assert due_on is not None and fresh(session, visited).first_visit_due_on == due_on

    assert reminders.scan_targets(session, today=due_on) == 1
    [n] = items(session, E.TARGET_DUE)
    assert (n.recipient_id, n.reference) == (team["officer"].user_id, waiting.reference)
    assert "First visit due today" in n.subject
    assert reminders.scan_targets(session, today=due_on + timedelta(days=1)) == 3
    session.commit()
    assert told(session, E.TARGET_MISSED, waiting.reference) == ids(
        team, "officer", "lead", "lead2"
    )
    targets = items(session, E.TARGET_DUE) + items(session, E.TARGET_MISSED)
    assert visited.reference not in {n.reference for n in targets}


def test_a_due_target_on_a_case_whose_officer_has_left_goes_to_the_leads(session, team):
    case = allocate(session, team, submit(session, team, red=True), "officer")
    gone = session.get(User, team["officer"].user_id)
    gone.is_active = False
    session.add(gone)
    session.commit()
    assert reminders.scan_targets(session, today=TODAY) == 2
    assert told(session, E.TARGET_DUE, case.reference) == ids(team, "lead", "lead2")


def send_la(session, team, case, who) -> LaNotification:
    row = records.send_la_notification(
        session,
        actor=team[who],
        reference=case.reference,
        form={"la_name": "Bradford", "contact": "cme@bradford.example", "question": "Known?"},
    )
    session.commit()
    return row


def test_an_unanswered_la_notification_is_chased_once(session, team):
    chased = to_enquiries(session, team, submit(session, team))
    answered = to_enquiries(session, team, submit(session, team))
    closed = to_enquiries(session, team, submit(session, team))
    notice = send_la(session, team, chased, "lead")  # sent by a lead; officer allocated
    reply = send_la(session, team, answered, "officer")
    send_la(session, team, closed, "officer")
    records.record_la_response(
        session,
        actor=team["officer"],
        reference=answered.reference,
        notification_id=reply.id,
        form={"response_on": date.today().isoformat(), "response": "Not known here"},
    )
    session.commit()
    close(session, team, closed)
    assert fresh(session, closed).stage == "closed"
    due_on = notice.response_due_on

    assert reminders.scan_la_chases(session, today=due_on) == 0
    assert reminders.scan_la_chases(session, today=due_on + timedelta(days=1)) == 2
    session.commit()
    made = items(session, E.LA_CHASE)
    assert sorted(n.recipient_id for n in made) == ids(team, "officer", "lead")
    for n in made:
        assert n.reference == chased.reference and n.delivery == "immediate" and n.email_id
        assert "Bradford" in n.subject and chased.reference in n.subject
    assert reminders.scan_la_chases(session, today=due_on + timedelta(days=1)) == 0
    assert reminders.scan_la_chases(session, today=due_on + timedelta(days=9)) == 0
    assert len(items(session, E.LA_CHASE)) == 2


def test_a_chase_nobody_active_can_act_on_goes_to_the_leads(session, team):
    case = to_enquiries(session, team, submit(session, team))
    notice = send_la(session, team, case, "officer")  # sent by the allocated officer
    gone = session.get(User, team["officer"].user_id)
    gone.is_active = False
    session.add(gone)
    session.commit()
    assert (
        reminders.scan_la_chases(session, today=notice.response_due_on + timedelta(days=1)) == 2
    )
    assert told(session, E.LA_CHASE) == ids(team, "lead", "lead2")


# ---------------------------------------------------------------------------------------------
# The team's rules, a person's choices, the duty officer


def test_an_event_the_team_switched_off_creates_nothing(session, team):
    form = rules_form(**{"enabled-referral_new": None, "enabled-case_allocated": None})
    preferences.set_team_rules(session, actor=team["lead"], form=form)
    session.commit()
    case = allocate(session, team, submit(session, team), "officer")
    assert items(session) == [] and count(session, EmailMessage) == 0
    assert audits(session, "notification.created") == []
    shown = {r.event: r.enabled for r in preferences.preferences(session, actor=team["lead"])}
    assert shown["referral_new"] is False and shown["referral_red"] is True
    submit(session, team, red=True)  # urgent: still told
    assert told(session, E.REFERRAL_RED) == ids(team, "lead", "lead2")
    assert told(session, E.CASE_ALLOCATED, case.reference) == []


@pytest.mark.parametrize("who", ["officer", "admin", "school", None])
def test_only_a_lead_sets_the_team_rules(session, team, who):
    actor = team[who] if who else None
    with pytest.raises(NotAllowed):
        preferences.set_team_rules(
            session, actor=actor, form=rules_form(**{"enabled-referral_new": None})
        )
    session.rollback()
    assert count(session, NotificationRule) == 0
    assert audits(session, "notification.team_rules_changed") == []


def test_team_rules_with_a_missing_or_junk_default_write_nothing(session, team):
    for bad in (
        rules_form(**{"default-case_allocated": None}),
        rules_form(**{"default-case_allocated": "sms"}),
        rules_form(**{"default-case_allocated": ["digest"]}),
        "enabled-referral_new=on",
        None,
    ):
        with pytest.raises(ValidationFailed):
            preferences.set_team_rules(session, actor=team["lead"], form=bad)
        session.rollback()
    assert count(session, NotificationRule) == 0


def test_the_team_default_delivery_applies_to_new_notifications(session, team):
    form = rules_form(**{"default-case_allocated": "digest", "default-referral_new": "immediate"})
    preferences.set_team_rules(session, actor=team["lead"], form=form)
    session.commit()
    case = submit(session, team)
    assert {n.delivery for n in items(session, E.REFERRAL_NEW)} == {"immediate"}
    assert count(session, EmailMessage) == 2
    allocate(session, team, case, "officer")
    [n] = items(session, E.CASE_ALLOCATED)
    assert (n.delivery, n.email_id) == ("digest", None) and count(session, EmailMessage) == 2


def test_a_persons_choice_of_digest_or_immediate_is_honoured(session, team):
    assert (
        preferences.set_preferences(
            session, actor=team["officer"], choices={"case_allocated": "digest"}
        )
        == 1
    )
    preferences.set_preferences(
        session, actor=team["lead"], choices={"referral_new": "immediate"}
    )
    session.commit()
    mine = {r.event: r for r in preferences.preferences(session, actor=team["officer"])}
    assert mine["case_allocated"].delivery == "digest" and mine["referral_red"].locked
    assert "visit_flagged" not in mine  # officers never receive it

    case = submit(session, team)
    by_person = {n.recipient_id: n for n in items(session, E.REFERRAL_NEW)}
    assert by_person[team["lead"].user_id].delivery == "immediate"
    assert by_person[team["lead2"].user_id].delivery == "digest"
    assert [e.recipient_id for e in session.exec(select(EmailMessage)).all()] == [
        team["lead"].user_id
    ]
    allocate(session, team, case, "officer")
    [n] = items(session, E.CASE_ALLOCATED)
    assert (n.delivery, n.email_id) == ("digest", None) and count(session, EmailMessage) == 1


@pytest.mark.parametrize(
    ("who", "choices", "field"),
    [
        ("officer", {"referral_red": "digest"}, "delivery-referral_red"),  # urgent
        ("lead", {"lone_working": "immediate"}, "delivery-lone_working"),  # urgent, even as-is
        ("officer", {"visit_flagged": "digest"}, "delivery"),  # officers never receive it
        ("school", {"case_allocated": "digest"}, "delivery"),
        ("officer", {"case_allocated": "sms"}, "delivery-case_allocated"),
        ("officer", {"case_allocated": None}, "delivery-case_allocated"),
        ("officer", {"case_allocated": 1}, "delivery-case_allocated"),
        ("officer", {"case_allocated": ["digest"]}, "delivery-case_allocated"),
        ("officer", {"case_allocated": "DIGEST"}, "delivery-case_allocated"),
        ("officer", {"bogus": "digest"}, "delivery"),
        ("officer", {5: "digest"}, "delivery"),
        ("officer", "case_allocated=digest", "delivery"),
        ("officer", ["case_allocated", "digest"], "delivery"),
        ("officer", None, "delivery"),
        ("officer", {f"x{i}": "digest" for i in range(20)}, "delivery"),
        # One good choice beside a bad one: nothing is saved.
        (
            "officer",
            {"case_allocated": "digest", "referral_red": "digest"},
            "delivery-referral_red",
        ),
    ],
)
def test_preferences_refuse_urgent_unknown_and_junk_choices(session, team, who, choices, field):
    with pytest.raises(ValidationFailed) as err:
        preferences.set_preferences(session, actor=team[who], choices=choices)
    assert field in {e.field for e in err.value.errors}
    session.rollback()
    assert count(session, NotificationPreference) == 0
    assert audits(session, "notification.preferences_changed") == []


@pytest.mark.parametrize("who", ["admin", "auditor", None])
def test_only_people_who_are_told_choose_how(session, team, who):
    actor = team[who] if who else None
    for change in (preferences.set_preferences, preferences.save_changed_choices):
        with pytest.raises(NotAllowed):
            change(session, actor=actor, choices={"referral_new": "digest"})
    assert preferences.preferences(session, actor=actor) == []
    assert count(session, NotificationPreference) == 0


def test_choice_and_rule_changes_are_audited_with_before_and_after(session, team):
    preferences.set_preferences(
        session, actor=team["officer"], choices={"case_allocated": "digest", "target_due": "digest"}
    )
    session.commit()
    [event] = audits(session, "notification.preferences_changed")
    assert (event.actor_id, event.entity_id) == (
        team["officer"].user_id,
        str(team["officer"].user_id),
    )
    # target_due was already the digest: only the real change is recorded.
    assert event.detail == {
        "before": {"case_allocated": "immediate"},
        "after": {"case_allocated": "digest"},
    }
    preferences.set_preferences(session, actor=team["officer"], choices={"target_due": "digest"})
    session.commit()
    assert len(audits(session, "notification.preferences_changed")) == 1  # nothing changed

    preferences.set_team_rules(
        session, actor=team["lead"], form=rules_form(**{"enabled-referral_new": None})
    )
    session.commit()
    [rules] = audits(session, "notification.team_rules_changed")
    assert rules.actor_id == team["lead"].user_id
    assert rules.detail == {
        "before": {"referral_new": [True, "digest"]},
        "after": {"referral_new": [False, "digest"]},
    }
    preferences.set_team_rules(
        session, actor=team["lead"], form=rules_form(**{"enabled-referral_new": None})
    )
    session.commit()
    assert len(audits(session, "notification.team_rules_changed")) == 1


def test_the_duty_officer_must_be_an_active_officer_or_lead(session, team):
    bad = [
        team["school"].user_id,
        team["admin"].user_id,
        team["lead_gone"].user_id,
        999_999,
        True,
        False,
        None,
        str(team["officer"].user_id),
        float(team["officer"].user_id),
    ]
    for value in bad:
        with pytest.raises(ValidationFailed) as err:
            preferences.set_duty_officer(session, actor=team["lead"], officer_id=value)
        assert [e.field for e in err.value.errors] == ["duty_officer"]
        session.rollback()
    for who in ("officer", "admin", "school"):
        with pytest.raises(NotAllowed):
            preferences.set_duty_officer(
                session, actor=team[who], officer_id=team["officer"].user_id
            )
        session.rollback()
    assert count(session, TeamSettings) == 0 and notifications.duty_officer_id(session) is None
    assert audits(session, "notification.duty_officer_changed") == []
    choices = dict(preferences.duty_choices(session))
    assert set(choices) == set(ids(team, "officer", "officer2", "duty", "buddy", "lead", "lead2"))

    make_duty(session, team, "officer")
    make_duty(session, team, "lead2")
    assert notifications.duty_officer_id(session) == team["lead2"].user_id
    first, second = audits(session, "notification.duty_officer_changed")
    assert first.detail == {"before": None, "after": team["officer"].user_id}
    assert second.detail == {"before": team["officer"].user_id, "after": team["lead2"].user_id}
    assert second.actor_id == team["lead"].user_id


# ---------------------------------------------------------------------------------------------
# The inbox


def test_the_inbox_puts_urgent_unread_first_then_newest(session, team):
    red = submit(session, team, red=True)
    older = submit(session, team)
    newer = submit(session, team)
    lead = team["lead"]
    refs = [i.reference for i in notifications.inbox(session, actor=lead)]
    assert refs == [red.reference, newer.reference, older.reference]
    assert notifications.unread_count(session, actor=lead) == 3
    # The urgent one stays on top even when it is older than a page of newer items.
    page = notifications.inbox(session, actor=lead, limit=2)
    assert [i.reference for i in page] == [red.reference, newer.reference]

    red_item = next(n for n in items(session, E.REFERRAL_RED) if n.recipient_id == lead.user_id)
    assert notifications.mark_read(session, actor=lead, notification_id=red_item.id) is True
    assert notifications.mark_read(session, actor=lead, notification_id=red_item.id) is False
    session.commit()
    shown = notifications.inbox(session, actor=lead)
    assert [(i.reference, i.unread) for i in shown] == [
        (newer.reference, True),
        (older.reference, True),
        (red.reference, False),
    ]
    assert [i.reference for i in notifications.inbox(session, actor=lead, unread_only=True)] == [
        newer.reference,
        older.reference,
    ]
    assert notifications.unread_count(session, actor=lead) == 2


def test_people_read_only_their_own_notifications(session, team):
    submit(session, team)
    submit(session, team)
    lead, lead2 = team["lead"], team["lead2"]
    theirs = [n for n in items(session) if n.recipient_id == lead2.user_id]
    for bad in (theirs[0].id, 999_999, str(theirs[0].id), True, None):
        with pytest.raises(NotFound):
            notifications.mark_read(session, actor=lead, notification_id=bad)
    with pytest.raises(NotFound):
        notifications.mark_read(session, actor=None, notification_id=theirs[0].id)
    session.commit()
    assert notifications.unread_count(session, actor=lead2) == 2

    assert notifications.mark_all_read(session, actor=lead) == 2
    session.commit()
    assert notifications.unread_count(session, actor=lead) == 0
    assert notifications.unread_count(session, actor=lead2) == 2
    assert all(n.read_at is None for n in items(session) if n.recipient_id == lead2.user_id)
    assert notifications.mark_all_read(session, actor=lead) == 0

    assert notifications.unread_count(session, actor=None) == 0
    assert notifications.inbox(session, actor=None) == []
    assert notifications.mark_all_read(session, actor=None) == 0
    assert notifications.unread_count(session, actor=team["school"]) == 0


# ---------------------------------------------------------------------------------------------
# At most once per person per event


def test_the_same_event_twice_reaches_each_person_once(session, team):
    case = submit(session, team)
    before = len(items(session))
    notifications.referral_arrived(session, case=fresh(session, case), red=False)
    session.commit()
    assert len(items(session)) == before == 2

    def again():
        return notifications.notify(
            session,
            event=E.CASE_ALLOCATED,
            recipients=[team["officer"].user_id, team["officer"].user_id, None],
            key="test:same-key",
            reference=case.reference,
            subject=f"Case {case.reference}",
            body="Body",
            link="/cases/x",
        )

    assert len(again()) == 1
    assert again() == []
    session.commit()
    assert count(session, Notification, Notification.dedupe_key == "test:same-key") == 1
    assert count(session, EmailMessage) == 1


def test_the_database_refuses_a_second_row_and_only_that_insert_is_undone(session, team):
    def row(key="k"):
        return Notification(
            recipient_id=team["lead"].user_id,
            event="referral_new",
            dedupe_key=key,
            reference="CME-2026-00001",
            subject="s",
            body="b",
            link="/",
            delivery="digest",
        )

    assert notifications._insert(session, row()) is True
    session.add(row("other"))  # earlier work in the same transaction
    assert notifications._insert(session, row()) is False
    session.commit()
    assert sorted(session.exec(select(Notification.dedupe_key)).all()) == ["k", "other"]
    with pytest.raises(IntegrityError):
        session.add(row())
        session.flush()
    session.rollback()


def _someone_waits_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        )


def test_two_workers_telling_the_same_person_at_once_make_one_row(db, session, team):
    """Worker A inserts and holds its transaction open; worker B tries the same insert. On
    PostgreSQL B passes the look-up (A's row is not committed) and waits on the unique index
    until A commits, so the constraint decides; on SQLite B waits for A's write lock."""
    case = submit(session, team)
    lead = team["lead"].user_id
    inserted, go = threading.Event(), threading.Event()
    made: dict[str, int] = {}
    errors: list[BaseException] = []

    def tell(name: str) -> None:
        try:
            with Session(db, expire_on_commit=False) as s:
                made[name] = len(
                    notifications.notify(
                        s,
                        event=E.TARGET_MISSED,
                        recipients=[lead],
                        key="race:1",
                        reference=case.reference,
                        subject=f"Triage target missed on {case.reference}",
                        body="Act on it today.",
                        link=f"/cases/{case.reference}",
                    )
                )
                if name == "a":
                    inserted.set()
                    assert go.wait(30)
                else:  # B's transaction goes on after its refused insert
                    s.add(
                        NotificationPreference(user_id=lead, event="target_due", delivery="digest")
                    )
                s.commit()
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)
            inserted.set()

    a = threading.Thread(target=tell, args=("a",))
    a.start()
    assert inserted.wait(30)
    b = threading.Thread(target=tell, args=("b",))
    b.start()
    if db.dialect.name == "postgresql":
        deadline = time.monotonic() + 20
        while not _someone_waits_on_a_lock(db):
            assert time.monotonic() < deadline, "worker B never reached the unique index"
            time.sleep(0.02)
    go.set()
    a.join(30)
    b.join(30)
    assert not a.is_alive() and not b.is_alive() and errors == []
    assert made == {"a": 1, "b": 0}
    session.expire_all()
    assert count(session, Notification, Notification.dedupe_key == "race:1") == 1
    assert count(session, EmailMessage) == 1
    assert count(session, NotificationPreference) == 1
    assert len(audits(session, "notification.created")) == 3  # two leads' referral + this one


# ---------------------------------------------------------------------------------------------
# Created in the action's transaction


def test_an_action_that_rolls_back_leaves_no_notification_or_email(session, team):
    make_duty(session, team)
    referrals.submit(
        session,
        actor=team["school"],
        form={**example_referral_form(today=TODAY), **RED},
        today=TODAY,
    )
    assert len(items(session, E.REFERRAL_RED)) == 3  # written in the action's transaction
    session.rollback()
    assert count(session, Notification) == 0 and count(session, EmailMessage) == 0
    assert audits(session, "notification.created") == []


def test_a_unit_of_work_failing_validation_after_the_hook_keeps_no_notification(session, team):
    case = submit(session, team)
    created = len(audits(session, "notification.created"))
    session.commit()  # end the read, so the next unit of work can write (SQLite)
    with pytest.raises(ValidationFailed), session_scope() as s:
        triaging.allocate(
            s,
            actor=team["lead"],
            reference=case.reference,
            officer_id=team["officer"].user_id,
            version=case.version,
        )
        assert count(s, Notification, Notification.event == "case_allocated") == 1
        # The same request goes on to a step that fails validation: the whole unit rolls back.
        triaging.allocate(
            s,
            actor=team["lead"],
            reference=case.reference,
            officer_id=-1,
            version=case.version + 1,
        )
    assert told(session, E.CASE_ALLOCATED) == [] and count(session, EmailMessage) == 0
    assert len(audits(session, "notification.created")) == created
    assert fresh(session, case).allocated_officer_id is None


def test_a_failure_after_the_lone_working_hook_undoes_its_notifications(session, team, monkeypatch):
    case = make_case(session, stage="enquiries", risk="amber", officer_id=team["officer"].user_id)
    session.commit()
    sync(session, team, visit_doc(case, team, seen_stage="enquiries"))
    real = lone_working.audit.record

    def failing(session_, **kw):
        if kw.get("action") == "visit.overdue_buddy_alerted":
            raise RuntimeError("audit store unavailable")
        return real(session_, **kw)

    monkeypatch.setattr(lone_working.audit, "record", failing)
    with pytest.raises(RuntimeError):
        lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=45))
    session.rollback()
    assert items(session) == [] and count(session, EmailMessage) == 0
    monkeypatch.setattr(lone_working.audit, "record", real)
    escalate(session, 45)  # the next look raises it
    assert told(session, E.LONE_WORKING) == ids(team, "buddy")


# ---------------------------------------------------------------------------------------------
# No personal data, and every notification audited


CANARIES = [
    "Zephyrine",
    "Quillfeather",
    "N380123456789",
    "380123456789",
    "Marrowgate",
    "LS9 7QZ",
    "LS97QZ",
    "Glimmerwick",
    "Ottoline",
    "Brackenbury",
    "Barnaby",
    "Perpetua",
    "Snodgrass",
    "Thistlewood",
    "2014-03-02",
    "2 March 2014",
    "02/03/2014",
]


def test_no_notification_or_email_carries_a_childs_details(session, team):
    make_duty(session, team)
    child = {
        "first_name": "Zephyrine",
        "last_name": "Quillfeather",
        "known_as": "Zeph Quillfeather",
        "upn": "N380123456789",
        "home_line1": "7 Marrowgate Yard",
        "home_town": "Thistlewood",
        "home_postcode": "LS9 7QZ",
        "referrer_name": "Ottoline Brackenbury",
        "dsl_name": "Perpetua Snodgrass",
        "person-p1-full_name": "Barnaby Quillfeather",
        "concerns_narrative": "Glimmerwick ferry: the family were seen boarding at night.",
    }
    case = submit(session, team, red=True, extra=child)  # referral_red
    draft = give_back(session, team, case)  # referral_returned
    resubmitted = view_referral(session, actor=team["school"], reference=case.reference)
    assert "Zephyrine" in resubmitted.child_name  # the canaries really are in the records
    submit(session, team, red=True, extra=child, public_id=draft)  # referral_red again
    case = triage(session, team, case, factors=["fgm"])  # case_allocated
    assert reminders.scan_targets(session, today=TODAY) > 0  # target_due
    assert reminders.scan_targets(session, today=TODAY + timedelta(days=1)) > 0  # missed
    notice = send_la(session, team, case, "lead")
    assert (
        reminders.scan_la_chases(session, today=notice.response_due_on + timedelta(days=1)) > 0
    )  # la_chase
    session.commit()
    doc = visit_doc(
        fresh(session, case),
        team,
        seen_stage="enquiries",
        address="7 Marrowgate Yard, Thistlewood LS9 7QZ",
    )
    assert sync(session, team, doc)["flagged"] is True  # visit_flagged
    escalate(session, 60)  # lone_working: buddy and leads
    inbound = inbound_referrals.log_inbound(
        session,
        actor=team["admin"],
        form={
            "source_type": "other_la",
            "la_name": "Wakefield",
            "received_on": date.today().isoformat(),
            "first_name": "Zephyrine",
            "last_name": "Quillfeather",
            "date_of_birth": "2014-03-02",
            "sex": "female",
            "line1": "7 Marrowgate Yard",
            "postcode": "LS9 7QZ",
            "parent_name": "Barnaby Quillfeather",
            "summary": "Glimmerwick ferry sighting reported by Wakefield.",
        },
    )
    session.commit()  # referral_new
    close(session, team, case)  # case_outcome
    session.commit()
    documents.generate(session, actor=team["lead"], reference=case.reference,
                       kind="outcome_letter")  # document_sent, to the referring school
    session.commit()
    deleted = deletions.submit_deletion(session, actor=team["school"], form={
        "first_name": "Zephyrine", "last_name": "Quillfeather", "date_of_birth": "2014-03-02",
        "sex": "female", "address_line1": "7 Marrowgate Yard", "postcode": "LS9 7QZ",
        "parent_1_name": "Barnaby Quillfeather", "parent_1_phone": "0113 496 0000",
        "deletion_date": date.today().isoformat(), "ground": "H"})  # possible_off_rolling
    new_pupils.record_new_pupil(session, actor=team["school_b"], form={
        "first_name": "Zephyrine", "last_name": "Quillfeather", "date_of_birth": "2014-03-02",
        "start_date": date.today().isoformat()})  # new_pupil_match
    episode = session.get(CmeEpisode, deleted.episode_id)
    episode.whereabouts_unknown, episode.review_on = True, date.today()
    session.add(episode)
    assert reminders.scan_untraceable_rechecks(session, today=date.today()) > 0  # re-check
    session.commit()

    made = items(session)
    assert {n.event for n in made} == {str(e) for e in NotifyEvent}  # every event happened
    sent = list(session.exec(select(EmailMessage)).all())
    assert sent
    texts = [(n.reference, n.subject, n.body, n.link) for n in made]
    texts += [(e.recipient_id, e.subject, e.body, "") for e in sent]
    for _, subject, body, link in texts:
        words = f"{subject}\n{body}\n{link}".lower()
        for canary in CANARIES:
            assert canary.lower() not in words, (canary, subject)
    references = {case.reference, inbound.reference,
                  session.get(Case, deleted.case_id).reference}
    for n in made:
        assert n.reference in references and n.reference in n.subject
    by_email = {n.email_id: n for n in made if n.email_id}
    assert set(by_email) == {e.id for e in sent}
    for e in sent:
        assert by_email[e.id].reference in e.subject

    # Every notification is audited once, with codes and ids only.
    created = {int(a.entity_id): a for a in audits(session, "notification.created")}
    assert set(created) == {n.id for n in made}
    for n in made:
        a = created[n.id]
        assert (a.actor_id, a.actor_role, a.child_id) == (None, "system", None)
        assert a.detail == {
            "event": n.event,
            "recipient": n.recipient_id,
            "reference": n.reference,
            "delivery": n.delivery,
        }
