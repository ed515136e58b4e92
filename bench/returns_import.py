"""Benchmark: importing a 1,000-row CSV of deletion returns vs inserting the same rows with one
executemany.

Seeds the design load (bench/seed.py: 10,000 children, 2,500 open cases) in a database of its
own, so matching a pupil searches a realistic child table. Each round
makes 1,000 new rows in the mix an LA sees (mostly moves to a named school; some moved away
with no destination, EHE, H and I, which open cases; a few record-only), then, in a fresh
session each:
  A. `uploads.import_deletions(..., via="cli")`: read, check every row, route, store, audit,
     commit (what `cme-app returns import` does);
  B. the same 1,000 rows as plain text into a scratch table with one executemany, committed.
Ratio per round = A / B; reported: the median ratio and median A. Target: ratio <= 20.
A first, untimed import of 20 rows warms up what a running server has warmed already. Each
timed call starts after `gc.collect()` with the cyclic collector off.

    .venv/bin/python bench/returns_import.py [--backends sqlite,pg] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import Session, select

from bench import (
    common,  # first: sets the environment
    seed,
)
from cme_app.db import make_engine
from cme_app.models import School
from cme_app.services.school_returns.uploads import DELETION_COLUMNS, import_deletions

TARGET_RATIO = 20.0
ROWS = 1_000
SCHOOLS: list[str] = []  # the seeded schools' URNs
# (ground, names a destination school, share): the mix of an LA's deletion returns.
MIX = (("A", True, 0.55), ("G", False, 0.08), ("G", True, 0.05), ("F", False, 0.08),
       ("H", False, 0.03), ("I", False, 0.05), ("N", False, 0.04), ("O", False, 0.03),
       ("C", False, 0.04), ("K", False, 0.005), ("J", False, 0.005), ("B", False, 0.04))
FIRST = ("Amira", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hari", "Isla", "Jack")
LAST = ("Khan", "Smith", "Nowak", "Okafor", "Patel", "Jones", "Ali", "Brown", "Lee", "Ward")
STREETS = ("Bench Street", "Gledhow Road", "Harehills Lane", "Roundhay Road", "Kirkstall Road")
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # a postcode's last two letters (no C, I, K, M, O, V)


def _url(backend: str) -> str:
    return common.fresh_database(backend, "cme_bench_returns")


def make_rows(rnd: random.Random, round_no: int, today: date) -> list[dict[str, str]]:
    grounds = [(g, named) for g, named, _ in MIX]
    weights = [w for *_, w in MIX]
    rows = []
    for n in range(ROWS):
        ground, named = rnd.choices(grounds, weights)[0]
        dob = date(2010, 9, 1) + timedelta(days=rnd.randint(0, 3650))
        rows.append({
            "school_urn": rnd.choice(SCHOOLS), "upn": "",
            "first_name": f"{rnd.choice(FIRST)}{round_no}x{n}", "last_name": rnd.choice(LAST),
            "date_of_birth": dob.isoformat(), "sex": rnd.choice("FMU"),
            "address_line1": f"{rnd.randint(1, 300)} {rnd.choice(STREETS)}",
            "postcode": f"LS{rnd.randint(1, 29)} {rnd.randint(1, 9)}{rnd.choice(LETTERS)}"
                        f"{rnd.choice(LETTERS)}",
            "parent_name": "Parent Name", "parent_phone": "0113 496 0000",
            "deletion_date": (today - timedelta(days=rnd.randint(0, 20))).isoformat(),
            "ground": ground,
            "destination_school_urn": rnd.choice(SCHOOLS) if named else "",
            "destination_la_code": "", "new_address": "", "notes": "",
        })
    return rows


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DELETION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def prepare(url: str) -> None:
    seed.seed(url)
    engine = make_engine(url)
    with Session(engine) as session:
        SCHOOLS[:] = session.exec(select(School.urn).order_by(School.urn)).all()
        cols = ", ".join(f"{c} TEXT" for c in DELETION_COLUMNS)
        key = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
        session.exec(sa.text(f"CREATE TABLE bench_rows (id {key} PRIMARY KEY, {cols})"))
        session.commit()
    engine.dispose()


def time_import(engine, data: bytes, today: date, profile: bool) -> tuple[float, int]:
    profiler = None
    if profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    with common.no_gc():
        t0 = time.perf_counter()
        with Session(engine) as session:
            results = import_deletions(session, actor=None, data=data,
                                       ground_i_confirmed=True, today=today, via="cli")
            session.commit()
        elapsed = time.perf_counter() - t0
    if profiler:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return elapsed, sum(r.accepted for r in results)


def time_executemany(engine, rows: list[dict[str, str]]) -> float:
    statement = sa.text(f"INSERT INTO bench_rows ({', '.join(DELETION_COLUMNS)}) VALUES ("  # noqa: S608
                        + ", ".join(f":{c}" for c in DELETION_COLUMNS) + ")")
    with common.no_gc():
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(statement, rows)
        return time.perf_counter() - t0


def run(backend: str, rounds: int, profile: bool) -> bool:
    url = _url(backend)
    t0 = time.perf_counter()
    prepare(url)
    print(f"[seed] {backend}: design load ({len(SCHOOLS)} schools) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    engine = make_engine(url)
    rnd = random.Random(16)
    today = date.today()
    imports, baselines, ratios = [], [], []
    # Untimed: what a long-running server has already done once (imports, the bank holidays).
    time_import(engine, as_csv(make_rows(rnd, 99, today)[:20]), today, False)
    for round_no in range(rounds):
        rows = make_rows(rnd, round_no, today)
        base = time_executemany(engine, rows)
        took, accepted = time_import(engine, as_csv(rows), today, profile and round_no == 0)
        assert accepted == ROWS, f"only {accepted} of {ROWS} rows accepted"
        imports.append(took)
        baselines.append(base)
        ratios.append(took / base)
    engine.dispose()
    ratio = statistics.median(ratios)
    print("  per round (import / executemany ms): " + ", ".join(
        f"{a * 1000:.0f}/{b * 1000:.1f}" for a, b in zip(imports, baselines, strict=True)))
    print(f"[{backend}] import {ROWS:,} rows {statistics.median(imports) * 1000:.0f} ms, "
          f"executemany {statistics.median(baselines) * 1000:.1f} ms: ratio {ratio:.1f}x "
          f"(target <= {TARGET_RATIO:.0f}x) {'ok' if ratio <= TARGET_RATIO else 'MISSED'}",
          flush=True)
    return ratio <= TARGET_RATIO


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,pg")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the first import")
    args = parser.parse_args(argv)
    print(common.load_note())
    met = [run(b, args.rounds, args.profile) for b in args.backends.split(",")]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
