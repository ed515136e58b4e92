"""The visit log's HTTP routes (cme_app/api.py) through Starlette's test client, on the test
database: the edges (session, role, origin, size, JSON), the status codes, and that the
answers are never cached and never carry a stack trace."""

from __future__ import annotations

import importlib
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from cme_app.api import MAX_BODY, api
from cme_app.models import AuditEvent, HomeVisit, User, UserSession
from cme_app.services.casework import case_file
from cme_app.services.trust import auth
from cme_app.services.visits import lone_working, phone_list
from cme_app.settings import get_settings
from tests.factories import (
    actor_for,
    add_last_known_address,
    checked_in_visit,
    make_case,
    session_token,
)

MINE, ALERTS, SYNC = "/api/v1/visits/mine", "/api/v1/visits/alerts", "/api/v1/visits"


def resolve_url(alert_id: int) -> str:
    return f"/api/v1/visits/alerts/{alert_id}/resolve"


# The officer's buddy, and an officer who is neither theirs nor the case's.
pytestmark = pytest.mark.team(extra=("buddy", "other"))


@pytest.fixture
def world(session, team):
    """An officer with one case, colleagues in every role, and a signed-in token for each."""
    users = {key: session.get(User, actor.user_id) for key, actor in team.items()}
    case = make_case(session, stage="enquiries", risk="amber",
                     officer_id=users["officer"].id, school_id=users["school"].school_id)
    add_last_known_address(session, case)
    session.commit()
    return {"users": users, "tokens": _Tokens(session, users), "case": case}


class _Tokens(dict):
    """A signed-in session token per user, made on first use (signing in is slow by design)."""

    def __init__(self, session, users: dict[str, User]):
        super().__init__()
        self.session = session
        self.users = users

    def __missing__(self, key: str) -> str:
        self[key] = session_token(self.session, self.users[key].email)
        self.session.commit()
        return self[key]


@pytest.fixture
def client():
    with TestClient(api) as c:
        yield c


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"cme_session={token}"}


def document(world, *, start: datetime | None = None, minutes=30, record=True) -> dict:
    start = (start or datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)
    doc = checked_in_visit(world["case"].reference, officer_id=world["users"]["officer"].id,
                           buddy_id=world["users"]["buddy"].id, at=start, minutes=minutes,
                           address="12 Harehills Lane, Leeds LS8 5AA")
    doc["created_offline"] = False
    if record:
        doc["record"] = {
            "outcome": "no_reply_occupied", "child_seen": "no", "calling_card_left": "yes",
            "safeguarding_raised": "no", "next_action": "Visit again",
            "next_action_due": (start.date() + timedelta(days=2)).isoformat(),
        }
    return doc


def post(client, path, body, token, **headers):
    return client.post(path, content=json.dumps(body),
                       headers={"Content-Type": "application/json", **cookie(token), **headers})


def visit_count(db) -> int:
    # A short session of its own: on SQLite an open read would make the API's next write wait.
    with Session(db) as s:
        return len(s.exec(select(HomeVisit)).all())


def audit_rows(db, action: str) -> list[AuditEvent]:
    with Session(db, expire_on_commit=False) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def calls(world, token_key: str | None):
    """One request to every visit route, as the holder of `token_key`."""
    token = world["tokens"][token_key] if token_key in world["users"] else token_key or ""
    headers = cookie(token) if token else {}
    json_headers = {**headers, "Content-Type": "application/json"}
    body = json.dumps(document(world))
    return [
        ("GET", MINE, dict(headers=headers)),
        ("GET", ALERTS, dict(headers=headers)),
        ("POST", SYNC, dict(headers=json_headers, content=body)),
        ("POST", resolve_url(1), dict(headers=json_headers, content='{"note": "safe"}')),
    ]


def test_no_session_is_signed_out_on_every_route(client, world, db, session):
    for key in (None, "forged-token-not-a-session"):
        for method, path, kw in calls(world, key):
            r = client.request(method, path, **kw)
            assert r.status_code == 401, (key, path)
            assert r.json()["error"] == "signed_out" and r.json()["message"]
            assert r.headers["cache-control"] == "no-store"
    assert visit_count(db) == 0


def test_a_revoked_session_is_signed_out(client, world, session):
    auth.sign_out(session, token=world["tokens"]["officer"], actor=None)
    session.commit()
    r = client.get(MINE, headers=cookie(world["tokens"]["officer"]))
    assert r.status_code == 401


@pytest.mark.parametrize("role", ["school", "admin", "auditor"])
def test_other_roles_are_not_allowed_on_every_route(client, world, db, session, role):
    for method, path, kw in calls(world, role):
        r = client.request(method, path, **kw)
        assert r.status_code == 403, path
        assert r.json()["error"] == "not_allowed"
        assert r.headers["cache-control"] == "no-store"
    assert visit_count(db) == 0


def test_another_officers_case_is_not_allowed_and_the_refusal_is_audited(
    client, world, db, session
):
    r = post(client, SYNC, document(world), world["tokens"]["other"])
    assert r.status_code == 403 and r.json()["error"] == "not_allowed"
    assert visit_count(db) == 0
    [event] = audit_rows(db, "visit.synced")
    assert (event.outcome, event.actor_id) == ("refused", world["users"]["other"].id)


def test_a_covering_visit_without_a_purpose_says_what_to_do_then_goes_in_with_one(
    client, world, db, session
):
    """Issue 18, finding 5: a colleague's case needs the purpose for a visit too. The phone is
    told, in words, to give it on the case page; its outbox keeps the visit (a 403 is "needs
    attention", never dropped: assets/outbox.js), and the same document sent again after the
    purpose was given is stored, its audit rows saying why."""
    doc, reference = document(world), world["case"].reference
    r = post(client, SYNC, doc, world["tokens"]["other"])
    assert r.status_code == 403 and r.json()["error"] == "not_allowed"
    assert r.json()["message"].startswith(f"{reference} is allocated to another officer. Open "
                                          "the case, say why you are working on it")
    assert visit_count(db) == 0
    [refused] = audit_rows(db, "visit.synced")
    assert refused.detail == {"reason": "purpose_required"}
    case_file.view_case(session, actor=actor_for(world["users"]["other"]), reference=reference,
                        purpose_form={"purpose": "covering"})
    session.commit()
    r = post(client, SYNC, doc, world["tokens"]["other"])
    assert r.status_code == 200 and r.json()["checked_in"] is True
    assert visit_count(db) == 1
    [checked_in] = audit_rows(db, "visit.checked_in")
    assert checked_in.detail["purpose"] == "covering"


def test_another_users_visit_is_not_allowed(client, world, db, session):
    doc = document(world)
    assert post(client, SYNC, doc, world["tokens"]["officer"]).status_code == 200
    r = post(client, SYNC, doc, world["tokens"]["lead"])
    assert r.status_code == 403
    assert visit_count(db) == 1


def test_a_foreign_origin_is_not_allowed(client, world, db, session):
    token = world["tokens"]["officer"]
    r = post(client, SYNC, document(world), token, Origin="https://evil.example")
    assert r.status_code == 403 and r.json()["error"] == "not_allowed"
    r = client.get(MINE, headers={**cookie(token), "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert visit_count(db) == 0
    r = post(client, SYNC, document(world), token, Origin="http://localhost:3000")
    assert r.status_code == 200


def test_an_unknown_case_is_not_found(client, world, db, session):
    doc = {**document(world), "case_reference": "CME-2026-99999"}
    r = post(client, SYNC, doc, world["tokens"]["officer"])
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    [event] = audit_rows(db, "visit.synced")
    assert event.outcome == "not_found"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", "{not json"),
        ("application/json", "[1, 2]"),
        ("application/json", '"a string"'),
        ("application/json", ""),
        ("application/json", b"\xff\xfe\x00"),
        ("text/plain", '{"client_uuid": "x"}'),
        ("application/x-www-form-urlencoded", "client_uuid=x"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client, world, session, content_type, body
):
    r = client.post(SYNC, content=body,
                    headers={"Content-Type": content_type, **cookie(world["tokens"]["officer"])})
    assert r.status_code == 400 and r.json() == {"error": "bad_request"}
    assert r.headers["cache-control"] == "no-store"


def test_an_oversize_body_is_refused(client, world, db, session):
    token = world["tokens"]["officer"]
    doc = document(world)
    doc["record"]["notes"] = "x" * MAX_BODY
    r = post(client, SYNC, doc, token)
    assert r.status_code == 413 and r.json() == {"error": "too_large"}

    def chunks():  # no Content-Length: the limit applies to what is read
        yield b'{"notes": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    r = client.post(SYNC, content=chunks(),
                    headers={"Content-Type": "application/json", **cookie(token)})
    assert r.status_code == 413
    assert visit_count(db) == 0


def test_an_invalid_visit_gives_field_errors_and_stores_nothing(client, world, db, session):
    doc = document(world)
    doc["check_in"]["risk_check_done"] = False
    doc["record"]["outcome"] = ""
    r = post(client, SYNC, doc, world["tokens"]["officer"])
    assert r.status_code == 422
    assert r.json() == {"error": "invalid", "errors": [
        {"field": "check_in.risk_check_done",
         "message": "Confirm you have reviewed the warning markers"},
        {"field": "record.outcome", "message": "Choose the outcome of the visit"},
    ]}
    assert visit_count(db) == 0
    assert audit_rows(db, "visit.checked_in") == []


def test_a_visit_is_stored_once_however_often_it_is_sent(client, world, db, session):
    doc = document(world)
    token = world["tokens"]["officer"]
    first = post(client, SYNC, doc, token)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert (body["client_uuid"], body["reference"]) == (doc["client_uuid"],
                                                        world["case"].reference)
    assert (body["checked_in"], body["recorded"], body["checked_out"], body["flagged"]) == (
        True, True, False, False)
    doc["check_out"] = {"at": datetime.now(UTC).isoformat()}
    for _ in range(2):
        again = post(client, SYNC, doc, token)
        assert again.status_code == 200 and again.json()["checked_out"] is True
    assert visit_count(db) == 1
    assert len(audit_rows(db, "visit.checked_out")) == 1


def test_mine_lists_the_callers_cases(client, world):
    r = client.get(MINE, headers=cookie(world["tokens"]["officer"]))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert [c["reference"] for c in body["cases"]] == [world["case"].reference]
    assert body["cases"][0]["address"] == "12 Harehills Lane, Leeds"
    assert body["user"]["name"] == "Olu Officer"
    other = client.get(MINE, headers=cookie(world["tokens"]["other"])).json()
    assert other["cases"] == []


def test_alerts_can_be_seen_and_resolved(client, world, db, session):
    officer, buddy = world["tokens"]["officer"], world["tokens"]["buddy"]
    start = datetime.now(UTC) - timedelta(minutes=90)
    assert post(client, SYNC, document(world, start=start, record=False), officer).status_code \
        == 200
    assert client.get(ALERTS, headers=cookie(buddy)).json() == {"alerts": []}
    raised = lone_working.escalate_overdue(session, now=datetime.now(UTC))
    session.commit()
    assert len(raised) == 2  # the buddy and the one lead

    r = client.get(ALERTS, headers=cookie(buddy))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    [alert] = r.json()["alerts"]
    assert (alert["level"], alert["officer_name"]) == ("buddy", "Olu Officer")
    assert alert["reference"] == world["case"].reference
    [own] = client.get(ALERTS, headers=cookie(officer)).json()["alerts"]
    assert own["level"] == "self"

    url = resolve_url(alert["id"])
    r = post(client, url, {"note": "Spoke to Olu, safe"}, world["tokens"]["other"])
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = post(client, url, {"note": ""}, buddy)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = post(client, url, {"note": "Spoke to Olu, safe"}, buddy)
    assert r.status_code == 200 and r.json() == {"resolved": 2}
    assert client.get(ALERTS, headers=cookie(world["tokens"]["lead"])).json() == {"alerts": []}
    assert len(audit_rows(db, "visit.alert_resolved")) == 2  # the refusal and the resolve


def test_polling_alerts_does_not_keep_a_session_alive(client, world, session):
    token = world["tokens"]["officer"]
    row = session.exec(select(UserSession).where(
        UserSession.user_id == world["users"]["officer"].id)).one()
    row.last_seen_at = datetime.now(UTC) - timedelta(minutes=5)
    session.add(row)
    session.commit()
    seen = row.last_seen_at
    assert client.get(ALERTS, headers=cookie(token)).status_code == 200
    session.refresh(row)
    assert row.last_seen_at == seen
    session.commit()
    assert client.get(MINE, headers=cookie(token)).status_code == 200
    session.refresh(row)
    assert row.last_seen_at > seen
    session.commit()


def test_an_unexpected_error_is_a_plain_500(client, world, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("Amira Test lives at 12 Harehills Lane")

    monkeypatch.setattr(phone_list, "phone_list", broken)
    with caplog.at_level(logging.ERROR, logger="cme_app.api"):
        r = client.get(MINE, headers=cookie(world["tokens"]["officer"]))
    assert r.status_code == 500 and r.json() == {"error": "server_error"}
    assert r.headers["cache-control"] == "no-store"
    assert "Harehills" not in r.text and "Traceback" not in r.text
    assert "RuntimeError" in caplog.text and "Harehills" not in caplog.text


def test_health_answers_and_is_not_cached(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
def proxy_hops(monkeypatch):
    def apply(hops: int) -> None:
        monkeypatch.setenv("CME_TRUSTED_PROXY_HOPS", str(hops))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("hops", "expected"), [(0, "testclient"), (1, "203.0.113.7"), (2, "198.51.100.1")]
)
def test_audited_client_ip_comes_only_from_trusted_proxy_hops(
    client, world, session, proxy_hops, hops, expected
):
    """A forged X-Forwarded-For changes nothing with no trusted proxy; with N trusted proxies
    the entry N places from the end (added by the first trusted proxy) is the client."""
    token = world["tokens"]["officer"]
    proxy_hops(hops)
    forged = "10.6.6.6, 198.51.100.1, 203.0.113.7"
    r = client.get(MINE, headers={**cookie(token), "X-Forwarded-For": forged})
    assert r.status_code == 200
    session.expire_all()
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "visits.list_viewed")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.ip == expected


def test_rxconfig_passes_trusted_proxy_hops_to_reflex(proxy_hops, monkeypatch):
    import rxconfig

    proxy_hops(2)
    try:
        assert importlib.reload(rxconfig).config.trusted_proxy_hops == 2
    finally:
        monkeypatch.delenv("CME_TRUSTED_PROXY_HOPS")
        get_settings.cache_clear()
        importlib.reload(rxconfig)


# ---------------------------------------------------------------------------------------------
# Edge input (issue 18, part 7): each is a clear 4xx with a message, never a 500.

DEEP = "[" * 20_000 + "]" * 20_000


@pytest.mark.parametrize("path", ["/api/v1/session", SYNC])
def test_deeply_nested_json_is_a_bad_request(client, world, db, path):
    token = world["tokens"]["officer"]
    r = client.post(path, content=DEEP, headers={
        "Content-Type": "application/json", "Origin": "http://localhost:3000", **cookie(token)})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request"
    assert visit_count(db) == 0


@pytest.mark.parametrize("year", [1, 9999])
def test_a_visit_stamped_in_year_1_or_9999_is_refused_with_field_errors(client, world, db, year):
    doc = document(world)
    doc["check_in"]["at"] = f"{year:04d}-06-01T10:00:00+00:00"
    doc["check_out"] = {"at": f"{year:04d}-06-01T10:30:00+00:00"}
    r = post(client, SYNC, doc, world["tokens"]["officer"])
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"] == "invalid"
    assert any(e["field"].startswith("check_") for e in r.json()["errors"]), r.json()
    assert visit_count(db) == 0


def test_an_alert_id_past_any_database_integer_is_not_found(client, world):
    r = client.post(resolve_url(2**63), content='{"note": "safe"}', headers={
        "Content-Type": "application/json", **cookie(world["tokens"]["officer"])})
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "not_found"
