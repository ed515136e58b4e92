"""Staff MFA: enrolment, codes that work once, throttling, and resets that cannot bypass it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import AuditEvent, MfaAttempt, User, UserSession, utcnow
from cme_app.services.trust import auth, mfa
from tests.factories import PASSWORD, make_user

SECRET = "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def officer(session):
    actor = make_user(session, "officer", email="o@example.org")
    user = session.get(User, actor.user_id)
    mfa.set_secret(session, user, SECRET)
    session.flush()
    return user


def _password_step(session, email="o@example.org") -> auth.CodeNeeded:
    step = auth.sign_in(session, email=email, password=PASSWORD)
    assert isinstance(step, auth.CodeNeeded)
    return step


def _finish(session, step, code, now=None):
    """The second step, as if made at `now` (the password step then taken at that moment)."""
    passed_at = min(step.passed_at, now) if now else step.passed_at
    return mfa.complete_sign_in(session, user_id=step.user_id, passed_at=passed_at,
                                code=code, now=now)


def _actions(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_right_code_opens_the_session(session, officer):
    step = _password_step(session)
    assert not step.enrol
    result = _finish(session, step, pyotp.TOTP(SECRET).now())
    token = auth.activate_session(session, ticket=result.ticket)
    assert auth.actor_for_token(session, token).user_id == officer.id
    assert officer.totp_last_step == int(utcnow().timestamp()) // 30


def test_a_code_works_once_only(session, officer):
    code = pyotp.TOTP(SECRET).now()
    _finish(session, _password_step(session), code)
    with pytest.raises(NotAllowed, match="already been used"):
        _finish(session, _password_step(session), code)
    assert len(session.exec(select(UserSession)).all()) == 1
    assert len(_actions(session, "auth.mfa_failed")) == 1


def test_an_earlier_step_is_refused_after_a_later_one(session, officer):
    now = utcnow()
    totp = pyotp.TOTP(SECRET)
    _finish(session, _password_step(session), totp.at(now + timedelta(seconds=30)), now=now)
    # The code of the current step is still inside the window, but older than the one used.
    with pytest.raises(NotAllowed):
        _finish(session, _password_step(session), totp.at(now), now=now)


def test_window_is_one_step_either_side(session, officer):
    totp = pyotp.TOTP(SECRET)
    # The middle of the current 30-second step, so each offset lands in a known step.
    now = datetime.fromtimestamp(int(utcnow().timestamp()) // 30 * 30 + 15, tz=UTC)
    for offset in (-30, 30):  # neighbouring steps: accepted (each once)
        _finish(session, _password_step(session), totp.at(now + timedelta(seconds=offset)),
                now=now)
    officer.totp_last_step = None
    for offset in (-60, 60):  # two steps away: expired or not yet valid
        with pytest.raises(NotAllowed):
            _finish(session, _password_step(session), totp.at(now + timedelta(seconds=offset)),
                    now=now)


def test_malformed_codes_are_form_errors_not_guesses(session, officer):
    step = _password_step(session)
    for code, message in (("", mfa.CODE_MISSING), ("12 34", mfa.CODE_FORMAT),
                          ("abcdef", mfa.CODE_FORMAT), ("１２３４５６", mfa.CODE_FORMAT),
                          (None, mfa.CODE_MISSING)):
        with pytest.raises(ValidationFailed) as exc:
            _finish(session, step, code)
        assert [(e.field, e.message) for e in exc.value.errors] == [("code", message)]
    assert session.exec(select(MfaAttempt)).all() == []
    # Spaces between digits, as apps show them, are fine.
    code = pyotp.TOTP(SECRET).now()
    assert _finish(session, step, f"{code[:3]} {code[3:]}").ticket


def test_five_wrong_codes_refuse_even_the_right_one_until_the_window_passes(session, officer):
    step = _password_step(session)
    right = pyotp.TOTP(SECRET).now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(mfa.MAX_FAILED_CODES):
        with pytest.raises(NotAllowed, match="wrong"):
            _finish(session, step, wrong)
    with pytest.raises(NotAllowed) as exc:
        _finish(session, step, right)
    assert str(exc.value) == mfa.CODE_THROTTLED
    assert officer.totp_last_step is None
    assert session.exec(select(UserSession)).all() == []
    assert len(_actions(session, "auth.mfa_failed")) == 5
    assert len(_actions(session, "auth.mfa_throttled")) == 1
    # Five minutes after the last failure the right code works again.
    later = utcnow() + timedelta(minutes=5, seconds=1)
    fresh = _password_step(session)
    fresh = auth.CodeNeeded(user_id=fresh.user_id, passed_at=later, enrol=False)
    assert _finish(session, fresh, pyotp.TOTP(SECRET).at(later), now=later).ticket


def test_the_password_step_expires_after_five_minutes(session, officer):
    step = _password_step(session)
    late = step.passed_at + timedelta(minutes=5, seconds=1)
    with pytest.raises(NotAllowed) as exc:
        _finish(session, step, pyotp.TOTP(SECRET).at(late), now=late)
    assert str(exc.value) == mfa.STEP_EXPIRED


def test_a_disabled_user_cannot_finish_the_second_step(session, officer):
    step = _password_step(session)
    auth.disable_user(session, email="o@example.org")
    with pytest.raises(NotAllowed):
        _finish(session, step, pyotp.TOTP(SECRET).now())


def test_enrolment_saves_the_secret_only_after_a_right_code(session):
    actor = make_user(session, "lead", email="l@example.org")
    step = _password_step(session, "l@example.org")
    assert step.enrol
    secret = mfa.new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret) and secret != mfa.new_secret()
    with pytest.raises(NotAllowed):
        mfa.confirm_enrolment(session, user_id=step.user_id, passed_at=step.passed_at,
                              secret=secret, code="000000" if pyotp.TOTP(secret).now() != "000000"
                              else "111111")
    user = session.get(User, actor.user_id)
    assert user.totp_secret is None
    result = mfa.confirm_enrolment(session, user_id=step.user_id, passed_at=step.passed_at,
                                   secret=secret, code=pyotp.TOTP(secret).now())
    assert user.totp_secret == secret and result.actor.user_id == actor.user_id
    assert len(_actions(session, "auth.mfa_enrolled")) == 1
    assert secret not in str([e.detail for e in session.exec(select(AuditEvent)).all()])


def test_enrolment_cannot_replace_an_existing_secret(session, officer):
    step = _password_step(session)
    attacker_secret = mfa.new_secret()
    with pytest.raises(NotAllowed):
        mfa.confirm_enrolment(session, user_id=step.user_id, passed_at=step.passed_at,
                              secret=attacker_secret, code=pyotp.TOTP(attacker_secret).now())
    assert officer.totp_secret == SECRET


def test_qr_code_is_an_svg_data_uri_of_the_provisioning_uri():
    uri = mfa.provisioning_uri(SECRET, "o@example.org")
    assert uri.startswith("otpauth://totp/") and f"secret={SECRET}" in uri
    assert "issuer=Leeds%20CME" in uri
    assert mfa.qr_svg_data_uri(SECRET, "o@example.org").startswith("data:image/svg+xml")
    assert mfa.grouped("ABCDEFGH") == "ABCD EFGH"


def test_password_reset_cannot_bypass_mfa_but_an_mfa_reset_forces_enrolment(session, officer):
    auth.reset_password(session, email="o@example.org", password="another long passphrase")
    step = auth.sign_in(session, email="o@example.org", password="another long passphrase")
    assert isinstance(step, auth.CodeNeeded) and not step.enrol
    assert officer.totp_secret == SECRET
    token = auth.activate_session(
        session, ticket=_finish(session, step, pyotp.TOTP(SECRET).now()).ticket
    )

    mfa.reset_mfa(session, email="o@example.org")
    assert officer.totp_secret is None and officer.totp_last_step is None
    assert auth.actor_for_token(session, token) is None
    assert auth.sign_in(session, email="o@example.org", password="another long passphrase").enrol
    event = _actions(session, "auth.mfa_reset")[0]
    assert event.entity_id == str(officer.id) and event.actor_id is None


@pytest.mark.parametrize("role", ["officer", "lead", "auditor"])
def test_only_admins_reset_mfa_in_the_app(session, officer, role):
    caller = make_user(session, role, email="caller@example.org")
    with pytest.raises(NotAllowed):
        mfa.reset_mfa(session, email="o@example.org", actor=caller)
    assert officer.totp_secret == SECRET
    admin = make_user(session, "admin", email="a@example.org")
    assert mfa.reset_mfa(session, email="o@example.org", actor=admin).totp_secret is None


def test_provisioned_secrets_are_validated(session):
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, email="o@example.org", role="officer", password=PASSWORD,
                         totp_secret="not base32!")
    assert [e.field for e in exc.value.errors] == ["totp_secret"]
    user = auth.create_user(session, email="o@example.org", role="officer", password=PASSWORD,
                            totp_secret="demo officer one aaaaaaaaaaaaaaaaaa".replace(" ", ""))
    assert user.totp_secret == "DEMOOFFICERONEAAAAAAAAAAAAAAAAAA"
