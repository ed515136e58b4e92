"""The case page's "Securing education" section through the page state, as a browser tab
drives it: a bad form shows GOV.UK errors at its own fields and records nothing; a new step and
an update show on the reloaded case file; and the two handlers give nothing to people who may
not record (signed out, a forged session, a school, admin, the auditor, another officer who has
not given a purpose), nor does handing the reason back to the steps."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import uk_today
from cme_app.models import CmeEpisode, EpisodeReason, SecuringStep
from cme_app.pages.casework.case.state import CaseState
from cme_app.services.casework import lifecycle, securing
from cme_app.services.returns import episodes
from cme_app.services.trust import purpose
from tests.factories import (
    call_handler,
    case_in_enquiries,
    session_token,
    state_for,
    stored_case,
)

TODAY = uk_today()
APPLICATION = {"kind": "application", "sec-application-school": "Aire Valley Primary",
               "sec-application-done_on": TODAY.isoformat(),
               "sec-application-outcome": "awaiting"}


def _located(session, team) -> str:
    reference = case_in_enquiries(session, team)
    lifecycle.move_case(session, actor=team["officer"], reference=reference,
                        to_stage="located", version=stored_case(session, reference).version)
    session.commit()
    return reference


def _tab(session, email: str, reference: str) -> CaseState:
    token = session_token(session, email) if email else ""
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}")
    call_handler(state, "load")
    return state


def _count(session) -> int:
    n = session.exec(select(func.count()).select_from(SecuringStep)).one()
    session.rollback()
    return n


def test_a_bad_step_shows_each_error_at_its_field_and_records_nothing(session, team):
    reference = _located(session, team)
    state = _tab(session, team["officer"].email, reference)
    assert state.case.securing.shown and state.case.securing.editable
    before = _count(session)
    call_handler(state, "record_securing", {
        "kind": "offer", "sec-offer-school": "", "sec-offer-done_on": "not a date",
        "sec-offer-outcome": "yes"})
    assert set(state.errors) == {"sec-offer-school", "sec-offer-done_on", "sec-offer-start_on"}
    assert state.errors["sec-offer-start_on"] == "Enter the agreed start date"
    assert _count(session) == before


def test_a_step_and_its_update_show_on_the_case_file(session, team):
    reference = _located(session, team)
    state = _tab(session, team["officer"].email, reference)
    [keyworker] = state.case.securing.steps
    assert keyworker.kind == "keyworker" and keyworker.due_state == "due"
    assert keyworker.due_label.startswith("Keyworker due ")

    call_handler(state, "record_securing", APPLICATION)
    assert state.errors == {} and state.message == "In-year admission application recorded."
    application = state.case.securing.steps[-1]
    assert application.due_label.startswith("Decision due ")
    assert ["Schools applied for", "Aire Valley Primary"] in [
        [r.label, r.value] for r in application.rows]

    p = f"upd-{application.id}-"
    call_handler(state, "update_securing", {
        "kind": "application", "step_id": str(application.id),
        "step_version": str(application.version), p + "school": "Aire Valley Primary",
        p + "done_on": TODAY.isoformat(), p + "outcome": "offered",
        p + "outcome_on": TODAY.isoformat()})
    assert state.errors == {}, state.errors
    updated = state.case.securing.steps[-1]
    assert (updated.due_state, updated.version) == ("done", 2)

    call_handler(state, "update_securing", {
        "kind": "application", "step_id": str(application.id), "step_version": "1",
        p + "school": "X", p + "done_on": TODAY.isoformat(), p + "outcome": "refused",
        p + "outcome_on": TODAY.isoformat()})
    assert "changed by someone else" in state.problem


def test_the_section_is_read_only_once_the_case_leaves_located(session, team):
    reference = _located(session, team)
    lifecycle.move_case(session, actor=team["officer"], reference=reference,
                        to_stage="enquiries", version=stored_case(session, reference).version)
    session.commit()
    state = _tab(session, team["officer"].email, reference)
    assert state.case.securing.shown and not state.case.securing.editable
    before = _count(session)
    call_handler(state, "record_securing", APPLICATION)
    assert "Located – securing education" in state.problem
    assert _count(session) == before


def test_nobody_else_records_a_step(session, team):
    """Signed out, a forged session, a school, admin, the auditor: refused; another officer is
    asked for the purpose first. Nothing is recorded by any of them; the allocated officer's
    same call does record, so the check can fail."""
    reference = _located(session, team)
    [keyworker_id] = session.exec(select(SecuringStep.id)).all()
    session.rollback()
    update = {"kind": "keyworker", "step_id": str(keyworker_id), "step_version": "1",
              f"upd-{keyworker_id}-who": "Mallory", f"upd-{keyworker_id}-done_on":
              TODAY.isoformat()}
    callers = {"anonymous": "", "forged": None, "school": team["school"].email,
               "admin": team["admin"].email, "auditor": team["auditor"].email,
               "officer2": team["officer2"].email}
    before = _count(session)
    for who, email in callers.items():
        token = "not-a-real-session-token" if email is None else (
            session_token(session, email) if email else "")
        session.commit()
        state = state_for(CaseState, token, path=f"/cases/{reference}")
        for name, form in (("record_securing", APPLICATION), ("update_securing", update)):
            call_handler(state, name, form)
            assert _count(session) == before, f"{who} recorded a step via {name}"
        if who == "officer2":
            assert state.problem == purpose.WRITE_MESSAGE
    session.expire_all()
    assert session.get(SecuringStep, keyworker_id).who is None
    session.rollback()

    state = _tab(session, team["officer"].email, reference)
    call_handler(state, "update_securing", update)
    session.expire_all()
    assert session.get(SecuringStep, keyworker_id).who == "Mallory"
    assert state.case.securing.steps[0].due_state == "done"
    assert state.case.securing.steps[0].form_values[f"upd-{keyworker_id}-done_on"] == (
        TODAY.isoformat())


def test_handing_the_reason_back_to_the_steps_is_for_caseworkers_only(session, team):
    reference = _located(session, team)
    officer = team["officer"]
    episodes.start_episode(session, actor=officer, reference=reference, form={
        "start_date": TODAY.isoformat(), "start_basis": "arrived_in_la", "lives_in_la": "yes",
        "primary_reason": "Unknown"})
    session.commit()
    episode = session.exec(select(CmeEpisode)).one()
    episodes.change_episode(session, actor=officer, reference=reference, episode_id=episode.id,
                            version=episode.version, form={
                                "start_date": TODAY.isoformat(), "start_basis": "arrived_in_la",
                                "lives_in_la": "yes", "primary_reason": "Other"})
    session.commit()
    securing.record_step(session, actor=officer, reference=reference, kind="application",
                         form={"school": "Aire Valley Primary", "done_on": TODAY.isoformat(),
                               "outcome": "awaiting"})
    session.commit()

    def reasons() -> int:
        n = session.exec(select(func.count()).select_from(EpisodeReason)).one()
        session.rollback()
        return n

    before = reasons()
    for who, email in {"anonymous": "", "school": team["school"].email,
                       "admin": team["admin"].email, "auditor": team["auditor"].email,
                       "officer2": team["officer2"].email}.items():
        token = session_token(session, email) if email else ""
        session.commit()
        state = state_for(CaseState, token, path=f"/cases/{reference}")
        call_handler(state, "follow_securing_reason")
        assert reasons() == before, f"{who} changed the reason"

    state = _tab(session, officer.email, reference)
    assert state.case.securing.reason_by_hand
    call_handler(state, "follow_securing_reason")
    assert state.message == "The primary reason now follows the securing-education steps."
    assert reasons() == before + 1
    assert state.case.cme_episode.primary_reason == "School application awaiting outcome"
    assert not state.case.securing.reason_by_hand
