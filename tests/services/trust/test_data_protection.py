"""Data-protection duties (issue 5): retention schedule and destruction list (SC-21), legal
hold, approval and destruction, the sharing log, and the subject access export."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from cme_app.errors import NotAllowed, NotFound, Refusal, ValidationFailed
from cme_app.models import (
    Address,
    Case,
    Child,
    Document,
    HomeVisit,
    Referral,
    RetentionApproval,
    ShareRecord,
    Tombstone,
)
from cme_app.services.casework import case_file as casework
from cme_app.services.trust import retention, sar, sharing
from cme_app.services.trust.purpose import PurposeRequired
from cme_app.settings import get_settings
from tests.factories import audit_events, make_case, make_user

TODAY = date(2026, 11, 28)
LONG_AGO = datetime(2018, 6, 1, 12, tzinfo=UTC)  # more than 7 years before TODAY
RECENT = datetime(2021, 6, 1, 12, tzinfo=UTC)  # less than 7 years before TODAY


def _closed(session, closed_at=LONG_AGO, **kw) -> Case:
    return make_case(session, stage="closed", closed_at=closed_at, outcome="onroll_leeds", **kw)


def _refs(items) -> set[str]:
    return {i.reference for i in items}


def _hold(session, lead, case: Case, hold: bool = True) -> Case:
    return retention.set_legal_hold(session, actor=lead, reference=case.reference, hold=hold,
                                    reason="IICSA instruction")


# ------------------------------------------------------------------------------ schedule


def test_schedule_reads_the_years_after_closure_from_the_environment(monkeypatch):
    monkeypatch.setenv("CME_RETENTION_YEARS_AFTER_CLOSURE", "10")
    get_settings.cache_clear()
    try:
        rules = {r.code: r.years for r in retention.schedule()}
    finally:
        monkeypatch.delenv("CME_RETENTION_YEARS_AFTER_CLOSURE")
        get_settings.cache_clear()
    assert rules == {"closed_case": 10, "draft_referral": 1}
    assert {r.code: r.years for r in retention.schedule()}["closed_case"] == 7


def test_destruction_list_holds_closed_cases_past_seven_years_only(session, team):
    due = _closed(session)
    _closed(session, closed_at=RECENT)
    make_case(session, stage="enquiries")
    items = retention.destruction_list(session, actor=team["lead"], today=TODAY)
    assert _refs(items) == {due.reference}
    assert items[0].due_on == "2025-06-01" and "7 years" in items[0].reason
    assert items[0].due_label == "1 June 2025"  # GOV.UK style: no leading zero


def test_a_child_with_an_open_episode_keeps_every_case(session, team):
    old = _closed(session)
    old_child = session.get(Child, old.child_id)
    later = make_case(session, stage="enquiries")
    later.child_id = old_child.id
    session.add(later)
    session.flush()
    assert retention.destruction_list(session, actor=team["lead"], today=TODAY) == []


def test_sc21_a_case_under_legal_hold_is_not_on_the_destruction_list(session, team):
    held = _closed(session)
    free = _closed(session)
    _hold(session, team["lead"], held)
    items = retention.destruction_list(session, actor=team["lead"], today=TODAY)
    assert _refs(items) == {free.reference}
    shown_apart = retention.held_past_date(session, actor=team["auditor"], today=TODAY)
    assert _refs(shown_apart) == {held.reference} and shown_apart[0].legal_hold


def test_a_draft_never_submitted_is_due_a_year_after_its_last_change(session, team):
    stale = Referral(status="draft", updated_at=datetime(2025, 11, 27, tzinfo=UTC))
    fresh = Referral(status="draft", updated_at=datetime(2025, 11, 29, tzinfo=UTC))
    session.add_all([stale, fresh])
    session.flush()
    items = retention.destruction_list(session, actor=team["auditor"], today=TODAY)
    assert [(i.record_class, i.record_id) for i in items] == [("draft_referral", stale.id)]


@pytest.mark.parametrize("role", ["officer", "admin", "school"])
def test_only_leads_and_the_auditor_see_the_destruction_list(session, team, role):
    _closed(session)
    with pytest.raises(NotAllowed):
        retention.destruction_list(session, actor=team[role], today=TODAY)
    with pytest.raises(NotAllowed):
        retention.destruction_list(session, actor=None, today=TODAY)


# ------------------------------------------------------------------------------ legal hold


def test_legal_hold_is_set_and_lifted_by_a_lead_with_before_and_after(session, team):
    case = _closed(session)
    _hold(session, team["lead"], case)
    assert case.legal_hold and case.legal_hold_by_id == team["lead"].user_id
    assert case.legal_hold_reason == "IICSA instruction"
    _hold(session, team["lead"], case, hold=False)
    assert not case.legal_hold and case.legal_hold_reason is None
    set_, cleared = audit_events(session, "case.legal_hold_set"), audit_events(
        session, "case.legal_hold_cleared")
    assert set_[0].detail["before"]["legal_hold"] is False
    assert set_[0].detail["after"]["legal_hold"] is True
    assert cleared[0].detail["after"]["legal_hold"] is False
    assert "IICSA" not in str(set_[0].detail)  # the reason stays on the case


@pytest.mark.parametrize("role", ["officer", "admin", "auditor", "school"])
def test_legal_hold_refused_to_anyone_but_a_lead(session, team, role):
    case = _closed(session)
    with pytest.raises(NotAllowed):
        _hold(session, team[role], case)
    assert not session.get(Case, case.id).legal_hold
    assert audit_events(session, "case.legal_hold_set")[-1].outcome == "refused"


def test_legal_hold_needs_a_reason(session, team):
    case = _closed(session)
    with pytest.raises(ValidationFailed):
        retention.set_legal_hold(session, actor=team["lead"], reference=case.reference,
                                 hold=True, reason="  ")
    assert not case.legal_hold


# ------------------------------------------------------------------------------ approval


def test_a_lead_approves_listed_items_and_the_approval_is_audited(session, team):
    a, b = _closed(session), _closed(session)
    rows = retention.approve(session, actor=team["lead"],
                             items=[["closed_case", a.id], ["closed_case", b.id]], today=TODAY)
    assert {r.record_id for r in rows} == {a.id, b.id}
    event = audit_events(session, "retention.approved")[-1]
    assert event.outcome == "ok"
    assert event.detail["items"] == [["closed_case", a.id], ["closed_case", b.id]]
    assert all(i.approved for i in
               retention.destruction_list(session, actor=team["lead"], today=TODAY))
    # Nothing is deleted by approving.
    assert session.get(Child, a.child_id).first_name == "Amira"


def test_approval_refuses_the_auditor_and_items_not_on_the_list(session, team):
    held, recent = _closed(session), _closed(session, closed_at=RECENT)
    _hold(session, team["lead"], held)
    with pytest.raises(NotAllowed):
        retention.approve(session, actor=team["auditor"], items=[["closed_case", held.id]],
                          today=TODAY)
    for case in (held, recent):
        with pytest.raises(Refusal):
            retention.approve(session, actor=team["lead"], items=[["closed_case", case.id]],
                              today=TODAY)
    with pytest.raises(ValidationFailed):
        retention.approve(session, actor=team["lead"], items=[["closed_case", "1; drop"]],
                          today=TODAY)
    assert session.exec(select(RetentionApproval)).all() == []


# ------------------------------------------------------------------------------ destruction


def _visit(session, case: Case) -> HomeVisit:
    visit = HomeVisit(client_uuid=str(uuid.uuid4()), case_id=case.id, visited_on=date(2018, 5, 1),
                      address="1 Canary Street", outcome="no_answer", notes="Canary notes")
    session.add(visit)
    session.add(Address(child_id=case.child_id, kind="last_known", line1="1 Canary Street",
                        source="school"))
    session.flush()
    return visit


def test_destroy_only_approved_items_and_recheck_the_hold_at_that_moment(session, team):
    gone, held_later, not_approved = _closed(session), _closed(session), _closed(session)
    for case in (gone, held_later, not_approved):
        _visit(session, case)
    retention.approve(session, actor=team["lead"],
                      items=[["closed_case", gone.id], ["closed_case", held_later.id]],
                      today=TODAY)
    _hold(session, team["lead"], held_later)  # after approval: destruction must skip it

    result = retention.destroy_approved(session, today=TODAY)

    assert result.destroyed == [gone.reference]
    assert result.skipped == [(held_later.reference, "under legal hold")]
    child = session.get(Child, gone.child_id)
    assert child.first_name == "Destroyed" and child.date_of_birth == date(1900, 1, 1)
    assert session.exec(select(HomeVisit).where(HomeVisit.case_id == gone.id)).all() == []
    assert session.exec(select(Address).where(Address.child_id == gone.child_id)).all() == []
    tomb = session.exec(select(Tombstone)).one()
    assert (tomb.record_id, tomb.reference) == (gone.id, gone.reference)
    event = audit_events(session, "retention.destroyed")[0]
    assert event.child_id == gone.child_id and event.entity_id == gone.reference
    assert "Amira" not in str(event.detail)
    for kept in (held_later, not_approved):
        assert session.get(Child, kept.child_id).first_name == "Amira"
        assert session.exec(select(HomeVisit).where(HomeVisit.case_id == kept.id)).one()
    # The audit log is untouched: earlier events about the destroyed case are still there.
    assert audit_events(session, "retention.approved")
    # A second run does nothing more.
    again = retention.destroy_approved(session, today=TODAY)
    assert again.destroyed == [] and again.skipped == [(held_later.reference,
                                                       "under legal hold")]


def test_destroy_rechecks_the_date(session, team):
    case = _closed(session)
    retention.approve(session, actor=team["lead"], items=[["closed_case", case.id]],
                      today=TODAY)
    case.closed_at = RECENT  # e.g. reopened and closed again since the approval
    session.add(case)
    session.flush()
    result = retention.destroy_approved(session, today=TODAY)
    assert result.destroyed == [] and result.skipped[0][1] == "no longer past its retention date"
    assert session.get(Child, case.child_id).first_name == "Amira"


def test_destroying_a_stale_draft_removes_the_referral(session, team):
    draft = Referral(status="draft", form_data={"first_name": "Canary"},
                     updated_at=datetime(2024, 1, 1, tzinfo=UTC))
    session.add(draft)
    session.flush()
    retention.approve(session, actor=team["lead"], items=[["draft_referral", draft.id]],
                      today=TODAY)
    assert retention.destroy_approved(session, today=TODAY).destroyed == [f"Draft {draft.id}"]
    assert session.get(Referral, draft.id) is None


# ------------------------------------------------------------------------------ sharing log

SHARE = {
    "shared_on": "2026-11-20",
    "recipient_type": "other_la",
    "recipient_name": "Bradford CME team",
    "categories": ["identity", "addresses"],
    "reason": "Family believed to have moved to Bradford",
    "lawful_basis": "art6_1_e",
}


def test_an_officer_records_a_share_and_it_is_audited(session, team):
    case = make_case(session, stage="enquiries")
    row = sharing.record_share(session, actor=team["officer"], reference=case.reference,
                               form=SHARE)
    assert row.categories == ["identity", "addresses"] and row.shared_by_id
    event = audit_events(session, "case.shared")[0]
    assert event.child_id == case.child_id and event.detail["share"] == row.id
    assert "Bradford" not in str(event.detail)
    view = sharing.case_view(session, actor=team["admin"], reference=case.reference)
    assert [s.recipient for s in view.shares] == ["Bradford CME team"]
    assert view.shares[0].lawful_basis.startswith("UK GDPR Art 6(1)(e)")
    assert not view.can_share and not view.can_hold


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient_type": "friend"}, "recipient_type"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"categories": ["bank_details"]}, "categories"),
        ({"categories": [], "shared_detail": ""}, "categories"),
        ({"reason": "x" * 2001}, "reason"),
        ({"lawful_basis": "consent"}, "lawful_basis"),
        ({"lawful_basis": "other"}, "lawful_basis_other"),
        ({"shared_on": "2099-01-01"}, "shared_on"),
        ({"categories": "identity"}, "categories"),
    ],
)
def test_share_validation(session, team, change, field):
    case = make_case(session, stage="enquiries")
    with pytest.raises(ValidationFailed) as exc:
        sharing.record_share(session, actor=team["lead"], reference=case.reference,
                             form={**SHARE, **change})
    assert field in [e.field for e in exc.value.errors]
    assert session.exec(select(ShareRecord)).all() == []


def test_another_officers_case_shows_no_sharing_log_until_a_purpose_is_given(session, team):
    """The sharing log is part of the case file: the purpose asked on opening it guards it too
    (its section loads by its own handler, which any browser can call)."""
    colleague = make_user(session, "officer", email="cara@example.org", name="Cara Colleague")
    case = make_case(session, stage="enquiries", officer_id=colleague.user_id)
    with pytest.raises(PurposeRequired):
        sharing.case_view(session, actor=team["officer"], reference=case.reference)
    with pytest.raises(PurposeRequired):
        sharing.record_share(session, actor=team["officer"], reference=case.reference, form=SHARE)
    assert session.exec(select(ShareRecord)).all() == []
    casework.view_case(session, actor=team["officer"], reference=case.reference,
                       purpose_form={"purpose": "covering"})
    assert sharing.case_view(session, actor=team["officer"], reference=case.reference)
    # The lead supervises every case: no purpose asked.
    assert sharing.case_view(session, actor=team["lead"], reference=case.reference)


@pytest.mark.parametrize("role", ["admin", "auditor", "school"])
def test_only_officers_and_leads_record_shares(session, team, role):
    case = make_case(session, stage="enquiries")
    with pytest.raises(NotAllowed):
        sharing.record_share(session, actor=team[role], reference=case.reference, form=SHARE)
    assert session.exec(select(ShareRecord)).all() == []
    assert audit_events(session, "case.shared")[-1].outcome == "refused"


def test_a_school_never_sees_the_sharing_log_even_of_its_own_referral(session, team):
    school_id = team["school"].school_id
    case = make_case(session, stage="enquiries", school_id=school_id)
    sharing.record_share(session, actor=team["officer"], reference=case.reference, form=SHARE)
    with pytest.raises(NotAllowed):
        sharing.case_view(session, actor=team["school"], reference=case.reference)
    with pytest.raises(NotAllowed):
        sharing.case_view(session, actor=None, reference=case.reference)


# ------------------------------------------------------------------------------ SAR


def test_sar_export_holds_the_record_and_the_audit_trail(session, team):
    case = make_case(session, stage="enquiries", first_name="Canary")
    _visit(session, case)
    sharing.record_share(session, actor=team["officer"], reference=case.reference, form=SHARE)
    sharing.case_view(session, actor=team["lead"], reference=case.reference)
    other = make_case(session, stage="enquiries", first_name="Other")
    sharing.record_share(session, actor=team["officer"], reference=other.reference, form=SHARE)
    for of in (case, other):
        session.add(Document(case_id=of.id, kind="calling_card", title="Calling card",
                             version=1, author_name="Olu Officer", author_role="CME officer",
                             recipient_kind="family", content=f"%PDF {of.reference}".encode(),
                             sha256="0" * 64, size_bytes=19))
    session.flush()

    doc = sar.export_child(session, child_id=case.child_id)

    assert doc["child"]["first_name"] == "Canary"
    assert [c["reference"] for c in doc["cases"]] == [case.reference]
    assert len(doc["referrals"]) == 1 and len(doc["visits"]) == 1
    assert doc["addresses"][0]["line1"] == "1 Canary Street"
    assert [s["recipient_name"] for s in doc["shares"]] == ["Bradford CME team"]
    # The letters sent about the child, with their PDFs (only this child's).
    assert [(d["kind"], base64.b64decode(d["pdf_base64"])) for d in doc["documents"]] == [
        ("calling_card", f"%PDF {case.reference}".encode())]
    actions = [e["action"] for e in doc["audit_trail"]]
    assert "case.shared" in actions and "case.sharing_log_viewed" in actions
    assert all(e["child_id"] in (case.child_id, None) for e in doc["audit_trail"])
    assert "Other" not in str(doc["child"])
    exported = audit_events(session, "sar.exported")[0]
    assert exported.child_id == case.child_id and exported.actor_role == "system"


def test_sar_export_refuses_an_unknown_child(session, team):
    with pytest.raises(NotFound):
        sar.export_child(session, child_id=987654)


def test_destroying_a_case_removes_its_notices_and_letters(session, team):
    """A letter names the child: it goes with the rest of what was written about them."""
    gone, kept = _closed(session), _closed(session)
    for case in (gone, kept):
        session.add(Document(case_id=case.id, kind="calling_card", title="Calling card",
                             version=1, author_name="Olu Officer", author_role="CME officer",
                             recipient_kind="family", content=b"%PDF-1.7 Amira",
                             sha256="0" * 64, size_bytes=14))
    session.flush()
    retention.approve(session, actor=team["lead"], items=[["closed_case", gone.id]],
                      today=TODAY)
    assert retention.destroy_approved(session, today=TODAY).destroyed == [gone.reference]
    assert session.exec(select(Document).where(Document.case_id == gone.id)).all() == []
    assert session.exec(select(Document).where(Document.case_id == kept.id)).one()
