"""The sign-in page's handlers: schools in one step, staff with an authentication code (or the
app's set-up at first sign-in), and signing out ending every open tab's session."""

from __future__ import annotations

import inspect
import re

import pyotp
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import AuditEvent, User
from cme_app.pages.notify.inbox import InboxState
from cme_app.pages.trust.login import CODE_STEP, ENROL_STEP, PASSWORD_STEP, LoginState
from cme_app.services.trust import auth, mfa
from cme_app.state.auth import AuthState
from tests.factories import PASSWORD, make_school, make_user, run_async, session_token, state_for

SECRET = "DEMOLEADAAAAAAAAAAAAAAAAAAAAAAAA"


def _state(cls, token: str = "", path: str = "/login"):
    return state_for(cls, token, path=path)


def _ticket(returned) -> str | None:
    """The one-time ticket handed to the page's sign-in script, if any."""
    found = re.search(r"cmeSignIn\(\\?\"([A-Za-z0-9_-]+)", repr(returned))
    return found.group(1) if found else None


def _call(state, handler: str, *args):
    result = type(state).event_handlers[handler].fn(state, *args)
    if inspect.iscoroutine(result):
        result = run_async(result)
    return result


def _lead(session, secret: str | None = SECRET) -> User:
    actor = make_user(session, "lead", email="lead@example.org")
    user = session.get(User, actor.user_id)
    user.totp_secret = secret
    session.commit()
    return user


def test_school_signs_in_in_one_step(session):
    make_school(session)
    make_user(session, "school", email="s@example.org", school_urn="107999")
    session.commit()
    state = _state(LoginState)
    returned = _call(state, "sign_in", {"email": "s@example.org", "password": PASSWORD})
    assert state.step == PASSWORD_STEP
    token = auth.activate_session(session, ticket=_ticket(returned))
    assert auth.actor_for_token(session, token).role == "school"


def test_staff_password_step_opens_no_session_and_asks_for_the_code(session):
    user = _lead(session)
    state = _state(LoginState)
    returned = _call(state, "sign_in", {"email": "lead@example.org", "password": PASSWORD})
    assert state.step == CODE_STEP and _ticket(returned) is None
    assert state._pending_user == user.id and state.user_role == ""

    returned = _call(state, "submit_code", {
        "code": "000000" if pyotp.TOTP(SECRET).now() != "000000" else "111111"
    })
    assert _ticket(returned) is None and state.errors == {"code": mfa.CODE_WRONG}

    returned = _call(state, "submit_code", {"code": pyotp.TOTP(SECRET).now()})
    assert state.errors == {} and state._pending_user == 0
    token = auth.activate_session(session, ticket=_ticket(returned))
    assert auth.actor_for_token(session, token).user_id == user.id


def test_code_without_a_password_step_or_after_five_minutes_starts_again(session):
    _lead(session)
    state = _state(LoginState)
    returned = _call(state, "submit_code", {"code": pyotp.TOTP(SECRET).now()})
    assert _ticket(returned) is None and state.errors == {"email": mfa.STEP_EXPIRED}

    _call(state, "sign_in", {"email": "lead@example.org", "password": PASSWORD})
    state._passed_at -= 5 * 60 + 1
    returned = _call(state, "submit_code", {"code": pyotp.TOTP(SECRET).now()})
    assert _ticket(returned) is None and state.step == PASSWORD_STEP
    assert state._pending_user == 0


def test_first_sign_in_sets_up_the_app_with_a_qr_code(session):
    user = _lead(session, secret=None)
    state = _state(LoginState)
    returned = _call(state, "sign_in", {"email": "lead@example.org", "password": PASSWORD})
    assert state.step == ENROL_STEP and _ticket(returned) is None
    assert state.qr_src.startswith("data:image/svg+xml")
    secret = state.secret_text.replace(" ", "")
    assert secret == state._enrol_secret and len(secret) == 32
    session.expire_all()
    assert session.get(User, user.id).totp_secret is None  # not saved before a right code
    session.rollback()

    returned = _call(state, "submit_code", {"code": pyotp.TOTP(secret).now()})
    assert _ticket(returned) and state.qr_src == "" and state.secret_text == ""
    session.expire_all()
    assert session.get(User, user.id).totp_secret == secret
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "auth.mfa_enrolled")).one()


def test_signing_out_in_one_tab_sends_the_other_to_login_at_its_next_event(session):
    make_user(session, "officer", email="o@example.org")
    phone, laptop = session_token(session, "o@example.org"), session_token(session, "o@example.org")
    session.commit()
    on_laptop = _state(InboxState, laptop, "/inbox")
    assert "/login" not in repr(_call(on_laptop, "load"))
    assert on_laptop.user_role == "officer"

    # The phone's browser clears the cookie and loads the sign-in page with a new tab token.
    assert "window.cmeSignOut()" in repr(_call(_state(AuthState, phone, "/inbox"), "sign_out"))

    # The laptop's next load: the sign-in page, loaded in full with a new tab token.
    answer = repr(_call(on_laptop, "load"))
    assert "window.cmeNewTab(" in answer and "/login" in answer
    assert on_laptop.user_role == "" and on_laptop.items == []


def test_signed_in_on_a_phone_sized_screen_officers_and_leads_start_on_their_visits(session):
    """app.js adds ?phone=1 after signing in on a narrow screen. It only picks the start page:
    a school or the DPO starts where they always do, and /visits checks the role itself."""
    make_school(session)
    for role, email in (("officer", "o@example.org"), ("lead", "l@example.org"),
                        ("school", "s@example.org"), ("auditor", "a@example.org")):
        make_user(session, role, email=email, **({"school_urn": "107999"} if role == "school"
                                                 else {}))
    tokens = {email: session_token(session, email) for email in
              ("o@example.org", "l@example.org", "s@example.org", "a@example.org")}
    session.commit()
    expected = {"o@example.org": ("/visits", "/board"), "l@example.org": ("/visits", "/board"),
                "s@example.org": ("/referrals", "/referrals"),
                "a@example.org": ("/audit", "/audit")}
    for email, (on_phone, on_desk) in expected.items():
        phone = repr(_call(state_for(LoginState, tokens[email], path="/login",
                                     query={"phone": "1"}), "load"))
        desk = repr(_call(state_for(LoginState, tokens[email], path="/login"), "load"))
        assert f'"{on_phone}"' in phone, (email, phone)
        assert f'"{on_desk}"' in desk, (email, desk)
    # A return path after a timed-out session still wins over the start page.
    back = repr(_call(state_for(LoginState, tokens["o@example.org"], path="/login",
                                query={"phone": "1", "next": "/cases/CME-2026-00001"}), "load"))
    assert '"/cases/CME-2026-00001"' in back
