"""Two people with the same case page open (two real CaseState tabs, each with its own signed-in
session). The first to save wins; the other is told who changed the case and when, sees the
latest, and overwrites nothing. Every handler that changes the case itself is covered; the
board's move is covered in tests/services/casework/test_board.py
(test_move_handler_refuses_readers_and_stale_moves) and tests/e2e/test_board_journeys.py.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import Case, CaseClosure, LaNotification, StageChange
from cme_app.pages.casework.case.state import CaseState
from tests.factories import call_handler, make_case, session_token, state_for

WINNER_MARKERS = "Dog at the address"
# A lead in the second tab; everyone named after their email ("changed by officer").
pytestmark = pytest.mark.team(extra=("lead2",), named=False)


@pytest.fixture
def world(session, team):
    case = make_case(session, stage="triage", risk="green", officer_id=team["officer"].user_id)
    session.commit()
    return team, case


def tab(session, email: str, reference: str) -> CaseState:
    token = session_token(session, email)
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}")
    call_handler(state, "load")
    assert state.case is not None
    return state


def call(state: CaseState, handler: str, *args):
    return call_handler(state, handler, *args)


def case_row(session, case: Case) -> Case:
    session.expire_all()
    row = session.exec(select(Case).where(Case.id == case.id)).one()
    session.expunge(row)
    session.rollback()  # on SQLite an open transaction holds the write lock
    return row


LOSER_ACTIONS = {
    "save_triage": ({"factor-no_contact": "on"},),
    "override_risk": ({"override-risk": "red", "override-reason": "New information came in"},),
    "allocate": (None,),  # officer2's id, filled in below
    "move": ("enquiries",),
    "return_to_referrer": ({"return_note": "Please add the family's new address"},),
    "save_visit_safety": ({"safety-warning_markers": "Nothing known"},),
    "propose_closure": ({"close-outcome": "ceased_csa"},),
    "close": ({"close-outcome": "ceased_csa"},),
    "approve_closure": (),
    "reopen": ({"reopen_reason": "The family came back to Leeds"},),
}


@pytest.mark.parametrize("handler", sorted(LOSER_ACTIONS))
def test_second_save_from_a_stale_page_is_refused_with_who_and_when(session, world, handler):
    team, case = world
    winner = tab(session, "officer@example.org", case.reference)
    loser = tab(session, "lead2@example.org", case.reference)
    seen = loser.case.version

    call(winner, "save_visit_safety", {"safety-warning_markers": WINNER_MARKERS})
    assert winner.problem == "" and winner.message.startswith("Visit safety saved")
    after_winner = case_row(session, case)
    assert after_winner.version == seen + 1

    args = LOSER_ACTIONS[handler]
    if handler == "allocate":
        args = ({"allocate-officer_id": str(team["officer2"].user_id)},)
    call(loser, handler, *args)

    # The loser sees who changed it and when, and the page now shows the latest version.
    assert re.fullmatch(
        rf"{case.reference} was changed by officer at \d\d:\d\d\. You are now seeing the "
        r"latest\.",
        loser.problem,
    ), loser.problem
    assert loser.message == ""
    assert loser.case.version == after_winner.version
    assert loser.case.warning_markers == WINNER_MARKERS

    # The winner's change stands and nothing of the loser's was written.
    now = case_row(session, case)
    assert (now.version, now.warning_markers) == (after_winner.version, WINNER_MARKERS)
    assert (now.stage, now.risk, now.allocated_officer_id) == (
        "triage", "green", team["officer"].user_id
    )
    assert session.exec(select(CaseClosure).where(CaseClosure.case_id == case.id)).all() == []
    assert [s.to_stage for s in session.exec(
        select(StageChange).where(StageChange.case_id == case.id)
    ).all()] == []
    session.rollback()


def test_two_people_recording_the_same_la_reply_the_second_is_refused(session, world):
    team, case = world
    row = LaNotification(
        case_id=case.id, direction="outbound", la_name="Wakefield", contact="cme@wakefield",
        question="Is the child known to you?", sent_on=date(2026, 11, 2),
        by_id=team["lead"].user_id,
    )
    session.add(row)
    session.commit()
    nid = row.id
    winner = tab(session, "officer@example.org", case.reference)
    loser = tab(session, "lead2@example.org", case.reference)
    today = date.today().isoformat()

    call(winner, "record_la_response", {
        "notification_id": str(nid), f"resp-{nid}-response_on": today,
        f"resp-{nid}-response": "On roll at Outwood Academy",
    })
    assert winner.problem == "" and winner.message == "The other LA's reply is recorded."

    call(loser, "record_la_response", {
        "notification_id": str(nid), f"resp-{nid}-response_on": today,
        f"resp-{nid}-response": "Not known to Wakefield",
    })
    assert re.fullmatch(
        rf"The reply from Wakefield on {case.reference} was changed by officer at \d\d:\d\d\. "
        r"You are now seeing the latest\.",
        loser.problem,
    ), loser.problem
    session.expire_all()
    stored = session.get(LaNotification, nid)
    assert stored.response == "On roll at Outwood Academy"
    session.rollback()

    # Filling in what is still blank is not a clash: the acknowledgement date can follow.
    call(loser, "record_la_response", {
        "notification_id": str(nid), f"resp-{nid}-acknowledged_on": today,
    })
    assert loser.problem == "" and loser.message == "The other LA's reply is recorded."
    session.expire_all()
    stored = session.get(LaNotification, nid)
    assert (stored.response, stored.acknowledged_on) == (
        "On roll at Outwood Academy", date.today()
    )
