"""New-pupil returns: a school's new pupil who is a child with an open case proposes closing
the case as on roll at a Leeds school to its officer; the officer confirms; the lead approves."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import CaseClosure, Child, CmeEpisode, NewPupilReturn
from cme_app.services.casework import closure
from cme_app.services.notify import notifications
from cme_app.services.returns import episodes
from cme_app.services.school_returns import deletions, new_pupils, views
from tests.factories import audit_events, fresh, make_case, make_school, make_user

from .conftest import TODAY, deletion_form


def pupil_form(**changes: str) -> dict[str, str]:
    return {"upn": "", "first_name": "Amira", "last_name": "Test",
            "date_of_birth": "2014-03-02", "start_date": "2026-12-03", "postcode": ""} | changes


def record(session, team, who="school", **changes) -> NewPupilReturn:
    ret = new_pupils.record_new_pupil(session, actor=team[who], form=pupil_form(**changes),
                                      today=TODAY)
    session.commit()
    return ret


def test_a_new_pupil_matching_an_open_case_proposes_its_closure_to_the_officer(
        session, team, case):
    ret = record(session, team, first_name="AMIRA")
    assert (ret.case_id, ret.matched_on, ret.proposal) == (case.id, "name_dob", "proposed")
    [proposal] = views.case_part(session, case).proposals
    assert (proposal.school, proposal.start_date, proposal.matched_on) == (
        "Aire Valley Primary", "3 Dec 2026", "name and date of birth")
    inbox = notifications.inbox(session, actor=team["officer"])
    assert [i.subject for i in inbox] == [
        f"Aire Valley Primary may have case {case.reference}'s child on roll"]

    proposed = new_pupils.confirm(session, actor=team["officer"], return_id=ret.id,
                                  version=fresh(session, case).version, today=TODAY)
    session.commit()
    assert (proposed.outcome, proposed.status) == ("onroll_leeds", "proposed")
    assert proposed.evidence["school_urn"] == "107999"
    assert proposed.evidence["start_date"] == "2026-12-03"
    assert views.case_part(session, case).proposals == ()
    assert [e.detail["new_pupil_return_id"] for e in
            audit_events(session, "new_pupil_match.confirmed")] == [ret.id]
    closure.approve_closure(session, actor=team["lead"], reference=case.reference,
                            version=fresh(session, case).version, today=TODAY)
    session.commit()
    assert fresh(session, case).stage == "closed"


def test_a_new_pupil_matching_no_open_case_proposes_nothing(session, team, case):
    ret = record(session, team, first_name="Someone", last_name="Else")
    assert (ret.case_id, ret.proposal) == (None, None)
    assert notifications.inbox(session, actor=team["officer"]) == []
    closed = make_case(session, stage="closed", first_name="Cleo", last_name="Shut")
    session.commit()
    assert record(session, team, first_name="Cleo", last_name="Shut").case_id is None
    assert closed.id != case.id


def test_an_open_episode_matches_by_upn_even_after_its_case_closed(session, team):
    shut = make_case(session, stage="closed", first_name="Una", last_name="Pinned")
    child = session.get(Child, shut.child_id)
    child.upn = "A383200012401"
    episodes.begin(session, child_id=child.id, case_id=shut.id, start_date=date(2026, 9, 1),
                   basis="deleted_from_roll", reason="Unknown", lives_in_la=True, by_id=None)
    session.commit()
    ret = record(session, team, upn="A383200012401", first_name="U", last_name="P")
    assert (ret.case_id, ret.matched_on) == (shut.id, "upn")
    assert session.exec(select(CmeEpisode)).one().end_date is None  # the officer ends it


def test_the_officer_can_say_it_is_not_the_same_child(session, team, case):
    ret = record(session, team)
    with pytest.raises(ValidationFailed):
        new_pupils.dismiss(session, actor=team["officer"], return_id=ret.id, reason="")
    new_pupils.dismiss(session, actor=team["officer"], return_id=ret.id,
                       reason="Different child: the school confirmed another address")
    session.commit()
    assert session.get(NewPupilReturn, ret.id).proposal == "dismissed"
    assert session.exec(select(CaseClosure)).all() == []
    with pytest.raises(NotFound):
        new_pupils.dismiss(session, actor=team["officer"], return_id=ret.id, reason="again")


def test_only_the_cases_officer_or_a_lead_answers(session, team, case):
    ret = record(session, team)
    with pytest.raises(NotAllowed):
        new_pupils.dismiss(session, actor=team["officer2"], return_id=ret.id, reason="no")
    for who in ("school", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            new_pupils.dismiss(session, actor=team[who], return_id=ret.id, reason="no")
    with pytest.raises(NotFound):
        new_pupils.dismiss(session, actor=team["lead"], return_id="1", reason="no")


def test_la_staff_record_a_new_pupil_for_a_named_school(session, team):
    with pytest.raises(ValidationFailed) as exc:
        record(session, team, who="officer")
    assert exc.value.errors[0].field == "school_urn"
    ret = record(session, team, who="admin", school_urn="108111")
    assert ret.school_id == team["school_b"].school_id
    with pytest.raises(NotAllowed):
        record(session, team, who="auditor", school_urn="108111")


def test_a_school_records_only_for_itself_and_sees_only_received(session, team, case):
    ret = record(session, team, school_urn="108111")  # a school can't choose another school
    assert ret.school_id == team["school"].school_id and ret.case_id == case.id
    [row] = views.school_list(session, actor=team["school"])
    assert (row.kind, row.status, row.next_step) == (
        "New pupil", "Received", "Recorded. Nothing more to do.")
    assert views.school_list(session, actor=team["school_b"]) == []


def test_new_pupil_checks(session, team):
    with pytest.raises(ValidationFailed) as exc:
        record(session, team, start_date="2027-03-01", date_of_birth="2014-02-30")
    assert {e.field: e.message for e in exc.value.errors} == {
        "date_of_birth": "The pupil's date of birth must be a real date",
        "start_date": "The start date can be at most 60 days from today"}
    record(session, team)
    with pytest.raises(ValidationFailed) as exc:
        record(session, team)
    assert "already recorded" in exc.value.errors[0].message


def test_the_destination_schools_new_pupil_return_matches_a_deletion(session, team):
    make_school(session, "108222", "Roundhay Park Primary")
    roundhay = make_user(session, "school", school_urn="108222")
    session.commit()
    gone = deletions.submit_deletion(
        session, actor=team["school"], today=TODAY,
        form=deletion_form(ground="A", destination_school_urn="108222", upn="A383200012401"))
    session.commit()
    arrived = new_pupils.record_new_pupil(
        session, actor=roundhay, today=TODAY,
        form=pupil_form(upn="A383200012401", first_name="Tamsin", last_name="Roe"))
    session.commit()
    assert session.get(type(gone), gone.id).new_pupil_return_id == arrived.id
    [row] = views.school_list(session, actor=team["school"])
    assert (row.status, row.next_step) == (
        "Matched", "Roundhay Park Primary has recorded the pupil as a new pupil. Nothing more "
        "to do.")
