"""The document download route (GET /api/v1/documents/<id>, cme_app/api.py): the PDF for
whoever may read it, with a file name and no caching; 401, 403 or 404 for everyone else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from cme_app.api import api
from cme_app.models import CaseClosure, School
from cme_app.routes import document_url
from cme_app.services.documents import documents
from tests.factories import audit_events, make_case, session_token


@pytest.fixture
def world(session, team):
    urn_a = session.exec(select(School.id).where(School.urn == "107999")).one()
    case = make_case(session, stage="closed", outcome="left_uk_unverified", school_id=urn_a,
                     closed_at=datetime(2026, 12, 1, tzinfo=UTC))
    session.add(CaseClosure(case_id=case.id, episode=1, outcome="left_uk_unverified",
                            status="closed", closed_at=case.closed_at))
    session.commit()
    to_school = documents.generate(session, actor=team["lead"], reference=case.reference,
                                   kind="outcome_letter")
    internal = documents.generate(session, actor=team["lead"], reference=case.reference,
                                  kind="calling_card")
    session.commit()
    tokens = {who: session_token(session, f"{email}@example.org") for who, email in (
        ("school", "school.107999"), ("school_b", "school.108111"), ("officer", "officer"),
        ("admin", "admin"), ("auditor", "auditor"))}
    session.commit()
    return {"case": case, "to_school": to_school, "internal": internal, "tokens": tokens}


@pytest.fixture
def client():
    with TestClient(api) as c:
        yield c


def _get(client, document, token: str | None):
    cookies = {"Cookie": f"cme_session={token}"} if token else {}
    return client.get(document_url(document.public_id), headers=cookies)


def test_the_school_downloads_the_letter_sent_to_it(client, world, session):
    answer = _get(client, world["to_school"], world["tokens"]["school"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="{world["case"].reference}-outcome-letter-v1.pdf"')
    assert answer.content.startswith(b"%PDF-") and answer.content == world["to_school"].content
    assert audit_events(session, "document.downloaded")[-1].outcome == "ok"


@pytest.mark.parametrize(("who", "which", "status"), [
    (None, "to_school", 401),
    ("forged", "to_school", 401),
    ("auditor", "to_school", 403),  # the DPO's role reads no documents
    ("school_b", "to_school", 404),  # another school's referral
    ("school", "internal", 404),  # a letter to the family, not to the school
])
def test_everyone_else_is_refused_and_given_nothing(client, world, who, which, status):
    token = "not-a-real-token" if who == "forged" else world["tokens"].get(who)
    answer = _get(client, world[which], token)
    assert answer.status_code == status
    assert answer.headers["cache-control"] == "no-store"
    assert not answer.content.startswith(b"%PDF")
    assert "content-disposition" not in answer.headers


def test_staff_download_any_document_on_the_case(client, world):
    for who in ("officer", "admin"):
        assert _get(client, world["internal"], world["tokens"][who]).status_code == 200


def test_an_unknown_document_is_not_found(client, world, session):
    answer = client.get(document_url("0" * 32),
                        headers={"Cookie": f"cme_session={world['tokens']['officer']}"})
    assert answer.status_code == 404
    assert audit_events(session, "document.downloaded")[-1].outcome == "not_found"
