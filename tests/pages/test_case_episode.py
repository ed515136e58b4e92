"""The case page's CME episode forms, through the page state as a browser tab drives it: a
bad form shows GOV.UK errors and changes nothing; start, change (with the reason's history)
and end each show on the reloaded case file."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import uk_today
from cme_app.models import CmeEpisode
from cme_app.pages.casework.case.state import CaseState
from tests.factories import call_handler, case_in_enquiries, session_token, state_for

TODAY = uk_today()


def _page(session, team, reference: str, who: str = "lead") -> CaseState:
    token = session_token(session, team[who].email)
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}")
    call_handler(state, "load")
    assert state.case is not None and state.case.reference == reference
    return state


def _form(prefix: str, **fields) -> dict:
    return {prefix + k: v for k, v in fields.items()}


def test_a_bad_start_shows_each_error_and_records_nothing(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    call_handler(state, "start_episode", _form(
        "ep-", start_date=(TODAY + timedelta(days=1)).isoformat(), start_basis="",
        lives_in_la="", primary_reason="Made up"))
    assert set(state.errors) == {"ep-start_date", "ep-start_basis", "ep-lives_in_la",
                                 "ep-primary_reason"}
    assert state.errors["ep-start_date"] == (
        "The date the episode started must be today or in the past")
    assert len(state.error_list) == 4
    assert session.exec(select(CmeEpisode)).all() == []
    assert state.case.cme_episode.id == 0


def test_start_change_and_end_show_on_the_case_file(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    started = (TODAY - timedelta(days=30)).isoformat()
    call_handler(state, "start_episode", _form(
        "ep-", start_date=started, start_basis="deleted_from_roll", lives_in_la="yes",
        primary_reason="Unknown"))
    assert state.errors == {} and "episode started" in state.message
    panel = state.case.cme_episode
    assert panel.id > 0 and panel.primary_reason == "Unknown" and panel.start_date == started

    call_handler(state, "change_episode", _form(
        "epc-", start_date=started, start_basis="deleted_from_roll", lives_in_la="yes",
        primary_reason="Moved in from another country",
        reason_from=(TODAY - timedelta(days=5)).isoformat()))
    assert state.errors == {}, state.errors
    panel = state.case.cme_episode
    assert panel.primary_reason == "Moved in from another country"
    assert [r.value.split(" (")[0] for r in panel.reason_history] == [
        "Unknown", "Moved in from another country"]

    call_handler(state, "end_episode", _form("epe-", end_date=TODAY.isoformat(),
                                             end_reason="on_roll"))
    assert state.errors == {}, state.errors
    assert state.case.cme_episode.id == 0
    [ended] = state.case.history_episodes
    assert ended.end != "" and ended.reason == "Moved in from another country"


def test_a_change_from_a_stale_page_is_refused_and_shows_the_latest(session, team):
    reference = case_in_enquiries(session, team)
    first, second = _page(session, team, reference), _page(session, team, reference, "officer")
    call_handler(first, "start_episode", _form(
        "ep-", start_date=TODAY.isoformat(), start_basis="arrived_in_la", lives_in_la="yes",
        primary_reason="Moved in from another country"))
    call_handler(second, "load")
    form = _form("epc-", start_date=TODAY.isoformat(), start_basis="arrived_in_la",
                 lives_in_la="no", primary_reason="Moved in from another country")
    call_handler(first, "change_episode", form)
    assert first.errors == {}
    call_handler(second, "change_episode", form | {"epc-lives_in_la": "yes"})
    assert "changed by someone else" in second.problem
    assert second.case.cme_episode.lives_in_la == "no"  # the latest, not the stale form
