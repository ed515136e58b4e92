"""The session cookie's HTTP routes: POST /api/v1/session exchanges a one-time sign-in ticket
for an HttpOnly cookie; DELETE ends every session of that user and clears it."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from cme_app.api import api
from cme_app.models import AuditEvent, UserSession
from cme_app.services.trust import auth
from cme_app.state.auth import SESSION_COOKIE, cookie_value
from tests.factories import PASSWORD, make_user, session_token

ORIGIN = {"Origin": "http://localhost:3000"}
URL = "/api/v1/session"


@pytest.fixture
def client():
    with TestClient(api, base_url="http://localhost:3000") as c:
        yield c


@pytest.fixture
def ticket(session):
    make_user(session, "officer", email="o@example.org")
    # An officer's ticket comes after the authentication code (tests/services/trust/test_mfa.py).
    user = auth.check_password(session, email="o@example.org", password=PASSWORD)
    result = auth.open_session(session, user=user)
    session.commit()
    return result.ticket


def _set_cookie(response) -> str:
    [header] = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    return header


def test_the_ticket_becomes_an_httponly_lax_cookie(client, session, ticket):
    response = client.post(URL, json={"ticket": ticket}, headers=ORIGIN)
    assert response.status_code == 200
    header = _set_cookie(response)
    attributes = [a.strip().lower() for a in header.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # local runs are plain http; production adds Secure
    assert response.headers["cache-control"] == "no-store"
    token = cookie_value(header.split(";")[0], SESSION_COOKIE)
    assert token and token != ticket
    session.expire_all()
    assert auth.actor_for_token(session, token).email == "o@example.org"
    session.rollback()  # end the read: SQLite transactions here take the write lock
    # Spent: a second exchange (a replayed request) gets nothing.
    again = client.post(URL, json={"ticket": ticket}, headers=ORIGIN)
    assert again.status_code == 401 and "set-cookie" not in again.headers


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "https://evil.example"}, {"Origin": "null"}],
    ids=["no-origin", "foreign", "null"],
)
def test_a_cross_site_request_cannot_sign_anyone_in(client, session, ticket, headers):
    response = client.post(URL, json={"ticket": ticket}, headers=headers)
    assert response.status_code == 403 and "set-cookie" not in response.headers
    session.expire_all()
    assert session.exec(select(UserSession)).one().activated_at is None


@pytest.mark.parametrize(
    "body", [b"not json", b"[1,2]", b'{"ticket": 42}', b'{"ticket": "made-up"}', b"{}"]
)
def test_bad_bodies_get_no_cookie(client, body):
    response = client.post(
        URL, content=body, headers={**ORIGIN, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 401)
    assert "set-cookie" not in response.headers
    assert "Traceback" not in response.text


def test_delete_ends_every_session_and_clears_the_cookie(client, session):
    make_user(session, "lead", email="l@example.org")
    desk, phone = session_token(session, "l@example.org"), session_token(session, "l@example.org")
    session.commit()
    response = client.delete(URL, headers={**ORIGIN, "Cookie": f"{SESSION_COOKIE}={desk}"})
    assert response.status_code == 200
    header = _set_cookie(response).lower()
    assert header.startswith(f"{SESSION_COOKIE}=") and "max-age=0" in header
    session.expire_all()
    assert auth.actor_for_token(session, desk) is None
    assert auth.actor_for_token(session, phone) is None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_out")).one()
    assert event.detail == {"sessions_ended": 2}


def test_delete_from_another_site_is_refused(client, session):
    make_user(session, "lead", email="l@example.org")
    token = session_token(session, "l@example.org")
    session.commit()
    response = client.delete(
        URL, headers={"Origin": "https://evil.example", "Cookie": f"{SESSION_COOKIE}={token}"}
    )
    assert response.status_code == 403
    session.expire_all()
    assert auth.actor_for_token(session, token) is not None


def test_in_production_the_cookie_is_also_secure(monkeypatch):
    """Outside local runs the cookie only travels over HTTPS (and is named `__Host-…`, which
    browsers accept only with Secure, Path=/ and no Domain)."""
    from starlette.responses import JSONResponse

    from cme_app.api import _cookie_headers
    from cme_app.settings import get_settings

    monkeypatch.setenv("CME_ENV", "production")
    monkeypatch.delenv("CME_ARGON2_COST", raising=False)  # production refuses the test cost
    monkeypatch.setenv("CME_SECRET_KEY", "a-production-secret-for-this-test-only")
    get_settings.cache_clear()
    try:
        response = _cookie_headers(JSONResponse({}), "token-value")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    attributes = [a.strip().lower() for a in _set_cookie(response).split(";")]
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(a.startswith("domain=") for a in attributes)


@pytest.fixture
def tight_limit(monkeypatch):
    """Three exchanges per address, and next to no refill while the test runs."""
    from cme_app import api as api_module
    from cme_app.settings import get_settings

    def apply(hops: int = 0) -> None:
        monkeypatch.setenv("CME_SESSION_POST_BURST", "3")
        monkeypatch.setenv("CME_SESSION_POSTS_PER_SECOND", "0.001")
        monkeypatch.setenv("CME_TRUSTED_PROXY_HOPS", str(hops))
        get_settings.cache_clear()
        api_module.reset_session_post_allowances()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    api_module.reset_session_post_allowances()


def test_session_exchange_answers_429_past_the_per_address_limit(client, session, ticket,
                                                                  tight_limit):
    """Before signing in there is no one to key a limit on but the address: past its
    allowance every exchange from it is refused with 429 (a valid ticket too, untouched), and
    a forged cookie buys nothing."""
    tight_limit()
    for _ in range(3):
        assert client.post(URL, json={"ticket": "guessed"}, headers=ORIGIN).status_code == 401
    over = client.post(URL, json={"ticket": ticket}, headers=ORIGIN)
    assert over.status_code == 429, over.text
    assert over.json()["error"] == "too_many" and over.headers["retry-after"]
    assert "set-cookie" not in over.headers
    forged = client.post(URL, json={"ticket": ticket},
                         headers={**ORIGIN, "Cookie": f"{SESSION_COOKIE}=made-up"})
    assert forged.status_code == 429
    session.expire_all()
    row = session.exec(select(UserSession).where(UserSession.activated_at.is_(None))).first()
    assert row is not None  # the ticket was never exchanged


def test_session_exchange_limit_keys_on_the_trusted_forwarded_address(client, ticket,
                                                                      tight_limit):
    """With CME_TRUSTED_PROXY_HOPS=1 the X-Forwarded-For entry the proxy added is the
    client: one client spending its allowance leaves another's behind the same proxy."""
    tight_limit(hops=1)
    spender = {**ORIGIN, "X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        assert client.post(URL, json={"ticket": "guessed"}, headers=spender).status_code == 401
    assert client.post(URL, json={"ticket": "guessed"}, headers=spender).status_code == 429
    # What the client writes before the proxy's entry is not the key: still the spender.
    assert client.post(URL, json={"ticket": "guessed"}, headers={
        **ORIGIN, "X-Forwarded-For": "10.9.9.9, 203.0.113.7"}).status_code == 429
    other = client.post(URL, json={"ticket": ticket},
                        headers={**ORIGIN, "X-Forwarded-For": "192.0.2.8"})
    assert other.status_code == 200
