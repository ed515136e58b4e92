"""The case page's answers to a new-pupil match name their case: the version the page holds is
that case's, so a return id from another case is not found (it can't close the other case)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.errors import NotFound
from cme_app.models import Case, CaseClosure, Child, NewPupilReturn
from cme_app.services.school_returns import new_pupils, views
from tests.factories import case_in_enquiries, make_case


def _new_pupil_for(session, team, reference: str) -> int:
    case = session.exec(select(Case).where(Case.reference == reference)).one()
    child = session.get(Child, case.child_id)
    ret = new_pupils.record_new_pupil(session, actor=team["school_b"], form={
        "first_name": child.first_name, "last_name": child.last_name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "start_date": (uk_today() - timedelta(days=1)).isoformat()})
    session.commit()
    return ret.id


def test_an_answer_naming_another_case_is_not_found(session, team):
    reference = case_in_enquiries(session, team)
    return_id = _new_pupil_for(session, team, reference)
    other = make_case(session, stage="enquiries", first_name="Other", last_name="Child",
                      officer_id=team["officer"].user_id)
    session.commit()
    with pytest.raises(NotFound):
        new_pupils.confirm(session, actor=team["officer"], return_id=return_id,
                           version=other.version, reference=other.reference)
    with pytest.raises(NotFound):
        new_pupils.dismiss(session, actor=team["officer"], return_id=return_id,
                           reason="Different child", reference=other.reference)
    assert session.get(NewPupilReturn, return_id).proposal == new_pupils.PROPOSED
    assert session.exec(select(CaseClosure)).all() == []


def test_confirming_on_its_own_case_proposes_the_closure(session, team):
    reference = case_in_enquiries(session, team)
    return_id = _new_pupil_for(session, team, reference)
    case = session.exec(select(Case).where(Case.reference == reference)).one()
    assert [p.return_id for p in views.case_part(session, case).proposals] == [return_id]
    new_pupils.confirm(session, actor=team["officer"], return_id=return_id,
                       version=case.version, reference=reference)
    [closure] = session.exec(select(CaseClosure)).all()
    assert (closure.status, closure.outcome) == ("proposed", "onroll_leeds")
    assert views.case_part(session, case).proposals == ()
