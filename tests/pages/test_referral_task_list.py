"""The referral form as a GOV.UK task list (issue 20): each section's status, the enquiry
answers mapped onto the fields the service reads, the date input's boxes, and the pages'
handlers against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app import dates
from cme_app.models import Referral
from cme_app.ops.demo import example_referral_form
from cme_app.pages.intake import referral_answers as ra
from cme_app.pages.intake import referral_tasks as rt
from cme_app.pages.intake.referral_form import ReferralFormState
from cme_app.services.casework import lifecycle
from cme_app.services.intake import referral_form as rf
from cme_app.services.intake import referrals
from tests.factories import call_handler, make_user, session_token, state_for, two_schools

TODAY = date.today()
A_EMAIL = "school.107999@example.org"


# ----- statuses -----------------------------------------------------------------------------


def test_an_empty_referral_has_every_section_not_started():
    statuses = rt.statuses({"referrer_email": "a@school.example.org"}, today=TODAY)
    assert set(statuses.values()) == {rt.NOT_STARTED}
    assert list(statuses) == [s.key for s in rt.SECTIONS]
    assert len(statuses) == 8


def test_a_complete_referral_has_every_section_completed():
    statuses = rt.statuses(example_referral_form(), today=TODAY)
    assert set(statuses.values()) == {rt.COMPLETED}


def test_a_section_with_answers_the_rules_refuse_is_in_progress_the_others_keep_theirs():
    form = example_referral_form() | {"upn": "B383200012401", "home_postcode": ""}
    del form["person-p1-phone"]
    statuses = rt.statuses(form, today=TODAY)
    assert statuses["child"] == rt.IN_PROGRESS  # the UPN's check letter
    assert statuses["addresses"] == rt.IN_PROGRESS  # no postcode
    assert statuses["people"] == rt.IN_PROGRESS  # a parent the child lives with, no phone
    assert statuses["about-you"] == statuses["concerns"] == rt.COMPLETED


def test_only_the_first_name_typed_makes_the_child_in_progress_and_nothing_else_started():
    statuses = rt.statuses({"first_name": "Amira"}, today=TODAY)
    assert statuses["child"] == rt.IN_PROGRESS
    assert [k for k, v in statuses.items() if v != rt.NOT_STARTED] == ["child"]


def test_errors_go_to_the_page_of_their_field():
    # The service checks the on-roll answer with the child; the question is on the absence page.
    assert rt.section_of("on_roll_status") == "absence"
    assert rt.section_of("add-person") == "people"
    assert rt.section_of("person-ab12-phone") == "people"
    assert rt.page_of("reason-home_visit") == rt.REASONS
    assert rt.page_of("enquiry-homevisit-made_on") == rt.DETAILS
    fields = [e.field for e in rf.validate({}, today=TODAY)]
    assert all(rt.page_of(f) for f in fields), [f for f in fields if not rt.page_of(f)]


# ----- the enquiries: which checks, then the details --------------------------------------


def test_ticking_checks_makes_one_row_each_and_clears_their_reasons():
    form = {"reason-home_visit": "No address", "category": "whereabouts_unknown"}
    changes = rt.apply_done_checks(form, {"home_visit", "letter"})
    assert changes == {"enquiry-homevisit-kind": "home_visit", "enquiry-letter-kind": "letter",
                       "reason-home_visit": ""}
    form |= changes
    assert rt.done_checks(form) == ["letter", "home_visit"]
    assert rt.check_rows(form) == [["letter", rf.ENQUIRY_LABELS["letter"]],
                                   ["homevisit", "Home visit"]]
    # Asking again finds the same rows: nothing new.
    assert rt.apply_done_checks(form, {"home_visit", "letter"}) == {}


def test_why_not_is_asked_only_for_the_minimum_checks_not_done():
    form = rt.apply_done_checks({}, {"home_visit"})
    needed = [code for code, _ in rt.reasons_needed(form)]
    assert "home_visit" not in needed and "other_la" not in needed
    assert needed == [k.code for k in rf.ENQUIRY_KINDS if k.required and k.code != "home_visit"]
    moved = rt.reasons_needed({"category": "moved_out_of_area"})
    assert "other_la" in [code for code, _ in moved]


def test_unticking_a_check_empties_its_row_so_the_service_asks_for_a_reason_again():
    form = example_referral_form()
    done = set(rt.done_checks(form)) - {"home_visit"}
    form |= rt.apply_done_checks(form, done)
    assert "home_visit" not in rt.done_checks(form)
    errors = {e.field: e.message for e in rf.validate(form, today=TODAY)}
    assert errors == {"reason-home_visit": rf.ENQUIRY_KINDS[6].missing_message}


def test_the_mapped_answers_pass_the_service_rules_unchanged():
    """Ticked checks with details, reasons for the others: the same fields the service reads."""
    base = {k: v for k, v in example_referral_form().items() if not k.startswith("enquiry-")}
    done = {"first_day_call", "home_visit"}
    form = base | rt.apply_done_checks(base, done)
    for rid, _label in rt.check_rows(form):
        form |= {f"enquiry-{rid}-made_on": form["date_school_aware"],
                 f"enquiry-{rid}-contacted": "Mother", f"enquiry-{rid}-method": "phone",
                 f"enquiry-{rid}-result": "No answer"}
    for code, _label in rt.reasons_needed(form):
        form[f"reason-{code}"] = "Not possible"
    assert rf.validate(form, today=TODAY) == []
    assert rt.statuses(form, today=TODAY)["enquiries"] == rt.COMPLETED


# ----- dates and a page's changes ---------------------------------------------------------


@pytest.mark.parametrize(("parts", "stored"), [
    (("2", "3", "2014"), "2014-03-02"),
    (("", "", ""), ""),
    (("31", "2", "2015"), "2015-02-31"),  # the service says it must be a real date
    (("x", "3", "2014"), "2014-3-x"),
])
def test_the_three_date_boxes_join_as_the_service_reads_a_date(parts, stored):
    assert dates.join_date(*parts) == stored
    if stored == "2015-02-31":
        assert rf.parse_date(stored) is None


def test_a_stored_date_splits_back_into_its_boxes():
    assert dates.split_date("2014-03-02") == {"day": "2", "month": "3", "year": "2014"}
    drawn = rt.with_date_parts({"date_of_birth": "2014-03-02", "person-p1-date_of_birth": ""})
    assert drawn["date_of_birth-year"] == "2014" and drawn["person-p1-date_of_birth-day"] == ""


def test_a_page_sends_only_its_own_fields_and_unticked_boxes_as_empty():
    sent = {"first_name": "Amira", "date_of_birth-day": "2", "date_of_birth-month": "3",
            "date_of_birth-year": "2014", "home_line1": "not on this page", "draft_id": "x"}
    changes = rt.page_changes("child", sent, {})
    assert changes["first_name"] == "Amira" and changes["date_of_birth"] == "2014-03-02"
    assert "home_line1" not in changes and "draft_id" not in changes
    assert changes["interpreter_needed"] == "" and changes["traveller_family"] == ""
    people = rt.page_changes("people", {"person-ab-full_name": "Layla"}, {"person": ["ab"]})
    assert people["person-ab-lives_with_child"] == ""


def test_check_your_answers_reads_in_words_and_links_each_answer_to_its_page():
    rows = ra.answers(example_referral_form())
    by_question = {r[1]: r for r in rows}
    assert by_question["Date of birth"][2] == "2 March 2014"
    assert by_question["Sex"][2] == "Female"
    assert by_question["Home visit"][3] == "enquiry-details&check=e4"
    assert by_question["Date of birth"][3:] == ["child", "date_of_birth"]
    assert {r[0] for r in rows} == {s.key for s in rt.SECTIONS}


# ----- the pages' handlers ------------------------------------------------------------------


@pytest.fixture
def school_token(session) -> str:
    two_schools(session)
    token = session_token(session, A_EMAIL)
    session.commit()
    return token


def _page(token: str, **query) -> ReferralFormState:
    state = state_for(ReferralFormState, token, path="/referrals/new", query=query)
    call_handler(state, "load")
    return state


def _drafts(session) -> list[SimpleNamespace]:
    """What is stored now, read and let go (a loaded row read later would hold SQLite's lock)."""
    session.expire_all()
    found = [SimpleNamespace(id=r.id, public_id=r.public_id, status=r.status,
                             form_data=dict(r.form_data or {}))
             for r in session.exec(select(Referral)).all()]
    session.rollback()
    return found


def test_save_and_continue_keeps_the_page_in_a_draft_and_goes_to_the_next_page(
        session, school_token):
    state = _page(school_token, section="child")
    returned = call_handler(state, "save_page", {
        "first_name": "Amira", "last_name": "Test", "date_of_birth-day": "2",
        "date_of_birth-month": "3", "date_of_birth-year": "2014", "draft_id": ""})
    (draft,) = _drafts(session)
    assert draft.form_data["date_of_birth"] == "2014-03-02"
    assert f"draft={draft.public_id}&section=addresses" in repr(returned)

    back = _page(school_token, draft=draft.public_id)
    assert back.statuses["child"] == rt.IN_PROGRESS  # sex, SEN not answered yet
    assert back.statuses["about-you"] == rt.NOT_STARTED
    page = _page(school_token, draft=draft.public_id, section="child")
    assert page.values["date_of_birth-day"] == "2" and page.values["first_name"] == "Amira"


def test_the_checks_page_then_one_page_per_check_then_the_reasons(session, school_token):
    state = _page(school_token, section="enquiries")
    returned = call_handler(state, "save_page", {"done-home_visit": True, "done-letter": "on"})
    (draft,) = _drafts(session)
    assert "section=enquiry-details&check=letter" in repr(returned)
    details = _page(school_token, draft=draft.public_id, section=rt.DETAILS, check="homevisit")
    assert details.check_row == ["homevisit", "Home visit"]
    assert [r[0] for r in details.check_rows] == ["letter", "homevisit"]
    returned = call_handler(details, "save_page", {
        "enquiry-homevisit-made_on-day": "1", "enquiry-homevisit-made_on-month": "12",
        "enquiry-homevisit-made_on-year": "2026", "enquiry-homevisit-result": "No reply",
        "reason-first_day_call": "not on this page"})
    kept = _drafts(session)[0].form_data
    assert kept["enquiry-homevisit-made_on"] == "2026-12-01"
    assert "reason-first_day_call" not in kept
    assert "section=enquiry-reasons" in repr(returned)  # the last check: then the reasons
    reasons = _page(school_token, draft=draft.public_id, section=rt.REASONS)
    assert "home_visit" not in [c for c, _ in reasons.reasons_needed]
    returned = call_handler(reasons, "save_page", {"reason-first_day_call": "No contacts"})
    assert _drafts(session)[0].form_data["reason-first_day_call"] == "No contacts"
    assert "section=concerns" in repr(returned)


def test_the_next_page_after_each_check():
    form = rt.apply_done_checks({}, {"home_visit", "letter"})
    assert rt.next_page(form, "enquiries") == "enquiry-details&check=letter"
    assert rt.next_page(form, rt.DETAILS, "letter") == "enquiry-details&check=homevisit"
    assert rt.next_page(form, rt.DETAILS, "homevisit") == rt.REASONS
    every = rt.apply_done_checks({}, {k.code for k in rt.CHECKS if k.required})
    assert rt.next_page(every, rt.DETAILS, "socialmedia") == "concerns"  # no reason needed
    assert rt.next_page({}, "enquiries") == rt.REASONS
    assert rt.next_page({}, "safeguarding") == rt.CHECK


def test_submit_on_check_your_answers_links_each_error_to_its_page_and_field(
        session, school_token):
    state = _page(school_token, section="child")
    call_handler(state, "save_page", {"first_name": "Amira"})
    (draft,) = _drafts(session)
    check = _page(school_token, draft=draft.public_id, section=rt.CHECK)
    call_handler(check, "submit_referral", {})
    assert _drafts(session)[0].status == "draft"
    links = dict((m, href) for href, m in check.error_links)
    assert links["Enter the child's last name"] == (
        f"/referrals/new?draft={draft.public_id}&section=child&from=check&field=last_name")
    assert "section=people" in links["Add at least one parent or carer"]
    # The page the link opens shows its own errors at the fields, and focuses the field.
    child = state_for(ReferralFormState, school_token, path="/referrals/new",
                      query={"draft": draft.public_id, "section": "child", "from": "check",
                             "field": "last_name"})
    child._tried = draft.public_id
    focus = call_handler(child, "load")
    assert child.errors["last_name"] == "Enter the child's last name"
    assert all(rt.page_of(f) == "child" for f in child.errors)
    assert "last_name" in repr(focus)


def test_a_complete_draft_is_submitted_from_check_your_answers(session, school_token):
    state = _page(school_token, section="about-you")
    form = example_referral_form()
    call_handler(state, "save_page", {k: form[k] for k in rf.REFERRER_FIELDS})
    (draft,) = _drafts(session)
    # The rest as the other pages would have kept it.
    session.expire_all()
    stored = session.get(Referral, draft.id)
    stored.form_data = form
    session.add(stored)
    session.commit()
    check = _page(school_token, draft=draft.public_id, section=rt.CHECK)
    assert check.completed == 8
    call_handler(check, "submit_referral", {})
    assert check.submitted_reference.startswith(f"CME-{TODAY.year}-")
    assert _drafts(session)[0].status == "submitted"


def test_a_returned_referral_opens_with_the_teams_request_and_its_reference(session):
    school, _other = two_schools(session)
    lead = make_user(session, "lead")
    case = referrals.submit(session, actor=school, form=example_referral_form())
    lifecycle.return_to_referrer(session, actor=lead, reference=case.reference,
                                 note="Please add the home visit", version=case.version)
    token = session_token(session, A_EMAIL)
    session.commit()
    (referral,) = _drafts(session)
    page = _page(token, draft=referral.public_id)
    assert page.resubmit_reference == case.reference
    assert page.team_request == "Please add the home visit"
    assert page.resubmitting


def test_dates_in_the_past_are_kept_whole(session, school_token):
    state = _page(school_token, section="absence")
    aware = TODAY - timedelta(days=3)
    call_handler(state, "save_page", {
        "date_school_aware-day": str(aware.day), "date_school_aware-month": str(aware.month),
        "date_school_aware-year": str(aware.year), "on_roll_status": "on_roll"})
    assert _drafts(session)[0].form_data["date_school_aware"] == aware.isoformat()


def test_another_schools_draft_is_not_found_and_not_changed(session, school_token):
    state = _page(school_token, section="child")
    call_handler(state, "save_page", {"first_name": "Amira"})
    (draft,) = _drafts(session)
    other = session_token(session, "school.108111@example.org")
    session.commit()
    theirs = _page(other, draft=draft.public_id, section="child")
    assert theirs.not_found and theirs.values == {}
    theirs.section = "child"
    call_handler(theirs, "save_page", {"first_name": "Mallory", "draft_id": draft.public_id})
    assert _drafts(session)[0].form_data == {"first_name": "Amira"} | {
        k: "" for k in ("interpreter_needed", "traveller_family", "dob_confirmed")}


def test_who_was_told_is_asked_only_for_a_child_open_to_social_care(session, school_token):
    state = _page(school_token, section="safeguarding")
    assert not state.open_to_care
    call_handler(state, "set_care", "known_to_csc", "past")
    assert not state.open_to_care
    call_handler(state, "set_care", "looked_after", "yes")
    assert state.open_to_care
    call_handler(state, "set_care", "session_token", "yes")  # not a question of this page
    assert "session_token" not in state._care


def test_add_a_parent_or_carer_marks_the_empty_person_box_and_links_to_its_first_question(
        session, school_token):
    state = _page(school_token, section="child")
    call_handler(state, "save_page", {"first_name": "Amira"})
    (draft,) = _drafts(session)
    check = _page(school_token, draft=draft.public_id, section=rt.CHECK)
    call_handler(check, "submit_referral", {})
    links = {m: href for href, m in check.error_links}
    assert links["Add at least one parent or carer"].endswith("section=people&from=check"
                                                               "&field=add-person")
    people = state_for(ReferralFormState, school_token, path="/referrals/new",
                       query={"draft": draft.public_id, "section": "people",
                              "field": "add-person"})
    people._tried = draft.public_id
    focus = call_handler(people, "load")
    message = "Add at least one parent or carer"
    assert people.errors["add-person"] == message  # the box is marked
    assert people.errors["person-p1-kind"] == message  # and its first question
    assert people.error_list == [["person-p1-kind", message]]
    assert "person-p1-kind" in repr(focus)
