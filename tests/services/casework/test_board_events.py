"""The board's change bus: "the board changed" after a commit that changed a board table,
never on rollback, never for other tables; bursts folded into one wake-up."""

from __future__ import annotations

import asyncio

from cme_app.models import Notification
from cme_app.services.casework import board_events, lifecycle
from tests.factories import make_case, run_async


def heard(sub: board_events.Subscription) -> bool:
    return run_async(sub.wait(timeout=0.05)) == board_events.CHANGED


def test_a_move_is_published_after_its_commit_only(session, team, bus):
    case = make_case(session, stage="new_referral")
    session.commit()
    sub = bus.subscribe("tab-1")
    assert not heard(sub)

    lifecycle.move_case(session, actor=team["lead"], reference=case.reference,
                        to_stage="triage", version=case.version)
    session.flush()
    assert not heard(sub)  # flushed, not committed: nobody may see it yet
    session.commit()
    assert heard(sub)
    assert not heard(sub)  # one commit, one wake-up


def test_nothing_is_published_on_rollback(session, team, bus):
    case = make_case(session, stage="new_referral")
    session.commit()
    sub = bus.subscribe("tab-1")
    lifecycle.move_case(session, actor=team["lead"], reference=case.reference,
                        to_stage="triage", version=case.version)
    session.flush()
    session.rollback()
    assert not heard(sub)
    # The next transaction starts clean: a commit of another table publishes nothing.
    session.add(Notification(recipient_id=team["lead"].user_id, event="referral_new",
                             dedupe_key="t:1", reference=case.reference, subject="s", body="b",
                             link="/board", delivery="immediate"))
    session.commit()
    assert not heard(sub)


def test_a_new_referral_and_an_allocation_are_published(session, team, bus):
    sub = bus.subscribe("tab-1")
    case = make_case(session, stage="new_referral")
    session.commit()
    assert heard(sub)
    case.allocated_officer_id = team["officer"].user_id
    session.add(case)
    session.commit()
    assert heard(sub)


def test_a_burst_wakes_a_listener_once():
    bus = board_events.LocalBus()
    sub = bus.subscribe("tab-1")

    async def burst():
        waiting = asyncio.create_task(sub.wait())
        await asyncio.sleep(0.01)
        for _ in range(50):  # a bulk import committing row by row
            bus.publish()
            await asyncio.sleep(0)
        first = await waiting
        return first, await sub.wait(timeout=0.05)

    assert run_async(burst()) == (board_events.CHANGED, board_events.DUE)


def test_one_listener_per_tab_and_a_new_load_replaces_it():
    bus = board_events.LocalBus()
    sub = bus.subscribe("tab-1")

    async def twice():
        first = asyncio.create_task(sub.wait())
        await asyncio.sleep(0.01)
        second = asyncio.create_task(sub.wait())
        await asyncio.sleep(0.01)
        replaced = await first
        newer = bus.subscribe("tab-1")  # the tab loaded the board again
        return replaced, await second, newer

    replaced, closed, newer = run_async(twice())
    assert (replaced, closed) == (board_events.REPLACED, board_events.CLOSED)
    assert bus.listeners() == 1 and bus.subscription("tab-1") is newer
    bus.drop(newer)
    assert bus.listeners() == 0


def test_the_lone_working_monitors_alert_is_published(session, team, bus):
    """The monitor runs in every worker (cme_app.py's lifespan task): the alert it raises
    reaches the open boards' alert panels through the bus, as a move does."""
    from datetime import timedelta

    from cme_app.services.visits import lone_working
    from tests.pages.test_alert_panel import TEN, overdue

    overdue(session, team, TEN)
    sub = bus.subscribe("tab-1")
    assert not heard(sub)
    assert lone_working.escalate_overdue(session, now=TEN + timedelta(minutes=46))
    session.commit()
    assert heard(sub)
