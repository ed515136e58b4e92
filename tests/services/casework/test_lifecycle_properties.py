"""Property-based tests of the case state machine (hypothesis, real database).

Random sequences of moves, closures, reopenings, returns and record-keeping by random roles,
with current or stale versions. After every step: a refused step changed nothing; a step that
went through was allowed for that role and passed its guard; the stage history has no gaps and
ends at the case's stage; every change bumped the version.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import col, func, select

from cme_app.errors import ServiceError
from cme_app.models import (
    Case,
    CaseClosure,
    LaNotification,
    OverseasVerification,
    SafeguardingContact,
    StageChange,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import closure as closing
from cme_app.services.casework import lifecycle, records, triage
from cme_app.services.intake import referrals

TODAY = date.today()
ROLES = ("school", "officer", "officer2", "lead", "admin", "auditor")
STAGES = (
    "new_referral",
    "triage",
    "enquiries",
    "home_visit",
    "awaiting_verification",
    "located",
    "closed",
    "returned",
    "nonsense",
)
OUTCOMES = (*closing.OUTCOMES, "bogus")
GOOD_EVIDENCE = {
    "school_urn": "107999",
    "start_date": TODAY.isoformat(),
    "confirmed_by": "Admissions",
    "la_name": "Kirklees",
    "school_name": "Batley High",
    "summary": "Accepted",
    "reasons": "Neighbours say they flew out",
    "checks_done": "Home Office",
    "notice_date": TODAY.isoformat(),
    "ehe_accepted_on": TODAY.isoformat(),
    "provider": "Leeds AP",
    "provider_registration": "383/6001",
    "confirmed_on": TODAY.isoformat(),
    "beyond_reasonable_distance": "yes",
    "residence_evidence": "Family still living there",
    "off_roll_date": TODAY.isoformat(),
    "source": "Registrar",
    "reason": "Same child referred twice",
}
ACTIONS = (
    "move",
    "close",
    "propose",
    "reopen",
    "return",
    "triage",
    "allocate",
    "mash",
    "consultation",
    "pending_enquiry",
    "notify_la",
    "la_response",
    "overseas",
    "visit",
)


@pytest.fixture
def world(session, team):
    """The team, and a case of school A's for a closure as a duplicate to point at."""
    other = referrals.submit(session, actor=team["school"],
                             form=example_referral_form(upn="N380123456789"))
    session.commit()
    return {"actors": team, "other": other.reference}


def _snapshot(session, case_id: int) -> tuple:
    session.expire_all()
    case = session.get(Case, case_id)
    changes = session.exec(
        select(func.count()).select_from(StageChange).where(StageChange.case_id == case_id)
    ).one()
    return case.stage, case.version, case.risk, case.allocated_officer_id, case.outcome, changes


def _do(session, world, case: Case, action: str, role: str, data) -> None:
    actor = world["actors"][role]
    ref = case.reference
    stale = data.draw(st.integers(0, 4)) == 0
    version = case.version - 1 if stale else case.version
    if action == "move":
        likely = lifecycle.MOVES.get(case.stage, ()) or STAGES
        to = data.draw(
            st.sampled_from(likely) if data.draw(st.booleans()) else st.sampled_from(STAGES)
        )
        lifecycle.move_case(session, actor=actor, reference=ref, to_stage=to, version=version)
    elif action in ("close", "propose"):
        outcome = data.draw(st.sampled_from(OUTCOMES))
        evidence = dict(GOOD_EVIDENCE) if data.draw(st.booleans()) else {}
        if outcome == "duplicate":
            evidence["duplicate_of"] = world["other"]
        fn = closing.close_case if action == "close" else closing.propose_closure
        fn(
            session,
            actor=actor,
            reference=ref,
            outcome=outcome,
            evidence=evidence,
            version=version,
            today=TODAY,
        )
    elif action == "reopen":
        lifecycle.reopen_case(
            session,
            actor=actor,
            reference=ref,
            reason="New information from the LPD",
            version=version,
        )
    elif action == "return":
        lifecycle.return_to_referrer(
            session, actor=actor, reference=ref, note="Please add the home visit", version=version
        )
    elif action == "triage":
        factors = data.draw(st.lists(st.sampled_from(["fgm", "sen", "cp_plan", "x"]), max_size=2))
        triage.record_triage(
            session, actor=actor, reference=ref, factors=factors, version=version
        )
    elif action == "allocate":
        officer = world["actors"][data.draw(st.sampled_from(["officer", "officer2", "school"]))]
        triage.allocate(
            session, actor=actor, reference=ref, officer_id=officer.user_id, version=version
        )
    elif action in ("mash", "consultation"):
        records.record_safeguarding(
            session,
            actor=actor,
            reference=ref,
            form={
                "kind": "notification" if action == "mash" else "consultation",
                "agency": "mash",
                "contacted_on": TODAY.isoformat(),
                "contacted_by": "Sam",
                "contact_reference": "M1",
            },
        )
    elif action == "pending_enquiry":
        records.log_enquiry(
            session,
            actor=actor,
            reference=ref,
            form={
                "kind": "health",
                "done_on": TODAY.isoformat(),
                "method": "phone",
                "contacted": "GP",
                "result": "pending",
                "summary": "Awaiting reply",
            },
        )
    elif action == "notify_la":
        records.send_la_notification(
            session,
            actor=actor,
            reference=ref,
            form={
                "la_name": "Bradford",
                "contact": "cme@bradford.example",
                "question": "Known?",
            },
        )
    elif action == "la_response":
        note = session.exec(select(LaNotification).where(LaNotification.case_id == case.id)).first()
        records.record_la_response(
            session,
            actor=actor,
            reference=ref,
            notification_id=note.id if note else 0,
            form={
                "acknowledged_on": TODAY.isoformat(),
                "response_on": TODAY.isoformat(),
                "response": "On roll here",
            },
        )
    elif action == "overseas":
        records.record_overseas(
            session,
            actor=actor,
            reference=ref,
            form={
                "country": "Spain",
                "organisation": "Colegio",
                "evidence_type": "school_letter",
                "independent": data.draw(st.sampled_from(["yes", "no"])),
                "received_on": TODAY.isoformat(),
            },
        )
    elif action == "visit":
        records.record_visit(
            session,
            actor=actor,
            reference=ref,
            form={
                "visited_on": TODAY.isoformat(),
                "address": "14 Example Street",
                "outcome": "no_reply_vacant",
                "child_seen": "no",
            },
        )


def _prelude(session, world, case: Case) -> None:
    lead, ref = world["actors"]["lead"], case.reference

    def version():
        session.expire_all()
        return session.get(Case, case.id).version

    lifecycle.move_case(session, actor=lead, reference=ref, to_stage="triage", version=version())
    triage.record_triage(session, actor=lead, reference=ref, factors=[], version=version())
    triage.allocate(
        session,
        actor=lead,
        reference=ref,
        officer_id=world["actors"]["officer"].user_id,
        version=version(),
    )
    lifecycle.move_case(session, actor=lead, reference=ref, to_stage="enquiries", version=version())
    session.commit()


def _has(session, model, case_id, *where) -> bool:
    return (
        session.exec(select(model.id).where(model.case_id == case_id, *where)).first() is not None
    )


def _check_history(session, case: Case) -> None:
    changes = session.exec(
        select(StageChange).where(StageChange.case_id == case.id).order_by(StageChange.id)
    ).all()
    assert changes[0].from_stage is None and changes[0].to_stage == "new_referral"
    for before, after in itertools.pairwise(changes):
        assert after.from_stage == before.to_stage, "gap in the stage history"
    assert changes[-1].to_stage == case.stage


def _check_step(session, case: Case, before: tuple, after: tuple, action: str, role: str):
    stage_before, version_before = before[0], before[1]
    stage_after, version_after = after[0], after[1]
    if after == before:
        return
    assert version_after > version_before or stage_after == stage_before, "unversioned move"
    if stage_after != stage_before:
        assert role in ("officer", "officer2", "lead"), f"{role} changed the stage"
        if stage_before == "triage" and stage_after in ("enquiries", "home_visit"):
            assert case.risk and case.allocated_officer_id
            if case.risk == "red":
                assert _has(
                    session,
                    SafeguardingContact,
                    case.id,
                    SafeguardingContact.kind == "notification",
                )
        if stage_after == "closed":
            assert role == "lead" and action == "close"
            closure = session.exec(
                select(CaseClosure)
                .where(CaseClosure.case_id == case.id, CaseClosure.status == "closed")
                .order_by(CaseClosure.id.desc())
            ).first()
            assert closure.outcome == case.outcome
            if case.outcome == "transferred_other_la":
                assert _has(
                    session, LaNotification, case.id, LaNotification.response_on.is_not(None)
                )
            if case.outcome == "left_uk_verified":
                assert _has(
                    session,
                    OverseasVerification,
                    case.id,
                    col(OverseasVerification.independent).is_(True),
                )
            assert case.outcome != "untraceable", "untraceable closed without 20 school days"
        if stage_before == "closed":
            assert role == "lead" and action == "reopen"
    if after[2] != before[2] and action == "triage":
        assert role in ("officer", "officer2", "lead")
    if after[3] != before[3]:
        assert role == "lead" and action == "allocate"


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_sequence_of_actions_bypasses_a_guard(session, world, data):
    case = referrals.submit(session, actor=world["actors"]["school"], form=example_referral_form())
    session.commit()
    if data.draw(st.booleans()):  # start some sequences from a case already under enquiry
        _prelude(session, world, case)
    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        action = data.draw(st.sampled_from(ACTIONS))
        role = data.draw(st.sampled_from(ROLES + ("lead", "officer") * 3))
        session.expire_all()
        case = session.get(Case, case.id)
        before = _snapshot(session, case.id)
        try:
            _do(session, world, case, action, role, data)
        except ServiceError as exc:
            event(f"{action} refused: {str(exc)[:60]}")
            session.rollback()
            after = _snapshot(session, case.id)
            assert after == before, f"refused {action} by {role} still changed the case"
        else:
            session.commit()
            after = _snapshot(session, case.id)
            event(f"{action} went through")
        case = session.get(Case, case.id)
        _check_step(session, case, before, after, action, role)
        _check_history(session, case)
