"""Benchmark: how big is the update a board move sends, with 100 and with 2,500 open cases?

Two temporary SQLite databases are migrated and filled by bulk inserts (100 and 2,500 open
cases spread over the six open columns). Each round, for each size in turn (interleaved), a
fresh BoardState is loaded in-process exactly as a browser tab would be, then a lead moves the
first New referral card to Triage through the real move handler. What is measured is the JSON
Reflex would send to the browser for that event: `root.get_delta()` serialised with Reflex's
own encoder. The median over the rounds is reported for each size, with the ratio to the
100-case baseline from the same run. Target: at most 1.5x.

    make bench        (or: .venv/bin/python bench/board_move.py [--rounds 7])
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # rx.asset() resolves assets/ from the working directory
os.environ.setdefault("CME_SECRET_KEY", "bench-secret-not-for-production")
os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
os.environ["REFLEX_CHECK_LATEST_VERSION"] = "0"
_TMP = Path(tempfile.mkdtemp(prefix="cme-bench-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ["REFLEX_DB_URL"] = f"sqlite:///{_TMP / 'placeholder.db'}"

import reflex as rx  # noqa: E402
from reflex_base.utils.format import json_dumps  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

import cme_app.pages  # noqa: E402, F401  (registers the page states)
from cme_app.db import engine_for  # noqa: E402
from cme_app.migrations import upgrade_to_head  # noqa: E402
from cme_app.models import Case, Child, ReferenceCounter, Referral  # noqa: E402
from cme_app.pages.casework.board import BoardState  # noqa: E402
from cme_app.services.intake import schools  # noqa: E402
from cme_app.services.school_calendar.default_terms import seed_term_dates  # noqa: E402
from cme_app.services.trust import auth  # noqa: E402
from cme_app.settings import get_settings  # noqa: E402
from tests.factories import call_handler, session_token, state_for  # noqa: E402

PASSWORD = "bench password 2026"  # noqa: S105 (a throwaway temp database)
OPEN = ("new_referral", "triage", "enquiries", "home_visit", "awaiting_verification", "located")
RISKS = ("red", "amber", "green", None)
SIZES = (100, 2500)


def use_database(url: str) -> None:
    os.environ["REFLEX_DB_URL"] = url
    get_settings.cache_clear()


def build_database(n_cases: int) -> str:
    url = f"sqlite:///{_TMP / f'board-{n_cases}.db'}"
    upgrade_to_head(url)
    use_database(url)
    engine = engine_for(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        school = schools.add_school(session, urn="107999", name="Aire Valley Primary School")
        lead = auth.create_user(session, email="lead@example.org", role="lead",
                                password=PASSWORD, name="Lee Lead")
        officer = auth.create_user(session, email="officer@example.org", role="officer",
                                   password=PASSWORD, name="Olu Officer")
        seed_term_dates(session)
        session.commit()
        children, referrals, cases = [], [], []
        for i in range(1, n_cases + 1):
            entered = now - timedelta(days=i % 40, minutes=i)
            children.append({"id": i, "first_name": f"Child{i}", "last_name": "Example",
                             "date_of_birth": date(2012 + i % 6, 1 + i % 12, 1 + i % 28),
                             "sex": "female"})
            referrals.append({"id": i, "public_id": f"bench{i:027d}", "status": "submitted",
                              "source_type": "school", "school_id": school.id, "child_id": i,
                              "form_data": {}, "submitted_at": entered})
            stage = OPEN[i % len(OPEN)]
            cases.append({
                "id": i, "reference": f"CME-2026-{i:05d}", "child_id": i, "referral_id": i,
                "stage": stage, "stage_entered_at": entered, "opened_at": entered,
                "risk": None if stage == "new_referral" else RISKS[i % 4],
                "risk_factors": ["cp_plan", "domestic_abuse"] if i % 4 == 0 else [],
                "allocated_officer_id": officer.id if i % 2 else None,
                "triage_due_on": (now + timedelta(days=i % 5 - 2)).date(),
                "possible_matches": [], "version": 1, "updated_at": entered,
                "updated_by_id": lead.id,
            })
        session.exec(insert(Child), params=children)
        session.exec(insert(Referral), params=referrals)
        session.exec(insert(Case), params=cases)
        session.add(ReferenceCounter(year=2026, last_value=n_cases))
        session.commit()
    return url


def fresh_board(url: str) -> tuple[rx.State, BoardState]:
    use_database(url)
    with Session(engine_for(url)) as session:
        token = session_token(session, "lead@example.org", PASSWORD)
        session.commit()
    state = state_for(BoardState, token, path="/board")
    return state.parent_state.parent_state, state


def call(state: BoardState, name: str, *args):
    return call_handler(state, name, *args)


def delta_bytes(root: rx.State) -> int:
    size = len(json_dumps(root.get_delta()).encode())
    root._clean()
    return size


def one_move(url: str) -> dict[str, float]:
    root, state = fresh_board(url)
    call(state, "load")
    load_bytes = delta_bytes(root)
    card = state.col_new_referral.cards[0]
    started = time.perf_counter()
    call(state, "move", card.reference, "triage", card.version)
    elapsed = time.perf_counter() - started
    assert state.announcement == f"{card.reference} moved to Triage.", state.announcement
    move_bytes = delta_bytes(root)
    call(state, "refresh_if_changed")  # the stamp moved (our own move): reload, none differ
    after_move_poll = delta_bytes(root)
    call(state, "refresh_if_changed")  # nothing changed since
    return {"move": move_bytes, "load": load_bytes, "ms": elapsed * 1000,
            "first_poll": after_move_poll, "idle_poll": delta_bytes(root)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rounds = max(5, args.rounds)
    print(f"Seeding {' and '.join(f'{n:,}' for n in SIZES)} open cases in {_TMP} ...")
    urls = {n: build_database(n) for n in SIZES}
    one_move(urls[SIZES[0]])  # warm up imports and caches outside the measurement
    results: dict[int, list[dict[str, float]]] = {n: [] for n in SIZES}
    for _ in range(rounds):
        for n in SIZES:  # interleaved, so drift affects both sizes alike
            results[n].append(one_move(urls[n]))

    def median(n: int, key: str) -> float:
        return statistics.median(r[key] for r in results[n])

    base, big = SIZES
    print(f"\nBoard move (lead moves a New referral card to Triage), median of {rounds} "
          "interleaved rounds:")
    print(f"{'open cases':>12} {'move delta':>12} {'page load':>12} {'next poll':>10} "
          f"{'idle poll':>10} {'handler':>9}")
    for n in SIZES:
        print(f"{n:>12,} {median(n, 'move'):>10,.0f} B {median(n, 'load'):>10,.0f} B "
              f"{median(n, 'first_poll'):>8,.0f} B {median(n, 'idle_poll'):>8,.0f} B "
              f"{median(n, 'ms'):>6.1f} ms")
    ratio = median(big, "move") / median(base, "move")
    time_ratio = median(big, "ms") / median(base, "ms")
    print(f"\nmove delta ratio {big:,} / {base:,} cases: {ratio:.2f}x (target <= 1.5x)")
    print(f"move handler time ratio: {time_ratio:.2f}x (informational)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
