"""The referral draft kept as the school types, and kept when the session times out (issue 18:
a referral is never lost to a timeout). On SQLite, and PostgreSQL with CME_TEST_DB_URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.domain import ReferralStatus
from cme_app.errors import NotAllowed, NotFound, ValidationFailed
from cme_app.models import Referral, UserSession, utcnow
from cme_app.ops.demo import example_referral_form
from cme_app.routes import safe_return_path
from cme_app.services.intake import drafts, referrals
from cme_app.services.trust import auth
from tests.factories import audit_events, make_user, session_token, two_schools

A_EMAIL, B_EMAIL = "school.107999@example.org", "school.108111@example.org"


def stored(session, public_id: str) -> Referral:
    session.expire_all()
    return session.exec(select(Referral).where(Referral.public_id == public_id)).one()


def drafts_of(session, school_id: int) -> list[Referral]:
    session.expire_all()
    return list(session.exec(select(Referral).where(Referral.school_id == school_id)).all())


def timed_out(session, token: str, *, minutes_ago: int = 5) -> None:
    """The session's idle timeout passed `minutes_ago` minutes ago."""
    row = session.exec(select(UserSession).where(
        UserSession.token_hash == auth._token_hash(token))).one()
    row.last_seen_at = utcnow() - timedelta(minutes=30 + minutes_ago)
    session.add(row)
    session.flush()
    assert auth.actor_for_token(session, token) is None


# ---- autosave ---------------------------------------------------------------------------------


def test_autosave_makes_a_draft_then_merges_each_field_into_it(session):
    school_a, _ = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Am"})
    again = drafts.autosave(session, actor=school_a, public_id=draft.public_id,
                            fields={"first_name": "Amira", "concerns_narrative": "Long text"})
    drafts.autosave(session, actor=school_a, public_id=draft.public_id,
                    fields={"not_a_field": "dropped", "upn": "A383200012401"})
    assert again.public_id == draft.public_id
    assert stored(session, draft.public_id).form_data == {
        "first_name": "Amira", "concerns_narrative": "Long text", "upn": "A383200012401"}
    # The audit trail names the fields, never their values (the child's details).
    events = audit_events(session, "referral.draft_autosaved")
    assert [e.detail["fields_changed"] for e in events] == [
        ["first_name"], ["concerns_narrative", "first_name"], ["upn"]]
    assert "Amira" not in repr([e.detail for e in events])


def test_an_unchanged_field_writes_nothing(session):
    school_a, _ = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Amira"})
    drafts.autosave(session, actor=school_a, public_id=draft.public_id,
                    fields={"first_name": "Amira"})
    assert len(audit_events(session, "referral.draft_autosaved")) == 1


def test_another_school_can_neither_read_nor_overwrite_the_draft(session):
    school_a, school_b = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Amira"})
    with pytest.raises(NotFound):
        drafts.autosave(session, actor=school_b, public_id=draft.public_id,
                        fields={"first_name": "Hijack"})
    assert drafts.autosave_quietly(session, actor=school_b, public_id=draft.public_id,
                                   fields={"first_name": "Hijack"}) is None
    with pytest.raises(NotFound):
        drafts.drop_row(session, actor=school_b, public_id=draft.public_id, group="person",
                        row_id="p1")
    with pytest.raises(NotFound):
        referrals.open_draft(session, actor=school_b, public_id=draft.public_id)
    with pytest.raises(NotFound):
        drafts.submit_draft(session, actor=school_b, public_id=draft.public_id)
    assert stored(session, draft.public_id).form_data == {"first_name": "Amira"}
    assert stored(session, draft.public_id).status == ReferralStatus.DRAFT
    # Each refused attempt is on the audit trail as not found.
    refused = [e for e in audit_events(session, "referral.draft_saved")
               if e.outcome == "not_found"]
    assert len(refused) == 3


def test_staff_cannot_autosave_a_school_draft(session):
    officer = make_user(session, "officer")
    with pytest.raises(NotAllowed):
        drafts.autosave(session, actor=officer, fields={"first_name": "X"})


def test_a_submitted_referral_is_no_longer_autosaved(session):
    school_a, _ = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields=example_referral_form())
    drafts.submit_draft(session, actor=school_a, public_id=draft.public_id)
    assert drafts.autosave_quietly(session, actor=school_a, public_id=draft.public_id,
                                   fields={"first_name": "Late"}) is None
    assert stored(session, draft.public_id).form_data["first_name"] != "Late"


def test_a_removed_row_leaves_the_draft(session):
    school_a, _ = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields={
        "person-p1-full_name": "Layla", "person-p2-full_name": "Omar", "first_name": "A"})
    drafts.drop_row(session, actor=school_a, public_id=draft.public_id, group="person",
                    row_id="p1")
    assert stored(session, draft.public_id).form_data == {
        "person-p2-full_name": "Omar", "first_name": "A"}


# ---- submitting the draft the server holds (a referral too long for one event) --------------


def test_the_draft_is_submitted_as_the_server_holds_it(session):
    school_a, _ = two_schools(session)
    form = example_referral_form()
    long_text = "Seen at the park. " * 220  # near the 4,000-character cap of one field
    form.update(concerns_narrative=long_text[:4000], dsl_appraisal=long_text[:4000],
                believed_destination=long_text[:1000])
    names = list(form)
    draft = drafts.autosave(session, actor=school_a, fields={k: form[k] for k in names[:10]})
    drafts.autosave(session, actor=school_a, public_id=draft.public_id,
                    fields={k: form[k] for k in names[10:]})
    receipt = drafts.submit_draft(session, actor=school_a, public_id=draft.public_id,
                                  submission_id="a" * 32)
    referral = stored(session, draft.public_id)
    assert referral.status == ReferralStatus.SUBMITTED
    assert referral.concerns_narrative == long_text[:4000].strip()
    assert receipt.reference.startswith("CME-")
    # A repeat of the same submit (its answer lost) finds the same referral, writes nothing.
    again = drafts.submit_draft(session, actor=school_a, public_id=draft.public_id,
                                submission_id="a" * 32)
    assert again.reference == receipt.reference


def test_a_sent_drafts_page_opened_again_shows_its_receipt_to_its_school_only(session):
    """Reloading the confirmation (its address still names the draft), or a reconnect whose
    page load comes after the submit: the receipt again, audited; not for another school, and
    nothing for a draft still being written."""
    school_a, school_b = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields=example_referral_form())
    assert drafts.sent_receipt(session, actor=school_a, public_id=draft.public_id) is None
    receipt = drafts.submit_draft(session, actor=school_a, public_id=draft.public_id)
    again = drafts.sent_receipt(session, actor=school_a, public_id=draft.public_id)
    assert again == receipt
    assert [e.entity_id for e in audit_events(session, "referral.receipt_shown")] == [
        draft.public_id]
    assert drafts.sent_receipt(session, actor=school_b, public_id=draft.public_id) is None
    assert drafts.sent_receipt(session, actor=school_a, public_id="0" * 32) is None


def test_an_incomplete_draft_gets_field_errors_and_stays_a_draft(session):
    school_a, _ = two_schools(session)
    draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Amira"})
    with pytest.raises(ValidationFailed) as failed:
        drafts.submit_draft(session, actor=school_a, public_id=draft.public_id)
    assert "last_name" in {e.field for e in failed.value.errors}
    assert stored(session, draft.public_id).status == ReferralStatus.DRAFT


def test_an_answer_longer_than_its_column_is_a_field_error_not_a_failed_submit(session):
    """The form takes 4,000 characters a field; where the answer is stored may take fewer.
    Every such field gets a GOV.UK field error (on PostgreSQL the submit failed whole)."""
    school_a, _ = two_schools(session)
    form = example_referral_form()
    form.update(believed_destination="x" * 1001, first_name="A" * 101)
    draft = drafts.autosave(session, actor=school_a, fields=form)
    with pytest.raises(ValidationFailed) as failed:
        drafts.submit_draft(session, actor=school_a, public_id=draft.public_id)
    errors = {e.field: e.message for e in failed.value.errors}
    assert errors == {
        "first_name": "Shorten this answer to 100 characters or fewer (it has 101)",
        "believed_destination": "Shorten this answer to 1,000 characters or fewer (it has 1,001)",
    }
    assert stored(session, draft.public_id).form_data["believed_destination"] == "x" * 1001


# ---- a form that speaks after its session timed out -------------------------------------------


def test_a_timed_out_school_session_keeps_what_its_form_sent_in_its_own_draft(session):
    school_a, _ = two_schools(session)
    token = session_token(session, A_EMAIL)
    draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Amira"})
    timed_out(session, token)
    kept = drafts.keep_after_timeout(session, token=token, public_id=draft.public_id,
                                     fields={"last_name": "Khan", "first_name": "Amira"})
    assert kept == draft.public_id
    assert stored(session, kept).form_data == {"first_name": "Amira", "last_name": "Khan"}
    assert stored(session, kept).school_id == school_a.school_id
    assert len(audit_events(session, "referral.draft_kept_after_timeout")) == 1
    # It signs no one in.
    assert auth.actor_for_token(session, token) is None


def test_no_draft_yet_makes_one_for_the_sessions_school(session):
    school_a, _ = two_schools(session)
    token = session_token(session, A_EMAIL)
    timed_out(session, token)
    kept = drafts.keep_after_timeout(session, token=token, fields={"first_name": "Amira"})
    assert stored(session, kept).school_id == school_a.school_id


def test_another_schools_draft_named_after_a_timeout_is_untouched(session):
    school_a, _ = two_schools(session)
    a_draft = drafts.autosave(session, actor=school_a, fields={"first_name": "Amira"})
    b_token = session_token(session, B_EMAIL)
    timed_out(session, b_token)
    kept = drafts.keep_after_timeout(session, token=b_token, public_id=a_draft.public_id,
                                     fields={"first_name": "Hijack"})
    assert kept != a_draft.public_id
    assert stored(session, a_draft.public_id).form_data == {"first_name": "Amira"}
    assert stored(session, kept).school_id != school_a.school_id


@pytest.mark.parametrize("how", ["signed_out", "live", "long_ago", "disabled", "forged", "staff"])
def test_only_a_recently_timed_out_school_session_keeps_anything(session, how):
    school_a, _ = two_schools(session)
    email = A_EMAIL
    if how == "staff":
        make_user(session, "officer", email="o@example.org")
        email = "o@example.org"
    token = session_token(session, email)
    if how == "signed_out":
        timed_out(session, token)
        auth.sign_out(session, token=token, actor=None)
    elif how == "long_ago":
        timed_out(session, token, minutes_ago=13 * 60)
    elif how == "disabled":
        timed_out(session, token)
        user = session.get(auth.User, school_a.user_id)
        user.is_active = False
        session.add(user)
        session.flush()
    elif how in ("forged", "staff"):
        timed_out(session, token)
        if how == "forged":
            token = "forged-" + token[7:]
    before = len(drafts_of(session, school_a.school_id))
    kept = drafts.keep_after_timeout(session, token=token, fields={"first_name": "Amira"})
    assert kept is None
    assert len(drafts_of(session, school_a.school_id)) == before
    assert audit_events(session, "referral.draft_kept_after_timeout") == []


# ---- where signing in may lead back to ----------------------------------------------------


@pytest.mark.parametrize("path", [
    "/referrals/new?draft=0123456789abcdef0123456789abcdef&timeout=1", "/board", "/cases/CME-1"])
def test_a_same_site_path_is_a_safe_return(path):
    assert safe_return_path(path) == path


@pytest.mark.parametrize("path", [
    None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil",
    "javascript:alert(1)", "/x:y", "/login?next=/board", "/a b", "/a\nb", "/a#b", 42,
    "/" + "a" * 400, "/\u0430dmin", "evil.example/path",
])
def test_anything_else_is_not(path):
    assert safe_return_path(path) is None
