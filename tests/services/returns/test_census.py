"""The CME part of the DfE return as at a census day (statutory-returns §1), computed from
episode history on a real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cme_app.dates import compulsory_school_age, year_group
from cme_app.domain import LENGTH_BANDS
from cme_app.models import Child, CmeEpisode, EpisodeReason
from cme_app.services.returns import census, episodes
from cme_app.services.school_calendar.default_terms import seed_term_dates
from cme_app.settings import get_settings
from tests.factories import make_case

CENSUS = date(2026, 10, 1)  # a Thursday, autumn 2026
DOB = date(2014, 3, 2)  # Year 7 in 2026/27


def child(session, *, first="Amira", last="Test", dob=DOB, sex="female") -> Child:
    row = Child(first_name=first, last_name=last, date_of_birth=dob, sex=sex)
    session.add(row)
    session.flush()
    return row


def episode(session, kid: Child, start: date | None, end: date | None = None, *,
            reason="Waiting school start", lives_in_la=True, to_confirm=False,
            created_at: datetime | None = None, case_id=None) -> CmeEpisode:
    row = CmeEpisode(child_id=kid.id, case_id=case_id, start_date=start,
                     start_basis="deleted_from_roll", end_date=end, primary_reason=reason,
                     lives_in_la=lives_in_la, to_confirm=to_confirm,
                     created_at=created_at or datetime(2026, 9, 1, 9, tzinfo=UTC))
    session.add(row)
    session.flush()
    if start is not None:
        session.add(EpisodeReason(episode_id=row.id, reason=reason, from_date=start))
        session.flush()
    return row


def cme(session, start, end=None, **kw) -> Child:
    """A child with one episode."""
    kid = child(session, **{k: kw.pop(k) for k in ("first", "last", "dob", "sex") if k in kw})
    episode(session, kid, start, end, **kw)
    return kid


def build(session, day=CENSUS) -> census.CmeReturn:
    session.commit()
    return census.build(session, day)


def ids(children) -> set[int]:
    return {c.child_id for c in children}


def codes(figures) -> set[str]:
    return {w.code for w in figures.warnings}


def warning(figures, code):
    return next(w for w in figures.warnings if w.code == code)


# ---- on census day --------------------------------------------------------------------------


def test_an_episode_starting_on_census_day_counts(session):
    kid = cme(session, CENSUS)
    figures = build(session)
    assert ids(figures.on_census_day) == {kid.id}
    assert figures.on_census_day[0].length == "less than 2 weeks"


def test_an_episode_starting_the_day_after_does_not(session):
    cme(session, CENSUS + timedelta(days=1))
    assert build(session).on_census_day == []


def test_end_date_is_the_first_day_not_cme(session):
    ended_on_census = cme(session, date(2026, 9, 1), CENSUS, first="Ended")
    ended_after = cme(session, date(2026, 9, 1), CENSUS + timedelta(days=1), first="After")
    figures = build(session)
    assert ids(figures.on_census_day) == {ended_after.id}
    assert ended_on_census.id not in ids(figures.on_census_day)


def test_a_child_with_two_open_episodes_is_counted_once_by_the_earliest(session):
    kid = child(session)
    first = episode(session, kid, date(2026, 6, 1))
    episode(session, kid, date(2026, 9, 20))
    [counted] = build(session).on_census_day
    assert counted.episode_id == first.id and counted.length == "12 to 26 weeks"


# ---- any time in the previous academic year ---------------------------------------------------


def test_previous_academic_year_is_1_september_to_31_august():
    assert census.previous_academic_year(CENSUS) == (date(2025, 9, 1), date(2026, 8, 31))
    assert census.previous_academic_year(date(2027, 5, 20)) == (date(2025, 9, 1),
                                                                date(2026, 8, 31))


def test_any_time_counts_each_child_once_and_only_overlapping_episodes(session):
    twice = child(session, first="Twice")
    episode(session, twice, date(2025, 10, 1), date(2025, 11, 1))
    episode(session, twice, date(2026, 3, 1), date(2026, 5, 1))
    ended_before = cme(session, date(2025, 6, 1), date(2025, 9, 1), first="Before")
    last_day = cme(session, date(2025, 6, 1), date(2025, 9, 2), first="Lastday")
    began_after = cme(session, date(2026, 9, 1), first="After")
    still_open = cme(session, date(2026, 8, 31), first="Open")
    elsewhere = cme(session, date(2026, 1, 5), lives_in_la=False, first="Elsewhere")
    figures = build(session)
    listed = census.previous_year_children(session, figures.census_date)
    assert ids(listed) == {twice.id, last_day.id, still_open.id}
    assert len(listed) == 3  # each child once
    assert {ended_before.id, began_after.id, elsewhere.id}.isdisjoint(ids(listed))
    assert figures.any_time_previous_year == 3
    assert figures.as_json()["any_time_previous_year"] == 3


# ---- breakdowns -------------------------------------------------------------------------------


@pytest.mark.parametrize("weeks", [2, 4, 8, 12, 26, 52])
def test_exactly_n_weeks_falls_in_the_band_starting_at_n(weeks):
    labels = [band[0] for band in LENGTH_BANDS]
    starting_at = next(label for label, low, _ in LENGTH_BANDS if low == weeks * 7)
    below = labels[labels.index(starting_at) - 1]
    assert census.length_band(CENSUS - timedelta(weeks=weeks), CENSUS) == starting_at
    assert census.length_band(CENSUS - timedelta(weeks=weeks) + timedelta(days=1),
                              CENSUS) == below


def test_length_bands_through_the_return(session):
    for weeks in (2, 4, 8, 12, 26, 52):
        cme(session, CENSUS - timedelta(weeks=weeks), first=f"Exactly{weeks}")
        cme(session, CENSUS - timedelta(weeks=weeks) + timedelta(days=1), first=f"Under{weeks}")
    assert build(session).breakdown("by_length") == {
        "less than 2 weeks": 1, "2 to 4 weeks": 2, "4 to 8 weeks": 2, "8 to 12 weeks": 2,
        "12 to 26 weeks": 2, "26 to 52 weeks": 2, "more than 52 weeks": 1, "Unknown": 0,
    }


def test_no_start_date_is_length_unknown_with_a_warning(session):
    kid = cme(session, None, created_at=datetime(2026, 9, 20, 9, tzinfo=UTC))
    cme(session, None, created_at=datetime(2026, 10, 1, 23, 30, tzinfo=UTC),  # 2 Oct, BST
        first="Recorded", last="Later")
    figures = build(session)
    assert ids(figures.on_census_day) == {kid.id}
    assert figures.on_census_day[0].length == "Unknown"
    assert figures.breakdown("by_length")["Unknown"] == 1
    assert warning(figures, "no_start_date").child_ids == (kid.id,)


def test_year_group_turns_over_between_31_august_and_1_september_birthdays():
    on = date(2026, 10, 1)
    assert year_group(date(2014, 8, 31), on) == "Year 8"
    assert year_group(date(2014, 9, 1), on) == "Year 7"
    assert year_group(date(2021, 8, 31), on) == "Year 1"
    assert year_group(date(2021, 9, 1), on) == "Reception"
    assert year_group(date(2010, 8, 31), on) is None  # past Year 11
    assert year_group(date(2010, 9, 1), on) == "Year 11"


def test_year_group_on_the_return_comes_from_the_date_of_birth(session):
    older = cme(session, date(2026, 9, 2), dob=date(2014, 8, 31), first="August")
    younger = cme(session, date(2026, 9, 2), dob=date(2014, 9, 1), first="September")
    figures = build(session)
    by_child = {c.child_id: c.year_group for c in figures.on_census_day}
    assert by_child == {older.id: "Year 8", younger.id: "Year 7"}
    assert figures.breakdown("by_year_group")["Year 8"] == 1
    assert figures.breakdown("by_year_group")["Year 7"] == 1


def test_a_child_past_compulsory_school_age_is_still_counted_with_a_warning(session):
    dob = date(2010, 5, 1)  # 16 in May 2026: compulsory school age ended 26 June 2026
    assert compulsory_school_age(dob)[1] == date(2026, 6, 26)
    kid = cme(session, date(2026, 3, 2), dob=dob)
    figures = build(session)
    [counted] = figures.on_census_day
    assert counted.child_id == kid.id and counted.past_compulsory_age
    assert counted.year_group == "Unknown"
    assert warning(figures, "past_csa").child_ids == (kid.id,)


def test_sex_is_female_male_or_unknown(session):
    for i, sex in enumerate(("female", "female", "male", "other", "unknown", "")):
        cme(session, date(2026, 9, 10), sex=sex, first=f"Child{i}")
    assert build(session).breakdown("by_sex") == {"Female": 2, "Male": 1, "Unknown": 3}


def test_every_category_is_present_when_nothing_is_counted(session):
    figures = build(session)
    assert figures.as_json()["on_census_day"] == 0
    assert set(figures.breakdown("by_reason")) >= {"Waiting school start", "Unknown"}
    assert len(figures.reasons) == 20
    assert set(figures.breakdown("by_year_group").values()) == {0}


# ---- warnings ---------------------------------------------------------------------------------


def test_vague_reasons_warn_above_ten_percent_but_not_at_exactly_ten(session):
    for i in range(9):
        cme(session, date(2026, 9, 10), first=f"Clear{i}")
    vague = cme(session, date(2026, 9, 10), reason="Not recorded", first="Vague")
    figures = build(session)
    assert len(figures.on_census_day) == 10 and "vague_reasons" not in codes(figures)
    unknown = cme(session, date(2026, 9, 10), reason="Unknown", first="Unknown")
    figures = build(session)
    assert set(warning(figures, "vague_reasons").child_ids) == {vague.id, unknown.id}
    assert "18%" in warning(figures, "vague_reasons").message


def test_migrated_episodes_to_confirm_are_flagged(session):
    kid = cme(session, date(2026, 9, 10), to_confirm=True)
    cme(session, date(2026, 9, 10), first="Confirmed")
    assert warning(build(session), "to_confirm").child_ids == (kid.id,)


def opened(session, first: str, day: date, stage: str = "enquiries"):
    return make_case(session, stage=stage, first_name=first,
                     entered_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC))


def test_an_open_case_with_no_episode_for_more_than_n_school_days_warns(session):
    seed_term_dates(session)
    assert get_settings().episode_missing_school_days == 10
    # School days after the case opened, up to census day: 11 from 16 Sep, 10 from 17 Sep.
    late = opened(session, "Late", date(2026, 9, 16))
    opened(session, "Justintime", date(2026, 9, 17))
    opened(session, "Intriage", date(2026, 9, 1), stage="triage")
    opened(session, "Closed", date(2026, 9, 1), stage="closed")
    with_episode = opened(session, "Counted", date(2026, 9, 1))
    episode(session, session.get(Child, with_episode.child_id), date(2026, 9, 1),
            case_id=with_episode.id)
    ended = opened(session, "Ended", date(2026, 9, 1))
    episode(session, session.get(Child, ended.child_id), date(2026, 9, 1), CENSUS,
            case_id=ended.id)
    figures = build(session)
    assert set(warning(figures, "no_episode").child_ids) == {late.child_id, ended.child_id}
    assert "more than 10 school days" in warning(figures, "no_episode").message


def test_children_living_in_another_la_are_left_out_and_counted_separately(session):
    here = cme(session, date(2026, 9, 10))
    cme(session, date(2026, 9, 10), lives_in_la=False, first="Away")
    cme(session, date(2026, 9, 10), CENSUS, lives_in_la=False, first="Gone")
    figures = build(session)
    assert ids(figures.on_census_day) == {here.id}
    assert figures.left_out_elsewhere == 1


# ---- figures as they were on census day -------------------------------------------------------


def test_a_late_return_gives_the_figures_as_they_were(session, team):
    """Built in March for October's census day, after the episodes changed: the same figures
    as on census day itself."""
    officer = team["officer"]
    a = make_case(session, stage="enquiries", first_name="Asha", last_name="Ahmed")
    b = make_case(session, stage="enquiries", first_name="Ben", last_name="Brown")
    session.commit()

    def start(case, day, reason):
        return episodes.start_episode(
            session, actor=officer, reference=case.reference, today=day,
            form={"start_date": day.isoformat(), "start_basis": "deleted_from_roll",
                  "lives_in_la": "yes", "primary_reason": reason})

    ep = start(a, date(2026, 9, 10), "Waiting school start")
    session.commit()
    on_the_day = census.build(session, CENSUS)
    assert [(c.reason, c.length) for c in on_the_day.on_census_day] == [
        ("Waiting school start", "2 to 4 weeks")]

    # Later: the reason changes from 15 Nov, the episode ends in January, Ben's starts.
    episodes.change_episode(
        session, actor=officer, reference=a.reference, episode_id=ep.id, version=ep.version,
        today=date(2026, 11, 20),
        form={"start_date": "2026-09-10", "start_basis": "deleted_from_roll",
              "lives_in_la": "yes", "primary_reason": "Mental health",
              "reason_from": "2026-11-15"})
    session.commit()
    ep = session.get(CmeEpisode, ep.id)
    episodes.end_episode(session, actor=officer, reference=a.reference, episode_id=ep.id,
                         version=ep.version, today=date(2027, 1, 10),
                         form={"end_date": "2027-01-10", "end_reason": "on_roll"})
    start(b, date(2026, 12, 1), "Other")
    session.commit()

    late = census.build(session, CENSUS)
    assert late.as_json() == on_the_day.as_json()
    assert [(c.child_id, c.reason) for c in late.on_census_day] == [
        (a.child_id, "Waiting school start")]
    # The spring census sees the new reason and Ben, not Asha (ended 10 January).
    spring = census.build(session, date(2027, 1, 21))
    assert [(c.child_id, c.reason) for c in spring.on_census_day] == [(b.child_id, "Other")]
    december = census.build(session, date(2026, 12, 3))
    assert {(c.child_id, c.reason) for c in december.on_census_day} == {
        (a.child_id, "Mental health"), (b.child_id, "Other")}


def test_a_reason_changed_later_from_a_date_before_census_day_counts_from_that_date(session):
    kid = child(session)
    row = episode(session, kid, date(2026, 9, 1), reason="Unknown")
    # Recorded in November, but it applied from 20 September.
    session.add(EpisodeReason(episode_id=row.id, reason="Mental health",
                              from_date=date(2026, 9, 20),
                              changed_at=datetime(2026, 11, 2, tzinfo=UTC)))
    row.primary_reason = "Mental health"
    session.add(row)
    assert [c.reason for c in build(session, date(2026, 9, 17)).on_census_day] == ["Unknown"]
    assert [c.reason for c in build(session).on_census_day] == ["Mental health"]
    assert build(session).breakdown("by_reason")["Mental health"] == 1
