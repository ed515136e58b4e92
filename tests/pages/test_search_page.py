"""The search box's handlers (cme_app/state/search.py), as a browser tab calls them."""

from __future__ import annotations

from reflex.event import EventSpec

from cme_app.models.base import utcnow
from cme_app.state.search import SearchState
from tests.factories import audit_events, call_handler, make_case, session_token, state_for


def _tab(session, email: str, path: str = "/search"):
    token = session_token(session, email)
    session.commit()
    return state_for(SearchState, token, path=path)


def _closed_case(session):
    case = make_case(session, first_name="Zoë", last_name="Kowalski", stage="closed",
                     closed_at=utcnow(), outcome="found_school_place")
    session.commit()
    return case


def test_a_lead_finds_a_closed_case_on_the_search_page(session, team):
    case = _closed_case(session)
    tab = _tab(session, "lead@example.org")
    call_handler(tab, "search", {"q": "zoe kowal"})
    assert [r.reference for r in tab.results] == [case.reference]
    assert tab.searched and tab.error_list == []
    (event,) = audit_events(session, "case.search")
    assert event.detail["case_ids"] == [case.id] and "kowal" not in str(event.detail)


def test_from_another_page_the_words_go_to_search_not_into_the_url(session, team):
    _closed_case(session)
    tab = _tab(session, "officer@example.org", path="/board")
    answer = call_handler(tab, "search", {"q": "Kowalski"})
    assert isinstance(answer, EventSpec) and "kowalski" not in str(answer).lower()
    assert "/search" in str(answer)
    assert audit_events(session, "case.search") == []  # the page's load runs the search


def test_an_exact_reference_opens_the_case(session, team):
    case = _closed_case(session)
    tab = _tab(session, "lead@example.org")
    answer = call_handler(tab, "search", {"q": case.reference.lower()})
    assert f"/cases/{case.reference}" in str(answer)


def test_too_short_is_shown_at_the_field(session, team):
    tab = _tab(session, "lead@example.org")
    call_handler(tab, "search", {"q": "zo"})
    assert tab.error_list == [["q", "Enter at least 3 characters"]]
    assert tab.errors == {"q": "Enter at least 3 characters"}
    assert audit_events(session, "case.search") == []


def test_a_school_user_is_refused_and_the_attempt_audited(session, team):
    _closed_case(session)
    tab = _tab(session, "school.107999@example.org")
    call_handler(tab, "search", {"q": "kowalski"})
    assert tab.results == [] and tab.problem
    refused = audit_events(session, "permission.refused")
    assert [e.entity_id for e in refused] == ["SearchState.search"]
    assert audit_events(session, "case.search") == []
