"""The school returns pages through their states, as a browser tab drives them: a school sees
only its own returns; the deletion form shows GOV.UK errors and then the status words; an
upload answers row by row; the case page's new-pupil proposal proposes the closure."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app import routes
from cme_app.dates import uk_today
from cme_app.models import Case, CaseClosure, Child, DeletionReturn, NewPupilReturn
from cme_app.ops.demo import example_deletion_form
from cme_app.pages.casework.case.state import CaseState
from cme_app.pages.school_returns.deletion_form import DeletionReturnState
from cme_app.pages.school_returns.returns_list import ReturnsState
from cme_app.pages.school_returns.upload import UploadState
from cme_app.services.school_returns import deletions, new_pupils
from tests.factories import (
    CANARIES,
    CANARY_FIRST,
    CANARY_LAST,
    CANARY_UPN,
    call_handler,
    case_in_enquiries,
    loaded_tab,
)

TODAY = uk_today()


def test_school_b_never_sees_school_a_returns(session, team):
    school_a, school_b = team["school"], team["school_b"]
    deletions.submit_deletion(session, actor=school_a, form=example_deletion_form(
        first_name=CANARY_FIRST, last_name=CANARY_LAST, upn=CANARY_UPN))
    new_pupils.record_new_pupil(session, actor=school_a, form={
        "first_name": CANARY_FIRST, "last_name": "Newpupil", "date_of_birth": "2014-03-02",
        "start_date": TODAY.isoformat()})
    deletions.submit_deletion(session, actor=school_b, form=example_deletion_form(
        first_name="Bea", last_name="Bschool"))
    session.commit()

    b = loaded_tab(session, school_b.email, ReturnsState, "/returns")
    seen = json.dumps(b.dict(), default=str)
    assert [r.pupil for r in b.school_rows] == ["Bea Bschool"]
    for canary in CANARIES:
        assert canary not in seen
    assert b.la_rows == []

    a = loaded_tab(session, school_a.email, ReturnsState, "/returns")
    assert {r.pupil for r in a.school_rows} == {f"{CANARY_FIRST} {CANARY_LAST}",
                                                f"{CANARY_FIRST} Newpupil"}
    assert {r.status for r in a.school_rows} == {"Being looked into", "Received"}

    # The LA sees both schools', with the school's name.
    la = loaded_tab(session, team["officer"].email, ReturnsState, "/returns")
    assert {r.school for r in la.la_rows} == {"Aire Valley Primary", "Kirkstall Hill Academy"}
    assert la.school_rows == []


def test_ground_i_without_confirmation_is_an_error_then_sent_with_the_status(session, team):
    state = loaded_tab(session, team["school"].email, DeletionReturnState, "/returns/new")
    form = example_deletion_form() | {"absence_codes_confirmed": ""}
    call_handler(state, "submit_form", form)
    assert list(state.errors) == ["absence_codes_confirmed"]
    assert state.error_list[0][0] == "absence_codes_confirmed"
    assert not state.sent and session.exec(select(DeletionReturn)).all() == []
    session.rollback()  # end the read: the handler's unit of work writes next

    call_handler(state, "submit_form", form | {"absence_codes_confirmed": "on"})
    assert state.errors == {} and state.sent
    assert (state.sent_pupil, state.sent_status) == ("Kai Return", "Being looked into")


def test_the_upload_answers_each_row_and_stores_the_good_ones(session, team):
    state = loaded_tab(session, team["school"].email, UploadState, "/returns/upload")
    start = TODAY.isoformat()
    text = ("school_urn,upn,first_name,last_name,date_of_birth,start_date,postcode\n"
            f"107999,,Ann,One,2014-01-01,{start},LS1 4AP\n"
            f"107999,,Ben,Two,2014-01-01,{start},\n"
            f"108111,,Cat,Three,2014-01-01,{start},\n"
            "107999,,,Four,2014-01-01,,\n")
    call_handler(state, "upload_file", {"kind": "new_pupils", "confirmed": False, "text": text,
                                        "problem": ""})
    assert state.summary == "2 rows accepted, 2 refused"
    assert [(r.row, r.accepted) for r in state.results] == [
        ("2", True), ("3", True), ("4", False), ("5", False)]
    assert "your own school" in state.results[2].result
    assert "first_name" in state.results[3].result
    assert [r.pupil for r in state.results] == ["Ann One", "Ben Two", "Cat Three", "Four"]
    assert len(session.exec(select(NewPupilReturn)).all()) == 2
    session.rollback()

    # A file the service refuses whole: the error summary links to the file input.
    call_handler(state, "upload_file", {"kind": "new_pupils", "text": "name\nAnn\n",
                                        "problem": ""})
    assert state.error_list[0][0] == "returns_file" and state.summary == ""
    # No file chosen, no kind chosen: both said, nothing sent to the service.
    call_handler(state, "upload_file", {"kind": "", "text": "", "problem": "no_file"})
    assert [row[0] for row in state.error_list] == ["return_kind", "returns_file"]


def test_the_officer_proposes_closing_from_a_new_pupil_match(session, team):
    reference = case_in_enquiries(session, team)
    state = loaded_tab(session, team["officer"].email, CaseState, f"/cases/{reference}")
    child = state.case.child_name
    first, last = child.split(" ", 1)
    case = session.exec(select(Case).where(Case.reference == reference)).one()
    dob = session.get(Child, case.child_id).date_of_birth
    new_pupils.record_new_pupil(session, actor=team["school_b"], form={
        "first_name": first, "last_name": last, "date_of_birth": dob.isoformat(),
        "start_date": (TODAY - timedelta(days=1)).isoformat()})
    session.commit()
    call_handler(state, "load")
    [proposal] = state.case.school_returns.proposals
    assert (proposal.school, proposal.matched_on) == ("Kirkstall Hill Academy",
                                                      "name and date of birth")

    call_handler(state, "confirm_new_pupil", proposal.return_id)
    assert state.problem == "", state.problem
    assert state.case.pending.outcome != ""
    assert list(state.case.school_returns.proposals) == []
    assert session.exec(select(CaseClosure.status)).all() == ["proposed"]


def test_the_deletion_form_is_not_redrawn_when_its_page_loads_again(session, team):
    """Reflex loads the page again after a reconnect: the form keeps its key, so what the
    school typed stays in it. Opening the page at another address draws it afresh."""
    from reflex.istate.data import RouterData

    state = loaded_tab(session, team["school"].email, DeletionReturnState, routes.RETURN_NEW)
    drawn = state.form_key
    call_handler(state, "load")
    assert state.form_key == drawn
    root = state.parent_state.parent_state
    headers = dict(root.router.headers.raw_headers)
    root.router = RouterData.from_router_data({
        "pathname": routes.RETURN_NEW, "asPath": routes.RETURN_NEW + "?from=list",
        "query": {"from": "list"}, "headers": headers})
    call_handler(state, "load")
    assert state.form_key != drawn
