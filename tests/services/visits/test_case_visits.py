"""Visits and lone-working safety on the desk: a case's warning markers and joint-visit flag,
the visits list on the case file, and a lead's review of flagged visits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from cme_app.dates import short_date
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import Case, HomeVisit, User
from cme_app.services.casework import case_file as casework
from cme_app.services.casework import records
from cme_app.services.casework.lifecycle import MoveRefused, StaleCase
from cme_app.services.trust.purpose import PurposeRequired
from cme_app.services.visits import lone_working, safety
from cme_app.services.visits import phone_log as visits
from cme_app.services.visits.desk_alerts import desk_alerts
from tests.factories import audit_events, checked_in_visit, fresh, make_case

MARKERS = "Dog at the property. Father hostile to officials in 2025."


def set_safety(session, team, case, who="officer", *, markers=MARKERS, joint=True,
               version=None):
    result = safety.set_visit_safety(
        session, actor=team[who], reference=case.reference, warning_markers=markers,
        joint_visit_required=joint,
        version=fresh(session, case).version if version is None else version,
    )
    session.commit()
    return result


def phone_visit(session, case: Case, officer_id: int, **fields) -> HomeVisit:
    """A visit as the phone leaves it: checked in, and recorded and ended if given."""
    checked_in = fields.pop("checked_in_at", datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    row = HomeVisit(
        client_uuid=str(uuid.uuid4()),
        case_id=case.id,
        visited_on=checked_in.date(),
        address="12 Harehills Lane, Leeds LS8 5AA",
        officer_id=officer_id,
        risk_check_done=True,
        checked_in_at=checked_in,
        expected_minutes=30,
        expected_end_at=checked_in + timedelta(minutes=30),
        **fields,
    )
    session.add(row)
    session.commit()
    return row


# ---------------------------------------------------------------------------- visit safety


def test_allocated_officer_sets_markers_and_joint_flag_audited_without_the_words(
    session, team, case
):
    before = fresh(session, case).version
    set_safety(session, team, case)
    row = fresh(session, case)
    assert row.warning_markers == MARKERS and row.joint_visit_required is True
    assert row.version == before + 1 and row.updated_by_id == team["officer"].user_id
    (event,) = audit_events(session, "case.visit_safety_changed")
    assert event.outcome == "ok" and event.entity_id == case.reference
    assert event.detail == {
        "before": {"joint_visit_required": False},
        "after": {"joint_visit_required": True},
        "markers_changed": True,
    }
    assert "Dog" not in str(event.detail)

    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    assert view.warning_markers == MARKERS and view.joint_visit_required is True


def test_lead_clears_markers_and_an_unchanged_save_changes_nothing(session, team, case):
    set_safety(session, team, case)
    version = fresh(session, case).version
    set_safety(session, team, case, "lead")  # the same values again
    assert fresh(session, case).version == version
    assert len(audit_events(session, "case.visit_safety_changed")) == 1

    set_safety(session, team, case, "lead", markers="   ", joint=False)
    row = fresh(session, case)
    assert row.warning_markers is None and row.joint_visit_required is False
    last = audit_events(session, "case.visit_safety_changed")[-1]
    assert last.actor_id == team["lead"].user_id
    assert last.detail["before"] == {"joint_visit_required": True}
    assert last.detail["after"] == {"joint_visit_required": False}


def test_only_the_allocated_officer_or_a_lead_changes_visit_safety(session, team, case):
    with pytest.raises(PurposeRequired):  # another officer's case: first, why (issue 18)
        set_safety(session, team, case, "officer2")
    session.commit()  # as the page does: the refusal's audit is kept
    casework.view_case(session, actor=team["officer2"], reference=case.reference,
                       purpose_form={"purpose": "covering"})
    with pytest.raises(NotAllowed):
        set_safety(session, team, case, "officer2")
    session.commit()
    no_purpose, refused = audit_events(session, "case.visit_safety_changed")
    assert no_purpose.detail == {"reason": "purpose_required"}
    assert refused.outcome == "refused" and refused.actor_id == team["officer2"].user_id
    for who in ("admin", "auditor"):
        with pytest.raises(NotAllowed):
            set_safety(session, team, case, who)
        session.rollback()
    row = fresh(session, case)
    assert row.warning_markers is None and row.joint_visit_required is False


def test_visit_safety_is_validated_and_version_checked(session, team, case):
    version = fresh(session, case).version
    with pytest.raises(ValidationFailed) as err:
        set_safety(session, team, case, markers="x" * 1001)
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("warning_markers", "Use 1000 characters or fewer")
    ]
    session.rollback()
    set_safety(session, team, case, markers="x" * 1000, joint=False)
    assert len(fresh(session, case).warning_markers) == 1000

    with pytest.raises(StaleCase):
        set_safety(session, team, case, markers="Older text", version=version)
    session.rollback()
    with pytest.raises(StaleCase):
        set_safety(session, team, case, version=True)  # a bool is not a version
    session.rollback()
    assert fresh(session, case).warning_markers == "x" * 1000


def test_joint_flag_must_be_a_real_true(session, team, case):
    set_safety(session, team, case, joint="yes")  # only True sets it, never a truthy string
    assert fresh(session, case).joint_visit_required is False


def test_a_closed_case_keeps_its_visit_safety(session, team):
    closed = make_case(session, stage="closed", officer_id=team["officer"].user_id)
    session.commit()
    with pytest.raises(MoveRefused):
        set_safety(session, team, closed, "lead")
    session.rollback()
    assert fresh(session, closed).warning_markers is None


def test_who_may_edit_safety_and_start_a_visit_on_the_case_page(session, team, case):
    def view(who):
        # Anyone but the allocated officer and the leads says why
        # (tests/services/trust/test_audit_log.py).
        return casework.view_case(session, actor=team[who], reference=case.reference,
                                  purpose_form={"purpose": "supervision"})

    assert view("officer").can.edit_safety and view("officer").can.start_visit
    assert view("lead").can.edit_safety and view("lead").can.start_visit
    for who in ("officer2", "admin"):
        assert not view(who).can.edit_safety and not view(who).can.start_visit
    assert view("lead").can.review_visits and not view("officer").can.review_visits


# ---------------------------------------------------------------------------- the visits list


def test_case_file_shows_a_phone_visit_in_full(session, team, case):
    checked_in = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)  # 13:05 in London (GMT)
    phone_visit(
        session, case, team["officer"].user_id,
        checked_in_at=checked_in,
        risk_check_notes="Dog kept in the back room",
        accompanied=True,
        second_officer_id=team["lead"].user_id,
        buddy_id=team["officer2"].user_id,
        checked_out_at=checked_in + timedelta(minutes=28),
        outcome="no_reply_vacant",
        child_seen=False,
        people_spoken_to=[
            {"name": "", "relationship": "Neighbour", "description": "Woman at No. 14"},
            {"name": "Mr Shah", "relationship": "Landlord or agent", "description": ""},
        ],
        neighbours_spoken=True,
        neighbours_said="Family left about 3 weeks ago",
        calling_card_left=True,
        notes="Post piled up behind the door.",
        opinion="Looks as if the family has moved out.",
        safeguarding_raised=True,
        mash_reference="MASH-77",
        next_action="Notify Bradford CME team",
        next_action_due=date(2026, 12, 1),
        record_saved_at=checked_in + timedelta(minutes=25),
        created_offline=True,
        synced_at=datetime(2026, 11, 27, 14, 40, tzinfo=UTC),
    )
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    (v,) = view.visits
    rows = {r.label: r.value for r in v.rows}
    assert v.heading == "27 Nov 2026, PM"
    assert rows["Officers"] == "Olu Officer with Lee Lead (accompanied)"
    assert rows["Buddy"] == "Priya Patel"
    assert rows["Pre-visit safety check"] == "Warning markers reviewed: Dog kept in the back room"
    assert (rows["Checked in"], rows["Checked out"]) == ("13:05", "13:33")
    assert rows["Outcome"] == "No reply, property appears vacant"
    assert rows["Child seen"] == "No"
    assert rows["People spoken to"] == "Woman at No. 14 (Neighbour)\nMr Shah (Landlord or agent)"
    assert rows["Neighbours spoken to"] == "Yes: Family left about 3 weeks ago"
    assert rows["Calling card left"] == "Yes"
    assert rows["Safeguarding concern raised"] == "Yes, MASH reference MASH-77"
    assert rows["Next action"] == "Notify Bradford CME team (due 1 Dec 2026)"
    assert v.notes == "Post piled up behind the door."
    assert v.opinion == "Looks as if the family has moved out."
    assert v.offline_note == "Recorded offline, sent 14:40"
    assert (v.status, v.status_text, v.flag_reason) == ("", "", "")


def test_a_visit_still_checked_in_is_in_progress_then_overdue(session, team, case):
    checked_in = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)
    row = fresh(session, case)
    row.first_visit_due_on = date.today() + timedelta(days=3)
    session.add(row)
    phone_visit(session, case, team["officer"].user_id, checked_in_at=checked_in)

    def only(now):
        view = casework.view_case(session, actor=team["lead"], reference=case.reference,
                                  now=now)
        return view.visits[0], view

    v, view = only(checked_in + timedelta(minutes=10))
    assert v.heading == "15 Jun 2026, AM"
    assert (v.status, v.status_text) == ("in_progress", "In progress — expected back 10:30")
    rows = {r.label: r.value for r in v.rows}
    assert rows["Outcome"] == "Not recorded yet" and rows["Checked out"] == "Not yet"
    assert rows["Officers"] == "Olu Officer (alone)"
    assert "Child seen" not in rows and "Calling card left" not in rows
    assert view.due_label.startswith("First visit due")  # a check-in alone is not a visit
    v, _ = only(checked_in + timedelta(minutes=31))
    assert v.status == "overdue"


def test_a_desk_visit_shows_only_what_the_desk_form_asks(session, team, case):
    records.record_visit(
        session, actor=team["officer"], reference=case.reference,
        form={"visited_on": date.today().isoformat(), "address": "14 Example Street",
              "outcome": "child_seen_safe", "child_seen": "yes", "seen_alone": "yes",
              "notes": "Child well."},
    )
    session.commit()
    (v,) = casework.view_case(session, actor=team["officer"], reference=case.reference).visits
    assert [r.label for r in v.rows] == ["Address visited", "Officers", "Outcome", "Child seen"]
    assert {r.label: r.value for r in v.rows}["Child seen"] == "Yes, seen alone"
    assert {r.label: r.value for r in v.rows}["Officers"] == "Olu Officer"
    assert v.heading == short_date(date.today())  # no check-in time, so no AM or PM
    assert (v.notes, v.opinion, v.status, v.offline_note) == ("Child well.", "", "", "")


# ---------------------------------------------------------------------------- flagged visits


def flagged(session, team, case, reason="The case was closed while this visit was offline."):
    return phone_visit(
        session, case, team["officer"].user_id, outcome="no_reply_occupied",
        checked_out_at=datetime(2026, 11, 27, 10, 20, tzinfo=UTC), flag_reason=reason,
    )


def test_lead_marks_a_flagged_visit_reviewed_on_a_closed_case(session, team):
    closed = make_case(session, stage="closed", officer_id=team["officer"].user_id,
                       first_name="Lena", last_name="Closed")
    session.commit()
    visit = flagged(session, team, closed)
    (waiting,) = safety.flagged_visits(session, actor=team["lead"])
    assert (waiting.visit_id, waiting.reference, waiting.child_name, waiting.officer) == (
        visit.id, closed.reference, "Lena Closed", "Olu Officer"
    )
    assert waiting.flag_reason.startswith("The case was closed")

    safety.review_visit_flag(session, actor=team["lead"], reference=closed.reference,
                               visit_id=visit.id)
    session.commit()
    session.expire_all()
    row = session.get(HomeVisit, visit.id)
    assert row.flag_reviewed_by_id == team["lead"].user_id and row.flag_reviewed_at
    (event,) = audit_events(session, "visit.flag_reviewed")
    assert event.entity_id == closed.reference
    assert event.detail == {
        "visit_id": visit.id,
        "client_uuid": visit.client_uuid,
        "before": {"flag_reviewed_by_id": None},
        "after": {"flag_reviewed_by_id": team["lead"].user_id},
    }
    assert safety.flagged_visits(session, actor=team["lead"]) == []

    (v,) = casework.view_case(session, actor=team["lead"], reference=closed.reference).visits
    assert v.flag_reason.startswith("The case was closed")
    assert v.flag_review.startswith("Reviewed by Lee Lead, ")

    # A second lead's click (a stale page) records nothing more.
    safety.review_visit_flag(session, actor=team["lead"], reference=closed.reference,
                               visit_id=visit.id)
    session.commit()
    assert len(audit_events(session, "visit.flag_reviewed")) == 1


def test_only_a_lead_reviews_and_only_a_flagged_visit_of_that_case(session, team, case):
    visit = flagged(session, team, case)
    plain = phone_visit(session, case, team["officer"].user_id, outcome="refused",
                        checked_out_at=datetime(2026, 11, 27, 10, 20, tzinfo=UTC))
    other = make_case(session, stage="enquiries", first_name="Other")
    session.commit()
    for who in ("officer", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            safety.review_visit_flag(session, actor=team[who], reference=case.reference,
                                       visit_id=visit.id)
        with pytest.raises(NotAllowed):
            safety.flagged_visits(session, actor=team[who])
        session.rollback()
    for reference, visit_id in (
        (case.reference, plain.id),  # not flagged
        (other.reference, visit.id),  # another case's visit
        (case.reference, 999_999),
        (case.reference, str(visit.id)),  # ids are ints
        (case.reference, True),
    ):
        with pytest.raises(MoveRefused):
            safety.review_visit_flag(session, actor=team["lead"], reference=reference,
                                       visit_id=visit_id)
        session.rollback()
    session.expire_all()
    assert session.get(HomeVisit, visit.id).flag_reviewed_at is None
    assert audit_events(session, "visit.flag_reviewed") == []
    assert [f.visit_id for f in safety.flagged_visits(session, actor=team["lead"])] == [
        visit.id
    ]


def test_flagged_visits_lists_every_unreviewed_visit_oldest_first(session, team, case):
    second = make_case(session, stage="enquiries", first_name="Noah", last_name="Second")
    session.commit()
    first_visit = flagged(session, team, case, reason="Moved to another stage meanwhile.")
    second_visit = flagged(session, team, second, reason="Allocated to someone else meanwhile.")
    nobody = session.exec(select(User).where(User.email == "officer2@example.org")).one()
    late = phone_visit(session, second, nobody.id, flag_reason="Closed meanwhile.",
                       outcome="refused",
                       checked_out_at=datetime(2026, 11, 27, 10, 20, tzinfo=UTC))
    safety.review_visit_flag(session, actor=team["lead"], reference=second.reference,
                               visit_id=late.id)
    session.commit()
    listed = safety.flagged_visits(session, actor=team["lead"])
    assert [(f.visit_id, f.reference, f.visited_on) for f in listed] == [
        (first_visit.id, case.reference, "27 Nov 2026"),
        (second_visit.id, second.reference, "27 Nov 2026"),
    ]



# ---------------------------------------------------------------------------- desk alerts

TEN = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def check_in(session, team, case: Case) -> str:
    """Olu starts a 30-minute visit at 10:00 with Priya as buddy, through the phone's service."""
    doc = checked_in_visit(case.reference, officer_id=team["officer"].user_id,
                           buddy_id=team["officer2"].user_id, at=TEN, stage=case.stage)
    visits.sync_visit(session, actor=team["officer"], payload=doc, now=TEN)
    session.commit()
    return doc["client_uuid"]


def seen_by(session, team, who: str, minutes: int) -> list:
    return desk_alerts(session, actor=team[who], now=TEN + timedelta(minutes=minutes))


def test_a_lead_sees_every_overdue_visit_once_from_the_buddys_alert_on(session, team, case):
    uid = check_in(session, team, case)
    assert seen_by(session, team, "lead", 44) == []
    lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=45))
    session.commit()

    (buddy,) = seen_by(session, team, "officer2", 46)
    assert (buddy.level, buddy.mine, buddy.client_uuid) == ("buddy", True, uid)
    (lead,) = seen_by(session, team, "lead", 46)  # not raised to the lead yet, but shown
    assert (lead.level, lead.mine, lead.id) == ("buddy", False, buddy.id)
    assert lead.message == (
        "Olu Officer has not checked out of a visit to 12 Harehills Lane, Leeds that was due "
        "to end at 10:30. Their buddy, Priya Patel, has been alerted."
    )
    (own,) = seen_by(session, team, "officer", 46)
    assert (own.level, own.mine, own.id) == ("self", True, None)

    lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=60))
    session.commit()
    (lead,) = seen_by(session, team, "lead", 61)  # one entry for the visit: the lead's own
    assert (lead.level, lead.mine) == ("lead", True)
    assert [a.level for a in seen_by(session, team, "officer2", 61)] == ["buddy"]
    for who in ("admin", "auditor"):
        with pytest.raises(NotAllowed):
            seen_by(session, team, who, 61)


def test_a_lead_marks_safe_from_the_buddys_alert_and_it_goes_for_everyone(
    session, team, case
):
    check_in(session, team, case)
    lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=45))
    session.commit()
    (lead,) = seen_by(session, team, "lead", 50)
    resolved = lone_working.resolve_alerts(
        session, actor=team["lead"], alert_id=lead.id, note="Rang Olu at 10:52: safe."
    )
    session.commit()
    assert resolved == 1
    assert seen_by(session, team, "lead", 51) == []
    assert seen_by(session, team, "officer2", 51) == []
    # The visit itself is still open, so Olu is still asked to end it.
    assert [a.level for a in seen_by(session, team, "officer", 51)] == ["self"]
