"""The desk alert panel's state (state/alerts.py): a quiet poll sends nothing, a new alert is
announced once, and another user's alerts never carry over to the next person on the tab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import reflex as rx
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import LoneWorkingAlert
from cme_app.pages.casework.board import BoardState
from cme_app.pages.reporting.dashboard import DashboardState
from cme_app.services.visits import lone_working
from cme_app.services.visits import phone_log as visits
from tests.factories import call_handler, checked_in_visit, make_case, session_token, state_for

# Two hours ago: the panel asks about "now", so every step below has already happened.
TEN = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def board() -> BoardState:
    root = rx.State(_reflex_internal_init=True)
    return root.get_substate(BoardState.get_full_name().split(".")[1:])


def overdue(session, team, start: datetime) -> None:
    """Olu checks in for 30 minutes at `start` with Priya as buddy, and stays."""
    case = make_case(session, stage="enquiries", officer_id=team["officer"].user_id)
    session.commit()
    visits.sync_visit(session, actor=team["officer"], now=start, payload=checked_in_visit(
        case.reference, officer_id=team["officer"].user_id, buddy_id=team["officer2"].user_id,
        at=start))
    session.commit()


def escalate(session, minutes: int) -> None:
    lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=minutes))
    session.commit()


def refresh(state: BoardState, session, actor) -> None:
    state._clean()
    state._refresh_alerts(session, actor)
    session.commit()


def test_a_quiet_poll_sends_nothing_and_a_new_alert_is_announced_once(session, team):
    overdue(session, team, TEN)
    escalate(session, 45)
    state, lead = board(), team["lead"]
    refresh(state, session, lead)
    assert [(a.audience, a.is_new) for a in state.alerts] == [("Buddy alerted", True)]

    refresh(state, session, lead)  # nothing changed: nothing to send to the browser
    assert "alerts" not in state.dirty_vars
    assert state.alerts[0].is_new  # still the same node, so it is not announced again

    escalate(session, 60)  # now raised to this lead: a new step, announced
    refresh(state, session, lead)
    assert [(a.audience, a.is_new) for a in state.alerts] == [("Sent to you as team lead", True)]

    overdue(session, team, TEN + timedelta(minutes=5))
    escalate(session, 51)
    refresh(state, session, lead)
    assert [(a.audience, a.is_new) for a in state.alerts] == [  # oldest alert first
        ("Buddy alerted", True),
        ("Sent to you as team lead", False),
    ]


def test_the_next_person_on_the_tab_never_sees_the_last_ones_alerts(session, team):
    overdue(session, team, TEN)
    escalate(session, 45)
    state = board()
    refresh(state, session, team["officer2"])
    assert [a.audience for a in state.alerts] == ["You are the buddy"]
    refresh(state, session, team["officer"])
    assert [(a.level, a.id, a.is_new) for a in state.alerts] == [("self", 0, True)]


def _mark_safe(cls, session, email: str, form: dict):
    state = state_for(cls, session_token(session, email), path="/board")
    session.commit()
    returned = call_handler(state, "mark_safe", form)
    session.expire_all()
    return state, returned


def test_marking_safe_answers_in_the_alert_panel(session, team):
    overdue(session, team, TEN)
    escalate(session, 45)
    [alert] = session.exec(select(LoneWorkingAlert)).all()
    session.commit()

    # No note: the error links to this alert's own note field; nothing is resolved.
    state, _ = _mark_safe(BoardState, session, "officer2@example.org", {"alert_id": str(alert.id)})
    assert state.alert_error_list == [
        [f"safe-{alert.id}-note", "Enter what you did to check they are safe"]
    ]
    assert state.error_list == [] and state.alert_message == ""

    note = {"alert_id": str(alert.id), f"safe-{alert.id}-note": "Rang Olu at 10:52. Safe."}
    state, returned = _mark_safe(BoardState, session, "officer2@example.org", note)
    assert state.alert_message == "Marked safe. Your note is kept with the visit."
    assert state.alert_error_list == [] and state.message == ""
    assert state.alerts == []  # the panel reloaded
    assert "alert-message" in str(returned)
    assert session.get(LoneWorkingAlert, alert.id).resolved_at is not None
    session.commit()


def test_on_the_dashboard_only_a_lead_marks_an_officer_safe(session, team):
    overdue(session, team, TEN)
    escalate(session, 45)
    [alert] = session.exec(select(LoneWorkingAlert)).all()
    session.commit()
    note = {"alert_id": str(alert.id), f"safe-{alert.id}-note": "Rang Olu at 10:52. Safe."}
    for email in ("officer2@example.org", "admin@example.org"):  # the buddy, and an admin
        state, _ = _mark_safe(DashboardState, session, email, note)
        assert state.alert_problem == "You do not have permission to do that."
        assert session.get(LoneWorkingAlert, alert.id).resolved_at is None
        session.commit()
    state, _ = _mark_safe(DashboardState, session, "lead@example.org", note)
    assert state.alert_message == "Marked safe. Your note is kept with the visit."
    assert session.get(LoneWorkingAlert, alert.id).resolved_at is not None
    session.commit()
