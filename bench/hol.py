"""Benchmark: head-of-line blocking. Does a lead's 2,500-case CSV export stall another user?

The prod app (1 worker) on the design-load SQLite database. The victim is an officer on /board
changing the risk filter every 100 ms (set_risk_filter, cycling; each reloads the columns they
see). The attacker is a lead on /dashboard pressing "Download open cases (CSV)" back to back
(DashboardState.download_csv: reports.open_cases_csv over all 2,500 open cases, then
rx.download of the file through the socket). Each round: the victim alone for --seconds
(baseline), then the victim while the attacker exports for --seconds. Ratio per round =
victim p99 under export / victim p99 alone; reported: median of the rounds. Target <= 2x
(perf-security.md P8). `--attack dashboard` / `board` (issue 19: every action, not only the
export): the attacker instead reloads the dashboard (the heaviest ordinary handler, 156 ms on
the loop before handlers ran in a thread: bench/loop_block.py) or the whole board back to back.

    .venv/bin/python bench/hol.py [--rounds 5] [--seconds 10] [--attack export|dashboard|board]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, seed  # first: sets the environment
from bench.card_move import lead_socket, use_db
from bench.concurrency import filter_event

TARGET = 2.0


def victim_loop(sock, seconds: float, period: float = 0.1) -> list[float]:
    out, k = [], 0
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        out.append(filter_event(sock, k, timeout=120))
        k += 1
        time.sleep(max(0.0, period - (time.monotonic() - t0)))
    return out


def exported(sock, export: str) -> float:
    """Seconds until the update carrying the CSV download arrives."""
    start = len(sock.updates)
    t0 = time.perf_counter()
    sock.send(export, {})
    sock.wait_for(lambda u: "open-cases-" in json.dumps(u), after=start, timeout=300)
    return time.perf_counter() - t0


def _attacker(app_url: str, attack: str):
    """A lead's socket and one heavy action on it, returning its round trip in seconds."""
    from cme_app.pages.casework.board import BoardState
    from cme_app.pages.reporting.dashboard import DashboardState
    from tests.e2e.socket_client import handler_name

    if attack == "export":
        sock = lead_socket(app_url, path="/dashboard")
        name = handler_name(DashboardState, "download_csv")
        return sock, lambda: exported(sock, name)
    path, state = {"dashboard": ("/dashboard", DashboardState),
                   "board": ("/board", BoardState)}[attack]
    sock = lead_socket(app_url, path=path)
    name = handler_name(state, "load")
    return sock, lambda: sock.round_trip(name, {}, timeout=120)


def run(app_url: str, rounds: int, seconds: float, attack: str = "export") -> dict:
    victim = lead_socket(app_url, path="/board", email=seed.officer_email(2))
    attacker, act = _attacker(app_url, attack)
    export_s: list[float] = []
    export_s.append(act())  # warm-up; also checks it answers
    victim_loop(victim, 2)
    ratios, base_p99, hol_p99, hol_max = [], [], [], []
    try:
        for _ in range(rounds):
            base = victim_loop(victim, seconds)
            stop = threading.Event()

            def attack(stop=stop):
                while not stop.is_set():
                    export_s.append(act())

            thread = threading.Thread(target=attack)
            thread.start()
            under = victim_loop(victim, seconds)
            stop.set()
            thread.join()
            base_p99.append(common.pct(base, 99) * 1000)
            hol_p99.append(common.pct(under, 99) * 1000)
            hol_max.append(max(under) * 1000)
            ratios.append(hol_p99[-1] / base_p99[-1])
    finally:
        victim.close()
        attacker.close()
    return {"ratio": common.median(ratios), "ratios": ratios,
            "base_p99": common.median(base_p99), "hol_p99": common.median(hol_p99),
            "hol_max": max(hol_max), "export_p50": common.median(export_s) * 1000,
            "exports": len(export_s), "over": sum(r > TARGET for r in ratios), "rounds": rounds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--app-url", help="an app already serving the seeded SQLite database")
    parser.add_argument("--attack", default="export", choices=("export", "dashboard", "board"),
                        help="the heavy action: the CSV export (default), or a lead loading "
                             "the dashboard or the whole board back to back")
    parser.add_argument("--profile", action="store_true",
                        help="profile the export in-process instead (pyinstrument)")
    args = parser.parse_args(argv)
    url = common.seeded("sqlite")
    use_db(url)
    if args.profile:
        return profile()
    procs = []
    try:
        app_url = args.app_url
        if not app_url:
            proc, app_url = common.start_app(url, name="app-hol")
            procs.append(proc)
        print(f"[hol] {common.load_note()}", flush=True)
        r = run(app_url, max(5, args.rounds), args.seconds, args.attack)
    finally:
        for p in procs:
            common.stop(p)
    ok = r["over"] < 3
    print(f"[hol] {args.attack}: victim p99 alone {r['base_p99']:.0f} ms, during it "
          f"{r['hol_p99']:.0f} ms "
          f"(worst {r['hol_max']:.0f} ms); ratio median {r['ratio']:.1f}x "
          f"[{', '.join(f'{x:.1f}' for x in r['ratios'])}]; its round trip p50 "
          f"{r['export_p50']:.0f} ms x {r['exports']} (target <= {TARGET:.0f}x) "
          f"{'PASS' if ok else 'MISS'}", flush=True)
    return 0 if ok else 1


def profile() -> int:
    from pyinstrument import Profiler
    from sqlmodel import Session

    import cme_app.pages  # noqa: F401
    from cme_app.db import get_engine
    from cme_app.pages.reporting.dashboard import DashboardState
    from tests.factories import call_handler, session_token, state_for

    with Session(get_engine()) as session:
        token = session_token(session, seed.lead_email(1), seed.PASSWORD)
        session.commit()
    state = state_for(DashboardState, token, path="/dashboard")
    call_handler(state, "download_csv")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(3):
        call_handler(state, "download_csv")
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
