"""Issue 17's statutory rules (the 2024 Registration Regulations, Working together to improve
school attendance, the CME statutory guidance): one test per rule, numbered as the issue
numbers them. Each was written against the code before the rule was corrected, and failed."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.domain import NotifyEvent, Outcome, SourceType
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import (
    AuditEvent,
    Case,
    CaseClosure,
    CmeEpisode,
    DeletionReturn,
    DslAppraisal,
    Notification,
    Referral,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.casework import case_file, closure, records
from cme_app.services.casework.deletion_grounds import (
    check_off_roll_date,
    deletion_ground_for,
    ground_for_case,
)
from cme_app.services.intake import referral_form as rf
from cme_app.services.intake import referrals
from cme_app.services.intake.referral_view import view_referral
from cme_app.services.notify import reminders
from cme_app.services.school_calendar.school_days import load_calendar
from cme_app.services.school_returns import views
from cme_app.settings import get_settings
from tests.factories import fresh, make_case, to_enquiries

TODAY = uk_today()
CHECKS = ("csws", "education_db", "health", "council_tax", "benefits", "home_office", "s2s_lpd")


def submit(session, team, today: date | None = None, **form) -> Case:
    sent = {**example_referral_form(today=today), **form}
    case = referrals.submit(session, actor=team["school"], form=sent, today=today)
    session.commit()
    return case


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def refused(session, team, **form) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as err:
        submit(session, team, **form)
    session.rollback()
    return errors_of(err)


def enquiries_exhausted(session, team, case: Case) -> None:
    """Every check the untraceable closure needs, and a home visit, recorded today."""
    for kind in CHECKS:
        records.log_enquiry(session, actor=team["officer"], reference=case.reference, form={
            "kind": kind, "done_on": TODAY.isoformat(), "method": "system",
            "contacted": "Records team", "result": "no_trace", "summary": "Checked."})
    records.record_visit(session, actor=team["officer"], reference=case.reference, form={
        "visited_on": TODAY.isoformat(), "address": "14 Example Street",
        "outcome": "no_reply_vacant", "child_seen": "no", "notes": "Post piled up."})
    session.commit()


def close(session, team, case: Case, outcome: str, evidence: dict,
          today: date = TODAY) -> CaseClosure:
    case = fresh(session, case)
    closure.close_case(session, actor=team["lead"], reference=case.reference, outcome=outcome,
                       evidence=evidence, version=case.version, today=today)
    session.commit()
    return session.exec(select(CaseClosure).where(CaseClosure.case_id == case.id,
                                                  CaseClosure.status == "closed")).one()


def absent_since(session, case: Case, days: int) -> None:
    referral = session.get(Referral, case.referral_id)
    referral.date_last_attended = TODAY - timedelta(days=days)
    referral.date_school_aware = TODAY - timedelta(days=days - 1)
    session.add(referral)
    session.commit()


def untraceable_ready(session, team, **form) -> Case:
    """A school's referral in Enquiries, with every enquiry made and 60 days' absence."""
    case = to_enquiries(session, team, submit(session, team, **form))
    enquiries_exhausted(session, team, case)
    absent_since(session, case, 60)
    return case


# ----- 1. The notice and the off-roll date only where a school referred a child on its roll


def test_rule_1_no_roll_to_delete_from_means_no_notice_and_no_off_roll_date(session, team):
    case = make_case(session, stage="enquiries", risk="green", officer_id=team["officer"].user_id,
                     source_type=SourceType.NEW_TO_COUNTRY)
    session.commit()
    enquiries_exhausted(session, team, case)
    assert deletion_ground_for(session, case, TODAY).applies is False

    stored = close(session, team, case, Outcome.UNTRACEABLE, {})

    assert not stored.school_notice
    assert fresh(session, case).outcome == Outcome.UNTRACEABLE


def test_rule_1_a_school_on_roll_referral_still_needs_the_agreed_off_roll_date(session, team):
    case = untraceable_ready(session, team)
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, Outcome.UNTRACEABLE, {})
    assert "off_roll_date" in errors_of(err)


# ----- 2. Ground H or I from the facts


def test_rule_2_not_returned_after_agreed_leave_names_ground_h(session, team):
    leave_ended = TODAY - timedelta(days=40)
    case = untraceable_ready(session, team, category="not_returned_after_leave",
                             leave_ends_on=leave_ended.isoformat())

    stored = close(session, team, case, Outcome.UNTRACEABLE,
                   {"off_roll_date": TODAY.isoformat()})

    assert "regulation 9(1)(h)" in stored.school_notice
    assert "(ground H)" in stored.school_notice
    assert "ground I" not in stored.school_notice


def test_rule_2_holiday_without_agreed_leave_dates_is_ground_i(session, team):
    case = untraceable_ready(session, team, category="not_returned_after_leave")
    stored = close(session, team, case, Outcome.UNTRACEABLE,
                   {"off_roll_date": TODAY.isoformat()})
    assert "regulation 9(1)(i)" in stored.school_notice


# ----- 3. No retrospective deletion


def test_rule_3_the_off_roll_date_may_not_be_in_the_past(session, team):
    case = untraceable_ready(session, team)
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, Outcome.UNTRACEABLE, {"off_roll_date": yesterday.isoformat()})
    assert "past" in errors_of(err)["off_roll_date"]


def test_rule_3_the_off_roll_date_may_not_come_before_the_ground_is_met(session, team):
    case = to_enquiries(session, team, submit(session, team))
    advice = deletion_ground_for(session, case, TODAY)
    assert advice.ground == "I" and advice.ground_met_on > TODAY
    too_soon = advice.ground_met_on - timedelta(days=1)
    assert "before" in check_off_roll_date(advice, too_soon, TODAY)
    assert check_off_roll_date(advice, advice.ground_met_on, TODAY) is None


# ----- 4. Ground I needs the school's confirmation of the codes


def test_rule_4_proposing_ground_i_needs_the_codes_confirmed(session, team):
    problems = refused(session, team, proposed_deletion_ground="I")
    assert "G, N or O" in problems["absence_codes_confirmed"]

    case = submit(session, team, proposed_deletion_ground="I", absence_codes_confirmed="yes")
    assert session.get(Referral, case.referral_id).absence_codes_confirmed is True


# ----- 5. The 20 school days are statutory


def test_rule_5_a_setting_below_20_school_days_is_refused(monkeypatch):
    monkeypatch.setenv("CME_UNTRACEABLE_SCHOOL_DAYS", "15")
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="at least 20"):
            get_settings()
        monkeypatch.setenv("CME_UNTRACEABLE_SCHOOL_DAYS", "25")
        get_settings.cache_clear()
        assert get_settings().untraceable_min_school_days == 25
    finally:
        monkeypatch.delenv("CME_UNTRACEABLE_SCHOOL_DAYS")
        get_settings.cache_clear()
    assert "CME_UNTRACEABLE_SCHOOL_DAYS" not in os.environ


# ----- 6. The ground the school may use after "left the UK" or another LA, and an open case


def test_rule_6_outcome_texts_name_the_ground_the_school_may_use(session, team):
    case = untraceable_ready(session, team)
    records.record_safeguarding(session, actor=team["officer"], reference=case.reference, form={
        "kind": "consultation", "agency": "csc", "contacted_on": TODAY.isoformat(),
        "contacted_by": "Sam", "contact_reference": "CSC-9"})
    session.commit()

    stored = close(session, team, case, Outcome.LEFT_UK_UNVERIFIED, {
        "reasons": "Neighbours saw them leave for the airport", "checks_done": "Home Office"})

    assert "ground I" in closure.OUTCOMES[Outcome.LEFT_UK_UNVERIFIED].school_text
    assert "ground G" in closure.OUTCOMES[Outcome.TRANSFERRED_OTHER_LA].school_text
    assert "regulation 9(1)(i)" in stored.school_notice
    seen = view_referral(session, actor=team["school"], reference=case.reference)
    assert "regulation 9(1)(i)" in seen.school_notice


def test_rule_6_the_notice_can_be_worked_out_while_the_case_stays_open(session, team):
    case = untraceable_ready(session, team)
    advice = deletion_ground_for(session, case, TODAY)
    assert advice.applies and advice.ground == "I" and advice.met
    moved = deletion_ground_for(session, case, TODAY, moved_beyond_reasonable_distance=True)
    assert moved.ground == "G"
    assert "reasonable distance" in moved.reason_words
    assert fresh(session, case).stage == "enquiries"

    # Staff read it through the audited entry point; a school can't.
    read = ground_for_case(session, actor=team["officer"], reference=case.reference, today=TODAY)
    assert read == advice
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.ground_advice")).one().actor_id == team["officer"].user_id
    with pytest.raises(NotAllowed):
        ground_for_case(session, actor=team["school"], reference=case.reference)


# ----- 7. Social care: Red only when current


def test_rule_7_past_social_care_involvement_is_amber_not_red(session, team):
    case = submit(session, team, known_to_csc="past")
    assert case.proposed_risk == "amber"
    assert "child_in_need" not in case.risk_factors

    current = submit(session, team, known_to_csc="current", first_name="Bea",
                     social_worker_told="yes", social_worker_told_on=TODAY.isoformat())
    assert current.proposed_risk == "red"


# ----- 8. A child open to social care: the social worker (and virtual school) told


def test_rule_8_open_to_social_care_asks_whether_the_social_worker_was_told(session, team):
    problems = refused(session, team, cp_plan="yes", looked_after="yes")
    assert "social_worker_told" in problems
    assert "virtual_school_told" in problems
    assert "mash_referred_on" not in problems  # the Front Door is for new concerns

    case = submit(session, team, cp_plan="yes", looked_after="yes", social_worker_told="yes",
                  social_worker_told_on=TODAY.isoformat(), virtual_school_told="yes",
                  virtual_school_told_on=TODAY.isoformat())
    dsl = session.exec(select(DslAppraisal).where(
        DslAppraisal.referral_id == case.referral_id)).one()
    assert (dsl.social_worker_told, dsl.social_worker_told_on) == ("yes", TODAY)
    assert dsl.virtual_school_told == "yes"


# ----- 9. Never started: the expected start date, and the ground I clock from it


def test_rule_9_never_started_asks_for_the_expected_start_date(session, team):
    problems = refused(session, team, on_roll_status="never_started", date_last_attended="")
    assert "expected_start_date" in problems
    assert "date_last_attended" not in problems

    start = TODAY - timedelta(days=10)
    case = submit(session, team, on_roll_status="never_started", date_last_attended="",
                  expected_start_date=start.isoformat(), date_school_aware=start.isoformat())
    referral = session.get(Referral, case.referral_id)
    assert referral.expected_start_date == start and referral.date_last_attended is None
    calendar = load_calendar(session)
    # The start day itself is the first day missed.
    twentieth = calendar.nth_school_day_of_absence(start - timedelta(days=1), 20)
    assert deletion_ground_for(session, case, TODAY).ground_met_on == twentieth + timedelta(1)


# ----- 10. Already removed from the roll: the date and ground; H or I flagged


def test_rule_10_already_deleted_needs_date_and_ground_and_h_or_i_is_flagged(session, team):
    problems = refused(session, team, on_roll_status="deleted")
    assert {"roll_deleted_on", "roll_deletion_ground"} <= set(problems)

    case = submit(session, team, on_roll_status="deleted", roll_deletion_ground="I",
                  roll_deleted_on=(TODAY - timedelta(days=2)).isoformat(),
                  absence_codes_confirmed="yes")

    flagged = session.exec(select(DeletionReturn).where(
        DeletionReturn.case_id == case.id)).one()
    assert flagged.possible_off_rolling and flagged.ground == "I"
    listed = views.off_rolling_list(session, actor=team["lead"])
    assert [row.case_reference for row in listed] == [case.reference]
    told = session.exec(select(Notification).where(
        Notification.event == NotifyEvent.POSSIBLE_OFF_ROLLING)).all()
    assert {n.recipient_id for n in told} == {team["lead"].user_id}
    # Off the roll already: no roll to delete from, so no exhausted-enquiries notice (rule 1).
    assert deletion_ground_for(session, case, TODAY).applies is False


# ----- 11. Completed school days only


def test_rule_11_today_is_not_a_completed_school_day(session, team):
    calendar = load_calendar(session)
    today = date(2026, 11, 25)  # a Wednesday in term
    last = today - timedelta(days=1)
    while calendar.school_days_between(last, today) < 20:
        last -= timedelta(days=1)
    case = to_enquiries(session, team, submit(session, team))
    referral = session.get(Referral, case.referral_id)
    referral.date_last_attended = last
    session.add(referral)
    session.commit()

    said = closure.closure_blockers(session, case=case, outcome=Outcome.UNTRACEABLE, today=today)

    assert any("so far 19" in line for line in said), said


# ----- 12. Untraceable: still CME, whereabouts unknown, reviewed and re-checked


def test_rule_12_untraceable_child_stays_cme_with_a_recheck_on_the_officers_list(session, team):
    case = untraceable_ready(session, team)
    close(session, team, case, Outcome.UNTRACEABLE, {"off_roll_date": TODAY.isoformat()})

    episode = session.exec(select(CmeEpisode).where(CmeEpisode.child_id == case.child_id)).one()
    assert episode.end_date is None and episode.whereabouts_unknown
    assert episode.review_on == TODAY + timedelta(days=get_settings().untraceable_review_days)
    assert reminders.scan_untraceable_rechecks(session, today=episode.review_on) == 1
    item = session.exec(select(Notification).where(
        Notification.recipient_id == team["officer"].user_id,
        Notification.reference == case.reference).order_by(Notification.id)).all()[-1]
    assert "Lost Pupils Database" in item.body and "social care" in item.body


# ----- 13. Other suitable education: registration or an LA assessment


def test_rule_13_other_suitable_education_needs_registration_or_assessment(session, team):
    case = to_enquiries(session, team, submit(session, team))
    named_only = {"provider": "Leeds AP", "confirmed_on": TODAY.isoformat()}
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, Outcome.OTHER_SUITABLE_EDUCATION, named_only)
    assert "provider_registration" in errors_of(err)
    session.rollback()
    with pytest.raises(ValidationFailed) as err:
        close(session, team, case, Outcome.OTHER_SUITABLE_EDUCATION,
              named_only | {"provider_registration": "Leeds 12"})
    assert "NNN/NNNN" in errors_of(err)["provider_registration"]
    session.rollback()

    close(session, team, case, Outcome.OTHER_SUITABLE_EDUCATION,
          named_only | {"provider_registration": "383/6001"})
    assert fresh(session, case).outcome == Outcome.OTHER_SUITABLE_EDUCATION


def test_rule_13_an_la_suitability_assessment_is_enough(session, team):
    case = to_enquiries(session, team, submit(session, team))
    close(session, team, case, Outcome.OTHER_SUITABLE_EDUCATION, {
        "provider": "EOTAS package", "confirmed_on": TODAY.isoformat(),
        "assessed_on": TODAY.isoformat(), "assessed_by": "Alex Adviser, EOTAS team"})
    assert fresh(session, case).outcome == Outcome.OTHER_SUITABLE_EDUCATION


# ----- 14. Reported missing to police


def test_rule_14_reported_missing_to_police_is_recorded_shown_and_audited(session, team):
    case = to_enquiries(session, team, submit(session, team))
    records.record_police_report(session, actor=team["officer"], reference=case.reference,
                                 form={"reported": "yes", "reported_on": TODAY.isoformat(),
                                       "police_reference": "WY-2026-1234"},
                                 version=fresh(session, case).version)
    session.commit()

    stored = fresh(session, case)
    assert (stored.reported_missing_to_police, stored.police_reported_on,
            stored.police_reference) == (True, TODAY, "WY-2026-1234")
    view = case_file.view_case(session, actor=team["lead"], reference=case.reference)
    assert view.police_report == f"Reported missing to police on {TODAY.day} " \
        f"{TODAY:%B %Y} (reference WY-2026-1234)"
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "case.police_report")).one()
    assert event.actor_id == team["officer"].user_id

    with pytest.raises(ValidationFailed) as err:
        records.record_police_report(session, actor=team["officer"], reference=case.reference,
                                     form={"reported": "yes", "reported_on": ""},
                                     version=stored.version)
    assert "reported_on" in errors_of(err)


# ----- 15. The README says the duty as the law does


def test_rule_15_the_readme_states_the_duty_as_section_436a_does():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "find every child" not in readme
    assert "so far as it is possible to do so" in readme
    assert "s436A" in readme or "section 436A" in readme


def test_the_form_knows_the_new_fields():
    for name in ("absence_codes_confirmed", "expected_start_date", "leave_ends_on",
                 "roll_deleted_on", "roll_deletion_ground", "social_worker_told",
                 "social_worker_told_on", "virtual_school_told", "virtual_school_told_on"):
        assert name in rf.SCALAR_FIELDS, name
