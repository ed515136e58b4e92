"""The case page's Documents section and the school's referral page, through the page states
as a browser tab drives them: a missing date shows the GOV.UK error and makes nothing; a made
document is listed on the reloaded case file and, for the school, on its referral page."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import CaseClosure, Document, School
from cme_app.pages.casework.case.state import CaseState
from cme_app.pages.intake.referral_detail import ReferralDetailState
from tests.factories import (
    add_last_known_address,
    call_handler,
    make_case,
    session_token,
    state_for,
)


def _closed_case(session, team):
    school_id = session.exec(select(School.id).where(School.urn == "107999")).one()
    case = make_case(session, stage="closed", outcome="ehe", school_id=school_id,
                     officer_id=team["officer"].user_id,
                     closed_at=datetime(2026, 12, 1, tzinfo=UTC))
    add_last_known_address(session, case)
    session.add(CaseClosure(case_id=case.id, episode=1, outcome="ehe", status="closed",
                            closed_at=case.closed_at))
    session.commit()
    return case


def _state(session, team, cls, path: str, who: str):
    token = session_token(session, team[who].email)
    session.commit()
    state = state_for(cls, token, path=path)
    call_handler(state, "load")
    return state


def test_a_missing_date_shows_its_error_and_makes_nothing(session, team):
    case = _closed_case(session, team)
    state = _state(session, team, CaseState, f"/cases/{case.reference}", "officer")
    call_handler(state, "create_document", {"doc-kind": "s437_notice", "doc-on": ""})
    assert state.errors == {"doc-on": "Enter the date: the parent must respond by"}
    assert state.error_list == [["doc-on", "Enter the date: the parent must respond by"]]
    assert session.exec(select(Document)).all() == []


def test_a_made_letter_is_listed_for_the_team_and_the_school(session, team):
    case = _closed_case(session, team)
    state = _state(session, team, CaseState, f"/cases/{case.reference}", "officer")
    assert state.case.documents.can_create and state.case.documents.rows == ()
    call_handler(state, "create_document", {"doc-kind": "outcome_letter", "doc-on": ""})
    assert state.message == "Outcome of your referral created (version 1). It is listed below."
    (row,) = state.case.documents.rows
    assert (row.title, row.version, row.author) == (
        "Outcome of your referral", 1, "Olu Officer, CME officer")
    public_id = session.exec(select(Document.public_id)).one()
    session.rollback()  # the read took SQLite's write lock (cme_app/db.py): let the page write
    assert row.url == f"/api/v1/documents/{public_id}"

    call_handler(state, "create_document", {"doc-kind": "last_address_letter", "doc-on": ""})
    assert [r.kind for r in state.case.documents.rows] == [
        "last_address_letter", "outcome_letter"]

    school = _state(session, team, ReferralDetailState, f"/referrals/{case.reference}",
                    "school")
    assert [d.title for d in school.documents] == ["Outcome of your referral"]
    other = _state(session, team, ReferralDetailState, f"/referrals/{case.reference}",
                   "school_b")
    assert other.view is None and other.documents == []
