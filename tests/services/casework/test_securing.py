"""Securing education once a child is found ("Located – securing education"): each step dated,
audited and due by its target; the episode's DfE reason follows the steps unless an officer
chose it by hand; and the case closes as on roll at a Leeds school only from the start date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from cme_app.dates import long_date
from cme_app.errors import NotAllowed, Refusal, ValidationFailed
from cme_app.models import Case, CmeEpisode, EpisodeReason, SecuringStep
from cme_app.services.casework import closure, lifecycle, securing
from cme_app.services.casework.case_file import view_case
from cme_app.services.casework.lifecycle import MoveRefused, StaleCase
from cme_app.services.returns import episodes
from cme_app.services.school_calendar.school_days import load_calendar
from cme_app.services.trust import retention, sar
from cme_app.services.trust.purpose import PurposeRequired
from cme_app.settings import get_settings
from tests.factories import audit_events, case_in_enquiries, make_case

TODAY = date.today()


def _case(session, reference: str) -> Case:
    """The case as stored now, read in the test's own session."""
    session.expire_all()
    return session.exec(select(Case).where(Case.reference == reference)).one()


def _located(session, team, who: str = "officer") -> str:
    reference = case_in_enquiries(session, team)
    lifecycle.move_case(session, actor=team[who], reference=reference, to_stage="located",
                        version=_case(session, reference).version)
    session.commit()
    return reference


def _steps(session, reference: str, kind: str | None = None) -> list[SecuringStep]:
    case = _case(session, reference)
    rows = session.exec(select(SecuringStep).where(SecuringStep.case_id == case.id)
                        .order_by(SecuringStep.id)).all()
    return [r for r in rows if kind is None or r.kind == kind]


def _record(session, team, reference, kind, form, who="officer", step=None, today=TODAY):
    row = securing.record_step(
        session, actor=team[who], reference=reference, kind=kind, form=form,
        step_id=step.id if step else 0, version=step.version if step else 0, today=today)
    session.commit()
    return row


def _school_days(start: date, n: int, session) -> date:
    return load_calendar(session).add_school_days(start, n)


def _start_episode(session, team, reference, reason="Moved in from another local authority",
                   started=None):
    episodes.start_episode(session, actor=team["officer"], reference=reference, form={
        "start_date": (started or TODAY - timedelta(days=30)).isoformat(),
        "start_basis": "arrived_in_la", "lives_in_la": "yes", "primary_reason": reason})
    session.commit()


def _episode(session, reference) -> CmeEpisode:
    case = _case(session, reference)
    return session.exec(select(CmeEpisode).where(CmeEpisode.child_id == case.child_id)).one()


def _history(session, episode: CmeEpisode) -> list[tuple[str, str | None]]:
    rows = session.exec(select(EpisodeReason).where(EpisodeReason.episode_id == episode.id)
                        .order_by(EpisodeReason.id)).all()
    return [(r.reason, r.source) for r in rows]


# ---------------------------------------------------------------------------------------------
# The keyworker


def test_entering_located_makes_the_keyworker_due_once(session, team):
    reference = _located(session, team)
    [step] = _steps(session, reference)
    assert step.kind == "keyworker" and step.done_on is None and step.who is None
    assert step.due_on == _school_days(TODAY, get_settings().keyworker_school_days, session)
    [event] = audit_events(session, "securing.keyworker_due")
    assert event.entity_id == reference and event.detail["due_on"] == step.due_on.isoformat()

    # Back to Enquiries and found again: still the one keyworker step.
    for stage in ("enquiries", "located"):
        lifecycle.move_case(session, actor=team["officer"], reference=reference, to_stage=stage,
                            version=_case(session, reference).version)
        session.commit()
    assert len(_steps(session, reference, "keyworker")) == 1


def test_recording_the_keyworker_fills_the_due_step_and_is_audited(session, team):
    reference = _located(session, team)
    [due] = _steps(session, reference)
    _record(session, team, reference, "keyworker",
            {"who": "Pat Keyworker, School Attendance Service East", "done_on": TODAY.isoformat()},
            step=due)
    [step] = _steps(session, reference)
    assert (step.who, step.done_on, step.version) == (
        "Pat Keyworker, School Attendance Service East", TODAY, 2)
    assert step.due_on == due.due_on  # the target stays the one set on entering Located
    [event] = audit_events(session, "securing.updated")
    assert event.detail["after"]["who"].startswith("Pat Keyworker")
    assert event.detail["before"]["who"] is None


def test_a_stale_update_is_refused(session, team):
    reference = _located(session, team)
    [due] = _steps(session, reference)
    form = {"who": "Pat Keyworker", "done_on": TODAY.isoformat()}
    seen = due.version  # a second page still showing version 1
    _record(session, team, reference, "keyworker", form, step=due)
    with pytest.raises(StaleCase):
        securing.record_step(session, actor=team["lead"], reference=reference,
                             kind="keyworker", form=form | {"who": "Sam"}, step_id=due.id,
                             version=seen)
    session.rollback()
    assert _steps(session, reference)[0].who == "Pat Keyworker"


# ---------------------------------------------------------------------------------------------
# Application, offer and start: due dates and the reason they give


def test_application_offer_and_start_each_due_and_the_reason_follows(session, team):
    reference = _located(session, team)
    _start_episode(session, team, reference)
    applied = TODAY - timedelta(days=3)
    app = _record(session, team, reference, "application", {
        "school": "Aire Valley Primary (107999)", "done_on": applied.isoformat(),
        "outcome": "awaiting"})
    assert app.due_on == _school_days(applied, 15, session)
    episode = _episode(session, reference)
    assert episode.primary_reason == "School application awaiting outcome"
    last = session.exec(select(EpisodeReason).where(EpisodeReason.episode_id == episode.id)
                        .order_by(EpisodeReason.id.desc())).first()
    assert (last.source, last.from_date) == ("steps", applied)
    assert audit_events(session, "episode.reason_followed")

    _record(session, team, reference, "application", {
        "school": "Aire Valley Primary (107999)", "done_on": applied.isoformat(),
        "outcome": "offered", "outcome_on": TODAY.isoformat()}, step=app)
    assert _episode(session, reference).primary_reason == (
        "Offered school place but not yet accepted")

    offer = _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    assert offer.due_on == _school_days(TODAY, 10, session)
    assert _episode(session, reference).primary_reason == (
        "Offered school place but not yet accepted")

    start = TODAY + timedelta(days=7)
    _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "yes",
        "start_on": start.isoformat()}, step=offer)
    episode = _episode(session, reference)
    assert episode.primary_reason == "Waiting school start"
    assert _history(session, episode) == [
        ("Moved in from another local authority", "start"),
        ("School application awaiting outcome", "steps"),
        ("Offered school place but not yet accepted", "steps"),
        ("Waiting school start", "steps"),
    ]
    assert securing.agreed_start(session, _case(session, reference)) == start


def test_an_accepted_offer_needs_a_start_date_not_before_the_offer(session, team):
    reference = _located(session, team)
    with pytest.raises(ValidationFailed) as err:
        _record(session, team, reference, "offer", {
            "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "yes"})
    assert [e.field for e in err.value.errors] == ["start_on"]
    session.rollback()
    with pytest.raises(ValidationFailed) as err:
        _record(session, team, reference, "offer", {
            "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "yes",
            "start_on": (TODAY - timedelta(days=1)).isoformat()})
    assert err.value.errors[0].message == "The start date can't be before the offer"


def test_fair_access_and_ehcp_are_dated_and_due(session, team):
    reference = _located(session, team)
    referred = TODAY - timedelta(days=1)
    fap = _record(session, team, reference, "fair_access", {
        "done_on": referred.isoformat(), "panel_on": (TODAY + timedelta(days=6)).isoformat()})
    assert fap.due_on == _school_days(referred, 20, session)
    assert fap.panel_on == TODAY + timedelta(days=6) and fap.outcome is None
    ehcp = _record(session, team, reference, "ehcp", {
        "who": "Bradford", "school": "Oak Special School", "done_on": referred.isoformat()})
    assert (ehcp.who, ehcp.school, ehcp.due_on) == (
        "Bradford", "Oak Special School", _school_days(referred, 10, session))
    assert [e.detail["kind"] for e in audit_events(session, "securing.recorded")] == [
        "fair_access", "ehcp"]


def test_a_reason_chosen_by_hand_is_not_overwritten(session, team):
    reference = _located(session, team)
    _start_episode(session, team, reference)
    episode = _episode(session, reference)
    episodes.change_episode(session, actor=team["officer"], reference=reference,
                            episode_id=episode.id, version=episode.version, form={
                                "start_date": episode.start_date.isoformat(),
                                "start_basis": "arrived_in_la", "lives_in_la": "yes",
                                "primary_reason": "Difficulty accessing suitable school place"})
    session.commit()
    _record(session, team, reference, "application", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    episode = _episode(session, reference)
    assert episode.primary_reason == "Difficulty accessing suitable school place"
    assert _history(session, episode)[-1] == (
        "Difficulty accessing suitable school place", "officer")
    view = view_case(session, actor=team["officer"], reference=reference)
    assert view.cme_episode.reason_history[-1].value.endswith(", chosen by hand)")
    assert "chosen by hand" in view.securing.reason_note
    assert "School application awaiting outcome" in view.securing.reason_note


# ---------------------------------------------------------------------------------------------
# The s.437 notice and the School Attendance Order


def test_an_s437_response_period_under_15_days_is_refused(session, team):
    reference = _located(session, team)
    served = TODAY - timedelta(days=2)
    with pytest.raises(ValidationFailed) as err:
        _record(session, team, reference, "s437_notice", {
            "done_on": served.isoformat(), "due_on": (served + timedelta(days=14)).isoformat()})
    assert err.value.errors[0].field == "due_on"
    assert "at least 15 days" in err.value.errors[0].message
    session.rollback()
    notice = _record(session, team, reference, "s437_notice", {"done_on": served.isoformat()})
    assert notice.due_on == served + timedelta(days=15)


def test_the_response_period_setting_cannot_go_below_15_days(monkeypatch):
    monkeypatch.setenv("CME_S437_RESPONSE_DAYS", "14")
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="at least 15"):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_an_order_follows_the_notice_and_a_challenge_sets_the_reason(session, team):
    reference = _located(session, team)
    _start_episode(session, team, reference, started=TODAY - timedelta(days=60))
    sao = {"school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "challenged": "yes"}
    with pytest.raises(ValidationFailed, match=r"Record the s\.437"):
        _record(session, team, reference, "sao", sao)
    session.rollback()
    recent = TODAY - timedelta(days=10)
    _record(session, team, reference, "s437_notice", {"done_on": recent.isoformat()})
    with pytest.raises(ValidationFailed, match="time to respond"):
        _record(session, team, reference, "sao", sao)
    session.rollback()
    served = TODAY - timedelta(days=20)
    _record(session, team, reference, "s437_notice", {"done_on": served.isoformat()})
    order = _record(session, team, reference, "sao", sao)
    assert order.challenged and order.school == "Aire Valley Primary"
    assert _episode(session, reference).primary_reason == "Challenging school attendance order"


# ---------------------------------------------------------------------------------------------
# Closing as on roll at a Leeds school


def _close_onroll(session, team, reference, today):
    closure.close_case(session, actor=team["lead"], reference=reference, outcome="onroll_leeds",
                       evidence={"school_urn": "107999", "start_date": today.isoformat(),
                                 "confirmed_by": "Admissions"},
                       version=_case(session, reference).version, today=today)
    session.commit()


def test_closing_as_on_roll_waits_for_the_start_date(session, team):
    reference = _located(session, team)
    start = TODAY + timedelta(days=5)
    _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "yes",
        "start_on": start.isoformat()})
    with pytest.raises(MoveRefused) as err:
        _close_onroll(session, team, reference, TODAY)
    message = str(err.value)
    assert f"due to start school on {long_date(start)}" in message
    assert "still missing education (waiting school start)" in message
    session.rollback()
    assert closure.closure_preview(session, actor=team["officer"], reference=reference,
                                   outcome="onroll_leeds", today=start - timedelta(days=1))
    assert closure.closure_preview(session, actor=team["officer"], reference=reference,
                                   outcome="onroll_leeds", today=start) == []
    _close_onroll(session, team, reference, start)
    assert _case(session, reference).stage == "closed"


def test_a_start_date_typed_into_the_closure_must_have_come(session, team):
    """Closing as on roll straight from the closure form (no offer recorded): a start date
    still to come is refused at its field; the case stays open."""
    reference = _located(session, team)
    later = TODAY + timedelta(days=3)
    with pytest.raises(ValidationFailed) as err:
        closure.close_case(session, actor=team["lead"], reference=reference,
                           outcome="onroll_leeds",
                           evidence={"school_urn": "107999", "start_date": later.isoformat(),
                                     "confirmed_by": "Admissions"},
                           version=_case(session, reference).version, today=TODAY)
    assert [e.field for e in err.value.errors] == ["start_date"]
    assert f"starts on {long_date(later)}" in err.value.errors[0].message
    session.rollback()
    assert _case(session, reference).stage == "located"


# ---------------------------------------------------------------------------------------------
# Who may record


def test_a_school_cannot_record_and_nobody_records_outside_located(session, team):
    reference = _located(session, team)
    form = {"school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"}
    with pytest.raises(NotAllowed):
        _record(session, team, reference, "application", form, who="school")
    session.commit()  # as the handler does after a refusal: the attempt stays in the trail
    assert [e.outcome for e in audit_events(session, "securing.recorded")] == ["refused"]
    session.rollback()
    other = case_in_enquiries(session, team)
    with pytest.raises(securing.NotLocated):
        _record(session, team, other, "application", form)
    session.rollback()
    assert _steps(session, reference, "application") == []
    assert _steps(session, other) == []


def test_another_officers_case_needs_the_purpose_first(session, team):
    reference = _located(session, team)
    form = {"school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"}
    with pytest.raises(PurposeRequired):
        _record(session, team, reference, "application", form, who="officer2")
    session.rollback()
    view_case(session, actor=team["officer2"], reference=reference,
              purpose_form={"purpose": "covering"})
    session.commit()
    _record(session, team, reference, "application", form, who="officer2")
    [row] = _steps(session, reference, "application")
    assert row.recorded_by_id == team["officer2"].user_id


# ---------------------------------------------------------------------------------------------
# The case page's section: due and overdue tags


def test_the_section_tags_each_step_due_overdue_or_done(session, team):
    reference = _located(session, team)
    [keyworker] = _steps(session, reference)
    case = _case(session, reference)
    [row] = securing.panel(session, actor=team["officer"], case=case, today=TODAY).steps
    assert (row.due_state, row.due_label) == ("due", f"Keyworker due by "
                                              f"{long_date(keyworker.due_on)}")
    late = keyworker.due_on + timedelta(days=1)
    [row] = securing.panel(session, actor=team["officer"], case=case, today=late).steps
    assert (row.due_state, row.due_label) == (
        "overdue", f"Keyworker overdue (due {long_date(keyworker.due_on)})")

    _record(session, team, reference, "application", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    panel = securing.panel(session, actor=team["officer"], case=_case(session, reference),
                           today=TODAY)
    states = {r.kind: r.due_state for r in panel.steps}
    assert states == {"keyworker": "due", "application": "done", "offer": "due"}
    labels = {r.kind: r.due_label for r in panel.steps}
    assert labels["application"] == "Offer recorded"  # not "Done" while it says awaiting
    [application] = [r for r in panel.steps if r.kind == "application"]
    outcome = dict((row.label, row.value) for row in application.rows)["Outcome"]
    assert outcome == "Offered (see the offer recorded below)"  # not "Awaiting outcome"
    offer = _steps(session, reference, "offer")[0]
    start = TODAY + timedelta(days=2)
    _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "yes",
        "start_on": start.isoformat()}, step=offer)
    panel = securing.panel(session, actor=team["officer"], case=_case(session, reference),
                           today=TODAY)
    assert panel.steps[-1].due_label == f"Starts on {long_date(start)}"
    later = securing.panel(session, actor=team["officer"], case=_case(session, reference),
                           today=start)
    assert later.steps[-1].due_state == "done"
    assert panel.editable and panel.has_keyworker
    assert not securing.panel(session, actor=team["admin"], case=_case(session, reference),
                              today=TODAY).editable


# ---------------------------------------------------------------------------------------------
# Data protection: the steps are the child's record like any other


def test_steps_go_with_the_case_at_retention_and_come_with_a_subject_access_export(
    session, team
):
    kept_until = date(2026, 11, 28)
    closed = make_case(session, stage="closed", outcome="onroll_leeds",
                       closed_at=datetime(2018, 6, 1, 12, tzinfo=UTC))
    session.add(SecuringStep(case_id=closed.id, kind="offer", school="Canary Primary",
                             done_on=date(2018, 5, 1), outcome="yes",
                             start_on=date(2018, 5, 8)))
    session.commit()
    doc = sar.export_child(session, child_id=closed.child_id)
    assert [s["school"] for s in doc["securing_education"]] == ["Canary Primary"]

    retention.approve(session, actor=team["lead"], items=[["closed_case", closed.id]],
                      today=kept_until)
    result = retention.destroy_approved(session, today=kept_until)
    assert result.destroyed == [closed.reference]
    assert session.exec(select(SecuringStep).where(SecuringStep.case_id == closed.id)
                        ).all() == []


def test_an_officer_can_hand_the_reason_back_to_the_steps(session, team):
    reference = _located(session, team)
    _start_episode(session, team, reference)
    episode = _episode(session, reference)
    with pytest.raises(Refusal, match="give no DfE reason"):
        securing.follow_again(session, actor=team["officer"], reference=reference)
    session.rollback()
    episodes.change_episode(session, actor=team["officer"], reference=reference,
                            episode_id=episode.id, version=episode.version, form={
                                "start_date": episode.start_date.isoformat(),
                                "start_basis": "arrived_in_la", "lives_in_la": "yes",
                                "primary_reason": "Other"})
    session.commit()
    _record(session, team, reference, "application", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    assert _episode(session, reference).primary_reason == "Other"
    assert view_case(session, actor=team["officer"], reference=reference
                     ).securing.reason_by_hand

    securing.follow_again(session, actor=team["officer"], reference=reference)
    session.commit()
    episode = _episode(session, reference)
    assert episode.primary_reason == "School application awaiting outcome"
    assert _history(session, episode)[-1] == ("School application awaiting outcome", "steps")
    # From now on the steps lead again.
    _record(session, team, reference, "offer", {
        "school": "Aire Valley Primary", "done_on": TODAY.isoformat(), "outcome": "awaiting"})
    assert _episode(session, reference).primary_reason == (
        "Offered school place but not yet accepted")
