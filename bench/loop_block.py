"""Benchmark: how long does each heavy action hold the worker's event loop?

Issue 19: no handler may block the event loop for more than 20 ms. One Reflex worker serves
every tab on one asyncio loop, so while a handler runs Python on that loop nobody else's event
is even read off its socket.

In-process, on the design-load database (2,500 open cases): a tab's state as the browser
drives it (`tests.factories.state_for`), each action run as Reflex runs it (the handler
awaited on the loop, then the delta built and JSON-encoded, which Reflex does on the loop too)
while a probe task on the same loop wakes every 1 ms and records how late it woke. The figure
per action is the median over --reps runs of the probe's longest lateness in a run (a shared
box stalls any process now and then; the median is the action's own). The baseline, right after
each run: the probe alone on an idle loop for as long as the action took (the lateness the
machine's load alone causes). Target: every action's stall <= 20 ms.

    .venv/bin/python bench/loop_block.py [--reps 5] [--backend sqlite|pg]

Run on a tree whose handlers are synchronous (before issue 19's change) the same script shows
the stall of running the handler on the loop: a handler that returns a plain value ran there.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, seed  # first: sets the environment
from bench.card_move import use_db

TARGET_MS = 20.0


class Probe:
    """Wakes every 1 ms on the loop; `worst` is the longest it was kept waiting past that."""

    def __init__(self):
        self.worst = 0.0
        self._stop = False

    async def run(self):
        while not self._stop:
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t0 - 0.001)

    def stop(self):
        self._stop = True


async def _timed(action) -> tuple[float, float, bool]:
    """(longest stall, seconds taken, whether the handler ran on the loop)."""
    probe = Probe()
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.005)  # the probe is running before the action starts
    probe.worst = 0.0
    t0 = time.perf_counter()
    on_loop = await action()
    took = time.perf_counter() - t0
    probe.stop()
    await task
    return probe.worst, took, on_loop


async def _idle(seconds: float) -> float:
    async def nothing():
        await asyncio.sleep(seconds)
        return False

    worst, _, _ = await _timed(nothing)
    return worst


def _root(state):
    while state.parent_state is not None:
        state = state.parent_state
    return state


def _action(state, name: str, *args):
    """The handler as Reflex runs it: awaited if it is a coroutine; the delta encoded."""
    from reflex_base.utils.format import json_dumps

    async def run() -> bool:
        result = type(state).event_handlers[name].fn(state, *args)
        on_loop = not inspect.iscoroutine(result)
        if not on_loop:
            await result
        root = _root(state)
        json_dumps(root.get_delta())
        root._clean()
        return on_loop

    return run


def _actions(session) -> list[tuple[str, object]]:
    """(label, a fresh action) for each heavy action; each builds its own tab."""
    from sqlmodel import select

    import cme_app.pages  # noqa: F401  (registers the page states)
    from cme_app.models import Case
    from cme_app.pages.casework.board import BoardState
    from cme_app.pages.casework.case.state import CaseState
    from cme_app.pages.reporting.dashboard import DashboardState
    from cme_app.pages.reporting.dfe_return_state import DfeReturnState
    from cme_app.pages.trust.accounts import AdminUsersState
    from cme_app.pages.trust.audit import AuditState
    from cme_app.state.search import SearchState
    from tests.factories import session_token, state_for

    def tab(cls, email: str, path: str, query: dict | None = None):
        token = session_token(session, email, seed.PASSWORD)
        session.commit()
        return state_for(cls, token, path=path, query=query)

    lead = seed.lead_email(1)
    reference = session.exec(
        select(Case.reference).where(Case.stage == "enquiries").order_by(Case.id)).first()
    session.rollback()
    board = tab(BoardState, lead, "/board")
    search = tab(SearchState, lead, "/search")
    return [
        ("board: page load", _action(board, "load")),
        ("board: risk filter", _action(board, "set_risk_filter", "amber")),
        ("board: show more", _action(board, "show_more", "enquiries")),
        ("board: clear filters", _action(board, "clear_filters")),
        ("case page: load", _action(tab(CaseState, lead, f"/cases/{reference}"), "load")),
        ("dashboard: load", _action(tab(DashboardState, lead, "/dashboard"), "load")),
        ("DfE return: load", _action(tab(DfeReturnState, lead, "/returns/dfe"), "load")),
        ("audit log: load", _action(tab(AuditState, "auditor@example.org", "/audit"), "load")),
        ("accounts: load", _action(tab(AdminUsersState, "admin@example.org", "/admin/users"),
                                   "load")),
        ("search: a surname", _action(search, "search", {"q": "Smith"})),
    ]


async def _measure(reps: int) -> list[dict]:
    from sqlmodel import Session

    from cme_app.db import get_engine

    rows = []
    with Session(get_engine()) as session:
        for rep in range(reps):
            for i, (label, action) in enumerate(_actions(session)):
                worst, took, on_loop = await _timed(action)
                idle = await _idle(took)
                if rep == 0:
                    rows.append({"action": label, "stall": [], "took": [], "idle": [],
                                 "on_loop": on_loop})
                row = rows[i]
                row["stall"].append(worst * 1000)
                row["took"].append(took * 1000)
                row["idle"].append(idle * 1000)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "pg"))
    args = parser.parse_args(argv)
    use_db(common.seeded(args.backend))
    print(common.load_note())
    rows = asyncio.run(_measure(args.reps))
    print(f"{'action':24} {'where':7} {'took p50':>9} {'stall p50':>10} "
          f"{'idle p50':>9} {'ratio':>6}")
    worst_all = 0.0
    for row in rows:
        stall, idle = common.median(row["stall"]), common.median(row["idle"])
        worst_all = max(worst_all, stall)
        print(f"{row['action']:24} {'loop' if row['on_loop'] else 'thread':7} "
              f"{common.median(row['took']):7.1f}ms {stall:8.1f}ms {idle:7.1f}ms "
              f"{stall / max(idle, 0.01):5.1f}x")
    ok = worst_all <= TARGET_MS
    print(f"loop_block: the worst action's stall {worst_all:.1f} ms "
          f"(target <= {TARGET_MS:.0f} ms) {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
