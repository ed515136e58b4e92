"""Sign-in, throttling, sessions and accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.models import AuditEvent, LoginAttempt, User, UserSession, utcnow
from cme_app.services import auth
from cme_app.services.errors import NotAllowed, ValidationFailed
from tests.factories import PASSWORD, make_school, make_user, session_token


def test_password_is_stored_as_argon2_hash(session):
    make_user(session, "officer", email="o@example.org")
    user = session.exec(select(User).where(User.email == "o@example.org")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_opens_a_server_side_session(session):
    make_user(session, "lead", email="Lead@Example.org")
    result = auth.sign_in(session, email=" lead@example.org ", password=PASSWORD, ip="10.0.0.9")
    assert result.actor.role == "lead"
    row = session.exec(select(UserSession)).one()
    assert row.activated_at is None
    # The ticket is not a session: only its exchange gives the cookie's token.
    assert auth.actor_for_token(session, result.ticket) is None
    token = auth.activate_session(session, ticket=result.ticket)
    assert row.token_hash not in (token, result.ticket) and len(token) >= 40
    assert row.activated_at is not None
    assert auth.actor_for_token(session, token).user_id == result.actor.user_id
    assert auth.home_route(result.actor.role) == "/board"


def test_a_sign_in_ticket_works_once_and_only_briefly(session):
    make_user(session, "officer", email="o@example.org")
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
    assert auth.sign_in(session, email="l@example.org", password=PASSWORD).actor.role == "lead"


def test_throttle_window_is_five_minutes(session):
    make_user(session, "officer", email="o@example.org")
    old = utcnow() - timedelta(minutes=6)
    for _ in range(10):
        session.add(LoginAttempt(email="o@example.org", at=old, success=False))
    session.flush()
    assert auth.sign_in(session, email="o@example.org", password=PASSWORD).actor.role == "officer"


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
