"""The demo data's CME episodes and census days: enough for /reports/dfe-return and the
dashboard's CME figures on `make run`."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from cme_app.models import CensusDate, CmeEpisode, EpisodeReason
from cme_app.ops import demo
from cme_app.services.returns import census


def test_demo_has_episodes_across_reasons_and_lengths_and_the_census_days(session):
    demo.load_demo(session)
    session.commit()
    days = session.exec(select(CensusDate).order_by(CensusDate.census_date)).all()
    assert [(d.census_date, d.term) for d in days] == [
        (date(2026, 10, 1), "Autumn 2026"), (date(2027, 1, 21), "Spring 2027"),
        (date(2027, 5, 20), "Summer 2027")]
    assert {d.census_date.strftime("%A") for d in days} == {"Thursday"}

    # Eight made for the return, and one opened by a school's ground I deletion return.
    from_return = session.exec(select(CmeEpisode).where(
        CmeEpisode.start_basis == "deleted_from_roll", CmeEpisode.primary_reason == "Unknown",
        CmeEpisode.start_date == date.today() - timedelta(days=2))).all()
    assert len(from_return) == 1
    episodes = [e for e in session.exec(select(CmeEpisode)).all() if e not in from_return]
    assert len(episodes) == 8
    assert sum(e.end_date is None for e in episodes) == 6
    assert [e.whereabouts_unknown and e.review_on is not None for e in episodes].count(True) == 1
    assert [(e.start_basis, e.to_confirm) for e in episodes].count(("migrated", True)) == 1
    assert len({e.primary_reason for e in episodes}) >= 7
    changes = session.exec(select(EpisodeReason.episode_id)).all()
    assert sum(changes.count(e.id) > 1 for e in episodes) == 2  # reasons changed on two

    today = date.today()
    figures = census.build(session, today)
    assert len(figures.on_census_day) == 7  # the six open ones and the deletion return's
    assert len({c.length for c in figures.on_census_day}) >= 4
    assert "to_confirm" in {w.code for w in figures.warnings}

    again = demo.load_demo(session)
    assert (again["census_days"], again["episodes"], again["school_returns"]) == (0, 0, 0)
