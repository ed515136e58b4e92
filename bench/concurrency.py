"""Benchmark: 50 concurrent board sessions on one worker, and throughput vs workers on Redis.

Part A (latency, target p95 <= 50 ms on one worker; perf-security.md P9): the real app's
production build on the design-load SQLite database; 50 team-lead sessions (each signed in
through the real ticket exchange, each its own `/_event` socket on /board). Every session sends
one realistic event every 2 s, staggered: a risk filter change (`set_risk_filter`, cycling
red / all / amber / all / green / all: session guard, all six columns reloaded), and every 5th
event a card move (a write: guard, version check,
audit, two columns reloaded). Latency = send -> first update. The same 50 sockets against the
bare echo server (bench/echo_server.py) give the baseline, in alternating rounds.

Part B (throughput): REFLEX_REDIS_URL (db 2) with GRANIAN_WORKERS = 1, 2, 4; 16 sessions in a
closed loop sending filter changes back to back for --seconds; events/s completed. The echo server
with the same client load is the ceiling this 2-core box reaches with this client.

    .venv/bin/python bench/concurrency.py [--sessions 50] [--rounds 5] [--round-seconds 20]
                                          [--workers 1,2,4] [--skip-a] [--skip-b]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # first: sets the environment
from bench.card_move import (
    Mover,
    board_tab_in_process,
    echo_socket,
    lead_socket,
    run_handler,
    timed,
    use_db,
)

REDIS = "redis://127.0.0.1:6379/2"
ERRORS: list[str] = []
TARGET_P95_MS = 50.0


RISKS = ("red", "", "amber", "", "green", "")


def filter_name() -> str:
    from cme_app.pages.casework.board import BoardState
    from tests.e2e.socket_client import handler_name

    return handler_name(BoardState, "set_risk_filter")


def filter_payload(k: int) -> dict:
    return {"value": RISKS[k % len(RISKS)]}


def filter_event(sock, k: int, timeout: float = 30) -> float:
    """A risk filter change, timed to the delta that shows the new filter."""
    want = json.dumps(RISKS[k % len(RISKS)])
    return timed(sock, filter_name(), filter_payload(k),
                 lambda text: f'"risk_filter_rx_state_": {want}' in text, timeout=timeout)


def open_sessions(app_url: str, n: int) -> list:
    from bench import seed

    socks = []
    for i in range(n):
        socks.append(lead_socket(app_url, email=seed.lead_email(1 + i % 2)))
    return socks


def paced(socks: list, send_one, seconds: float, period: float = 2.0) -> list[float]:
    """Each socket sends one event every `period` s (staggered) for `seconds`; latencies."""
    out: list[float] = []
    lock = threading.Lock()
    t_end = time.monotonic() + seconds

    def worker(i: int, sock) -> None:
        next_at = time.monotonic() + period * i / len(socks)
        k = 0
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() > t_end:
                return
            try:
                latency = send_one(i, sock, k)
            except (TimeoutError, RuntimeError) as e:  # counted, and the session goes on
                with lock:
                    ERRORS.append(f"{type(e).__name__}: {str(e)[:160]}")
            else:
                with lock:
                    out.append(latency)
            k += 1
            next_at += period

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def closed_loop(socks: list, send_one, seconds: float) -> float:
    """Every socket sends back to back for `seconds`; completed events per second."""
    done = [0]
    lock = threading.Lock()
    t_end = time.monotonic() + seconds

    def worker(i: int, sock) -> None:
        k = 0
        while time.monotonic() < t_end:
            send_one(i, sock, k)
            k += 1
            with lock:
                done[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.monotonic() - started)


def part_a(app_url: str, echo_url: str, n: int, rounds: int, seconds: float) -> dict:
    socks = open_sessions(app_url, n)
    echoes = [echo_socket(echo_url) for _ in range(n)]
    movers = [Mover(s, offset=i) for i, s in enumerate(socks)]
    poll = filter_name()

    def app_event(i, sock, k):
        if k % 5 == 4:
            return movers[i].move()
        return filter_event(sock, k)

    def echo_event(i, sock, k):
        return sock.round_trip(poll, movers[i].payload() if k % 5 == 4 else filter_payload(k))

    try:
        for s in socks:  # warm-up
            filter_event(s, 1)
        app_p95, echo_p95, ratios, app_all, echo_all = [], [], [], [], []
        for _ in range(rounds):
            a = paced(socks, app_event, seconds)
            e = paced(echoes, echo_event, seconds)
            app_p95.append(common.pct(a, 95) * 1000)
            echo_p95.append(common.pct(e, 95) * 1000)
            ratios.append(app_p95[-1] / echo_p95[-1])
            app_all += a
            echo_all += e
    finally:
        for s in socks + echoes:
            s.close()
    return {"app_p95": common.median(app_p95), "echo_p95": common.median(echo_p95),
            "app_p50": common.median(app_all) * 1000, "app_p99": common.pct(app_all, 99) * 1000,
            "ratio": common.median(ratios), "rounds_p95": app_p95, "events": len(app_all),
            "over": sum(p > TARGET_P95_MS for p in app_p95), "offered": n / 2 * seconds * rounds,
            "errors": list(ERRORS)}


def part_b(url: str, workers: list[int], seconds: float, clients: int = 16) -> dict:
    poll = filter_name()
    results = {}
    proc, echo_url = common.start_echo(name="echo-b")
    try:
        echoes = [echo_socket(echo_url) for _ in range(clients)]
        results["echo (1 worker)"] = closed_loop(
            echoes, lambda i, s, k: s.round_trip(poll, filter_payload(k)), seconds)
        for s in echoes:
            s.close()
    finally:
        common.stop(proc)
    for w in workers:
        proc, app_url = common.start_app(
            url, extra_env={"REFLEX_REDIS_URL": REDIS, "GRANIAN_WORKERS": str(w)},
            name=f"app-redis-{w}")
        try:
            socks = open_sessions(app_url, clients)
            for s in socks:
                filter_event(s, 1)
            results[f"app, Redis, {w} worker(s)"] = closed_loop(
                socks, lambda i, s, k: filter_event(s, k), seconds)
            for s in socks:
                s.close()
        finally:
            common.stop(proc)
        print(f"[concurrency] {w} worker(s): {results[f'app, Redis, {w} worker(s)']:.0f} ev/s "
              f"({common.load_note()})", flush=True)
    return results


def profile(events: int = 60) -> int:
    """Where a filter change's server time goes: the real handler in-process on the seeded
    database, with Reflex's delta encoding (pyinstrument)."""
    from pyinstrument import Profiler
    from reflex_base.utils.format import json_dumps

    state, root = board_tab_in_process()
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    for k in range(events):
        run_handler(state, "set_risk_filter", *filter_payload(k).values())
        json_dumps(root.get_delta())
        root._clean()
    profiler.stop()
    took = (time.perf_counter() - started) / events * 1000
    print(profiler.output_text(unicode=False, color=False))
    print(f"[concurrency] {took:.1f} ms per filter change (profiled)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-seconds", type=float, default=20)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=15, help="part B, per worker count")
    parser.add_argument("--app-url", help="an app already serving the seeded SQLite database")
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "pg"))
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="profile the filter change in-process instead (pyinstrument)")
    args = parser.parse_args(argv)
    if args.profile:
        return profile()
    url = common.seeded(args.backend)
    use_db(url)
    ok = True
    if not args.skip_a:
        procs = []
        try:
            app_url = args.app_url
            if not app_url:
                proc, app_url = common.start_app(url)
                procs.append(proc)
            proc, echo_url = common.start_echo()
            procs.append(proc)
            print(f"[concurrency] {common.load_note()}", flush=True)
            r = part_a(app_url, echo_url, args.sessions, max(5, args.rounds), args.round_seconds)
        finally:
            for p in procs:
                common.stop(p)
        ok = r["over"] < 3
        print(f"[concurrency] {args.sessions} sessions x 1 event / 2 s, 1 worker: p95 "
              f"{r['app_p95']:.1f} ms (median of rounds "
              f"[{', '.join(f'{x:.0f}' for x in r['rounds_p95'])}]), p50 {r['app_p50']:.1f}, "
              f"p99 {r['app_p99']:.1f}; echo p95 {r['echo_p95']:.2f} ms; p95 ratio "
              f"{r['ratio']:.1f}x; {r['events']} events answered of {r['offered']:.0f} offered, "
              f"{len(r['errors'])} errors{' e.g. ' + r['errors'][0] if r['errors'] else ''} "
              f"(target p95 <= {TARGET_P95_MS:.0f} ms) "
              f"{'PASS' if ok else 'MISS'}", flush=True)
    if not args.skip_b:
        workers = [int(w) for w in args.workers.split(",")]
        res = part_b(url, workers, args.seconds)
        print("[concurrency] closed-loop throughput, 16 sessions: "
              + "; ".join(f"{k} {v:.0f} ev/s" for k, v in res.items()), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
