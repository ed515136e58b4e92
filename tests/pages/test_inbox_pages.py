"""The inbox and notification settings pages' states, driven as the browser would drive them,
against notifications made by the real service paths (a school submitting referrals)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import relative_date_time
from cme_app.models import (
    Notification,
    NotificationPreference,
    NotificationRule,
    User,
    UserSession,
)
from cme_app.ops.demo import example_referral_form
from cme_app.pages.notify.inbox import NOT_FOUND, InboxState, parse_id
from cme_app.pages.notify.inbox_settings import InboxSettingsState
from cme_app.services.intake import referrals
from cme_app.services.notify import notifications, preferences
from cme_app.state.auth import AuthState
from tests.factories import call_handler, session_token, state_for

RED = {
    "concern-none_known": "",
    "concern-fgm": "on",
    "concerns_narrative": "An older sister was taken abroad last summer.",
}


def _state(cls, token: str):
    return state_for(cls, token, path="/inbox")


def _auth(state) -> AuthState:
    while type(state) is not AuthState:
        state = state.parent_state
    return state


@pytest.fixture
def inbox(session, team):
    """The team's officer is the duty officer, and school A has sent a Green referral and then
    a Red one: the lead's inbox holds both, Red newest."""
    school_a, lead, officer = team["school"], team["lead"], team["officer"]
    preferences.set_duty_officer(session, actor=lead, officer_id=officer.user_id)
    session.commit()
    green = referrals.submit(
        session, actor=school_a, form=example_referral_form(first_name="Gina", upn="A383200012401")
    )
    session.commit()
    red = referrals.submit(
        session,
        actor=school_a,
        form=example_referral_form(first_name="Rita", upn="N380123456789") | RED,
    )
    session.commit()

    def token(email):
        t = session_token(session, email)
        session.commit()
        return t

    return {
        "lead": lead,
        "officer": officer,
        "green": green.reference,
        "red": red.reference,
        "tokens": {r: token(f"{r}@example.org") for r in ("lead", "officer", "admin")}
        | {"school": token("school.107999@example.org")},
    }


def _unread(session, user_id: int) -> int:
    session.expire_all()
    n = len(
        session.exec(
            select(Notification).where(
                Notification.recipient_id == user_id, Notification.read_at.is_(None)
            )
        ).all()
    )
    session.rollback()  # SQLite: don't hold the write lock the handlers need
    return n


def test_relative_date_time_says_today_yesterday_or_the_date_in_uk_time():
    today = date(2026, 6, 2)

    def said(*moment: int) -> str:
        return relative_date_time(datetime(*moment, tzinfo=UTC), today)

    # 23:30 UTC on 1 June is 00:30 on 2 June in London (BST).
    assert said(2026, 6, 1, 23, 30) == "Today 00:30"
    assert said(2026, 6, 1, 15, 2) == "Yesterday 16:02"
    assert said(2026, 5, 25, 13, 0) == "Mon 25 May 14:00"
    assert said(2025, 12, 24, 9, 5) == "24 Dec 2025 09:05"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (7, 7),
        ("42", 42),
        (True, None),
        (0, None),
        (-3, None),
        ("4x", None),
        ("", None),
        (None, None),
        (2**31, None),
        ("99999999999", None),
        (1.5, None),
        ({"id": 1}, None),
    ],
)
def test_notification_ids_from_the_browser_are_checked(raw, expected):
    assert parse_id(raw) == expected


def test_inbox_lists_urgent_unread_first_and_filters_unread(inbox, session):
    state = _state(InboxState, inbox["tokens"]["lead"])
    assert call_handler(state, "load") is None
    subjects = [i.subject for i in state.items]
    assert subjects == [
        f"Red referral {inbox['red']}: triage it today",
        f"New referral {inbox['green']} to triage",
    ]
    assert [i.urgent for i in state.items] == [True, False]
    assert all(i.unread and i.when.startswith("Today ") for i in state.items)
    assert state.items[0].link == f"/cases/{inbox['red']}"
    assert _auth(state).unread_count == 2

    # Once read, the Red one is no longer pinned; being the newest, it stays on top.
    call_handler(state, "mark_read", state.items[0].id)
    assert state.message == "Marked as read."
    assert [(i.reference, i.unread) for i in state.items] == [
        (inbox["red"], False),
        (inbox["green"], True),
    ]
    assert _auth(state).unread_count == 1 == _unread(session, inbox["lead"].user_id)

    call_handler(state, "set_filter", "unread")
    assert [i.reference for i in state.items] == [inbox["green"]]
    call_handler(state, "set_filter", "everything")  # unknown: ignored
    assert state.show == "unread"

    call_handler(state, "mark_all_read")
    assert state.message == "Marked 1 notification as read."
    assert state.items == [] and _auth(state).unread_count == 0
    assert _unread(session, inbox["lead"].user_id) == 0


def test_open_item_marks_it_read_and_goes_to_the_case(inbox, session):
    state = _state(InboxState, inbox["tokens"]["lead"])
    call_handler(state, "load")
    red = state.items[0]
    returned = call_handler(state, "open_item", red.id)
    assert f"/cases/{inbox['red']}" in repr(returned)
    assert _unread(session, inbox["lead"].user_id) == 1


@pytest.mark.parametrize("forged", ["abc", -1, True, None, 10**12, {"id": 1}, 999_999])
def test_forged_ids_get_a_calm_message_and_change_nothing(inbox, session, forged):
    state = _state(InboxState, inbox["tokens"]["lead"])
    call_handler(state, "load")
    for name in ("mark_read", "open_item"):
        returned = call_handler(state, name, forged)
        assert state.problem == NOT_FOUND
        assert "/cases/" not in repr(returned)
    assert _unread(session, inbox["lead"].user_id) == 2


def test_page_load_sets_the_header_count_and_the_poll_neither_resends_it_nor_keeps_the_session(
    inbox, session
):
    state = _state(InboxSettingsState, inbox["tokens"]["officer"])  # any page's on_load
    call_handler(state, "load")
    header = _auth(state)
    assert header.unread_count == 2  # the duty officer hears of every referral

    # An unattended screen: the poll must not count as activity.
    row = session.exec(
        select(UserSession).where(UserSession.user_id == inbox["officer"].user_id)
    ).one()
    stale = datetime.now(UTC) - timedelta(minutes=5)
    row.last_seen_at = stale
    session.add(row)
    session.commit()

    header.parent_state._clean()  # as after an event was sent
    call_handler(header, "poll_unread")
    assert header.unread_count == 2
    assert "unread_count" not in header.dirty_vars  # unchanged: nothing sent to the browser

    session.expire_all()
    seen = session.get(UserSession, row.id).last_seen_at
    session.rollback()
    assert abs((seen - stale).total_seconds()) < 1

    with_one_read = session.exec(
        select(Notification).where(Notification.recipient_id == inbox["officer"].user_id)
    ).first()
    with_one_read.read_at = datetime.now(UTC)
    session.add(with_one_read)
    session.commit()
    call_handler(header, "poll_unread")
    assert header.unread_count == 1 and "unread_count" in header.dirty_vars


def test_admin_inbox_explains_who_is_told_about_what(inbox):
    state = _state(InboxState, inbox["tokens"]["admin"])
    call_handler(state, "load")
    assert state.loaded and not state.receives and state.items == []
    assert len(state.who_is_told) == len(notifications.EVENTS)
    assert ["Red referral arrives", "The duty officer and every lead"] in state.who_is_told


def test_preferences_bad_input_shows_the_error_summary_and_good_input_saves(inbox, session):
    state = _state(InboxSettingsState, inbox["tokens"]["officer"])
    call_handler(state, "load")
    assert "referral_red" in state.mine and "visit_flagged" not in state.mine
    assert state.values["delivery-referral_new"] == "digest"

    call_handler(state, "save_preferences", {"delivery-referral_new": "sometimes"})
    assert state.error_list == [
        [
            "delivery-referral_new",
            "Choose how to be told: New referral (Amber, Green or not yet rated)",
        ]
    ]
    assert state.message == ""
    call_handler(state, "save_preferences", {"delivery-referral_red": "digest"})
    assert state.error_list[0][0] == "delivery-referral_red"  # urgent: cannot be changed
    session.expire_all()
    assert session.exec(select(NotificationPreference)).all() == []
    session.rollback()

    # The browser sends every choice on the form; only the two changed ones are kept, so the
    # rest go on following the team's defaults.
    urgent = {str(e) for e, info in notifications.EVENTS.items() if info.urgent}
    form = {f"delivery-{e}": state.values[f"delivery-{e}"] for e in state.mine if e not in urgent}
    assert len(form) == 7  # with the untraceable re-check (issue 17)
    changed = {"delivery-referral_new": "immediate", "delivery-case_allocated": "digest"}
    call_handler(state, "save_preferences", form | changed)
    assert state.error_list == [] and state.message == "Your email choices have been saved."
    assert state.values["delivery-referral_new"] == "immediate"
    session.expire_all()
    saved = {p.event: p.delivery for p in session.exec(select(NotificationPreference)).all()}
    session.rollback()
    assert saved == {"referral_new": "immediate", "case_allocated": "digest"}

    call_handler(state, "save_preferences", form | changed)
    assert state.message == "Nothing has changed: your email choices are as they were."


def _team_form(**changes) -> dict:
    form = {}
    for event, info in notifications.EVENTS.items():
        if not info.urgent:
            form[f"enabled-{event}"] = True
            form[f"default-{event}"] = str(info.default)
    return form | changes


def test_lead_saves_team_rules_and_duty_officer_together_or_not_at_all(inbox, session):
    lead, officer = inbox["lead"], inbox["officer"]
    state = _state(InboxSettingsState, inbox["tokens"]["lead"])
    call_handler(state, "load")
    assert state.is_lead
    assert state.values["duty_officer"] == str(officer.user_id)
    assert [str(lead.user_id), lead.name] in state.duty_options
    assert state.values["enabled-visit_flagged"] == "on"

    # One bad default: neither the new duty officer nor any rule is saved.
    call_handler(
        state,
        "save_team",
        _team_form(
            duty_officer=str(lead.user_id),
            **{"default-referral_new": "weekly", "enabled-visit_flagged": False},
        ),
    )
    assert [e[0] for e in state.error_list] == ["default-referral_new"]
    session.expire_all()
    assert notifications.duty_officer_id(session) == officer.user_id
    assert session.exec(select(NotificationRule)).all() == []
    session.rollback()

    call_handler(
        state,
        "save_team",
        _team_form(duty_officer=str(lead.user_id), **{"enabled-visit_flagged": False}),
    )
    assert state.error_list == []
    assert state.message == "The team's notification settings have been saved."
    assert state.values["duty_officer"] == str(lead.user_id)
    assert state.values["enabled-visit_flagged"] == ""
    session.expire_all()
    assert notifications.duty_officer_id(session) == lead.user_id
    rules = {r.event: r.enabled for r in session.exec(select(NotificationRule)).all()}
    session.rollback()
    assert rules == {"visit_flagged": False}

    # Someone who cannot be the duty officer (not an officer or lead) is refused.
    call_handler(state, "save_team", _team_form(duty_officer="999999"))
    assert [e[0] for e in state.error_list] == ["duty_officer"]


def test_only_a_lead_saves_team_settings(inbox, session):
    state = _state(InboxSettingsState, inbox["tokens"]["officer"])
    call_handler(state, "load")
    assert not state.is_lead and state.duty_options == []
    call_handler(
        state,
        "save_team",
        _team_form(duty_officer=str(inbox["lead"].user_id), **{"enabled-referral_new": False}),
    )
    assert state.problem == "Only a team lead can change the team's settings."
    session.expire_all()
    assert notifications.duty_officer_id(session) == inbox["officer"].user_id
    assert session.exec(select(NotificationRule)).all() == []
    session.rollback()


def test_demo_data_fills_inboxes_through_the_services(session):
    from cme_app.ops.demo import load_demo

    load_demo(session)
    session.commit()
    by_email = {}
    for email in (
        "officer@example.org",
        "lead@example.org",
        "school.a@example.org",
        "school.b@example.org",
    ):
        uid = session.exec(select(User.id).where(User.email == email)).one()
        by_email[email] = sorted(
            session.exec(select(Notification.event).where(Notification.recipient_id == uid)).all()
        )
    session.rollback()
    officer = by_email["officer@example.org"]
    assert notifications.duty_officer_id(session) is not None
    # Eight demo referrals (one Red), the inbound notification from Wakefield and the CME
    # enquiry a school's ground I deletion return opened.
    assert officer.count("referral_red") == 1 and officer.count("referral_new") == 9
    assert "case_allocated" in officer
    assert by_email["lead@example.org"].count("referral_red") == 1
    assert "case_allocated" not in by_email["lead@example.org"]
    assert by_email["school.a@example.org"] == ["referral_returned"]
    assert by_email["school.b@example.org"] == ["case_outcome"]
    # Loading again adds no second duty officer choice and no duplicate items.
    assert load_demo(session)["duty_officer"] == 0
