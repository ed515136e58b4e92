"""Starting, changing and ending a child's CME episode, and what closing a case does to it, on a
real database through the services."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.domain import Outcome
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import CmeEpisode, EpisodeReason
from cme_app.services.casework import closure
from cme_app.services.casework.lifecycle import StaleCase
from cme_app.services.returns import census, episodes
from cme_app.settings import get_settings
from tests.factories import audit_events, fresh, make_case

TODAY = uk_today()
STARTED = TODAY - timedelta(days=30)


def form(**fields) -> dict:
    return {
        "start_date": STARTED.isoformat(),
        "start_basis": "deleted_from_roll",
        "lives_in_la": "yes",
        "primary_reason": "Waiting school start",
        **fields,
    }


def start(session, team, case, who="officer", **fields) -> CmeEpisode:
    episode = episodes.start_episode(session, actor=team[who], reference=case.reference,
                                     form=form(**fields), today=TODAY)
    session.commit()
    return episode


def errors(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def history(session, episode) -> list[tuple[str, object]]:
    return [(r.reason, r.from_date) for r in episodes.reason_history(session, episode.id)]


# ---- start ----------------------------------------------------------------------------------


def test_start_records_the_episode_its_first_reason_and_an_audit_event(session, team, case):
    episode = start(session, team, case)
    assert (episode.child_id, episode.case_id) == (case.child_id, case.id)
    assert (episode.start_date, episode.start_basis, episode.end_date) == (
        STARTED, "deleted_from_roll", None)
    assert episode.lives_in_la and not episode.to_confirm and episode.version == 1
    assert history(session, episode) == [("Waiting school start", STARTED)]
    [event] = audit_events(session, "episode.started")
    assert event.entity_id == case.reference and event.actor_id == team["officer"].user_id
    assert event.detail["episode_id"] == episode.id
    assert event.detail["primary_reason"] == "Waiting school start"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"start_date": ""}, "start_date", "Enter the date the episode started"),
        ({"start_date": "2026-02-30"}, "start_date", "must be a real date"),
        ({"start_date": (TODAY + timedelta(days=1)).isoformat()}, "start_date",
         "must be today or in the past"),
        ({"start_date": "2015-01-01"}, "start_date", "before the child was of school age"),
        ({"start_basis": "migrated"}, "start_basis", "Choose what the start date is"),
        ({"lives_in_la": "maybe"}, "lives_in_la", "Say whether the child lives in the LA"),
        ({"primary_reason": "Lost interest"}, "primary_reason", "Choose the primary reason"),
        ({"reason_from": (STARTED - timedelta(days=1)).isoformat()}, "reason_from",
         "can't apply before the episode started"),
    ],
)
def test_start_refuses_a_bad_form_with_govuk_field_errors(session, team, case, fields, field,
                                                          message):
    with pytest.raises(ValidationFailed) as exc:
        start(session, team, case, **fields)
    assert message in errors(exc)[field]
    session.rollback()
    assert session.exec(select(CmeEpisode)).all() == []
    assert audit_events(session, "episode.started") == []


def test_a_second_open_episode_is_refused(session, team, case):
    start(session, team, case)
    with pytest.raises(ValidationFailed) as exc:
        start(session, team, case, start_date=TODAY.isoformat())
    assert "already has an open CME episode" in errors(exc)["start_date"]


def test_a_new_episode_may_start_once_the_last_has_ended(session, team, case):
    first = start(session, team, case)
    episodes.end_episode(session, actor=team["officer"], reference=case.reference,
                         episode_id=first.id, version=first.version, today=TODAY,
                         form={"end_date": (TODAY - timedelta(days=5)).isoformat(),
                               "end_reason": "on_roll"})
    session.commit()
    second = start(session, team, case, start_date=TODAY.isoformat())
    assert second.id != first.id and episodes.open_episode(session, case.child_id) == second


@pytest.mark.parametrize("who", ["school", "admin", "auditor"])
def test_only_officers_and_leads_record_episodes(session, team, case, who):
    with pytest.raises(NotAllowed):
        start(session, team, case, who=who)
    session.commit()  # the refusal's audit event is kept, as the handler keeps it
    assert session.exec(select(CmeEpisode)).all() == []
    [refused] = audit_events(session, "episode.started")
    assert refused.outcome == "refused" and refused.actor_id == team[who].user_id


def test_a_lead_may_start_one(session, team, case):
    assert start(session, team, case, who="lead").created_by_id == team["lead"].user_id


# ---- change ---------------------------------------------------------------------------------


def change(session, team, case, episode, who="officer", version=None, **fields):
    changed = episodes.change_episode(
        session, actor=team[who], reference=case.reference, episode_id=episode.id,
        form=form(**fields), version=episode.version if version is None else version,
        today=TODAY)
    session.commit()
    return changed


def test_a_new_reason_applies_from_its_date_and_the_history_is_kept(session, team, case):
    episode = start(session, team, case)
    from_day = TODAY - timedelta(days=10)
    changed = change(session, team, case, episode, primary_reason="Mental health",
                     reason_from=from_day.isoformat())
    assert changed.primary_reason == "Mental health" and changed.version == 2
    assert history(session, episode) == [("Waiting school start", STARTED),
                                         ("Mental health", from_day)]
    # The reason in force on a day, as the DfE return reads it (census.py).
    def reason_on(day):
        [counted] = census.build(session, day).on_census_day
        return counted.reason

    assert reason_on(from_day - timedelta(days=1)) == "Waiting school start"
    assert reason_on(from_day) == "Mental health"
    [event] = audit_events(session, "episode.changed")
    assert event.detail["before"] == {"primary_reason": "Waiting school start"}
    assert event.detail["after"] == {"primary_reason": "Mental health"}


def test_a_new_reason_cannot_apply_from_before_the_last_change(session, team, case):
    """History stays in date order, so the stored reason is the one in force from then on."""
    episode = start(session, team, case)
    episode = change(session, team, case, episode, primary_reason="Mental health",
                     reason_from=(TODAY - timedelta(days=5)).isoformat())
    with pytest.raises(ValidationFailed) as refused:
        change(session, team, case, episode, primary_reason="Other",
               reason_from=(TODAY - timedelta(days=6)).isoformat())
    assert errors(refused)["reason_from"].startswith(
        "The new reason can't apply from before the last change, on ")
    session.rollback()
    assert fresh_episode(session, episode).primary_reason == "Mental health"
    assert [r for r, _ in history(session, episode)] == ["Waiting school start", "Mental health"]


def fresh_episode(session, episode) -> CmeEpisode:
    session.expire_all()
    return session.get(CmeEpisode, episode.id)


def test_a_new_reason_with_no_date_applies_from_today(session, team, case):
    episode = start(session, team, case)
    change(session, team, case, episode, primary_reason="Other")
    assert history(session, episode)[-1] == ("Other", TODAY)


def test_correcting_the_start_keeps_the_reason_history_and_confirms_a_migrated_one(
        session, team, case):
    episode = start(session, team, case)
    row = session.get(CmeEpisode, episode.id)
    row.start_basis, row.to_confirm = "migrated", True
    session.add(row)
    session.commit()
    earlier = STARTED - timedelta(days=7)
    changed = change(session, team, case, row, start_date=earlier.isoformat(),
                     start_basis="arrived_in_la", lives_in_la="no")
    assert (changed.start_date, changed.start_basis, changed.lives_in_la) == (
        earlier, "arrived_in_la", False)
    assert not changed.to_confirm
    assert len(history(session, episode)) == 1  # the reason did not change


def test_change_refuses_a_future_date_and_a_start_after_the_end(session, team, case):
    episode = start(session, team, case)
    with pytest.raises(ValidationFailed) as exc:
        change(session, team, case, episode,
               start_date=(TODAY + timedelta(days=3)).isoformat())
    assert "must be today or in the past" in errors(exc)["start_date"]
    session.rollback()
    episode = episodes.end_episode(
        session, actor=team["officer"], reference=case.reference, episode_id=episode.id,
        version=episode.version, today=TODAY,
        form={"end_date": (TODAY - timedelta(days=5)).isoformat(), "end_reason": "ehe"})
    session.commit()
    with pytest.raises(ValidationFailed) as exc:
        change(session, team, case, episode, start_date=(TODAY - timedelta(days=5)).isoformat())
    assert "before the episode ended" in errors(exc)["start_date"]


def test_change_with_an_old_version_is_refused(session, team, case):
    episode = start(session, team, case)
    change(session, team, case, episode, primary_reason="Other")
    with pytest.raises(StaleCase, match="changed by someone else"):
        change(session, team, case, episode, version=1, primary_reason="Mental health")
    session.rollback()
    assert session.get(CmeEpisode, episode.id).primary_reason == "Other"


def test_another_childs_episode_is_refused(session, team, case):
    episode = start(session, team, case)
    other = make_case(session, stage="enquiries", first_name="Other")
    session.commit()
    with pytest.raises(ValidationFailed) as exc:
        change(session, team, other, episode)
    assert errors(exc) == {"episode_id": "That CME episode is not this child's"}


# ---- end ------------------------------------------------------------------------------------


def end(session, team, case, episode, version=None, **fields):
    ended = episodes.end_episode(
        session, actor=team["officer"], reference=case.reference, episode_id=episode.id,
        version=episode.version if version is None else version, today=TODAY,
        form={"end_date": TODAY.isoformat(), "end_reason": "on_roll", **fields})
    session.commit()
    return ended


def test_end_records_the_first_day_not_cme_and_an_audit_event(session, team, case):
    episode = start(session, team, case)
    ended = end(session, team, case, episode)
    assert (ended.end_date, ended.end_reason, ended.version) == (TODAY, "on_roll", 2)
    assert episodes.open_episode(session, case.child_id) is None
    [event] = audit_events(session, "episode.ended")
    assert event.detail["after"] == {"end_date": TODAY.isoformat(), "end_reason": "on_roll"}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"end_date": (TODAY + timedelta(days=1)).isoformat()}, "end_date",
         "must be today or in the past"),
        ({"end_date": STARTED.isoformat()}, "end_date", "The end must be after the episode"),
        ({"end_date": (STARTED - timedelta(days=1)).isoformat()}, "end_date",
         "The end must be after the episode"),
        ({"end_reason": "bored"}, "end_reason", "Choose why the episode ended"),
        ({"end_date": ""}, "end_date", "Enter the date the episode ended"),
    ],
)
def test_end_refuses_a_bad_form(session, team, case, fields, field, message):
    episode = start(session, team, case)
    with pytest.raises(ValidationFailed) as exc:
        end(session, team, case, episode, **fields)
    assert message in errors(exc)[field]


def test_an_ended_episode_cannot_end_again_and_an_old_version_is_refused(session, team, case):
    episode = start(session, team, case)
    with pytest.raises(StaleCase):
        end(session, team, case, episode, version=7)
    session.rollback()
    ended = end(session, team, case, episode)
    with pytest.raises(ValidationFailed) as exc:
        end(session, team, case, ended)
    assert errors(exc) == {"end_date": "This episode has already ended"}


# ---- closing the case -----------------------------------------------------------------------


def close(session, team, case, outcome, evidence):
    case = fresh(session, case)
    closure.close_case(session, actor=team["lead"], reference=case.reference, outcome=outcome,
                       evidence=evidence, version=case.version, today=TODAY)
    session.commit()
    session.expire_all()


def test_closing_as_on_roll_ends_the_episode_on_the_school_start_date(session, team, case):
    episode = start(session, team, case)
    started_school = TODAY - timedelta(days=2)
    close(session, team, case, "onroll_leeds", {
        "school_urn": "108111", "start_date": started_school.isoformat(),
        "confirmed_by": "Admissions team"})
    row = session.get(CmeEpisode, episode.id)
    assert (row.end_date, row.end_reason, row.whereabouts_unknown) == (
        started_school, "on_roll", False)
    [event] = audit_events(session, "episode.closed_with_case")
    assert event.detail["after"]["end_reason"] == "on_roll"


def test_closing_as_untraceable_keeps_it_open_whereabouts_unknown_for_review(
        session, team, case, monkeypatch):
    # Untraceable's pathway and ground I blockers have their own tests (test_casework.py).
    untraceable = closure.OUTCOMES[Outcome.UNTRACEABLE]
    monkeypatch.setitem(closure.OUTCOMES, Outcome.UNTRACEABLE,
                        dataclasses.replace(untraceable, blockers=()))
    episode = start(session, team, case)
    close(session, team, case, "untraceable", {"off_roll_date": TODAY.isoformat()})
    row = session.get(CmeEpisode, episode.id)
    assert row.end_date is None and row.end_reason is None
    assert row.whereabouts_unknown
    assert row.review_on == TODAY + timedelta(days=get_settings().untraceable_review_days)


def test_closing_as_deceased_ends_it_with_died(session, team, case):
    episode = start(session, team, case)
    close(session, team, case, "deceased", {"source": "Registrar, confirmed today"})
    row = session.get(CmeEpisode, episode.id)
    assert (row.end_date, row.end_reason) == (TODAY, "died")


def test_closing_as_a_duplicate_leaves_the_episode_alone(session, team, case):
    episode = start(session, team, case)
    original = make_case(session, stage="enquiries", first_name="Original")
    session.commit()
    close(session, team, case, "duplicate", {"duplicate_of": original.reference,
                                             "reason": "Referred twice by the school"})
    row = session.get(CmeEpisode, episode.id)
    assert (row.end_date, row.end_reason, row.whereabouts_unknown, row.version) == (
        None, None, False, 1)
    assert audit_events(session, "episode.closed_with_case") == []


def test_closing_with_no_open_episode_changes_nothing(session, team, case):
    close(session, team, case, "deceased", {"source": "Registrar"})
    assert session.exec(select(CmeEpisode)).all() == []
    assert session.exec(select(EpisodeReason)).all() == []
