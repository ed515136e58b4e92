"""Benchmark: backend memory per session, per-tab state size, peak RSS under 20 board viewers.

1. State per tab (target <= 100 KB; Reflex's own REFLEX_PERF_MODE=raise check applied): in
   process, on the design-load SQLite database, a tab of each heaviest page is loaded through
   its real on_load handler (lead on /board with 2,500 open cases; the allocated officer on a
   case page with 20 visits; that officer on /visits). Measured: the bytes Reflex's state
   manager stores for the tab (sum of `_serialize()` over the tab's loaded states: what the
   disk or Redis manager writes) and the JSON of the page-load update.
2. Peak RSS (target <= 2x idle): the prod app (granian, 1 worker); idle RSS = process tree after
   one warm-up session; then 20 lead sessions open /board and each sends 5 filter changes while
   psutil samples the server's process tree every 20 ms.
3. RSS growth per idle connected session (target <= 1 MB): 5 steps of +20 idle signed-in /board
   sessions (100 in all), alternating the app and the bare echo server (bench/echo_server.py,
   granian) step by step; growth per session per step, median of the 5 steps.

    REFLEX_PERF_MODE=raise .venv/bin/python bench/memory.py [--app-url URL --app-pid PID]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from bench import common, seed  # first: sets the environment
from bench.card_move import echo_socket, lead_socket, use_db

os.environ.setdefault("REFLEX_PERF_MODE", "raise")
KB = 1024


def tree_rss(pid: int) -> int:
    import psutil

    root = psutil.Process(pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


# ---- 1. state per tab ----------------------------------------------------------------------

def _loaded_states(state):
    yield state
    for sub in state.substates.values():
        yield from _loaded_states(sub)


def tab_size(cls, email: str, path: str, query: dict | None = None) -> dict:
    from reflex_base.utils.format import json_dumps
    from sqlmodel import Session

    import cme_app.pages  # noqa: F401  (registers the page states)
    from cme_app.db import get_engine
    from tests.factories import call_handler, session_token, state_for

    with Session(get_engine()) as session:
        token = session_token(session, email, seed.PASSWORD)
        session.commit()
    state = state_for(cls, token, path=path, query=query)
    root = state
    while root.parent_state is not None:
        root = root.parent_state
    result = call_handler(state, "load")
    load_json = len(json_dumps(root.get_delta()).encode())
    root._clean()
    stored, biggest, tripped = 0, ("", 0), ""
    for s in _loaded_states(root):
        size = len(s._serialize())
        stored += size
        biggest = max(biggest, (s.get_full_name(), size), key=lambda x: x[1])
        try:
            s._check_state_size(size)
        except Exception as e:  # StateTooLargeError under REFLEX_PERF_MODE=raise
            tripped = f"{type(e).__name__}: {e}"
    return {"stored": stored, "load_json": load_json, "biggest": biggest, "tripped": tripped,
            "redirected": result is not None and "redirect" in repr(result).lower()}


def state_sizes() -> dict[str, dict]:
    from sqlmodel import Session, func, select

    from cme_app.db import get_engine
    from cme_app.models import Case, HomeVisit, User
    from cme_app.pages.casework.board import BoardState
    from cme_app.pages.casework.case.state import CaseState
    from cme_app.pages.visits.visit_log import VisitsState

    with Session(get_engine()) as session:
        officer = session.exec(select(User).where(User.email == seed.officer_email(1))).one()
        ref = session.exec(
            select(Case.reference).join(HomeVisit, HomeVisit.case_id == Case.id)
            .where(Case.allocated_officer_id == officer.id, Case.stage == "home_visit")
            .group_by(Case.reference).order_by(func.count().desc()).limit(1)
        ).one()
    return {
        "board (lead, 2,500 open cases)": tab_size(BoardState, seed.lead_email(1), "/board"),
        "case page (officer, 20 visits)": tab_size(
            CaseState, seed.officer_email(1), f"/cases/{ref}", {"ref": ref}),
        "visits (officer, own cases)": tab_size(VisitsState, seed.officer_email(1), "/visits"),
    }


# ---- 2. peak RSS -----------------------------------------------------------------------------

def peak_rss(app_url: str, pid: int, viewers: int = 20) -> dict:
    from bench.concurrency import filter_event

    warm = lead_socket(app_url)
    time.sleep(3)
    idle = tree_rss(pid)
    peak = [idle]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    socks = []

    def viewer(i):
        from bench import seed as s

        sock = lead_socket(app_url, email=s.lead_email(1 + i % 2))
        socks.append(sock)
        for k in range(5):
            filter_event(sock, k, timeout=120)

    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(viewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1)
    stop.set()
    sampler.join()
    for s in [warm, *socks]:
        s.close()
    return {"idle_mb": idle / KB / KB, "peak_mb": peak[0] / KB / KB, "ratio": peak[0] / idle}


# ---- 3. growth per idle session ------------------------------------------------------------

def growth(app_url: str, app_pid: int, echo_url: str, echo_pid: int, steps: int = 5,
           per_step: int = 20) -> dict:
    app_socks, echo_socks = [lead_socket(app_url)], [echo_socket(echo_url)]
    time.sleep(2)
    app_kb, echo_kb = [], []
    for _ in range(steps):
        before = tree_rss(app_pid)
        app_socks += [lead_socket(app_url, email=seed.lead_email(1 + i % 2))
                      for i in range(per_step)]
        time.sleep(3)
        app_kb.append((tree_rss(app_pid) - before) / per_step / KB)
        before = tree_rss(echo_pid)
        echo_socks += [echo_socket(echo_url) for _ in range(per_step)]
        time.sleep(3)
        echo_kb.append((tree_rss(echo_pid) - before) / per_step / KB)
    for s in app_socks + echo_socks:
        s.close()
    return {"app_kb": common.median(app_kb), "echo_kb": common.median(echo_kb),
            "steps_app": app_kb, "steps_echo": echo_kb,
            "over": sum(k > 1024 for k in app_kb)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-state", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args(argv)
    url = common.seeded("sqlite")
    use_db(url)
    ok = True
    print(f"[memory] {common.load_note()}; REFLEX_PERF_MODE={os.environ['REFLEX_PERF_MODE']}",
          flush=True)
    if not args.skip_state:
        for page, r in state_sizes().items():
            good = r["stored"] <= 100 * KB and not r["tripped"] and not r["redirected"]
            ok &= good
            print(f"[memory] state per tab, {page}: stored {r['stored'] / KB:.1f} KB "
                  f"(largest {r['biggest'][0].rsplit('.', 1)[-1]} {r['biggest'][1] / KB:.1f} KB),"
                  f" page-load update {r['load_json'] / KB:.1f} KB"
                  f"{', perf mode: ' + r['tripped'] if r['tripped'] else ', perf mode: ok'}"
                  f"{' REDIRECTED' if r['redirected'] else ''} (target <= 100 KB) "
                  f"{'PASS' if good else 'MISS'}", flush=True)
    if not args.skip_server:
        procs = []
        try:
            app, app_url = common.start_app(url, name="app-mem")
            procs.append(app)
            echo, echo_url = common.start_echo(name="echo-mem")
            procs.append(echo)
            p = peak_rss(app_url, app.pid)
            good = p["ratio"] <= 2
            ok &= good
            print(f"[memory] 20 leads on the 2,500-case board: idle {p['idle_mb']:.0f} MB, peak "
                  f"{p['peak_mb']:.0f} MB, ratio {p['ratio']:.2f}x (target <= 2x) "
                  f"{'PASS' if good else 'MISS'}", flush=True)
            g = growth(app_url, app.pid, echo_url, echo.pid)
            good = g["over"] < 3
            ok &= good
            print(f"[memory] RSS per idle session (5 steps of 20): app {g['app_kb']:.0f} KB "
                  f"[{', '.join(f'{x:.0f}' for x in g['steps_app'])}], echo {g['echo_kb']:.0f} KB "
                  f"[{', '.join(f'{x:.0f}' for x in g['steps_echo'])}] (target <= 1024 KB) "
                  f"{'PASS' if good else 'MISS'}", flush=True)
        finally:
            for proc in procs:
                common.stop(proc)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
