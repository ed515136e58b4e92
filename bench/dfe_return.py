"""Benchmark: the CME part of the DfE return (`census.build`) vs one full scan of the episodes.

Seeds the design load (bench/seed.py: 10,000 children and referrals over ten years, 2,500 of
the cases open; no visits, which the return never reads) in a database of its own, then adds
ten years of CME episodes with core bulk inserts: one for every case past triage (starting up
to a month before its referral; a closed case's ends with its closure, an untraceable one stays
open, whereabouts unknown), an earlier ended episode for one child in eight, a reason change on
one episode in three (two on some), a few living in another LA, with no start date, or
migrated to confirm. Then, interleaved over the rounds, each in a fresh session:
  A. `census.build(session, census_day)`: every figure, its children, and the warnings;
  B. `SELECT * FROM cmeepisode`, every row fetched (the floor: one pass over the table).
Ratio per round = A / B; reported: the median of the rounds' ratios and of A.
Target: A under 2 s, and at most 3x B.

    .venv/bin/python bench/dfe_return.py [--backends sqlite,pg] [--rounds 7] [--profile]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import Session, select

from bench import (
    common,  # first: sets the environment
    seed,
)
from cme_app.dates import uk_date
from cme_app.db import make_engine
from cme_app.domain import DFE_REASONS
from cme_app.models import Case, CmeEpisode, EpisodeReason
from cme_app.services.returns import census

TARGET_SECONDS = 2.0
TARGET_RATIO = 3.0
END_REASONS = {"onroll_leeds": "on_roll", "onroll_other_la": "on_roll_other_la",
               "transferred_other_la": "moved_other_la", "left_uk_verified": "left_uk",
               "ehe": "ehe", "not_cme_attendance": "not_cme"}
REASONS = [r for r in DFE_REASONS if r not in ("Unknown", "Not recorded")]


def _url(backend: str) -> str:
    return common.fresh_database(backend, "cme_bench_dfe")


def _episode_rows(rnd: random.Random, cases, today: date, now: datetime):
    """(episodes, reason changes) for the seeded cases, with explicit ids."""
    episodes, reasons = [], []

    def add(case_id, child_id, start, end, end_reason, **extra):
        eid = len(episodes) + 1
        history = [(rnd.choice(DFE_REASONS), start)]
        last = end or today
        for _ in range(rnd.choice((0, 0, 0, 0, 1, 1, 2))):  # a change on about one in three
            if start and (last - history[-1][1]).days > 2:
                history.append((rnd.choice(REASONS), history[-1][1] + timedelta(
                    days=rnd.randint(1, (last - history[-1][1]).days - 1))))
        episodes.append({
            "id": eid, "child_id": child_id, "case_id": case_id, "start_date": start,
            "start_basis": extra.pop("basis", "deleted_from_roll"), "end_date": end,
            "end_reason": end_reason, "lives_in_la": rnd.random() > 0.03,
            "primary_reason": history[-1][0], "whereabouts_unknown": False, "review_on": None,
            "to_confirm": False, "created_at": now, "updated_at": now,
            "version": 1, **extra,
        })
        for reason, from_date in history if start else ():
            reasons.append({"episode_id": eid, "reason": reason, "from_date": from_date,
                            "changed_at": now})

    for case_id, child_id, stage, outcome, opened_at, closed_at in cases:
        if stage in ("new_referral", "triage"):
            continue
        opened = uk_date(opened_at)
        start = opened - timedelta(days=rnd.randint(0, 30))
        if rnd.random() < 0.125:  # CME once before, years earlier, until on roll
            first = start - timedelta(days=rnd.randint(200, 700))
            add(None, child_id, first, first + timedelta(days=rnd.randint(10, 150)), "on_roll")
        if stage != "closed":
            undated = rnd.random() < 0.01
            add(case_id, child_id, None if undated else start, None, None,
                to_confirm=rnd.random() < 0.05, basis="migrated" if undated else
                "deleted_from_roll")
        elif outcome == "untraceable":
            add(case_id, child_id, start, None, None, whereabouts_unknown=True,
                review_on=uk_date(closed_at) + timedelta(days=90))
        elif outcome in END_REASONS:
            end = max(uk_date(closed_at), start + timedelta(days=1))
            add(case_id, child_id, start, end, END_REASONS[outcome])
    return episodes, reasons


def seed_episodes(url: str, rnd: random.Random) -> dict[str, int]:
    engine = make_engine(url)
    today = date.today()
    try:
        with Session(engine) as session:
            cases = session.exec(select(Case.id, Case.child_id, Case.stage, Case.outcome,
                                        Case.opened_at, Case.closed_at)).all()
            episodes, reasons = _episode_rows(rnd, cases, today, datetime.now(UTC))
            seed._insert(session, CmeEpisode, episodes)
            seed._insert(session, EpisodeReason, reasons)
            if engine.dialect.name == "postgresql":
                for table in ("cmeepisode", "episodereason"):
                    session.exec(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
                session.exec(sa.text("ANALYZE"))
            session.commit()
    finally:
        engine.dispose()
    return {"episodes": len(episodes), "reason rows": len(reasons)}


def census_day(today: date) -> date:
    """The last Thursday before today."""
    return today - timedelta(days=(today.weekday() - 3) % 7 or 7)




def time_build(engine, day: date) -> tuple[float, census.CmeReturn]:
    with Session(engine) as session, common.no_gc():
        t0 = time.perf_counter()
        figures = census.build(session, day)
        return time.perf_counter() - t0, figures


def time_scan(engine) -> tuple[float, int]:
    with engine.connect() as conn, common.no_gc():
        t0 = time.perf_counter()
        rows = conn.execute(sa.text("SELECT * FROM cmeepisode")).all()
        return time.perf_counter() - t0, len(rows)


def run(backend: str, rounds: int, profile: bool) -> bool:
    url = _url(backend)
    t0 = time.perf_counter()
    counts = seed.seed(url, seed.Counts(visits=0))
    added = seed_episodes(url, random.Random(15))
    print(f"[seed] {backend}: {counts.rows} {added} in {time.perf_counter() - t0:.0f} s",
          flush=True)
    engine = make_engine(url)
    day = census_day(date.today())
    try:
        _, figures = time_build(engine, day)  # warm: imports, caches, the first connection
        time_scan(engine)
        if profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                time_build(engine, day)
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        builds, scans, ratios, n_rows = [], [], [], 0
        for _ in range(rounds):
            a, _ = time_build(engine, day)
            b, n_rows = time_scan(engine)
            builds.append(a)
            scans.append(b)
            ratios.append(a / b)
    finally:
        engine.dispose()
    build_s, scan_s, ratio = (statistics.median(v) for v in (builds, scans, ratios))
    ok = build_s < TARGET_SECONDS and ratio <= TARGET_RATIO
    print(f"  census day {day}: {len(figures.on_census_day):,} children CME, "
          f"{figures.any_time_previous_year:,} in the previous year, "
          f"{len(figures.warnings)} warnings; {n_rows:,} episodes")
    print("  per round (build / scan ms): "
          + ", ".join(f"{a * 1000:.0f}/{b * 1000:.0f}" for a, b in zip(builds, scans, strict=True)))
    print(f"  per-round ratios: {', '.join(f'{r:.1f}' for r in ratios)}")
    print(f"[{backend}] census.build {build_s * 1000:.0f} ms, scan {scan_s * 1000:.0f} ms: "
          f"ratio {ratio:.2f}x (target < {TARGET_SECONDS:.0f} s and <= {TARGET_RATIO:.0f}x) "
          f"{'PASS' if ok else 'MISS'}", flush=True)
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="pyinstrument one build")
    args = parser.parse_args(argv)
    common.BENCH_DIR.mkdir(exist_ok=True)
    print(common.load_note())
    results = [run(b, max(5, args.rounds), args.profile) for b in args.backends.split(",")]
    print(common.load_note())
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
