"""Benchmark: finding a child from the search box (`search.search_cases`) on the design load,
against one indexed primary-key lookup.

Seeds bench/seed.py's data (10,000 children, referrals and cases, 2,500 of them open; no
visits, which search never reads) in a database of its own; the seed's Core inserts go
through the search index's session listener, so every case has its search document. Then,
interleaved over the rounds, each in a fresh session and committed (a search writes its audit
event):
  A. `search_cases` for each of five queries a person types: part of a surname that matches
     many children (capped at 50 shown), a whole name, a UPN, a date of birth as 3/4/2015,
     a postcode without its space;
  B. `session.get(Case, id)` for a random case, committed the same way (the floor: one
     indexed lookup and a commit).
Ratio per round = median A / median B; reported: the median of the rounds' ratios and of A.
Target: A at most 20x B (set after the first measurement; the issue names no search target).

    .venv/bin/python bench/search.py [--backends sqlite,pg] [--rounds 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, func, select

from bench import (
    common,  # first: sets the environment
    seed,
)
from cme_app.db import make_engine
from cme_app.domain import Role
from cme_app.models import Case, CaseSearch, User
from cme_app.permissions import Actor
from cme_app.services.casework.search import search_cases

TARGET_RATIO = 20.0
QUERIES = ("ench12", "child4321 bench333", "B383000007777", "21/5/2010", "ls53ab")


def _lead(session: Session) -> Actor:
    user = session.exec(select(User).where(User.email == seed.lead_email(1))).one()
    return Actor(user_id=user.id, role=Role.LEAD, name=user.name, email=user.email)


def _timed(work) -> float:
    with common.no_gc():
        started = time.perf_counter()
        work()
        return time.perf_counter() - started


def run_backend(backend: str, rounds: int) -> dict:
    url = common.fresh_database(backend, "cme_bench_search")
    counts = seed.seed(url, seed.Counts(visits=0))
    engine = make_engine(url)
    if backend == "pg":  # as autovacuum would soon after a bulk load: until then PostgreSQL
        # knows nothing of the new GIN index's size and plans a sequential scan (12 ms here
        # against 1 ms through the index)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE case_search")
    rnd = random.Random(19)
    ratios, searches, lookups, found = [], [], [], {}
    with Session(engine) as s:
        actor = _lead(s)
        documents = s.exec(select(func.count()).select_from(CaseSearch)).one()
        n_cases = s.exec(select(func.count()).select_from(Case)).one()
    assert documents == n_cases, f"{documents} search documents for {n_cases} cases"
    for _ in range(rounds):
        a_times, b_times = [], []
        for query in QUERIES:
            def search(query=query):
                with Session(engine) as s:
                    found[query] = len(search_cases(s, actor=actor, query=query).results)
                    s.commit()

            def lookup():
                with Session(engine) as s:
                    s.get(Case, rnd.randint(1, n_cases))
                    s.commit()

            a_times.append(_timed(search))
            b_times.append(_timed(lookup))
        a, b = statistics.median(a_times), statistics.median(b_times)
        searches.append(a)
        lookups.append(b)
        ratios.append(a / b)
    engine.dispose()
    return {"backend": backend, "cases": n_cases, "seeded_s": counts.seconds,
            "search_ms": statistics.median(searches) * 1000,
            "lookup_ms": statistics.median(lookups) * 1000,
            "ratio": statistics.median(ratios), "found": found}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    missed = False
    print(common.load_note())
    for backend in args.backends.split(","):
        r = run_backend(backend, args.rounds)
        ok = r["ratio"] <= TARGET_RATIO
        missed |= not ok
        print(f"[search {backend}] {r['cases']:,} cases: search p50 {r['search_ms']:.2f} ms, "
              f"primary-key lookup {r['lookup_ms']:.2f} ms, ratio {r['ratio']:.1f}x "
              f"(target <= {TARGET_RATIO:.0f}x) {'ok' if ok else 'MISSED'}; "
              f"results per query {r['found']}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
