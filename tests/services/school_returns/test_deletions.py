"""A school's deletion return: what it must say, and what the LA does with it (the routing
table in services/school_returns/routing.py, statutory-returns.md §2)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from cme_app.domain import DELETION_GROUNDS, SourceType, Stage
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import Case, CaseClosure, Child, CmeEpisode, DeletionReturn, EheRecord, Referral
from cme_app.services.notify import notifications
from cme_app.services.school_returns import deletions, views
from cme_app.services.school_returns.routing import Route, rule_for
from tests.factories import audit_events, make_case, make_school

from .conftest import TODAY, deletion_form


def submit(session, team, who="school", **changes):
    ret = deletions.submit_deletion(session, actor=team[who], form=deletion_form(**changes),
                                    today=TODAY)
    session.commit()
    return ret


def fields(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


# ---- what a return must say ------------------------------------------------------------------


def test_every_ground_has_words_and_a_one_line_explanation():
    assert list(DELETION_GROUNDS) == list("ABCDEFGHIJKLMNO")
    for ground in DELETION_GROUNDS.values():
        assert ground.title and not ground.title.startswith("Ground")
        assert ground.explanation.endswith(".") and "\n" not in ground.explanation


def test_a_deletion_dated_in_the_future_is_refused(session, team):
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, deletion_date="2026-12-08")
    assert "today or in the past" in fields(exc)["deletion_date"]
    assert session.exec(select(DeletionReturn)).all() == []


def test_ground_i_needs_the_g_n_o_confirmation(session, team):
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, ground="I")
    message = fields(exc)["absence_codes_confirmed"]
    assert "G, N or O" in message and "ill" in message
    assert session.exec(select(DeletionReturn)).all() == []
    ret = submit(session, team, ground="I", absence_codes_confirmed="yes")
    assert ret.absence_codes_confirmed and ret.route == Route.CME


@pytest.mark.parametrize("ground", ["A", "D"])
def test_a_ground_that_names_a_school_asks_for_it(session, team, ground):
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, ground=ground)
    assert fields(exc) == {"destination_school_urn":
                           "Enter the URN of the school the pupil is now registered at"}


def test_every_missing_fact_is_named_at_once(session, team):
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, first_name="", parent_1_name="", parent_1_phone="",
               address_line1="", ground="", sex="x", postcode="nope", upn="A123")
    assert set(fields(exc)) == {"first_name", "parent_1_name", "address_line1", "ground", "sex",
                                "postcode", "upn"}


def test_each_parent_named_needs_an_emergency_phone(session, team):
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, parent_2_name="Sam Roe", parent_1_phone="call me")
    assert fields(exc) == {
        "parent_1_phone": "Enter a phone number, like 0113 222 3333 or +44 7700 900982",
        "parent_2_phone": "Enter an emergency phone number for Sam Roe",
    }


def test_only_a_school_user_sends_returns_and_only_for_its_own_school(session, team):
    for who in ("officer", "lead", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            submit(session, team, who=who)
    with pytest.raises(NotAllowed):
        deletions.submit_deletion(session, actor=None, form=deletion_form(), today=TODAY)
    ret = submit(session, team, who="school_b")
    assert ret.school_id != submit(session, team, first_name="Other").school_id


def test_the_same_deletion_twice_is_refused(session, team):
    submit(session, team)
    with pytest.raises(ValidationFailed) as exc:
        submit(session, team, first_name="TAMSIN")
    assert "already sent" in fields(exc)["deletion_date"]


# ---- routing ----------------------------------------------------------------------------------


def test_the_routing_table_covers_every_ground_both_ways():
    for ground in DELETION_GROUNDS:
        for names_school in (True, False):
            assert rule_for(ground, names_school=names_school).route in Route
    assert rule_for("A", names_school=True).route == Route.MATCH_ROLL
    assert rule_for("F", names_school=False).route == Route.EHE_LIST
    assert rule_for("G", names_school=False).route == Route.CME
    assert rule_for("G", names_school=True).route == Route.MATCH_ROLL
    assert [rule_for(g, names_school=False).route for g in "HI"] == [Route.CME, Route.CME]
    assert {rule_for(g, names_school=False).route for g in "BCEJKLMNO"} == {Route.RECORD}


def test_a_named_destination_school_matches_the_roll_with_no_episode(session, team):
    make_school(session, "108222", "Roundhay Park Primary")
    ret = submit(session, team, ground="A", destination_school_urn="108222",
                 destination_school_start="2026-12-09")
    assert ret.route == Route.MATCH_ROLL and ret.case_id is None and ret.episode_id is None
    assert session.exec(select(CmeEpisode)).all() == [] and session.exec(select(Case)).all() == []
    [row] = views.school_list(session, actor=team["school"])
    assert (row.status, row.next_step) == (
        "Received", "Waiting for Roundhay Park Primary to record the pupil as a new pupil.")


def test_ehe_goes_to_the_ehe_list_not_cme(session, team):
    ret = submit(session, team, ground="F")
    [ehe] = session.exec(select(EheRecord)).all()
    assert (ehe.child_id, ehe.start_date, ehe.suitability, ehe.deletion_return_id) == (
        ret.child_id, date(2026, 12, 1), "pending", ret.id)
    assert ret.route == Route.EHE_LIST and session.exec(select(CmeEpisode)).all() == []
    assert views.school_list(session, actor=team["school"])[0].next_step == (
        "Passed to the elective home education team.")


def test_moved_away_with_no_destination_opens_an_episode_and_a_new_referral(session, team):
    ret = submit(session, team, ground="G", moved_to="abroad", new_address="Lahore, Pakistan")
    case = session.get(Case, ret.case_id)
    referral = session.get(Referral, case.referral_id)
    episode = session.get(CmeEpisode, ret.episode_id)
    assert case.stage == Stage.NEW_REFERRAL and referral.source_type == SourceType.DELETION_RETURN
    assert referral.source_name == "Aire Valley Primary" and referral.school_id is None
    assert (episode.start_date, episode.start_basis, episode.primary_reason) == (
        date(2026, 12, 1), "deleted_from_roll", "Believed to have moved to another country")
    assert episode.case_id == case.id and not ret.possible_off_rolling
    assert submit(session, team, first_name="Ula").route == Route.CME
    assert session.exec(select(CmeEpisode).where(CmeEpisode.id != episode.id)).one() \
        .primary_reason == "Believed to have moved to another local authority"
    [row] = [r for r in views.school_list(session, actor=team["school"]) if r.pupil == "Tamsin Roe"]
    assert row.status == "Being looked into"


@pytest.mark.parametrize("ground", ["H", "I"])
def test_h_or_i_without_the_las_confirmation_is_flagged_possible_off_rolling(
        session, team, ground):
    ret = submit(session, team, ground=ground, absence_codes_confirmed="yes")
    assert ret.route == Route.CME and ret.possible_off_rolling
    case = session.get(Case, ret.case_id)
    part = views.case_part(session, case)
    assert part.off_rolling == (
        f"Possible off-rolling: Aire Valley Primary deleted this pupil under ground {ground} "
        f"({DELETION_GROUNDS[ground].title.lower()}) on 1 Dec 2026 without the LA confirming "
        "that joint enquiries were exhausted.",)
    [flag] = views.off_rolling_list(session, actor=team["lead"])
    assert (flag.school, flag.case_reference, flag.reviewed) == (
        "Aire Valley Primary", case.reference, False)
    inbox = notifications.inbox(session, actor=team["lead"])
    assert any("Possible off-rolling: Aire Valley Primary" in i.subject for i in inbox)
    with pytest.raises(NotAllowed):
        views.off_rolling_list(session, actor=team["officer"])


def test_h_or_i_after_the_la_confirmed_enquiries_exhausted_is_not_flagged(session, team):
    child = Child(first_name="Tamsin", last_name="Roe", date_of_birth=date(2014, 3, 2),
                  sex="female", upn="A383200012401")
    session.add(child)
    session.flush()
    old = make_case(session, stage="closed", school_id=team["school"].school_id,
                    outcome="untraceable")
    old.child_id = child.id
    session.add(CaseClosure(case_id=old.id, episode=1, outcome="untraceable", status="closed"))
    session.commit()
    ret = submit(session, team, ground="I", absence_codes_confirmed="yes", upn="A383200012401")
    assert ret.child_id == child.id and not ret.possible_off_rolling


def test_a_return_for_a_child_with_an_open_case_joins_that_case(session, team, case):
    child = session.get(Child, case.child_id)
    child.upn = "A383200012401"
    session.add(child)
    session.commit()
    ret = submit(session, team, ground="I", absence_codes_confirmed="yes", upn="A383200012401",
                 first_name=child.first_name, last_name=child.last_name)
    assert ret.case_id == case.id and len(session.exec(select(Case)).all()) == 1
    assert session.get(CmeEpisode, ret.episode_id).case_id == case.id


def test_record_only_grounds_record_and_nothing_more(session, team):
    ret = submit(session, team, ground="K")
    assert (ret.route, ret.child_id, ret.case_id) == (Route.RECORD, None, None)
    assert session.exec(select(Child)).all() == []


def test_each_return_is_audited_with_its_route(session, team):
    ret = submit(session, team, ground="H")
    [event] = audit_events(session, "deletion_return.received")
    assert event.child_id == ret.child_id and event.detail["route"] == "cme"
    assert event.detail["possible_off_rolling"] is True


def test_a_lead_reviews_a_flag_with_a_note(session, team):
    ret = submit(session, team, ground="H")
    with pytest.raises(ValidationFailed):
        views.review_off_rolling(session, actor=team["lead"], public_id=ret.public_id, note=" ")
    views.review_off_rolling(session, actor=team["lead"], public_id=ret.public_id,
                             note="Spoke to the head: family went to Romania; joint check done")
    [flag] = views.off_rolling_list(session, actor=team["lead"])
    assert flag.reviewed and views.case_part(session, session.get(Case, ret.case_id)) \
        .off_rolling == ()


def test_school_b_never_sees_school_as_returns(session, team):
    submit(session, team, ground="H")
    assert views.school_list(session, actor=team["school_b"]) == []
    assert len(views.school_list(session, actor=team["school"])) == 1


def test_a_school_cannot_tell_whether_the_la_already_knew_the_child(session, team, case):
    """School B deletes a child school A already referred (same UPN): B's view of its return
    is word for word what it would be for a child nobody knew, and names no case."""
    child = session.get(Child, case.child_id)
    child.upn = "A383200012401"
    session.add(child)
    session.commit()
    known = submit(session, team, who="school_b", ground="I", absence_codes_confirmed="yes",
                   upn="A383200012401")
    unknown = submit(session, team, who="school_b", ground="I", absence_codes_confirmed="yes",
                     first_name="Nobody", last_name="Known")
    assert known.case_id == case.id and unknown.case_id != case.id
    rows = {r.pupil: r for r in views.school_list(session, actor=team["school_b"])}
    seen = [(r.kind, r.status, r.status_colour, r.next_step, r.ground, r.date_label)
            for r in (rows["Tamsin Roe"], rows["Nobody Known"])]
    assert seen[0] == seen[1]
    assert case.reference not in repr(rows)
