"""The school referral rules, on a real database (SQLite, or PostgreSQL with CME_TEST_DB_URL)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import (
    Address,
    AuditEvent,
    Case,
    Child,
    DslAppraisal,
    Person,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    StageChange,
)
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referral_form as rf
from cme_app.services.intake import referral_view, referrals
from tests.factories import make_user, two_schools

TODAY = date(2026, 11, 27)


def errors_for(form: dict, today: date = TODAY) -> dict[str, str]:
    return {e.field: e.message for e in rf.validate(rf.clean_form_data(form), today=today)}


def complete(**changes) -> dict[str, str]:
    form = example_referral_form(today=TODAY)
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# ---- the complete referral (SC-01) --------------------------------------------------------


def test_complete_referral_has_no_errors():
    assert errors_for(complete()) == {}


def test_submit_creates_case_in_new_referral_with_every_record(session):
    school_a, _ = two_schools(session)
    case = referrals.submit(session, actor=school_a, form=complete(), today=TODAY)
    session.commit()

    assert re.fullmatch(r"CME-\d{4}-\d{5}", case.reference)
    assert case.stage == "new_referral"
    referral = session.get(Referral, case.referral_id)
    assert referral.status == "submitted" and referral.submitted_at is not None
    assert referral.school_id == school_a.school_id and not referral.late
    child = session.get(Child, case.child_id)
    assert (child.first_name, child.last_name, child.upn) == ("Amira", "Test", "A383200012401")
    assert child.date_of_birth == date(2014, 3, 2)
    addresses = session.exec(select(Address).where(Address.child_id == child.id)).all()
    assert [(a.kind, a.postcode) for a in addresses] == [("last_known", "LS2 8BU")]
    people = session.exec(select(Person).where(Person.child_id == child.id)).all()
    assert [(p.full_name, p.lives_with_child) for p in people] == [("Layla Test", True)]
    enquiries = session.exec(
        select(ReferralEnquiry).where(ReferralEnquiry.referral_id == referral.id)
    ).all()
    logged = {e.kind for e in enquiries if e.made_on}
    waived = {e.kind: e.not_possible_reason for e in enquiries if not e.made_on}
    assert "home_visit" in logged and len(logged) == 6
    assert waived == {
        "sibling_schools": "No siblings at other schools",
        "agencies": "No agencies known to be involved",
    }
    assert referral.concerns_none_known and count(session, ReferralConcern) == 0
    dsl = session.exec(select(DslAppraisal).where(DslAppraisal.referral_id == referral.id)).one()
    assert dsl.known_to_csc == "no" and dsl.dsl_name == "Dee Safeguarding"
    moves = session.exec(select(StageChange).where(StageChange.case_id == case.id)).all()
    assert [(m.from_stage, m.to_stage) for m in moves] == [(None, "new_referral")]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "referral.submitted")).one()
    assert event.entity_id == case.reference and event.child_id == child.id
    assert event.actor_id == school_a.user_id and event.actor_role == "school"


def test_case_references_are_sequential_per_year(session):
    school_a, _ = two_schools(session)
    refs = [
        referrals.submit(session, actor=school_a, form=complete(), today=TODAY).reference
        for _ in range(3)
    ]
    year = refs[0][4:8]
    assert refs == [f"CME-{year}-00001", f"CME-{year}-00002", f"CME-{year}-00003"]


def test_concerns_are_stored(session):
    school_a, _ = two_schools(session)
    form = complete(
        **{
            "concern-none_known": None,
            "concern-fgm": "on",
            "concern-cse": "on",
            "concerns_narrative": "Older sister was taken abroad last summer.",
        }
    )
    case = referrals.submit(session, actor=school_a, form=form, today=TODAY)
    stored = session.exec(
        select(ReferralConcern.concern).where(ReferralConcern.referral_id == case.referral_id)
    ).all()
    assert sorted(stored) == ["cse", "fgm"]


# ---- required fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("referrer_name", "Enter your name"),
        ("referrer_job_title", "Enter your job title"),
        ("referrer_phone", "Enter a phone number the CME team can call you on"),
        ("referrer_email", "Enter your email address"),
        ("first_name", "Enter the child's first name"),
        ("last_name", "Enter the child's last name"),
        ("date_of_birth", "Enter the child's date of birth"),
        ("sex", "Select the child's sex"),
        ("sen_status", "Select the child's special educational needs status"),
        ("home_line1", "Enter the first line of the child's home address"),
        ("home_postcode", "Enter the postcode of the child's home address"),
        ("on_roll_status", "Select whether the child is on your roll"),
        ("category", "Select why you are referring the child"),
        ("date_last_attended", "Enter the date the child last attended"),
        ("date_school_aware", "Enter the date the school became aware the child was missing"),
        ("dsl_name", "Enter the name of the designated safeguarding lead"),
        ("known_to_csc", "Select whether the child is known to children's social care"),
        ("cp_plan", "Select whether the child has a child protection plan"),
        ("child_in_need", "Select whether the child is a child in need"),
        ("looked_after", "Select whether the child is looked after"),
        ("significant_harm", "Select whether you suspect significant harm"),
        ("dsl_appraisal", "Enter the designated safeguarding lead's appraisal of the risk"),
    ],
)
def test_each_required_field_has_its_own_message(field, message):
    assert errors_for(complete(**{field: ""})) == {field: message}


def test_errors_come_in_form_order_and_link_to_field_ids():
    errors = rf.validate(rf.clean_form_data({}), today=TODAY)
    fields = [e.field for e in errors]
    assert fields[:3] == ["referrer_name", "referrer_job_title", "referrer_phone"]
    assert fields.index("first_name") < fields.index("home_line1") < fields.index("category")
    assert fields.index("category") < fields.index("reason-home_visit") < fields.index("dsl_name")


# ---- UPN (python-stdnum) -------------------------------------------------------------------


def test_upn_with_wrong_check_letter_is_refused():
    assert errors_for(complete(upn="B383200012401")) == {
        "upn": "UPN check letter invalid. Check the UPN in your school's records"
    }


def test_upn_of_wrong_length_is_refused():
    assert errors_for(complete(upn="A38320001240"))["upn"].startswith("UPN must be 13 characters")


@pytest.mark.parametrize("upn", ["N380123456789", "M80120000500A", "a383 2000 12401"])
def test_valid_and_temporary_upns_are_accepted(upn):
    assert errors_for(complete(upn=upn)) == {}


def test_upn_required_only_when_child_is_or_was_on_roll():
    assert "upn" in errors_for(complete(upn="", on_roll_status="on_roll"))
    assert "upn" in errors_for(complete(upn="", on_roll_status="deleted"))
    never_started = complete(upn="", on_roll_status="never_started", date_last_attended="",
                             expected_start_date="2026-11-02")
    assert errors_for(never_started) == {}


# ---- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("date_of_birth", "Child's date of birth"),
        ("date_last_attended", "Date the child last attended"),
        ("date_school_aware", "Date the school became aware the child was missing"),
        ("mash_referred_on", "Date concerns were referred to the Front Door"),
    ],
)
def test_future_dates_are_refused(field, label):
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    errors = errors_for(complete(**{field: tomorrow}))
    assert errors[field] == f"{label} must be today or in the past"


def test_future_enquiry_date_is_refused():
    errors = errors_for(complete(**{"enquiry-e0-made_on": "2026-12-25"}))
    assert errors == {"enquiry-e0-made_on": "Date of the enquiry must be today or in the past"}


def test_impossible_date_is_refused():
    assert errors_for(complete(date_of_birth="2014-02-30")) == {
        "date_of_birth": "Child's date of birth must be a real date"
    }


def test_school_cannot_become_aware_before_last_attendance():
    errors = errors_for(complete(date_last_attended="2026-11-20", date_school_aware="2026-11-10"))
    assert errors == {
        "date_school_aware": (
            "Date school became aware must be the same as or after the date last attended"
        )
    }


@pytest.mark.parametrize(
    ("dob", "start", "end"),
    [
        # 5th birthday 2 Mar 2019 -> from 31 Mar 2019; turns 16 on 2 Mar 2030 -> 28 Jun 2030
        (date(2014, 3, 2), date(2019, 3, 31), date(2030, 6, 28)),
        # Born 1 Sep: turns 16 on 1 Sep 2026, so the school year ends June 2027
        (date(2010, 9, 1), date(2015, 12, 31), date(2027, 6, 25)),
        # Born 31 Aug: CSA starts that very day; leaves in June 2026 aged 15
        (date(2010, 8, 31), date(2015, 8, 31), date(2026, 6, 26)),
    ],
)
def test_compulsory_school_age_span(dob, start, end):
    assert rf.compulsory_school_age(dob) == (start, end)


def test_date_of_birth_outside_compulsory_school_age_is_flagged():
    too_young = complete(date_of_birth="2022-06-01")
    assert "not of compulsory school age" in errors_for(too_young)["date_of_birth"]
    too_old = complete(date_of_birth="2008-01-10")
    assert "not of compulsory school age" in errors_for(too_old)["date_of_birth"]


def test_confirmed_out_of_age_referral_is_accepted_and_flagged(session):
    school_a, _ = two_schools(session)
    form = complete(date_of_birth="2008-01-10", dob_confirmed="on")
    case = referrals.submit(session, actor=school_a, form=form, today=TODAY)
    assert session.get(Referral, case.referral_id).outside_csa is True


# ---- minimum enquiries (BR-S4) ---------------------------------------------------------------


def _without_enquiry(form: dict, kind: str) -> dict:
    rid = next(k.split("-")[1] for k, v in form.items() if k.endswith("-kind") and v == kind)
    return {k: v for k, v in form.items() if not k.startswith(f"enquiry-{rid}-")}


@pytest.mark.parametrize(
    "kind",
    [
        "first_day_call",
        "emergency_contacts",
        "letter",
        "siblings_friends",
        "home_visit",
        "social_media",
    ],
)
def test_each_minimum_enquiry_is_required_unless_a_reason_is_given(kind):
    form = _without_enquiry(complete(), kind)
    message = next(k.missing_message for k in rf.ENQUIRY_KINDS if k.code == kind)
    assert errors_for(form) == {f"reason-{kind}": message}
    assert errors_for({**form, f"reason-{kind}": "Family has no phone"}) == {}


@pytest.mark.parametrize("kind", ["sibling_schools", "agencies"])
def test_conditional_enquiries_need_a_row_or_a_reason(kind):
    assert f"reason-{kind}" in errors_for(complete(**{f"reason-{kind}": ""}))


def test_other_la_enquiry_required_when_family_believed_moved_out_of_area():
    assert errors_for(complete(category="moved_out_of_area")) == {
        "reason-other_la": next(k.missing_message for k in rf.ENQUIRY_KINDS if k.code == "other_la")
    }
    assert "reason-other_la" not in errors_for(complete(category="whereabouts_unknown"))


def test_sc02_no_home_visit_and_bad_upn_gives_both_errors():
    form = _without_enquiry(complete(upn="B383200012401"), "home_visit")
    errors = errors_for(form)
    assert errors["upn"].startswith("UPN check letter invalid")
    assert errors["reason-home_visit"] == (
        "Record the outcome of at least one home visit (or give a reason a visit was not possible)"
    )
    assert len(errors) == 2


def test_enquiry_row_needs_date_who_how_and_result():
    form = complete(
        **{
            "enquiry-x1-kind": "other",
            "enquiry-x1-made_on": "",
            "enquiry-x1-contacted": "",
            "enquiry-x1-method": "",
            "enquiry-x1-result": "Asked the mosque",
        }
    )
    assert errors_for(form) == {
        "enquiry-x1-made_on": "Enter the date of the enquiry",
        "enquiry-x1-contacted": "Enter who was contacted",
        "enquiry-x1-method": "Select how they were contacted",
    }


# ---- people, addresses, concerns, DSL ----------------------------------------------------------


def test_at_least_one_parent_or_carer_is_required():
    form = {k: v for k, v in complete().items() if not k.startswith("person-")}
    assert errors_for(form) == {"add-person": "Add at least one parent or carer"}


def test_resident_parent_needs_a_phone_number():
    assert errors_for(complete(**{"person-p1-phone": ""})) == {
        "person-p1-phone": "Enter a phone number for each parent or carer the child lives with"
    }


def test_postcode_and_emails_are_checked():
    errors = errors_for(
        complete(home_postcode="LS2", referrer_email="nope", **{"person-p1-email": "x@"})
    )
    assert set(errors) == {"home_postcode", "referrer_email", "person-p1-email"}


def test_other_address_needs_type_and_first_line():
    errors = errors_for(complete(**{"address-a1-town": "Bradford"}))
    assert errors == {
        "address-a1-kind": "Select the type of the other address",
        "address-a1-line1": "Enter the first line of the other address",
    }


def test_concerns_none_selected_both_selected_and_missing_narrative():
    assert errors_for(complete(**{"concern-none_known": None})) == {
        "concern-safeguarding": "Select the specific concerns, or 'None known'"
    }
    assert errors_for(complete(**{"concern-fgm": "on"}))["concern-safeguarding"] == (
        "Select 'None known' or specific concerns, not both"
    )
    assert errors_for(complete(**{"concern-none_known": None, "concern-health": "on"})) == {
        "concerns_narrative": "Describe the concerns you have selected"
    }


def test_suspected_significant_harm_needs_a_front_door_referral_date():
    """The Front Door is for new concerns: a child not open to social care."""
    errors = errors_for(complete(significant_harm="yes"))
    assert list(errors) == ["mash_referred_on"]
    assert errors_for(complete(significant_harm="yes", mash_referred_on="2026-11-20")) == {}


@pytest.mark.parametrize("flag", ["cp_plan", "child_in_need", "looked_after"])
def test_children_open_to_social_care_say_whether_their_social_worker_was_told(flag):
    """Issue 17 rule 8 (this test asked for a Front Door referral date before)."""
    errors = errors_for(complete(**{flag: "yes"}))
    assert "social_worker_told" in errors and "mash_referred_on" not in errors
    told = {flag: "yes", "social_worker_told": "yes", "social_worker_told_on": "2026-11-20"}
    if flag == "looked_after":
        told |= {"virtual_school_told": "no"}
    assert errors_for(complete(**told)) == {}


# ---- nothing is written on failure ------------------------------------------------------------


def test_failed_submit_writes_nothing(session):
    school_a, _ = two_schools(session)
    session.commit()
    before = {m: count(session, m) for m in (Referral, Case, Child, Person, AuditEvent)}
    with pytest.raises(ValidationFailed) as exc:
        referrals.submit(session, actor=school_a, form=complete(upn="B383200012401"), today=TODAY)
    session.rollback()
    assert [e.field for e in exc.value.errors] == ["upn"]
    assert {m: count(session, m) for m in before} == before


def test_unknown_fields_are_dropped_and_values_bounded():
    cleaned = rf.clean_form_data(
        {
            "first_name": "  Amira  ",
            "is_admin": "yes",
            "enquiry-zz-evil": "x",
            "last_name": "x" * 10_000,
            "person-p1-full_name": ["not", "a", "string"],
            "concern-fgm": True,
            "concern-cse": False,
        }
    )
    assert cleaned == {
        "first_name": "Amira",
        "last_name": "x" * rf.MAX_VALUE_LENGTH,
        "concern-fgm": "on",
    }
    assert rf.clean_form_data("not a dict") == {}


# ---- late flag (BR-S1, SC-03) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("aware_days_ago", "late"), [(35, True), (29, True), (28, False), (0, False)]
)
def test_late_flag_after_four_weeks(session, aware_days_ago, late):
    school_a, _ = two_schools(session)
    form = example_referral_form(today=TODAY, aware_days_ago=aware_days_ago)
    case = referrals.submit(session, actor=school_a, form=form, today=TODAY)
    assert session.get(Referral, case.referral_id).late is late
    rows = referral_view.list_for_school(session, actor=school_a)
    assert rows[0].late is late
    view = referral_view.view_referral(session, actor=school_a, reference=case.reference)
    assert view.late is late


# ---- drafts ------------------------------------------------------------------------------------


def test_draft_is_saved_and_only_its_school_can_resume_it(session):
    school_a, school_b = two_schools(session)
    draft = referrals.save_draft(session, actor=school_a, form={"first_name": "Half"})
    session.commit()
    assert referrals.open_draft(session, actor=school_a, public_id=draft.public_id) == {
        "first_name": "Half"
    }
    with pytest.raises(NotFound):
        referrals.open_draft(session, actor=school_b, public_id=draft.public_id)
    with pytest.raises(NotFound):
        referrals.save_draft(
            session, actor=school_b, form={"first_name": "Hijack"}, public_id=draft.public_id
        )
    refused = session.exec(
        select(AuditEvent).where(
            AuditEvent.outcome == "not_found", AuditEvent.actor_id == school_b.user_id
        )
    ).all()
    assert len(refused) == 2
    assert session.get(Referral, draft.id).form_data == {"first_name": "Half"}


def test_staff_cannot_draft_or_submit_school_referrals(session):
    two_schools(session)
    officer = make_user(session, "officer")
    with pytest.raises(NotAllowed):
        referrals.save_draft(session, actor=officer, form={"first_name": "X"})
    with pytest.raises(NotAllowed):
        referrals.submit(session, actor=officer, form=complete(), today=TODAY)
    with pytest.raises(NotAllowed):
        referral_view.list_for_school(session, actor=None)


def test_submitting_a_draft_turns_it_into_the_referral(session):
    school_a, _ = two_schools(session)
    draft = referrals.save_draft(session, actor=school_a, form={"first_name": "Amira"})
    case = referrals.submit(
        session, actor=school_a, form=complete(), public_id=draft.public_id, today=TODAY
    )
    assert case.referral_id == draft.id
    assert count(session, Referral) == 1
    with pytest.raises(NotFound):  # a submitted referral is no longer an editable draft
        referrals.open_draft(session, actor=school_a, public_id=draft.public_id)


def test_list_shows_drafts_and_only_own_school(session):
    school_a, school_b = two_schools(session)
    referrals.save_draft(session, actor=school_a, form={"first_name": "Dina", "last_name": "Draft"})
    referrals.submit(session, actor=school_a, form=complete(), today=TODAY)
    rows = referral_view.list_for_school(session, actor=school_a)
    assert sorted((r.child_name, r.status, r.is_draft) for r in rows) == [
        ("Amira Test", "Received", False),
        ("Dina Draft", "Draft – not sent", True),
    ]
    assert referral_view.list_for_school(session, actor=school_b) == []


# ---- isolation (SC-04) -------------------------------------------------------------------------


def test_other_school_gets_not_found_and_the_attempt_is_audited(session):
    school_a, school_b = two_schools(session)
    case = referrals.submit(session, actor=school_a, form=complete(), today=TODAY)
    view = referral_view.view_referral(session, actor=school_a, reference=case.reference)
    assert view.child_name == "Amira Test" and view.status == "Received"
    with pytest.raises(NotFound):
        referral_view.view_referral(session, actor=school_b, reference=case.reference)
    attempt = session.exec(
        select(AuditEvent).where(
            AuditEvent.actor_id == school_b.user_id, AuditEvent.action == "referral.view"
        )
    ).one()
    assert attempt.outcome == "not_found" and attempt.entity_id == case.reference


def test_staff_can_view_any_referral_and_it_is_audited(session):
    school_a, _ = two_schools(session)
    officer = make_user(session, "officer")
    case = referrals.submit(session, actor=school_a, form=complete(), today=TODAY)
    view = referral_view.view_referral(session, actor=officer, reference=case.reference.lower())
    assert view.reference == case.reference
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.actor_id == officer.user_id, AuditEvent.action == "referral.view"
        )
    ).all()
    assert [(e.outcome, e.child_id) for e in events] == [("ok", case.child_id)]


def test_refused_attempts_stay_audited_through_the_unit_of_work(session):
    from cme_app.db import session_scope

    school_a, school_b = two_schools(session)
    case = referrals.submit(session, actor=school_a, form=complete(), today=TODAY)
    session.commit()
    with pytest.raises(NotFound), session_scope() as s:
        referral_view.view_referral(s, actor=school_b, reference=case.reference)
    with pytest.raises(ValidationFailed), session_scope() as s:
        referrals.submit(s, actor=school_b, form=complete(upn="B383200012401"), today=TODAY)
    session.expire_all()
    refused = session.exec(select(AuditEvent).where(AuditEvent.actor_id == school_b.user_id)).all()
    assert [(e.action, e.outcome) for e in refused] == [("referral.view", "not_found")]
    assert count(session, Referral) == 1


def test_the_school_sees_its_referrals_history_in_words_with_what_happens_next(session):
    """Issue 20: each status once, in the school's words, with the next step; the team's
    reason for sending it back stays in the request, not in the history."""
    from cme_app.services.casework import lifecycle

    school, _other = two_schools(session)
    lead = make_user(session, "lead")
    case = referrals.submit(session, actor=school, form=example_referral_form())
    lifecycle.return_to_referrer(session, actor=lead, reference=case.reference,
                                 note="Please add the home visit", version=case.version)
    view = referral_view.view_referral(session, actor=school, reference=case.reference)
    assert [row[1] for row in view.history] == ["Received", "More information needed"]
    assert all(row[0] and row[2] for row in view.history)
    assert "resubmit" in view.history[-1][2]
    assert "Please add the home visit" not in str(view.history)
    for words in set(referral_view.SCHOOL_STATUS.values()):
        assert referral_view.NEXT_STEPS[words]
