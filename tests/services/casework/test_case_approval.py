"""What the case page needs from casework beyond the shared interface: the reasons a move is
not open yet, and a lead approving an officer's proposed closure with the officer's evidence."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed
from cme_app.models import CaseClosure
from cme_app.services.casework import case_file as casework
from cme_app.services.casework import closure as closing
from cme_app.services.casework.lifecycle import MoveRefused, StaleCase
from tests.factories import fresh, to_enquiries, triage
from tests.services.casework import test_casework as cw

RED_FORM, close, submit = cw.RED_FORM, cw.close, cw.submit

EVIDENCE = {"residence_evidence": "Mother confirms they still live there."}


def test_case_file_says_why_a_red_case_cannot_leave_triage(session, team):
    case = triage(session, team, submit(session, team, form=RED_FORM), factors=["fgm"])
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    assert view.allowed_moves == []
    assert [m.stage for m in view.blocked_moves] == ["enquiries", "home_visit"]
    assert all("CSC, MASH or Front Door notification" in m.reason for m in view.blocked_moves)
    admin = casework.view_case(session, actor=team["admin"], reference=case.reference,
                               purpose_form={"purpose": "supervision"})
    assert admin.blocked_moves == []  # read-only roles get no move advice


def test_lead_approves_the_proposal_with_the_officers_evidence(session, team):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case, "not_cme_attendance", EVIDENCE, who="officer")
    with pytest.raises(NotAllowed):
        closing.approve_closure(session, actor=team["officer"], reference=case.reference,
                                 version=fresh(session, case).version)
    session.rollback()
    with pytest.raises(StaleCase):
        closing.approve_closure(session, actor=team["lead"], reference=case.reference,
                                 version=fresh(session, case).version - 1)
    session.rollback()
    closing.approve_closure(session, actor=team["lead"], reference=case.reference,
                             version=fresh(session, case).version)
    session.commit()
    case = fresh(session, case)
    assert (case.stage, case.outcome) == ("closed", "not_cme_attendance")
    closure = session.exec(select(CaseClosure).where(CaseClosure.case_id == case.id)).one()
    assert closure.status == "closed" and closure.evidence == EVIDENCE
    assert closure.proposed_by_id == team["officer"].user_id
    assert closure.approved_by_id == team["lead"].user_id


def test_nothing_to_approve_is_refused_in_plain_words(session, team):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(MoveRefused, match="no closure waiting"):
        closing.approve_closure(session, actor=team["lead"], reference=case.reference,
                                 version=fresh(session, case).version)
    session.rollback()
    assert fresh(session, case).stage == "enquiries"
