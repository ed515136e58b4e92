"""Sign-in, throttling, sessions and accounts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import AuditEvent, LoginAttempt, User, UserSession, utcnow
from cme_app.services.trust import auth
from tests.factories import PASSWORD, make_school, make_user, session_token


def test_password_is_stored_as_argon2_hash(session):
    make_user(session, "officer", email="o@example.org")
    user = session.exec(select(User).where(User.email == "o@example.org")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_school_sign_in_opens_a_server_side_session(session):
    make_school(session)
    make_user(session, "school", email="Head@Example.org", school_urn="107999")
    result = auth.sign_in(session, email=" head@example.org ", password=PASSWORD, ip="10.0.0.9")
    assert result.actor.role == "school"
    row = session.exec(select(UserSession)).one()
    assert row.activated_at is None
    # The ticket is not a session: only its exchange gives the cookie's token.
    assert auth.actor_for_token(session, result.ticket) is None
    token = auth.activate_session(session, ticket=result.ticket)
    assert row.token_hash not in (token, result.ticket) and len(token) >= 40
    assert row.activated_at is not None
    assert auth.actor_for_token(session, token).user_id == result.actor.user_id
    assert auth.home_route(result.actor.role) == "/referrals"


@pytest.mark.parametrize("role", ["officer", "lead", "admin", "auditor"])
def test_staff_password_step_opens_no_session(session, role):
    make_user(session, role, email="Staff@Example.org")
    step = auth.sign_in(session, email=" staff@example.org ", password=PASSWORD)
    assert isinstance(step, auth.CodeNeeded) and step.enrol
    assert not hasattr(step, "ticket")
    assert session.exec(select(UserSession)).all() == []
    assert auth.home_route(role) == ("/audit" if role == "auditor" else "/board")


def test_a_sign_in_ticket_works_once_and_only_briefly(session):
    make_school(session)
    make_user(session, "school", email="o@example.org", school_urn="107999")
    first = auth.sign_in(session, email="o@example.org", password=PASSWORD)
    assert auth.activate_session(session, ticket=first.ticket)
    assert auth.activate_session(session, ticket=first.ticket) is None
    late = auth.sign_in(session, email="o@example.org", password=PASSWORD)
    row = session.exec(
        select(UserSession).where(UserSession.activated_at.is_(None))
    ).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.flush()
    assert auth.activate_session(session, ticket=late.ticket) is None
    for junk in (None, "", "x" * 500, 42, ["ticket"]):
        assert auth.activate_session(session, ticket=junk) is None


def test_unknown_user_and_wrong_password_get_the_same_error(session):
    make_user(session, "officer", email="o@example.org")
    with pytest.raises(NotAllowed) as unknown:
        auth.sign_in(session, email="nobody@example.org", password=PASSWORD)
    with pytest.raises(NotAllowed) as wrong:
        auth.sign_in(session, email="o@example.org", password="not the password!")
    assert str(unknown.value) == str(wrong.value) == auth.SIGN_IN_FAILED
    failures = session.exec(select(AuditEvent).where(AuditEvent.outcome == "failed")).all()
    assert len(failures) == 2


def test_ten_failures_in_five_minutes_lock_the_account_even_for_the_right_password(session):
    make_user(session, "officer", email="o@example.org")
    for _ in range(10):
        with pytest.raises(NotAllowed, match="correct email"):
            auth.sign_in(session, email="o@example.org", password="wrong password 123")
    with pytest.raises(NotAllowed) as exc:
        auth.sign_in(session, email="o@example.org", password=PASSWORD)
    assert str(exc.value) == auth.SIGN_IN_THROTTLED
    assert session.exec(select(UserSession)).all() == []
    # Another account is not affected.
    make_user(session, "lead", email="l@example.org")
    assert auth.check_password(session, email="l@example.org", password=PASSWORD).role == "lead"


def test_throttle_window_is_five_minutes(session):
    make_user(session, "officer", email="o@example.org")
    old = utcnow() - timedelta(minutes=6)
    for _ in range(10):
        session.add(LoginAttempt(email="o@example.org", at=old, success=False))
    session.flush()
    assert auth.check_password(session, email="o@example.org", password=PASSWORD).role == "officer"


def test_unknown_accounts_are_throttled_too(session):
    for _ in range(10):
        with pytest.raises(NotAllowed):
            auth.sign_in(session, email="ghost@example.org", password="guess guess guess")
    with pytest.raises(NotAllowed) as exc:
        auth.sign_in(session, email="ghost@example.org", password="guess guess guess")
    assert str(exc.value) == auth.SIGN_IN_THROTTLED


def test_sign_out_ends_every_session_of_that_user(session):
    make_user(session, "officer", email="o@example.org")
    make_user(session, "lead", email="l@example.org")
    phone, desk = session_token(session, "o@example.org"), session_token(session, "o@example.org")
    other = session_token(session, "l@example.org")
    actor = auth.actor_for_token(session, phone)
    auth.sign_out(session, token=phone, actor=actor)
    assert auth.actor_for_token(session, phone) is None
    assert auth.actor_for_token(session, desk) is None
    assert auth.actor_for_token(session, other).role == "lead"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).one()
    assert event.detail == {"sessions_ended": 2}


def test_idle_and_absolute_timeouts(session):
    make_user(session, "officer", email="o@example.org")
    token = session_token(session, "o@example.org")
    row = session.exec(select(UserSession)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.add(row)
    session.flush()
    assert auth.actor_for_token(session, token) is None
    row.last_seen_at = utcnow()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.flush()
    assert auth.actor_for_token(session, token) is None


def test_disabled_user_loses_access(session):
    make_user(session, "officer", email="o@example.org")
    token = session_token(session, "o@example.org")
    user = session.exec(select(User).where(User.email == "o@example.org")).one()
    user.is_active = False
    session.add(user)
    session.flush()
    assert auth.actor_for_token(session, token) is None
    with pytest.raises(NotAllowed):
        auth.sign_in(session, email="o@example.org", password=PASSWORD)


@pytest.mark.parametrize("token", [None, "", "x" * 500, "forged-token"])
def test_bad_tokens_give_no_actor(session, token):
    assert auth.actor_for_token(session, token) is None


def test_create_user_validates_everything(session):
    make_school(session)
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="bad", role="wizard", password="short")
    assert {e.field for e in exc.value.errors} == {"email", "role", "password"}
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="s@example.org", role="school", password=PASSWORD,
                         school_urn="999999")
    assert [e.field for e in exc.value.errors] == ["school_urn"]
    with pytest.raises(ValidationFailed):
        auth.create_user(session, email="o@example.org", role="officer", password=PASSWORD,
                         school_urn="107999")


def test_only_admins_create_accounts_from_the_app(session):
    officer = make_user(session, "officer")
    with pytest.raises(NotAllowed):
        auth.create_user(session, email="x@example.org", role="lead", password=PASSWORD,
                         actor=officer)


def test_duplicate_email_refused(session):
    make_user(session, "officer", email="o@example.org")
    with pytest.raises(ValidationFailed, match="already exists"):
        auth.create_user(session, email="O@example.org", role="lead", password=PASSWORD)


# ----- password policy (ASVS 6.2) ---------------------------------------------------------------


def _policy_error(password: str, email: str = "olu.officer@leeds.gov.uk") -> str | None:
    try:
        auth.check_password_policy(password, email=email)
    except ValidationFailed as exc:
        assert [e.field for e in exc.errors] == ["password"]
        return exc.errors[0].message
    return None


def test_password_length_limits():
    assert _policy_error("x7Gq" * 2 + "abc") == auth.PASSWORD_TOO_SHORT  # 11 characters
    assert _policy_error("walnut tide p") is None  # 13, no composition rules
    assert _policy_error("w" * 5 + "alnut tides " * 10 + "abc") is None  # 128
    assert _policy_error("walnut tides " * 10) == auth.PASSWORD_TOO_LONG  # 130


def test_common_password_list_is_at_least_the_top_ten_thousand_and_case_insensitive():
    listed = auth.common_passwords()
    assert len(listed) >= 10_000
    long_ones = [p for p in listed if len(p) >= 12]
    assert long_ones, "the list has entries the length rule alone would let through"
    for password in long_ones[:20]:
        assert _policy_error(password) == auth.TOO_COMMON
        assert _policy_error(password.upper()) == auth.TOO_COMMON
    assert _policy_error("Qwerty 123456") == auth.TOO_COMMON  # spaces don't hide it


@pytest.mark.parametrize(
    "password",
    ["olu.officer2026", "OLU.OFFICER!!!!", "cme-password", "Officer123456", "CME CME CME CME",
     "childrenmissingeducation", "LeedsCME2026!!"],
)
def test_context_words_are_refused(password):
    assert _policy_error(password) == auth.MOSTLY_CONTEXT_WORDS


@pytest.mark.parametrize(
    "password",
    ["cme rota walnut tides", "a parsnip in the officer's lunchbox", "olu likes quiet pianos"],
)
def test_a_context_word_inside_a_real_passphrase_is_fine(password):
    assert _policy_error(password) is None


def test_create_user_applies_the_policy_with_the_users_own_email(session):
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="priya.patel@leeds.gov.uk", role="officer",
                         password="PriyaPatel2026!")
    assert [e.message for e in exc.value.errors] == [auth.MOSTLY_CONTEXT_WORDS]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=64, max_size=128))
def test_any_unicode_password_of_64_to_128_characters_is_accepted(password):
    assert _policy_error(password) is None


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(min_size=64, max_size=128))
def test_long_unicode_passwords_hash_and_sign_in(session, password):
    # One account per example (the fixture's database is shared by the examples).
    email = f"u{uuid.uuid4().hex[:8]}@example.org"
    auth.create_user(session, email=email, role="officer", password=password)
    assert auth.check_password(session, email=email, password=password).email == email
    with pytest.raises(NotAllowed):
        auth.check_password(session, email=email, password=password[:-1])


# ----- ending sessions ---------------------------------------------------------------------------


def _open_sessions(session, user_id: int) -> int:
    return len(session.exec(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    ).all())


def test_reset_password_ends_sessions_keeps_mfa_and_is_audited(session):
    officer = make_user(session, "officer", email="o@example.org")
    user = session.get(User, officer.user_id)
    user.totp_secret = "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"
    token = session_token(session, "o@example.org")
    auth.reset_password(session, email="O@example.org", password="a brand new passphrase")
    assert auth.actor_for_token(session, token) is None
    assert user.totp_secret == "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"
    with pytest.raises(NotAllowed):
        auth.check_password(session, email="o@example.org", password=PASSWORD)
    # The new password still leads only to the code step, never to a session.
    step = auth.sign_in(session, email="o@example.org", password="a brand new passphrase")
    assert isinstance(step, auth.CodeNeeded) and not step.enrol
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).one()
    assert event.entity_id == str(officer.user_id) and "passphrase" not in str(event.detail)


def test_reset_password_applies_the_policy(session):
    make_user(session, "officer", email="o@example.org")
    with pytest.raises(ValidationFailed):
        auth.reset_password(session, email="o@example.org", password="short")
    with pytest.raises(ValidationFailed, match="no account"):
        auth.reset_password(session, email="ghost@example.org", password="long enough phrase")


def test_disable_user_ends_sessions_and_is_audited(session):
    officer = make_user(session, "officer", email="o@example.org")
    token = session_token(session, "o@example.org")
    auth.disable_user(session, email="o@example.org")
    assert auth.actor_for_token(session, token) is None
    assert _open_sessions(session, officer.user_id) == 0
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "user.disabled")).one()


@pytest.mark.parametrize("role", ["officer", "lead", "auditor", "school"])
def test_only_admins_reset_or_disable_accounts_in_the_app(session, role):
    make_school(session)
    caller = make_user(session, role, email="c@example.org",
                       school_urn="107999" if role == "school" else None)
    make_user(session, "officer", email="o@example.org")
    with pytest.raises(NotAllowed):
        auth.reset_password(session, email="o@example.org", password="a brand new passphrase",
                            actor=caller)
    with pytest.raises(NotAllowed):
        auth.disable_user(session, email="o@example.org", actor=caller)
    admin = make_user(session, "admin", email="a@example.org")
    assert not auth.disable_user(session, email="o@example.org", actor=admin).is_active


def test_standard_argon2_cost_outside_tests_and_test_cost_refused_in_production(
        monkeypatch):
    """The suite hashes with the least argon2 work (CME_ARGON2_COST=test); everywhere
    else it is pwdlib's recommended argon2id, and production refuses the test cost."""
    from cme_app import settings as settings_module

    def fresh(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings_module.get_settings.cache_clear()
        auth._hasher.cache_clear()
        return settings_module.get_settings()

    try:
        monkeypatch.delenv("CME_ARGON2_COST")
        assert fresh().argon2_cost == "standard"
        assert "$m=65536,t=3,p=4$" in auth.hash_password("correct horse battery staple")
        with pytest.raises(RuntimeError, match="refused when CME_ENV=production"):
            fresh(CME_ARGON2_COST="test", CME_ENV="production")
        monkeypatch.delenv("CME_ENV")
        assert fresh(CME_ARGON2_COST="test").argon2_cost == "test"
        assert "$m=8,t=1,p=1$" in auth.hash_password("correct horse battery staple")
    finally:
        monkeypatch.undo()
        settings_module.get_settings.cache_clear()
        auth._hasher.cache_clear()
