"""The audit log for the DPO and leads (issue 5): search, a child's accesses and their CSV, and
the purpose asked before a case outside one's caseload is opened."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cme_app
from cme_app.domain import Role
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import utcnow
from cme_app.permissions import Actor
from cme_app.routes import AUDIT, BOARD
from cme_app.services.casework import case_file as casework
from cme_app.services.casework import lifecycle, records
from cme_app.services.trust import audit, audit_log, auth
from cme_app.services.trust.purpose import PurposeRequired
from tests.factories import audit_events, audit_guard_off, make_case, make_user

COVERING = {"purpose": "covering"}


def at_ip(actor: Actor, ip: str) -> Actor:
    return Actor(user_id=actor.user_id, role=actor.role, name=actor.name, email=actor.email,
                 ip=ip)


# ---- who may read it -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "admin", None])
def test_only_auditors_and_leads_read_the_audit_log(session, team, case, who):
    actor = team[who] if who else None
    for call in (
        lambda: audit_log.search(session, actor=actor),
        lambda: audit_log.accesses_to_child(session, actor=actor, child_id=case.child_id),
        lambda: audit_log.accesses_csv(session, actor=actor, child_id=case.child_id),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert audit_events(session, "audit.searched") == audit_events(session, "audit.exported") == []
    for reader in ("auditor", "lead"):
        assert audit_log.search(session, actor=team[reader]).total >= 0


def test_the_auditor_lands_on_the_audit_log_and_sees_no_case_file(session, team, case):
    assert auth.home_route(Role.AUDITOR) == AUDIT
    assert auth.home_route(Role.LEAD) == BOARD
    with pytest.raises(NotAllowed):
        casework.view_case(session, actor=team["auditor"], reference=case.reference)


# ---- search ----------------------------------------------------------------------------------


def _event(session, actor, action, *, at, child_id=None, reference=None):
    row = audit.record(session, actor=actor, action=action, entity_type="case",
                       entity_id=reference, child_id=child_id)
    # A fixed moment, to test the date filters: set as an intruder would, past the append-only
    # triggers (the chain then no longer verifies, which these tests do not check).
    with audit_guard_off(session.connection()):
        row.at = at
        session.add(row)
        session.flush()
    return row


def test_search_filters_by_child_user_action_and_uk_date(session, team, case):
    other = make_case(session, stage="triage")
    officer, officer2 = team["officer"], team["officer2"]
    # 23:30 UTC on 30 June is 00:30 on 1 July in UK summer time.
    late_june = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    mine = _event(session, officer, "case.viewed", at=late_june, child_id=case.child_id,
                  reference=case.reference)
    theirs = _event(session, officer2, "case.viewed", at=late_june - timedelta(days=2),
                    child_id=case.child_id, reference=case.reference)
    _event(session, officer, "case.moved", at=late_june, child_id=other.child_id,
           reference=other.reference)
    session.commit()

    def ids(action="case.viewed", **filters):
        found = audit_log.search(session, actor=team["auditor"], action=action, **filters)
        return [r.id for r in found.rows]

    by_reference = ids(child_id=case.reference)
    assert by_reference == [theirs.id, mine.id]  # newest recorded first
    assert ids(child_id=str(case.child_id)) == ids(child_id=case.child_id) == by_reference
    assert ids(child_id=case.reference, user_id=str(officer.user_id)) == [mine.id]
    assert ids(date_from="2026-07-01", date_to="2026-07-01") == [mine.id]
    assert ids(date_to="2026-06-30") == [theirs.id]
    assert len(ids(action="case.moved", child_id=other.reference)) == 1
    row = audit_log.search(session, actor=team["lead"], child_id=case.reference,
                           user_id=officer.user_id, action="case.viewed").rows[0]
    assert (row.who, row.role, row.action, row.record, row.outcome) == (
        "Olu Officer", "CME officer", "Viewed a case", f"Case {case.reference}", "Done"
    )
    assert (row.when, row.when_utc) == ("1 Jul 2026 00:30", "2026-06-30T23:30:00+00:00")


def test_every_filter_is_checked_and_all_problems_reported(session, team, case):
    with pytest.raises(ValidationFailed) as caught:
        audit_log.search(
            session, actor=team["auditor"], child_id="CME-2026-99999", user_id="9999",
            action="case.deleted_everything", date_from="2026-02-30", date_to="yesterday",
        )
    assert [e.field for e in caught.value.errors] == [
        "child", "user", "action", "date_from", "date_to"
    ]
    with pytest.raises(ValidationFailed) as caught:
        audit_log.search(session, actor=team["auditor"], child_id="Amira Test",
                         date_from="2026-07-02", date_to="2026-07-01")
    assert [e.field for e in caught.value.errors] == ["child", "date_to"]
    for page, size in ((0, 50), ("2; drop table", 50), (True, 50), (1, 0), (1, 10_000)):
        with pytest.raises(ValidationFailed):
            audit_log.search(session, actor=team["auditor"], page=page, page_size=size)
    assert audit_events(session, "audit.searched") == []  # nothing searched, nothing recorded


def test_results_are_paged_newest_first(session, team, case):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for i in range(120):
        _event(session, team["officer"], "case.list", at=start + timedelta(minutes=i))
    session.commit()
    first = audit_log.search(session, actor=team["auditor"], action="case.list")
    assert (first.page, first.pages, first.total, len(first.rows)) == (1, 3, 120, 50)
    assert first.rows[0].id > first.rows[-1].id
    last = audit_log.search(session, actor=team["auditor"], action="case.list", page=3)
    assert len(last.rows) == 20 and not {r.id for r in last.rows} & {r.id for r in first.rows}
    beyond = audit_log.search(session, actor=team["auditor"], action="case.list", page=99)
    assert beyond.page == 3 and [r.id for r in beyond.rows] == [r.id for r in last.rows]


def test_searching_is_itself_audited_with_the_filters_and_no_names(session, team, case):
    audit_log.search(session, actor=team["auditor"], child_id=case.reference,
                     action="case.viewed", date_from="2026-01-01")
    session.commit()
    (searched,) = audit_events(session, "audit.searched")
    assert searched.actor_id == team["auditor"].user_id and searched.actor_role == "auditor"
    assert searched.detail == {
        "child_id": case.child_id, "action": "case.viewed", "date_from": "2026-01-01",
        "page": 1, "results": 0,
    }
    assert searched.child_id is None  # searching the log is not an access to the record


# ---- a child's accesses and the CSV ------------------------------------------------------------


def test_who_accessed_a_child_lists_every_event_and_exports_csv(session, team, case):
    other = make_case(session, stage="triage", officer_id=team["officer"].user_id)
    session.commit()
    casework.view_case(session, actor=at_ip(team["officer"], "203.0.113.7"),
                       reference=case.reference)
    casework.view_case(session, actor=at_ip(team["officer2"], "203.0.113.9"),
                       reference=case.reference, purpose_form=COVERING)
    casework.view_case(session, actor=team["officer"], reference=other.reference)
    session.commit()

    rows = audit_log.accesses_to_child(session, actor=team["lead"], child_id=case.reference)
    assert [(r.who, r.action, r.purpose) for r in rows] == [
        ("Olu Officer", "Viewed a case", ""),
        ("Priya Patel", "Viewed a case", "Covering for a colleague"),
    ]
    text = audit_log.accesses_csv(session, actor=team["auditor"], child_id=case.child_id)
    session.commit()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Who", "Role", "When (UTC)", "Action", "Outcome", "Record", "Purpose",
                        "IP address"]
    assert [r[:2] + r[3:] for r in table[1:]] == [
        ["Olu Officer", "CME officer", "Viewed a case", "Done", f"Case {case.reference}", "",
         "203.0.113.7"],
        ["Priya Patel", "CME officer", "Viewed a case", "Done", f"Case {case.reference}",
         "Covering for a colleague", "203.0.113.9"],
    ]
    assert all(datetime.fromisoformat(r[2]).utcoffset() == timedelta(0) for r in table[1:])
    (exported,) = audit_events(session, "audit.exported")
    assert (exported.actor_id, exported.detail) == (
        team["auditor"].user_id, {"child_id": case.child_id, "rows": 2}
    )


def test_csv_cells_cannot_run_as_spreadsheet_formulas(session, team, case):
    sneaky = make_user(session, "lead", email="sneaky@example.org", name="=HYPERLINK(1)")
    casework.view_case(session, actor=sneaky, reference=case.reference)
    text = audit_log.accesses_csv(session, actor=team["auditor"], child_id=case.child_id)
    assert "'=HYPERLINK(1)" in text.splitlines()[1]


# ---- the purpose for opening a case outside one's caseload --------------------------------------


def test_another_officers_case_needs_a_purpose_before_anything_is_sent(session, team, case):
    with pytest.raises(PurposeRequired):
        casework.view_case(session, actor=team["officer2"], reference=case.reference)
    session.commit()  # as the page does: the refusal is kept
    (refused,) = audit_events(session, "case.viewed")
    assert (refused.outcome, refused.actor_id, refused.detail) == (
        "purpose_required", team["officer2"].user_id, {}
    )
    # The admin has no caseload of their own: they say why too.
    with pytest.raises(PurposeRequired):
        casework.view_case(session, actor=team["admin"], reference=case.reference)


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, ["purpose"]),
        ({"purpose": "curious"}, ["purpose"]),
        ({"purpose": "other", "purpose_other": "   "}, ["purpose_other"]),
        ({"purpose": "other", "purpose_other": "x" * 201}, ["purpose_other"]),
    ],
)
def test_a_purpose_must_be_one_of_the_reasons(session, team, case, form, fields):
    with pytest.raises(ValidationFailed) as caught:
        casework.view_case(session, actor=team["officer2"], reference=case.reference,
                           purpose_form=form)
    assert [e.field for e in caught.value.errors] == fields


def test_a_purpose_is_recorded_and_not_asked_again_that_day(session, team, case):
    reason = {"purpose": "other", "purpose_other": "Parent rang the duty line"}
    view = casework.view_case(session, actor=team["officer2"], reference=case.reference,
                              purpose_form=reason)
    assert view.reference == case.reference
    again = casework.view_case(session, actor=team["officer2"], reference=case.reference)
    session.commit()
    given, remembered = audit_events(session, "case.viewed")
    assert given.detail == reason and remembered.detail == {}
    assert again.reference == case.reference
    rows = audit_log.accesses_to_child(session, actor=team["auditor"], child_id=case.child_id)
    assert rows[0].purpose == "Other: Parent rang the duty line"
    # Another officer's purpose is not theirs, and a working day later it is asked again.
    with pytest.raises(PurposeRequired):
        casework.view_case(session, actor=team["admin"], reference=case.reference)
    with pytest.raises(PurposeRequired):
        casework.view_case(session, actor=team["officer2"], reference=case.reference,
                           now=utcnow() + timedelta(hours=9))


def test_own_cases_the_teams_queue_and_leads_need_no_purpose(session, team, case):
    unallocated = make_case(session, stage="new_referral")
    session.commit()
    casework.view_case(session, actor=team["officer"], reference=case.reference)
    casework.view_case(session, actor=team["lead"], reference=case.reference)
    casework.view_case(session, actor=team["officer2"], reference=unallocated.reference)
    session.commit()
    assert [(e.outcome, e.detail) for e in audit_events(session, "case.viewed")] == [("ok", {})] * 3


# ---- the log reads as English (issue 18) ---------------------------------------------------


def _written_actions() -> set[str]:
    """Every action code the app writes, read from its source: literal `action="x.y"` (also
    `action = "x.y" if ... else "x.z"` and the case page's positional ones) and the two made
    from a variable (`f"{kind}.imported"`, `f"new_pupil_match.{answer}"`)."""
    codes: set[str] = set()
    for path in Path(cme_app.__file__).parent.rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r'action\s*=\s*"([a-z_]+\.[a-z_]+)"(?:\s+if .*? else\s+"([a-z_.]+)")?',
                             text):
            codes.update(g for g in m.groups() if g)
        codes.update(re.findall(r'load_open_case\(session, actor, reference, "([a-z_.]+)"\)', text))
    codes |= {"deletion_return.imported", "new_pupil_return.imported",
              "new_pupil_match.confirmed", "new_pupil_match.dismissed", "auth.mfa_enrolled",
              "auth.mfa_failed", "auth.mfa_throttled"}
    return codes


def test_every_action_the_app_writes_has_plain_words():
    written = _written_actions()
    assert {"case.moved", "permission.refused", "case.enquiry_logged"} <= written
    assert sorted(written - set(audit_log.ACTION_LABELS)) == []


def test_every_label_reads_as_an_attempt_when_refused():
    """A label starting with a past tense ("Moved a case") has its plain form, so a refused
    attempt reads "Tried to move a case: refused"; the others ("Email sent") say their outcome
    after their words."""
    for code, label in audit_log.ACTION_LABELS.items():
        words = audit_log.describe(code, "refused")
        assert words.endswith(": refused"), (code, words)
        assert words.startswith("Tried to ") or not label.split()[0].endswith("ed"), code
    assert audit_log.describe("case.moved", "ok") == "Moved a case"
    assert audit_log.describe("case.moved", "refused") == "Tried to move a case: refused"
    assert audit_log.describe("auth.sign_in", "throttled") == (
        "Tried to sign in: refused (too many attempts)")
    assert audit_log.describe("notification.email_failed", "failed") == "Email failed"


def test_a_refused_page_action_reads_in_words_and_the_csv_says_refused(session, team, case):
    """The handler adapter's `permission.refused` (tests/pages/test_handler_guards.py) and a
    service's refused write: the DPO's view and the CSV say what was tried and that it was
    refused, never a bare code or a success."""
    officer = team["officer2"]
    audit.record(session, actor=officer, action="permission.refused", outcome="refused",
                 entity_type="handler", entity_id="CaseState.close_case",
                 child_id=case.child_id, detail={"capabilities": ["case.close"]})
    with pytest.raises(PurposeRequired):
        lifecycle.move_case(session, actor=officer, reference=case.reference,
                            to_stage="home_visit", version=case.version)
    session.commit()
    rows = audit_log.accesses_to_child(session, actor=team["lead"], child_id=case.reference)
    assert [(r.who, r.role, r.action, r.record, r.outcome) for r in rows] == [
        ("Priya Patel", "CME officer",
         "Tried to use a page action their role does not have: refused",
         "Page action: close case", "Refused"),
        ("Priya Patel", "CME officer", "Tried to move a case: refused", f"Case {case.reference}",
         "Refused"),
    ]
    table = list(csv.reader(io.StringIO(
        audit_log.accesses_csv(session, actor=team["auditor"], child_id=case.child_id))))
    assert [r[3:5] for r in table[1:]] == [
        ["Tried to use a page action their role does not have: refused", "Refused"],
        ["Tried to move a case: refused", "Refused"],
    ]
    assert all("permission.refused" not in cell and "case.moved" not in cell
               for row in table for cell in row)


def test_a_write_with_a_purpose_shows_it_in_the_log(session, team, case):
    casework.view_case(session, actor=team["officer2"], reference=case.reference,
                       purpose_form=COVERING)
    session.commit()
    records.log_enquiry(session, actor=team["officer2"], reference=case.reference, form={
        "kind": "health", "done_on": utcnow().date().isoformat(), "method": "system",
        "contacted": "Records team", "result": "no_trace", "summary": "Checked."})
    session.commit()
    rows = audit_log.accesses_to_child(session, actor=team["lead"], child_id=case.reference)
    logged = [r for r in rows if r.action_code == "case.enquiry_logged"]
    assert [(r.action, r.outcome, r.purpose) for r in logged] == [
        ("Logged an enquiry", "Done", "Covering for a colleague")]
