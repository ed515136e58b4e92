"""A referral submit that dies half way, and the retry with the same submission id.

The backend is a real child process (tests/submit_kill_worker.py) that calls the real
`referrals.submit` on the test database and is killed with SIGKILL from a SQLAlchemy session
hook, once just before the commit and once just after it. Then the school's retry, with the
form's submission id, leaves exactly one referral. The form state only ever shows "Referral
submitted" once the service has returned.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, func
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select

import cme_app.pages  # noqa: F401  (registers every page state)
from cme_app.errors import NotAllowed
from cme_app.models import AuditEvent, Case, Referral
from cme_app.ops.demo import example_referral_form
from cme_app.pages.intake.referral_form import ReferralFormState
from cme_app.services.intake import referrals
from tests.factories import call_handler, session_token, state_for, two_schools

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def schools(session):
    school_a, school_b = two_schools(session)
    session.commit()
    return school_a, school_b


def row_counts(session) -> dict[str, int]:
    session.rollback()  # a fresh view of what other processes committed
    counts = {
        table.name: session.exec(select(func.count()).select_from(table)).one()
        for table in SQLModel.metadata.sorted_tables
    }
    session.rollback()
    return counts


def kill_during_submit(session, actor, submission_id: str, die: str) -> int:
    session.rollback()  # on SQLite an open transaction here holds the write lock
    job = {
        "user_id": actor.user_id,
        "submission_id": submission_id,
        "form": example_referral_form(),
        "die": die,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.submit_kill_worker", json.dumps(job)],
        cwd=ROOT, env=os.environ.copy(), timeout=120, check=False,
    )
    return proc.returncode


def referrals_with(session, submission_id: str) -> list[Referral]:
    """Read, then end the transaction: on SQLite an open one holds the write lock."""
    session.rollback()
    rows = session.exec(select(Referral).where(Referral.submission_id == submission_id)).all()
    for row in rows:
        session.expunge(row)
    session.rollback()
    return rows


def test_killed_before_commit_leaves_no_row_and_the_retry_stores_exactly_one(session, schools):
    school_a, _ = schools
    sid = secrets.token_hex(16)
    before = row_counts(session)

    assert kill_during_submit(session, school_a, sid, "before_commit") == -signal.SIGKILL

    # Not one row of it: no child, referral, case, household, enquiry, reference number,
    # notification or audit event.
    assert row_counts(session) == before

    case = referrals.submit(session, actor=school_a, form=example_referral_form(),
                            submission_id=sid)
    session.commit()
    assert [r.id for r in referrals_with(session, sid)] == [case.referral_id]
    assert row_counts(session)["referral"] == before["referral"] + 1


def test_killed_after_commit_keeps_the_referral_and_the_retry_returns_it(session, schools):
    school_a, _ = schools
    sid = secrets.token_hex(16)
    before = row_counts(session)

    assert kill_during_submit(session, school_a, sid, "after_commit") == -signal.SIGKILL

    (stored,) = referrals_with(session, sid)
    assert stored.status == "submitted" and stored.school_id == school_a.school_id
    stored_case = session.exec(select(Case).where(Case.referral_id == stored.id)).one()
    after_kill = row_counts(session)
    assert after_kill["case"] == before["case"] + 1 and after_kill["child"] == before["child"] + 1

    # The browser never heard back, so it sends the same form again.
    case = referrals.submit(session, actor=school_a, form=example_referral_form(),
                            submission_id=sid)
    session.commit()
    assert case.reference == stored_case.reference
    assert [r.id for r in referrals_with(session, sid)] == [stored.id]
    counts = row_counts(session)
    assert counts["auditevent"] == after_kill["auditevent"] + 1  # only the repeat, audited
    assert {k: v for k, v in counts.items() if k not in ("auditevent", "auditchainhead")} == {
        k: v for k, v in after_kill.items() if k not in ("auditevent", "auditchainhead")
    }
    repeat = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (repeat.action, repeat.entity_id, repeat.actor_id) == (
        "referral.submit_repeated", stored_case.reference, school_a.user_id
    )


def test_a_submission_id_never_reaches_another_schools_referral(session, schools):
    school_a, school_b = schools
    sid = secrets.token_hex(16)
    mine = referrals.submit(session, actor=school_a, form=example_referral_form(),
                            submission_id=sid)
    session.commit()
    theirs = referrals.submit(session, actor=school_b, form=example_referral_form(),
                              submission_id=sid)
    session.commit()
    assert theirs.reference != mine.reference
    assert session.get(Referral, theirs.referral_id).school_id == school_b.school_id
    assert not session.exec(
        select(AuditEvent).where(AuditEvent.action == "referral.submit_repeated")
    ).all()
    with pytest.raises(NotAllowed):
        referrals.submit(session, actor=school_a, form=example_referral_form(),
                         submission_id="../" + sid)
    session.rollback()
    assert len(referrals_with(session, sid)) == 2


# ---- the form: "submitted" only once the service returned ----------------------------------


def _form_state(session, school, form: dict | None = None) -> ReferralFormState:
    """Check your answers for a draft of `form` (the referral's pages saved it)."""
    token = session_token(session, school.email)
    query = {"section": "check"}
    if form is not None:
        query["draft"] = referrals.save_draft(session, actor=school, form=form).public_id
    session.commit()
    state = state_for(ReferralFormState, token, path="/referrals/new", query=query)
    call_handler(state, "load")
    return state


def _press_submit(state: ReferralFormState, form: dict):
    """Submit referral, with the page's hidden fields: the submission id and the draft."""
    sent = {"submission_id": form.get("submission_id", ""), "draft_id": state.draft_ref}
    return call_handler(state, "submit_referral", sent)


def _fail_at_commit(monkeypatch, when: str) -> None:
    """Make the submit's own commit fail (before: nothing stored) or its answer be lost
    (after: stored, but the handler sees an error), as a dropped connection would."""
    real = referrals.submit

    def fail(*_args) -> None:
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    def submit_then_fail(session, **kwargs):
        case = real(session, **kwargs)
        event.listen(session, when, fail, once=True)
        return case

    monkeypatch.setattr(referrals, "submit", submit_then_fail)


def test_the_form_makes_a_well_formed_submission_id_per_opening(session, schools):
    state = _form_state(session, schools[0])
    first = state.submission_id
    assert referrals.is_submission_id(first)
    call_handler(state, "load")
    assert referrals.is_submission_id(state.submission_id) and state.submission_id != first


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_no_confirmation_unless_stored_and_the_retry_gives_one_referral(
    session, schools, when, monkeypatch
):
    school_a, _ = schools
    state = _form_state(session, school_a, example_referral_form())
    form = {**example_referral_form(), "submission_id": state.submission_id}

    with monkeypatch.context() as patch:
        _fail_at_commit(patch, when)
        _press_submit(state, form)
    assert state.submitted_reference == ""  # no "Referral submitted"
    assert state.error_list == [["submit-referral", (
        "Your referral may not have been sent. Press Submit referral again: it will not be "
        "sent twice."
    )]]
    assert state.values["first_name"] == "Amira"  # the answers are kept for the retry
    stored = referrals_with(session, state.submission_id)
    assert len(stored) == (1 if when == "after_commit" else 0)

    _press_submit(state, form)
    assert state.error_list == []
    (referral,) = referrals_with(session, state.submission_id)
    case = session.exec(select(Case).where(Case.referral_id == referral.id)).one()
    assert state.submitted_reference == case.reference


def test_a_retry_after_the_server_lost_the_form_state_uses_the_forms_id(session, schools):
    """A restarted server without Redis forgets the tab's state; the hidden field still carries
    the id, so the queued submit is recognised. A malformed one is replaced, never used."""
    school_a, _ = schools
    state = _form_state(session, school_a, example_referral_form())
    sid, draft = state.submission_id, state.draft_ref
    _press_submit(state, {**example_referral_form(), "submission_id": sid})
    first = state.submitted_reference

    fresh = _form_state(session, school_a)
    fresh.submission_id = ""  # as a brand-new state would have it
    fresh.draft_ref = draft  # the page's hidden field
    _press_submit(fresh, {**example_referral_form(), "submission_id": sid})
    assert fresh.submitted_reference == first
    assert len(referrals_with(session, sid)) == 1

    forged = _form_state(session, school_a, example_referral_form())
    forged.submission_id = ""
    _press_submit(forged, {**example_referral_form(), "submission_id": "not-an-id"})
    assert referrals.is_submission_id(forged.submission_id)
    assert forged.submitted_reference not in ("", first)
