"""The referral form's handlers for autosave and timeouts, and the sign-in page's way back
(issue 18: a referral is never lost to a timeout). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlmodel import select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.models import Referral, UserSession, utcnow
from cme_app.ops.demo import example_referral_form
from cme_app.pages.intake.referral_form import ReferralFormState
from cme_app.pages.trust.login import LoginState
from cme_app.services.trust import auth
from cme_app.state.activity import ActivityState
from tests.factories import call_handler, session_token, state_for, two_schools

A_EMAIL = "school.107999@example.org"


def _row(session, token: str) -> UserSession:
    session.expire_all()
    return session.exec(select(UserSession).where(
        UserSession.token_hash == auth._token_hash(token))).one()


def _idle_for(session, token: str, minutes: int) -> None:
    row = _row(session, token)
    row.last_seen_at = utcnow() - timedelta(minutes=minutes)
    session.add(row)
    session.commit()


def _drafts(session) -> list[Referral]:
    session.expire_all()
    found = list(session.exec(select(Referral)).all())
    session.rollback()
    return found


@pytest.fixture
def school_token(session) -> str:
    two_schools(session)
    token = session_token(session, A_EMAIL)
    session.commit()
    return token


def _form(token: str) -> ReferralFormState:
    return state_for(ReferralFormState, token, path="/referrals/new")


def _fields(**values) -> dict:
    return {"fields": json.dumps(values), "draft_id": ""}


def test_autosave_keeps_each_field_in_one_draft_and_names_it_in_the_address(session,
                                                                             school_token):
    state = _form(school_token)
    first = call_handler(state, "autosave", _fields(first_name="Amira"))
    call_handler(state, "autosave", _fields(concerns_narrative="Seen at the park"))
    (draft,) = _drafts(session)
    assert draft.form_data == {"first_name": "Amira", "concerns_narrative": "Seen at the park"}
    assert state.draft_ref == draft.public_id
    assert f"/referrals/new?draft={draft.public_id}" in repr(first)


def test_autosave_is_activity_that_keeps_the_session_alive(session, school_token):
    _idle_for(session, school_token, 20)
    call_handler(_form(school_token), "autosave", _fields(first_name="Amira"))
    assert utcnow() - _row(session, school_token).last_seen_at < timedelta(minutes=1)


def test_stay_signed_in_keeps_the_session_alive(session, school_token):
    _idle_for(session, school_token, 28)
    call_handler(state_for(ActivityState, school_token), "still_here")
    assert utcnow() - _row(session, school_token).last_seen_at < timedelta(minutes=1)


def test_malformed_autosave_writes_nothing(session, school_token):
    state = _form(school_token)
    for bad in (None, {"fields": "[1, 2]"}, {"fields": "{"}, {"fields": "[" * 5000},
                {"fields": '{"a":' + "[" * 5000}, {"fields": json.dumps({"../x": "y"})},
                {"fields": "x" * 70_000}):
        call_handler(state, "autosave", bad)
    assert _drafts(session) == []


def test_save_after_a_timeout_keeps_the_page_and_leads_back_to_it(session, school_token):
    state = _form(school_token)
    state.section = "concerns"
    call_handler(state, "autosave", _fields(first_name="Amira"))
    _idle_for(session, school_token, 31)
    page = {"concerns_narrative": "Typed after the timeout", "concern-none_known": True,
            "draft_id": state.draft_ref}
    returned = call_handler(state, "save_page", page)
    (draft,) = _drafts(session)
    assert draft.status == "draft"
    assert draft.form_data["concerns_narrative"] == "Typed after the timeout"
    assert draft.form_data["first_name"] == "Amira"
    back = quote(f"/referrals/new?draft={draft.public_id}&timeout=1", safe="")
    assert f"/login?next={back}" in repr(returned)


def test_save_after_signing_out_keeps_nothing_and_goes_to_sign_in(session, school_token):
    state = _form(school_token)
    state.section = "child"
    with session.begin_nested():
        auth.sign_out(session, token=school_token, actor=None)
    session.commit()
    returned = call_handler(state, "save_page", {"first_name": "Amira"})
    assert _drafts(session) == []
    assert "/login" in repr(returned) and "next=" not in repr(returned)


def test_the_form_opened_after_a_timeout_shows_the_message(session, school_token):
    state = _form(school_token)
    call_handler(state, "autosave", _fields(first_name="Amira"))
    back = state_for(ReferralFormState, school_token, path="/referrals/new",
                     query={"draft": state.draft_ref, "timeout": "1"})
    call_handler(back, "load")
    assert back.timed_out and back.values == {"first_name": "Amira"}
    plain = state_for(ReferralFormState, school_token, path="/referrals/new",
                      query={"draft": state.draft_ref})
    call_handler(plain, "load")
    assert not plain.timed_out


@pytest.mark.parametrize(("next_path", "lands"), [
    ("/referrals/new?draft=0123456789abcdef0123456789abcdef&timeout=1",
     "/referrals/new?draft=0123456789abcdef0123456789abcdef&timeout=1"),
    ("https://evil.example/phish", "/referrals"),
    ("//evil.example/phish", "/referrals"),
    (None, "/referrals"),
])
def test_signed_in_the_login_page_goes_back_only_to_a_path_on_this_site(
        session, school_token, next_path, lands):
    state = state_for(LoginState, school_token, path="/login",
                      query={"next": next_path} if next_path else None)
    returned = call_handler(state, "load")
    assert f"'{lands}'" in repr(returned) or f'"{lands}"' in repr(returned)
    assert "evil" not in repr(returned)


def test_a_page_too_long_for_one_event_goes_on_with_what_the_draft_holds(session,
                                                                         school_token):
    """Its fields were sent one by one (assets/referral_autosave.js); then Check your answers
    submits the draft."""
    state = _form(school_token)
    state.section = "safeguarding"
    form = example_referral_form()
    call_handler(state, "autosave", _fields(**dict(list(form.items())[:20])))
    call_handler(state, "autosave", _fields(**dict(list(form.items())[20:])))
    call_handler(state, "set_intent", "continue")
    returned = call_handler(state, "continue_saved")
    assert f"draft={state.draft_ref}&section=check" in repr(returned)
    call_handler(state, "submit_referral", {})
    (referral,) = _drafts(session)
    assert referral.status == "submitted"
    assert state.submitted_reference.startswith("CME-")


def test_save_draft_on_a_long_page_keeps_it_as_a_draft(session, school_token):
    state = _form(school_token)
    state.section = "concerns"
    call_handler(state, "autosave", _fields(first_name="Amira"))
    call_handler(state, "set_intent", "draft")
    returned = call_handler(state, "continue_saved")
    (referral,) = _drafts(session)
    assert referral.status == "draft" and state.submitted_reference == ""
    assert f"draft={referral.public_id}&saved=1" in repr(returned)


def test_going_on_with_nothing_saved_is_a_gov_uk_error_not_silence(session, school_token):
    from cme_app.pages.intake.referral_drafts import TOO_LONG
    from cme_app.pages.intake.referral_form import SUBMIT_BUTTON

    state = _form(school_token)
    call_handler(state, "continue_saved")
    assert state.error_list == [[SUBMIT_BUTTON, TOO_LONG]]
    assert _drafts(session) == []


def test_the_confirmation_loaded_again_shows_the_reference_not_draft_not_found(session,
                                                                              school_token):
    """After the submit the address still names the draft: a reload, or a reconnect whose
    page load Reflex runs after the submit it had queued, shows the same confirmation."""
    state = _form(school_token)
    call_handler(state, "autosave", _fields(**example_referral_form()))
    draft = state.draft_ref
    call_handler(state, "submit_referral", {"draft_id": draft})
    reference = state.submitted_reference
    assert reference.startswith("CME-")
    again = state_for(ReferralFormState, school_token, path="/referrals/new",
                      query={"draft": draft, "section": "check"})
    call_handler(again, "load")
    assert (again.submitted_reference, again.not_found) == (reference, False)
