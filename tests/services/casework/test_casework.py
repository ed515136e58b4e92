"""Casework rules on a real database: triage and risk, the stage guards, returning to the
referrer, inbound referrals, matching, and every closure rule (SC-05 to SC-20)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import (
    AuditEvent,
    Case,
    CaseClosure,
    HomeVisit,
    Referral,
    RiskAssessment,
    StageChange,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import case_file as casework
from cme_app.services.casework import closure as closing
from cme_app.services.casework import lifecycle, records
from cme_app.services.casework import triage as triaging
from cme_app.services.casework.case_file_types import LinkedCase, Row
from cme_app.services.casework.lifecycle import MoveRefused, StaleCase
from cme_app.services.casework.pathway import ENQUIRY_KINDS
from cme_app.services.intake import inbound, referrals
from cme_app.services.intake.referral_view import view_referral
from cme_app.services.school_calendar.school_days import load_calendar
from cme_app.services.trust.purpose import PurposeRequired
from tests.factories import fresh, move, to_enquiries, triage

TODAY = uk_today()


def submit(session, team, **changes) -> Case:
    form = example_referral_form(**{k: v for k, v in changes.items() if k != "form"})
    form.update(changes.get("form", {}))
    case = referrals.submit(session, actor=team["school"], form=form)
    session.commit()
    return case


def close(session, team, case, outcome, evidence=None, who="lead"):
    case = fresh(session, case)
    fn = closing.close_case if who == "lead" else closing.propose_closure
    result = fn(
        session,
        actor=team[who],
        reference=case.reference,
        outcome=outcome,
        evidence=evidence or {},
        version=case.version,
        today=TODAY,
    )
    session.commit()
    return result


def log(session, team, case, kind, result="no_trace"):
    records.log_enquiry(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "kind": kind,
            "done_on": TODAY.isoformat(),
            "method": "system",
            "contacted": "Records team",
            "result": result,
            "summary": "Checked.",
        },
    )
    session.commit()


def visit(session, team, case):
    records.record_visit(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "visited_on": TODAY.isoformat(),
            "address": "14 Example Street",
            "outcome": "no_reply_vacant",
            "child_seen": "no",
            "notes": "Post piled up.",
        },
    )
    session.commit()


RED_FORM = {
    "cp_plan": "yes",
    "concern-none_known": "",
    "concern-fgm": "on",
    "concerns_narrative": "Sister was taken abroad last summer.",
    "mash_referred_on": TODAY.isoformat(),
    "mash_reference": "MASH-0001",
    # Open to social care: the school says whether the social worker was told (issue 17).
    "social_worker_told": "yes",
    "social_worker_told_on": TODAY.isoformat(),
}


# --- risk and triage ---------------------------------------------------------------------------


def test_referral_with_cp_plan_and_fgm_is_proposed_red_with_its_factors(session, team):
    case = fresh(session, submit(session, team, form=RED_FORM))
    assert case.proposed_risk == "red"
    assert {"cp_plan", "fgm"} <= set(case.risk_factors)
    # Red: triage the same working day, or the next one when today is not (it ran on a Sunday).
    cal = load_calendar(session)
    days = (TODAY + timedelta(days=n) for n in range(7))
    expected = next(d for d in days if cal.is_working_day(d))
    assert case.triage_due_on == expected


def test_plain_referral_is_proposed_green(session, team):
    case = fresh(session, submit(session, team))
    assert case.proposed_risk == "green" and case.risk_factors == []
    assert case.triage_due_on > TODAY


def test_triage_sets_risk_from_factors_and_first_visit_target(session, team):
    case = triage(session, team, submit(session, team), factors=["sen", "bogus"])
    assert case.risk == "amber" and case.risk_factors == ["sen"]
    assert case.first_visit_due_on is not None and case.first_visit_due_on > TODAY


def test_lead_override_keeps_history_and_needs_reason(session, team):
    case = triage(session, team, submit(session, team))
    with pytest.raises(ValidationFailed) as err:
        triaging.override_risk(
            session,
            actor=team["lead"],
            reference=case.reference,
            risk="red",
            reason="",
            version=case.version,
        )
    assert [e.field for e in err.value.errors] == ["reason"]
    session.rollback()
    with pytest.raises(NotAllowed):
        triaging.override_risk(
            session,
            actor=team["officer"],
            reference=case.reference,
            risk="red",
            reason="Gut feeling about this one",
            version=1,
        )
    session.rollback()
    triaging.override_risk(
        session,
        actor=team["lead"],
        reference=case.reference,
        risk="red",
        reason="Police intelligence about the household",
        version=case.version,
    )
    session.commit()
    case = fresh(session, case)
    kinds = session.exec(
        select(RiskAssessment.kind, RiskAssessment.risk)
        .where(RiskAssessment.case_id == case.id)
        .order_by(RiskAssessment.id)
    ).all()
    assert kinds == [("triaged", "green"), ("override", "red")]
    assert case.risk == "red" and "Police intelligence" in case.risk_rationale


def test_red_case_cannot_leave_triage_until_mash_notified(session, team):
    case = triage(session, team, submit(session, team, form=RED_FORM), factors=["cp_plan", "fgm"])
    assert case.risk == "red"
    assert case.first_visit_due_on is not None
    with pytest.raises(MoveRefused, match="CSC, MASH or Front Door notification"):
        move(session, team, case, "home_visit")
    session.rollback()
    records.record_safeguarding(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "kind": "notification",
            "agency": "mash",
            "contacted_on": TODAY.isoformat(),
            "contacted_time": "09:30",
            "contacted_by": "Sam Officer",
            "contact_reference": "MASH-123",
        },
    )
    session.commit()
    assert move(session, team, case, "home_visit").stage == "home_visit"


def test_triage_exit_needs_risk_and_officer(session, team):
    case = move(session, team, submit(session, team), "triage")
    with pytest.raises(MoveRefused, match="Set the risk"):
        move(session, team, case, "enquiries")
    session.rollback()
    triaging.record_triage(
        session,
        actor=team["officer"],
        reference=case.reference,
        factors=[],
        version=fresh(session, case).version,
    )
    session.commit()
    with pytest.raises(MoveRefused, match="Allocate an officer"):
        move(session, team, case, "enquiries")


def test_illegal_and_stale_moves_are_refused_and_audited(session, team):
    case = submit(session, team)
    with pytest.raises(MoveRefused, match="can't move from New referral to Located"):
        move(session, team, case, "located")
    session.commit()
    refused = session.exec(
        select(AuditEvent).where(AuditEvent.action == "case.moved", AuditEvent.outcome == "refused")
    ).all()
    assert len(refused) == 1
    stale_version = fresh(session, case).version
    move(session, team, case, "triage")
    with pytest.raises(StaleCase, match="changed by"):
        lifecycle.move_case(
            session,
            actor=team["officer"],
            reference=case.reference,
            to_stage="enquiries",
            version=stale_version,
        )


def test_officer_moves_only_own_cases_and_never_closes_by_move(session, team):
    case = to_enquiries(session, team, submit(session, team))  # allocated to "officer"
    with pytest.raises(PurposeRequired):  # another officer's case: first, why (issue 18)
        move(session, team, case, "home_visit", who="officer2")
    session.rollback()
    casework.view_case(session, actor=team["officer2"], reference=case.reference,
                       purpose_form={"purpose": "covering"})
    with pytest.raises(MoveRefused, match="allocated officer"):
        move(session, team, case, "home_visit", who="officer2")
    session.rollback()
    assert move(session, team, case, "home_visit", who="officer").stage == "home_visit"
    with pytest.raises(MoveRefused, match="Choose an outcome"):
        move(session, team, case, "closed", who="officer")
    session.rollback()
    with pytest.raises(NotAllowed):
        move(session, team, case, "enquiries", who="admin")


def test_awaiting_verification_needs_something_to_wait_for(session, team):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(MoveRefused, match="waiting for"):
        move(session, team, case, "awaiting_verification")
    session.rollback()
    log(session, team, case, "health", result="pending")
    assert move(session, team, case, "awaiting_verification").stage == "awaiting_verification"


def test_unknown_reference_is_not_found_and_audited(session, team):
    with pytest.raises(NotFound):
        lifecycle.move_case(
            session, actor=team["lead"], reference="CME-1999-00001", to_stage="triage", version=1
        )
    session.commit()
    assert session.exec(select(AuditEvent).where(AuditEvent.outcome == "not_found")).first()


# --- return to referrer (SC-06) ----------------------------------------------------------------


def test_return_to_referrer_then_resubmit_brings_same_case_back(session, team):
    case = move(session, team, submit(session, team), "triage")
    with pytest.raises(ValidationFailed):
        lifecycle.return_to_referrer(
            session, actor=team["officer"], reference=case.reference, note="", version=case.version
        )
    session.rollback()
    lifecycle.return_to_referrer(
        session,
        actor=team["officer"],
        reference=case.reference,
        note="Please complete home visit and sibling-school checks",
        version=case.version,
    )
    session.commit()
    view = view_referral(session, actor=team["school"], reference=case.reference)
    assert view.status == "More information needed"
    assert view.return_note.startswith("Please complete home visit")
    assert view.draft_id
    session.commit()
    form = example_referral_form()
    form["enquiry-e9-kind"] = "sibling_schools"
    form["enquiry-e9-made_on"] = TODAY.isoformat()
    form["enquiry-e9-contacted"] = "St Mary's"
    form["enquiry-e9-method"] = "phone"
    form["enquiry-e9-result"] = "Not on roll"
    again = referrals.submit(session, actor=team["school"], form=form, public_id=view.draft_id)
    session.commit()
    assert again.id == case.id and again.reference == case.reference
    case = fresh(session, case)
    assert case.stage == "new_referral"
    stages = session.exec(
        select(StageChange.to_stage).where(StageChange.case_id == case.id).order_by(StageChange.id)
    ).all()
    assert stages == ["new_referral", "triage", "returned", "new_referral"]
    assert session.exec(select(Referral).where(Referral.id == case.referral_id)).one().status == (
        "submitted"
    )
    # the school B user still cannot see it
    with pytest.raises(NotFound):
        view_referral(session, actor=team["school_b"], reference=case.reference)


# --- inbound and matching (SC-17, SC-18, SC-20) ------------------------------------------------


INBOUND = {
    "source_type": "other_la",
    "la_name": "Wakefield",
    "la_code": "384",
    "received_on": TODAY.isoformat(),
    "first_name": "Jonah",
    "last_name": "Example",
    "date_of_birth": "2015-06-01",
    "sex": "male",
    "line1": "3 New Road",
    "town": "Leeds",
    "postcode": "LS6 1AA",
    "parent_name": "Mo Example",
    "summary": "Family moved to Leeds.",
}


def test_inbound_notification_becomes_new_referral_with_source(session, team):
    with pytest.raises(NotAllowed):
        inbound.log_inbound(session, actor=team["school"], form=INBOUND)
    session.rollback()
    with pytest.raises(ValidationFailed) as err:
        inbound.log_inbound(
            session, actor=team["admin"], form={**INBOUND, "la_name": "", "upn": "B383200012401"}
        )
    assert {e.field for e in err.value.errors} == {"la_name", "upn"}
    session.rollback()
    case = inbound.log_inbound(session, actor=team["admin"], form=INBOUND)
    session.commit()
    assert case.stage == "new_referral"
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    assert view.source_label == "Other LA (Wakefield)"
    assert view.la_notifications[0].direction == "From"


def test_matching_child_or_household_is_flagged(session, team):
    first = submit(session, team)
    sibling = submit(
        session, team, first_name="Zara", upn="M80120000500A", date_of_birth="2016-01-05"
    )
    same_child = submit(session, team, upn="N380123456789")
    assert fresh(session, sibling).possible_matches == [first.reference]  # same address
    # The same child's other record is proposed for an officer to answer (one record per
    # child, tests/services/intake/test_child_records.py), not listed as a household.
    view = casework.view_case(session, actor=team["lead"], reference=same_child.reference)
    whys = {m.cases[0]: m.why for m in view.child_matches}
    assert whys == {first.reference: "Same name and date of birth",
                    sibling.reference: "Same home address and surname"}
    records.link_household(
        session,
        actor=team["officer"],
        reference=sibling.reference,
        other_reference=first.reference,
        reason="Siblings, same flat",
    )
    session.commit()
    view = casework.view_case(session, actor=team["lead"], reference=first.reference)
    assert view.links == [LinkedCase(sibling.reference, "Same household", "Siblings, same flat")]


def test_merge_as_duplicate_needs_another_case_and_reason(session, team):
    first = submit(session, team)
    dup = move(session, team, submit(session, team), "triage")
    with pytest.raises(ValidationFailed) as err:
        close(session, team, dup, "duplicate", {"duplicate_of": dup.reference, "reason": ""})
    assert {e.field for e in err.value.errors} == {"duplicate_of", "reason"}
    session.rollback()
    close(
        session,
        team,
        dup,
        "duplicate",
        {"duplicate_of": first.reference, "reason": "Same child, referred twice"},
    )
    assert fresh(session, dup).outcome == "duplicate"
    view = casework.view_case(session, actor=team["lead"], reference=first.reference)
    assert (view.links[0].reference, view.links[0].kind) == (dup.reference, "Duplicate")


# --- closures (docs/glossary.md, Closure outcomes) ----------------------------------------------


def test_only_leads_close_officers_propose_and_lead_approves(session, team):
    case = to_enquiries(session, team, submit(session, team))
    move(session, team, case, "located")
    evidence = {
        "school_urn": "107999",
        "start_date": TODAY.isoformat(),
        "confirmed_by": "Admissions",
        "sas_keyworker": "Pat Keyworker",
    }
    with pytest.raises(NotAllowed):
        closing.close_case(
            session,
            actor=team["officer"],
            reference=case.reference,
            outcome="onroll_leeds",
            evidence=evidence,
            version=fresh(session, case).version,
        )
    session.rollback()
    close(session, team, case, "onroll_leeds", evidence, who="officer")
    assert fresh(session, case).stage == "located"
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert view.pending.outcome == "onroll_leeds"
    close(session, team, case, "onroll_leeds", evidence)
    case = fresh(session, case)
    assert (case.stage, case.outcome) == ("closed", "onroll_leeds")
    closures = session.exec(select(CaseClosure).where(CaseClosure.case_id == case.id)).all()
    assert [(c.status, c.evidence["sas_keyworker"]) for c in closures] == [
        ("closed", "Pat Keyworker")
    ]
    school_view = view_referral(session, actor=team["school"], reference=case.reference)
    assert school_view.outcome == "Child found and on roll at a Leeds school"


def test_onroll_leeds_needs_urn_and_start_date(session, team):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, "onroll_leeds", {"school_urn": "12", "confirmed_by": "x"})
    assert {e.field for e in err.value.errors} == {"school_urn", "start_date"}


def test_transfer_to_other_la_needs_acknowledgement_and_response(session, team):
    case = to_enquiries(session, team, submit(session, team))
    records.send_la_notification(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "la_name": "Bradford",
            "la_code": "380",
            "contact": "cme@bradford.example",
            "question": "Is the child known, on roll, or applied for a place?",
        },
    )
    session.commit()
    case = fresh(session, case)
    assert case.stage == "awaiting_verification"
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    note_id = view.la_notifications[0].id
    assert view.due_label.startswith("LA response due")
    with pytest.raises(MoveRefused, match="acknowledgement and response"):
        close(session, team, case, "transferred_other_la",
              {"summary": "Application in", "beyond_reasonable_distance": "no"})
    session.rollback()
    records.record_la_response(
        session,
        actor=team["officer"],
        reference=case.reference,
        notification_id=note_id,
        form={
            "acknowledged_on": TODAY.isoformat(),
            "response_on": TODAY.isoformat(),
            "response": "Application for a school place in process",
        },
    )
    session.commit()
    close(session, team, case, "transferred_other_la",
          {"summary": "Application in process", "beyond_reasonable_distance": "no"})
    assert fresh(session, case).outcome == "transferred_other_la"


def test_overdue_la_response_shows_on_the_case(session, team):
    case = to_enquiries(session, team, submit(session, team))
    records.send_la_notification(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={"la_name": "Bradford", "contact": "cme@bradford.example", "question": "Known?"},
    )
    session.commit()
    later = TODAY + timedelta(days=30)
    view = casework.view_case(session, actor=team["officer"], reference=case.reference, today=later)
    assert view.due_label == "LA response overdue" and view.due_state == "overdue"
    assert view.la_notifications[0].response_overdue is True
    shared = session.exec(select(casework.LaNotification)).one().data_shared
    assert shared["child"]["upn"] == "A383200012401" and shared["last_school"]["urn"] == "107999"


def _overseas(session, team, case, independent, evidence="school_letter"):
    records.record_overseas(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "country": "Pakistan",
            "organisation": "Lahore Grammar",
            "evidence_type": evidence,
            "independent": independent,
            "received_on": TODAY.isoformat(),
        },
    )
    session.commit()


def test_left_uk_verified_needs_independent_evidence(session, team):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(ValidationFailed):
        _overseas(session, team, case, "yes", evidence="parent_statement")
    session.rollback()
    _overseas(session, team, case, "no", evidence="parent_statement")
    with pytest.raises(MoveRefused, match="independent evidence"):
        close(session, team, case, "left_uk_verified")
    session.rollback()
    _overseas(session, team, case, "yes")
    close(session, team, case, "left_uk_verified")
    assert fresh(session, case).outcome == "left_uk_verified"


def test_left_uk_unverified_red_case_needs_csc_consultation(session, team):
    case = triage(session, team, submit(session, team, form=RED_FORM), factors=["fgm"])
    records.record_safeguarding(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "kind": "notification",
            "agency": "front_door",
            "contacted_on": TODAY.isoformat(),
            "contacted_by": "Sam",
            "contact_reference": "FD-1",
        },
    )
    session.commit()
    move(session, team, case, "enquiries")
    evidence = {
        "reasons": "Neighbours saw them leave for the airport",
        "checks_done": "Home Office",
    }
    with pytest.raises(MoveRefused, match="CSC consultation"):
        close(session, team, case, "left_uk_unverified", evidence)
    session.rollback()
    records.record_safeguarding(
        session,
        actor=team["officer"],
        reference=case.reference,
        form={
            "kind": "consultation",
            "agency": "csc",
            "contacted_on": TODAY.isoformat(),
            "contacted_by": "Sam",
            "contact_reference": "CSC-9",
        },
    )
    session.commit()
    close(session, team, case, "left_uk_unverified", evidence)
    assert fresh(session, case).outcome == "left_uk_unverified"


def test_untraceable_needs_full_pathway_visit_and_20_school_days(session, team):
    # last attended 3 days before the school became aware, 14 days ago: under 20 school days
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(MoveRefused) as err:
        close(session, team, case, "untraceable", {"off_roll_date": TODAY.isoformat()})
    message = str(err.value)
    assert "Not done yet: Social care systems (CSWS)." in message
    assert "At least one home visit" in message
    assert "Ground I requires ≥ 20 continuous school days' absence" in message
    session.rollback()
    for kind in (
        "csws",
        "education_db",
        "health",
        "council_tax",
        "benefits",
        "home_office",
        "s2s_lpd",
    ):
        log(session, team, case, kind)
    visit(session, team, case)
    with pytest.raises(MoveRefused) as err:
        close(session, team, case, "untraceable", {"off_roll_date": TODAY.isoformat()})
    assert str(err.value).startswith("Ground I requires")
    session.rollback()
    # once enough school days have passed the same closure succeeds
    referral = session.exec(select(Referral).where(Referral.id == case.referral_id)).one()
    referral.date_last_attended = TODAY - timedelta(days=60)
    session.add(referral)
    session.commit()
    close(session, team, case, "untraceable", {"off_roll_date": TODAY.isoformat()})
    closure = session.exec(select(CaseClosure).where(CaseClosure.case_id == case.id)).one()
    assert "joint reasonable enquiries exhausted" in closure.school_notice
    assert "ground I" in closure.school_notice
    school_view = view_referral(session, actor=team["school"], reference=case.reference)
    assert "joint reasonable enquiries exhausted" in school_view.school_notice


@pytest.mark.parametrize(
    ("outcome", "evidence", "field"),
    [
        ("ehe", {"notice_date": "2026-13-01"}, "notice_date"),
        ("other_suitable_education", {"confirmed_on": TODAY.isoformat()}, "provider"),
        ("not_cme_attendance", {}, "residence_evidence"),
        ("deceased", {}, "source"),
        ("onroll_other_la", {"la_name": "Kirklees"}, "school_name"),
    ],
)
def test_each_outcome_demands_its_evidence(session, team, outcome, evidence, field):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, outcome, evidence)
    assert field in {e.field for e in err.value.errors}


@pytest.mark.parametrize(
    ("outcome", "evidence"),
    [
        ("ehe", {"notice_date": TODAY.isoformat(), "ehe_accepted_on": TODAY.isoformat()}),
        ("other_suitable_education", {"provider": "Leeds AP", "confirmed_on": TODAY.isoformat(),
                                      "provider_registration": "383/6001"}),
        ("not_cme_attendance", {"residence_evidence": "Parent seen; family still living here"}),
        ("deceased", {"source": "Registrar, 3 Nov"}),
        (
            "onroll_other_la",
            {"la_name": "Kirklees", "school_name": "Batley High", "confirmed_by": "Kirklees CME"},
        ),
    ],
)
def test_each_outcome_closes_with_its_evidence(session, team, outcome, evidence):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case, outcome, evidence)
    assert fresh(session, case).outcome == outcome


def test_ceased_csa_only_when_past_compulsory_school_age(session, team):
    case = submit(session, team)
    with pytest.raises(MoveRefused, match="still of compulsory school age"):
        close(session, team, case, "ceased_csa")


def test_untraceable_not_allowed_straight_from_triage(session, team):
    case = move(session, team, submit(session, team), "triage")
    with pytest.raises(MoveRefused, match="can't be closed as"):
        close(session, team, case, "untraceable", {"off_roll_date": TODAY.isoformat()})


def test_reopen_is_lead_only_with_reason_new_episode_at_least_amber(session, team):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case, "not_cme_attendance", {"residence_evidence": "Still there"})
    case = fresh(session, case)
    with pytest.raises(NotAllowed):
        lifecycle.reopen_case(
            session,
            actor=team["officer"],
            reference=case.reference,
            reason="LPD match found",
            version=case.version,
        )
    session.rollback()
    with pytest.raises(ValidationFailed):
        lifecycle.reopen_case(
            session, actor=team["lead"], reference=case.reference, reason="", version=case.version
        )
    session.rollback()
    lifecycle.reopen_case(
        session,
        actor=team["lead"],
        reference=case.reference,
        reason="LPD match: child on roll nowhere",
        version=case.version,
    )
    session.commit()
    case = fresh(session, case)
    assert (case.stage, case.episode, case.risk, case.outcome) == ("enquiries", 2, "amber", None)


def test_visit_is_idempotent_on_client_uuid_and_meets_first_visit_target(session, team):
    case = to_enquiries(session, team, submit(session, team))
    form = {
        "visited_on": TODAY.isoformat(),
        "address": "14 Example Street",
        "outcome": "no_reply_occupied",
        "child_seen": "no",
    }
    uid = "2f1b7a52-6d55-4a57-9c38-0d3f9f5c7f11"
    for _ in range(2):
        records.record_visit(
            session, actor=team["officer"], reference=case.reference, form=form, client_uuid=uid
        )
        session.commit()
    assert len(session.exec(select(HomeVisit)).all()) == 1
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    assert view.due_label == ""  # the first-visit target is met
    assert Row("Outcome", "No reply, property appears occupied") in view.visits[0].rows


def test_a_desk_visit_asks_child_seen_once_and_derives_the_outcome(session, team):
    """As on the phone: seen is "Child seen and safe" (no outcome asked); not seen needs what
    happened instead; the two can never contradict each other."""
    case = to_enquiries(session, team, submit(session, team))
    base = {"visited_on": TODAY.isoformat(), "address": "14 Example Street"}

    def record(**answers):
        return records.record_visit(session, actor=team["officer"], reference=case.reference,
                                    form={**base, **answers})

    for answers, field, message in [
        ({"child_seen": "no"}, "outcome", "Choose the outcome of the visit"),
        ({"child_seen": "yes"}, "seen_alone", "Say whether the child was seen alone"),
        ({"child_seen": "yes", "seen_alone": "no", "outcome": "no_reply_vacant"}, "outcome",
         "The child was seen, so the outcome is “Child seen and safe”"),
        ({"child_seen": "no", "outcome": "child_seen_safe"}, "child_seen",
         "The outcome says the child was seen: choose Yes, or another outcome"),
    ]:
        with pytest.raises(ValidationFailed) as err:
            record(**answers)
        assert (field, message) in [(e.field, e.message) for e in err.value.errors]
        session.rollback()
    seen = record(child_seen="yes", seen_alone="yes")
    assert (seen.outcome, seen.child_seen, seen.seen_alone) == ("child_seen_safe", True, True)
    not_seen = record(child_seen="no", outcome="refused", seen_alone="yes")
    assert (not_seen.outcome, not_seen.child_seen, not_seen.seen_alone) == (
        "refused", False, False)


def test_enquiry_log_covers_every_pathway_type_and_validates(session, team):
    case = to_enquiries(session, team, submit(session, team))
    with pytest.raises(ValidationFailed) as err:
        records.log_enquiry(
            session,
            actor=team["officer"],
            reference=case.reference,
            form={"kind": "astrology", "done_on": "2999-01-01"},
        )
    fields = [e.field for e in err.value.errors]
    assert fields == ["kind", "done_on", "method", "contacted", "result", "summary"]
    session.rollback()
    for kind in ENQUIRY_KINDS:
        log(session, team, case, kind)
    view = casework.view_case(session, actor=team["officer"], reference=case.reference)
    assert {row.kind for row in view.enquiries} == set(ENQUIRY_KINDS.values())


def test_viewing_a_case_is_audited_and_schools_are_refused(session, team):
    case = submit(session, team)
    for who in ("school", "auditor"):  # the auditor reads the audit log, not case files
        with pytest.raises(NotAllowed):
            casework.view_case(session, actor=team[who], reference=case.reference)
        session.rollback()
    view = casework.view_case(session, actor=team["admin"], reference=case.reference)
    session.commit()
    assert view.can.close is False and view.can.record is False
    assert session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "case.viewed", AuditEvent.entity_id == case.reference
        )
    ).first()


def test_child_new_to_the_country_needs_no_la_and_shows_its_source(session, team):
    form = {**INBOUND, "source_type": "new_to_country", "la_name": "", "la_code": ""}
    case = inbound.log_inbound(session, actor=team["officer"], form=form)
    session.commit()
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert (view.stage, view.source_label, view.la_notifications) == (
        "new_referral",
        "New to country",
        [],
    )
