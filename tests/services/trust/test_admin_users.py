"""/admin/users: the accounts list (services/trust/accounts.py), adding, disabling, enabling and
resetting accounts, through the services and through the page's state as the browser drives it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import User, UserSession
from cme_app.pages.trust.accounts import AdminUsersState
from cme_app.services.trust import accounts as users
from cme_app.services.trust import auth, mfa
from tests.factories import (
    PASSWORD,
    audit_events,
    call_handler,
    make_school,
    make_user,
    session_token,
    state_for,
)

NEW_PASSWORD = "quiet walnut harbour lamp"


@pytest.fixture
def people(session):
    make_school(session, "107999", "Aire Valley Primary")
    admin = make_user(session, "admin", email="admin@example.org", name="Ada Admin")
    officer = make_user(session, "officer", email="officer@example.org", name="Olu Officer")
    lead = make_user(session, "lead", email="lead@example.org", name="Lee Lead")
    school = make_user(session, "school", email="office@aire.sch.uk", school_urn="107999",
                       name="Sam School")
    auditor = make_user(session, "auditor", email="auditor@example.org", name="Dee Auditor")
    session.get(User, officer.user_id).totp_secret = "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"
    session.commit()
    return {"admin": admin, "officer": officer, "lead": lead, "school": school,
            "auditor": auditor}


# ----- the list --------------------------------------------------------------------------------


def test_list_is_by_role_then_name_with_display_rows(session, people):
    found = users.list_users(session, actor=people["admin"])
    assert found.total == 5 and found.pages == 1
    assert [r.name for r in found.rows] == [
        "Ada Admin", "Lee Lead", "Olu Officer", "Dee Auditor", "Sam School"
    ]
    by_name = {r.name: r for r in found.rows}
    assert by_name["Sam School"].school == "Aire Valley Primary (URN 107999)"
    assert by_name["Sam School"].mfa == "Not used" and not by_name["Sam School"].is_staff
    assert by_name["Olu Officer"].mfa == "Set up" and by_name["Olu Officer"].mfa_set_up
    assert by_name["Lee Lead"].mfa == "Not set up yet"
    assert by_name["Olu Officer"].role_label == "CME officer"
    assert by_name["Olu Officer"].status == "Active"
    assert by_name["Ada Admin"].is_you and not by_name["Olu Officer"].is_you
    assert "password" not in json.dumps([r.__dict__ for r in found.rows]).lower()


@pytest.mark.parametrize("role", ["officer", "lead", "auditor", "school"])
def test_only_admins_list_accounts(session, people, role):
    with pytest.raises(NotAllowed):
        users.list_users(session, actor=people[role])
    with pytest.raises(NotAllowed):
        users.list_users(session, actor=None)
    with pytest.raises(NotAllowed):
        users.school_choices(session, actor=people[role])


def test_search_matches_part_of_a_name_or_email_and_the_role_filter(session, people):
    admin = people["admin"]
    assert [r.name for r in users.list_users(session, actor=admin, query="olu").rows] == [
        "Olu Officer"
    ]
    assert [r.name for r in users.list_users(session, actor=admin, query="AIRE.sch").rows] == [
        "Sam School"
    ]
    # LIKE's wildcards are plain characters in a search.
    assert users.list_users(session, actor=admin, query="%").total == 0
    assert users.list_users(session, actor=admin, query="_").total == 0
    only = users.list_users(session, actor=admin, role="school")
    assert [r.email for r in only.rows] == ["office@aire.sch.uk"]
    assert users.list_users(session, actor=admin, query="lee", role="officer").total == 0


def test_list_arguments_are_validated(session, people):
    admin = people["admin"]
    with pytest.raises(ValidationFailed) as exc:
        users.list_users(session, actor=admin, query="x" * 101, role="wizard", page=0)
    assert [e.field for e in exc.value.errors] == ["page"]
    with pytest.raises(ValidationFailed) as exc:
        users.list_users(session, actor=admin, query="x" * 101, role="wizard")
    assert [e.field for e in exc.value.errors] == ["search", "filter_role"]
    for bad in (True, "two", 1.5, None, 10**9):
        with pytest.raises(ValidationFailed):
            users.list_users(session, actor=admin, page=bad)
    with pytest.raises(ValidationFailed):
        users.list_users(session, actor=admin, query=["olu"])


def test_paging_is_twenty_five_a_page_with_a_total(session, people):
    for i in range(30):
        auth.create_user(session, email=f"officer{i:02}@example.org", role="officer",
                         password=PASSWORD, name=f"Officer {i:02}")
    session.commit()
    admin = people["admin"]
    first = users.list_users(session, actor=admin)
    assert (first.total, first.pages, first.page, len(first.rows)) == (35, 2, 1, 25)
    second = users.list_users(session, actor=admin, page=2)
    assert len(second.rows) == 10 and second.page == 2
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    assert users.list_users(session, actor=admin, page=9).page == 2  # past the end: the last


def test_the_status_filter_lists_active_or_disabled_accounts(session, people):
    admin = people["admin"]
    auth.disable_user(session, email="lead@example.org", actor=admin)
    session.commit()
    disabled = users.list_users(session, actor=admin, status="disabled")
    assert [r.name for r in disabled.rows] == ["Lee Lead"]
    assert disabled.rows[0].status == "Disabled"
    active = users.list_users(session, actor=admin, status="active")
    assert "Lee Lead" not in [r.name for r in active.rows] and active.total == 4
    assert users.list_users(session, actor=admin, status="").total == 5
    # With the other filters: a disabled officer, none.
    assert users.list_users(session, actor=admin, status="disabled", role="officer").total == 0
    for bad in ("Disabled", "all", 1, True, ["active"], {"x": 1}):
        with pytest.raises(ValidationFailed) as exc:
            users.list_users(session, actor=admin, status=bad)
        assert [e.field for e in exc.value.errors] == ["filter_status"]


def test_listing_is_audited_without_names(session, people):
    users.list_users(session, actor=people["admin"], query="Olu Officer", role="officer")
    [event] = audit_events(session, "user.list")
    assert event.actor_id == people["admin"].user_id
    assert event.detail == {"searched": True, "role": "officer", "page": 1, "status": "",
                            "results": 1}
    assert "Olu" not in json.dumps(event.detail)


# ----- adding an account -----------------------------------------------------------------------


def test_add_account_checks_every_field(session, people):
    admin = people["admin"]
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="nope", name="", role="", password="short", actor=admin)
    assert {e.field for e in exc.value.errors} == {"email", "name", "role", "password"}
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="n@example.org", name="N" * 121, role="officer",
                         password=NEW_PASSWORD, actor=admin)
    assert [e.field for e in exc.value.errors] == ["name"]


def test_a_school_account_needs_a_registered_school(session, people):
    admin = people["admin"]
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="s@example.org", name="Sue", role="school",
                         password=NEW_PASSWORD, actor=admin)
    assert [e.field for e in exc.value.errors] == ["school_urn"]
    user = auth.create_user(session, email="s@example.org", name="Sue", role="school",
                            password=NEW_PASSWORD, school_urn="107999", actor=admin)
    assert user.school_id is not None


def test_duplicate_email_is_refused(session, people):
    with pytest.raises(ValidationFailed, match="already exists"):
        auth.create_user(session, email="Officer@Example.org", name="Other", role="lead",
                         password=NEW_PASSWORD, actor=people["admin"])


# ----- the page, as the browser drives it ------------------------------------------------------


@pytest.fixture
def admin_page(session, people):
    token = session_token(session, "admin@example.org")
    session.commit()
    state = state_for(AdminUsersState, token, path="/admin/users")
    call_handler(state, "load")
    assert state.loaded and state.total == 5
    return state


def _delta(state) -> str:
    root = state
    while root.parent_state is not None:
        root = root.parent_state
    return json.dumps(root.dict(), default=str)


def _row(state, name: str):
    return next(r for r in state.rows if r.name == name)


def test_page_adds_an_account_and_never_keeps_the_password(session, people, admin_page):
    state = admin_page
    form = {"email": "priya@example.org", "name": "Priya Patel", "role": "officer",
            "school_urn": "107999", "password": "password1234"}
    call_handler(state, "add_account", form)
    assert [f for f, _m in state.error_list] == ["password"]
    assert state.values["email"] == "priya@example.org" and "password" not in state.values
    assert state.values["school_urn"] == ""  # only for school accounts
    assert "password1234" not in _delta(state)
    session.expire_all()
    assert session.exec(select(User).where(User.email == "priya@example.org")).first() is None
    session.rollback()

    call_handler(state, "add_account", {**form, "password": NEW_PASSWORD})
    assert state.error_list == [] and state.created_email == "priya@example.org"
    assert state.created_name == "Priya Patel" and state.values == {}
    assert NEW_PASSWORD not in _delta(state)
    assert "Priya Patel" in [r.name for r in state.rows]
    session.expire_all()
    user = session.exec(select(User).where(User.email == "priya@example.org")).one()
    assert (user.role, user.school_id, user.totp_secret) == ("officer", None, None)
    assert auth.check_password(session, email="priya@example.org", password=NEW_PASSWORD)
    [created] = [e for e in audit_events(session, "user.created") if e.entity_id == str(user.id)]
    assert created.actor_id == people["admin"].user_id
    assert NEW_PASSWORD not in json.dumps(created.detail)
    session.rollback()


def test_page_errors_are_in_form_order_with_page_words(session, admin_page):
    state = admin_page
    call_handler(state, "add_account", {"email": "x", "name": "", "role": "", "password": ""})
    assert state.error_list == [
        ["email", "Enter an email address in the correct format"],
        ["name", "Enter the person's full name"],
        ["role", "Select the person's role"],
        ["password", auth.PASSWORD_TOO_SHORT],
    ]
    call_handler(state, "add_account", {"email": "s@example.org", "name": "Sue", "role": "school",
                                 "password": NEW_PASSWORD})
    assert state.error_list == [["school_urn", "Select the school this person works at"]]
    assert state.new_role == "school"


def test_page_disables_after_confirming_and_enables_again(session, people, admin_page):
    state = admin_page
    officer_token = session_token(session, "officer@example.org")
    session.commit()
    olu = _row(state, "Olu Officer")
    call_handler(state, "choose_action", "disable", olu.id)
    assert (state.pending_action, state.pending_name) == ("disable", "Olu Officer")
    session.expire_all()
    assert session.get(User, olu.id).is_active  # nothing until "Yes"
    session.rollback()

    call_handler(state, "confirm_action", {})
    assert state.message.startswith("Account disabled for Olu Officer (officer@example.org)")
    assert state.pending_action == "" and _row(state, "Olu Officer").status == "Disabled"
    session.expire_all()
    assert not session.get(User, olu.id).is_active
    assert auth.actor_for_token(session, officer_token) is None
    [disabled] = audit_events(session, "user.disabled")
    assert disabled.detail["before"] == {"is_active": True}
    assert disabled.detail["after"] == {"is_active": False}
    assert disabled.detail["sessions_ended"] == 1
    session.rollback()

    call_handler(state, "enable_account", olu.id)
    assert state.message.startswith("Account enabled for Olu Officer")
    session.expire_all()
    assert session.get(User, olu.id).is_active
    [enabled] = audit_events(session, "user.enabled")
    assert enabled.detail == {"before": {"is_active": False}, "after": {"is_active": True}}
    # The old session stays ended: enabling signs nobody in.
    assert auth.actor_for_token(session, officer_token) is None
    session.rollback()


def test_an_admin_cannot_disable_their_own_account(session, people, admin_page):
    state = admin_page
    me = _row(state, "Ada Admin")
    call_handler(state, "choose_action", "disable", me.id)
    assert state.problem == auth.CANNOT_DISABLE_YOURSELF and state.pending_action == ""
    # And the service refuses it whoever asks, recording the attempt.
    with pytest.raises(NotAllowed, match="own account"):
        auth.disable_user(session, email="admin@example.org", actor=people["admin"])
    assert session.get(User, me.id).is_active
    [refused] = audit_events(session, "user.disabled")
    assert refused.outcome == "refused"


def test_page_resets_a_password_with_the_policy_and_never_echoes_it(session, people, admin_page):
    state = admin_page
    lee = _row(state, "Lee Lead")
    lead_token = session_token(session, "lead@example.org")
    session.commit()
    call_handler(state, "choose_action", "reset_password", lee.id)
    call_handler(state, "confirm_action", {"new_password": "qwerty123456"})
    assert state.error_list == [["new_password", auth.TOO_COMMON]]
    assert state.pending_action == "reset_password"  # still asking
    assert "qwerty123456" not in _delta(state)
    session.expire_all()
    assert auth.check_password(session, email="lead@example.org", password=PASSWORD)
    session.commit()

    call_handler(state, "confirm_action", {"new_password": NEW_PASSWORD})
    assert state.message.startswith("Password reset for Lee Lead (lead@example.org)")
    assert NEW_PASSWORD not in _delta(state)
    session.expire_all()
    assert auth.check_password(session, email="lead@example.org", password=NEW_PASSWORD)
    assert auth.actor_for_token(session, lead_token) is None
    [reset] = audit_events(session, "user.password_reset")
    assert set(reset.detail["before"]) == {"password_changed_at"}
    assert reset.detail["before"] != reset.detail["after"]
    assert NEW_PASSWORD not in json.dumps(reset.detail)
    session.rollback()


def test_page_resets_an_authentication_app(session, people, admin_page):
    state = admin_page
    olu = _row(state, "Olu Officer")
    call_handler(state, "choose_action", "reset_mfa", olu.id)
    call_handler(state, "confirm_action", {})
    assert state.message.startswith("Authentication app reset for Olu Officer")
    assert _row(state, "Olu Officer").mfa == "Not set up yet"
    session.expire_all()
    assert session.get(User, olu.id).totp_secret is None
    [reset] = audit_events(session, "auth.mfa_reset")
    assert reset.detail["before"] == {"mfa_set_up": True}
    assert reset.detail["after"] == {"mfa_set_up": False}
    session.rollback()


def test_page_search_paging_and_stale_or_forged_targets(session, people, admin_page):
    state = admin_page
    call_handler(state, "search", {"search": "sch", "filter_role": ""})
    assert [r.name for r in state.rows] == ["Sam School"]
    call_handler(state, "search", {"search": "", "filter_role": "wizard"})
    assert [f for f, _m in state.error_list] == ["filter_role"]
    assert [r.name for r in state.rows] == ["Sam School"]  # the last good search stays
    call_handler(state, "go_to_page", 2)
    assert state.page == 1
    # An id that is not in the list on screen, or an unknown action, does nothing.
    call_handler(state, "choose_action", "disable", 99999)
    assert state.problem and state.pending_action == ""
    call_handler(state, "choose_action", "delete", _row(state, "Sam School").id)
    assert state.problem and state.pending_action == ""
    call_handler(state, "confirm_action", {})
    assert state.problem == "Choose an account in the list first."
    session.expire_all()
    assert all(u.is_active for u in session.exec(select(User)).all())
    session.rollback()


def test_page_filters_by_status_and_pages_through_the_list(session, people, admin_page):
    state = admin_page
    for i in range(30):
        auth.create_user(session, email=f"officer{i:02}@example.org", role="officer",
                         password=PASSWORD, name=f"Officer {i:02}")
    auth.disable_user(session, email="lead@example.org", actor=people["admin"])
    session.commit()
    call_handler(state, "search", {"search": "", "filter_role": "", "filter_status": "disabled"})
    assert [r.name for r in state.rows] == ["Lee Lead"] and state.total == 1
    assert state.filters["filter_status"] == "disabled"
    call_handler(state, "search", {"search": "", "filter_role": "officer",
                                   "filter_status": "active"})
    assert (state.total, state.pages, state.page, len(state.rows)) == (31, 2, 1, 25)
    call_handler(state, "go_to_page", 2)
    assert state.page == 2 and len(state.rows) == 6
    assert all(r.role == "officer" and r.active for r in state.rows)  # the filters stay
    # A forged status or page changes nothing: the error is shown, the last good list stays.
    call_handler(state, "search", {"search": "", "filter_role": "", "filter_status": "gone"})
    assert [f for f, _m in state.error_list] == ["filter_status"]
    assert state.page == 2 and state.filters["filter_status"] == "active"
    for bad in (0, -1, "2", 2.5, True, None, [2], 10**9):
        call_handler(state, "go_to_page", bad)
        assert state.page == 2 and len(state.rows) == 6


@pytest.mark.parametrize("role", ["officer", "lead", "auditor", "school"])
def test_other_roles_are_sent_away_and_see_no_accounts(session, people, role):
    email = {"officer": "officer@example.org", "lead": "lead@example.org",
             "auditor": "auditor@example.org", "school": "office@aire.sch.uk"}[role]
    token = session_token(session, email)
    session.commit()
    state = state_for(AdminUsersState, token, path="/admin/users")
    returned = call_handler(state, "load")
    assert not state.loaded and state.rows == []
    assert "/admin/users" not in repr(returned) and "redirect" in repr(returned).lower()
    assert "officer@example.org" not in _delta(state).replace(email, "")


def test_services_refuse_non_admins(session, people):
    for role in ("officer", "lead", "auditor", "school"):
        with pytest.raises(NotAllowed):
            auth.enable_user(session, email="officer@example.org", actor=people[role])
        with pytest.raises(NotAllowed):
            mfa.reset_mfa(session, email="officer@example.org", actor=people[role])
    assert session.exec(select(UserSession)).all() == []
