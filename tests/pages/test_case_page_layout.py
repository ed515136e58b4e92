"""The case page's summary and tabs (issue 20), through the page state as a browser tab drives
it: the summary says who, where and the next due action (the response targets' own answer);
the URL picks the tab (`?tab=`, or an old `#section` deep link such as the board's `#close`);
choosing a tab or a section checks its argument; an action answers where the page is."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.dates import age_on, long_date, uk_today
from cme_app.pages.casework.case import tabs
from cme_app.pages.casework.case.state import KEEP_PLACE, CaseState
from cme_app.services.casework import targets
from tests.factories import (
    call_handler,
    case_in_enquiries,
    case_in_triage,
    session_token,
    state_for,
    stored_case,
)


def _page(session, team, reference: str, who: str = "officer", *, query: dict | None = None,
          fragment: str = "") -> CaseState:
    return _loaded(session, team, reference, who, query=query, fragment=fragment)[0]


def _loaded(session, team, reference: str, who: str = "officer", *, query: dict | None = None,
            fragment: str = "") -> tuple[CaseState, object]:
    """The page state after its on_load, and what the load answered (a client event)."""
    token = session_token(session, team[who].email)
    session.commit()
    state = state_for(CaseState, token, path=f"/cases/{reference}", query=query,
                      fragment=fragment)
    answer = call_handler(state, "load")
    assert state.case is not None and state.case.reference == reference
    return state, answer


def _script(answer) -> str:
    specs = answer if isinstance(answer, list) else [answer]
    return " ".join(str(s.args) for s in specs if s is not None)


# ----- the summary -------------------------------------------------------------------------


def test_the_summary_says_who_where_and_the_first_visit_due(session, team):
    reference = case_in_enquiries(session, team)
    state = _page(session, team, reference)
    s = state.case.summary
    today = date.today()
    assert s.name == "Amira Test"
    assert s.born == f"2 March 2014 (age {age_on(date(2014, 3, 2), today)})"
    assert s.address == "14 Example Street, Leeds, LS2 8BU"
    # The same target the board's badge shows: the first visit, in Enquiries, not yet visited.
    case = stored_case(session, reference)
    due = targets.current_due(case, today=today, visited=False)
    assert due is not None and due.what == "First visit"
    assert s.next_action.startswith(f"First visit due by {long_date(due.on)}")
    assert s.next_action_state == due.state


def test_an_overdue_triage_is_the_next_action_and_says_overdue(session, team):
    reference = case_in_triage(session, team)
    case = stored_case(session, reference)
    case.triage_due_on = uk_today() - timedelta(days=3)
    session.add(case)
    session.commit()
    s = _page(session, team, reference, "lead").case.summary
    assert s.next_action == f"Triage due by {long_date(case.triage_due_on)} (overdue)"
    assert s.next_action_state == "overdue"


def test_a_stage_without_a_target_has_no_next_action(session, team):
    reference = case_in_enquiries(session, team)
    case = stored_case(session, reference)
    case.first_visit_due_on = None
    session.add(case)
    session.commit()
    s = _page(session, team, reference).case.summary
    assert (s.next_action, s.next_action_state) == ("", "")


# ----- tabs from the URL -------------------------------------------------------------------


@pytest.mark.parametrize(("query", "fragment", "tab"), [
    ({}, "", "overview"),
    ({"tab": "visits"}, "", "visits"),
    ({"tab": "close"}, "", "close"),
    ({}, "close", "close"),  # the board's drop on Closed: /cases/REF#close
    ({}, "child-record", "child"),
    ({}, "la", "enquiries"),
    ({"tab": "documents"}, "close", "documents"),  # ?tab= wins over a #section
    ({"tab": "<script>"}, "", "overview"),
    ({"tab": "Visits"}, "nowhere", "overview"),
])
def test_the_url_chooses_the_tab(query, fragment, tab):
    assert tabs.tab_for(query.get("tab", ""), fragment) == tab


def test_every_section_of_the_old_contents_is_on_exactly_one_tab():
    anchors = [a for _, _, held in tabs.TABS for a in held]
    assert len(anchors) == len(set(anchors))
    assert {"risk", "safeguarding", "move", "episode", "securing", "child", "child-record",
            "referral", "enquiries", "safety", "visits", "la", "overseas", "documents",
            "sharing", "close", "timeline"} <= set(anchors)


def test_a_deep_link_to_close_opens_the_closing_tab_and_focuses_it(session, team):
    reference = case_in_enquiries(session, team)
    state, answer = _loaded(session, team, reference, "lead", fragment="close")
    assert state.tab == "close"
    assert 'getElementById("close")' in _script(answer)


def test_a_tab_in_the_query_is_opened_on_load(session, team):
    state, answer = _loaded(session, team, case_in_enquiries(session, team),
                            query={"tab": "visits"})
    assert state.tab == "visits"
    assert answer is None  # no section named: nothing is focused or scrolled


def test_choosing_a_tab_shows_it_and_puts_its_url_in_the_address_bar(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    answer = call_handler(state, "show_tab", "enquiries")
    assert state.tab == "enquiries"
    assert "replaceState" in _script(answer) and "?tab=enquiries" in _script(answer)


@pytest.mark.parametrize("bad", ["", "nowhere", "VISITS", 3, None, ["visits"], {"tab": "x"}])
def test_a_tab_that_does_not_exist_changes_nothing(session, team, bad):
    state = _page(session, team, case_in_enquiries(session, team), query={"tab": "visits"})
    assert call_handler(state, "show_tab", bad) is None
    assert state.tab == "visits"
    assert call_handler(state, "show_section", bad) is None
    assert state.tab == "visits"


def test_a_link_to_a_section_opens_its_tab_and_focuses_the_section(session, team):
    state = _page(session, team, case_in_enquiries(session, team))
    answer = call_handler(state, "show_section", "close")
    assert state.tab == "close"
    assert 'getElementById("close")' in _script(answer)


def test_switching_tabs_does_not_read_the_case_again(session, team):
    """A tab is drawn from the case file already loaded: no second audited view."""
    from tests.factories import audit_events
    state = _page(session, team, case_in_enquiries(session, team))
    before = len(audit_events(session, "case.viewed"))
    session.commit()  # end the read: on SQLite it holds the write lock the guard needs
    for key, _, _ in tabs.TABS:
        call_handler(state, "show_tab", key)
    assert len(audit_events(session, "case.viewed")) == before


# ----- answers where the page is -------------------------------------------------------------


def test_an_action_is_announced_where_the_page_is_not_at_its_top(session, team):
    state = _page(session, team, case_in_enquiries(session, team), query={"tab": "enquiries"})
    answer = call_handler(state, "log_enquiry", {
        "enq-kind": "health", "enq-done_on": uk_today().isoformat(), "enq-method": "system",
        "enq-contacted": "Records team", "enq-result": "no_trace", "enq-summary": "Checked."})
    assert state.errors == {}, state.errors
    assert state.message == "Enquiry logged."
    assert state.tab == "enquiries"  # the tab stays
    assert KEEP_PLACE in _script(answer)
    assert "scrollIntoView" not in _script(answer)


def test_a_refused_move_is_announced_where_the_page_is(session, team):
    reference = case_in_enquiries(session, team)
    state = _page(session, team, reference, "lead")
    answer = call_handler(state, "move", "awaiting_verification")
    assert state.problem
    assert "cmeKeepPlace" in _script(answer) and "scrollIntoView" not in _script(answer)


def test_the_sharing_log_answers_where_the_page_is_too(session, team):
    from cme_app.pages.casework.case.data_protection import DataProtectionState
    reference = case_in_enquiries(session, team)
    token = session_token(session, team["lead"].email)
    session.commit()
    state = state_for(DataProtectionState, token, path=f"/cases/{reference}")
    call_handler(state, "load")
    assert state.dp is not None
    answer = call_handler(state, "save_legal_hold",
                          {"hold-action": "set", "hold-reason": "Court order"})
    assert state.message.startswith("Legal hold set")
    assert KEEP_PLACE in _script(answer) and "scrollIntoView" not in _script(answer)
