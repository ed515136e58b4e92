"""Benchmark: does a flood of anonymous sign-in attempts stall a signed-in user (issue 18.2)?

The prod app (1 worker) on the design-load SQLite database, real argon2 cost. The victim is an
officer on /board changing the risk filter every 100 ms (as bench/hol.py). The flood is what
the outside test sent: 8 anonymous sockets on /login, each sending 64 sign-in attempts (each
for an email of its own, so no account lockout makes them cheap: every attempt that runs is a
full argon2 verification), as fast as the server takes them, reconnecting when it hangs up.
Each round: the victim alone for --seconds (quiet), then the victim while the flood runs and
for --seconds in all (flood); then a pause until the server has finished every accepted
attempt, so the next quiet period is quiet. Ratio per round = victim p95 during the flood /
victim p95 quiet; reported: the median of the rounds. Target <= 2x.

    .venv/bin/python bench/sign_in_flood.py [--rounds 5] [--seconds 8] [--app-url URL]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, seed  # first: sets the environment
from bench.card_move import lead_socket, use_db
from bench.hol import victim_loop

TARGET = 2.0
SOCKETS, ATTEMPTS = 8, 64


def attempts_so_far() -> int:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from cme_app.db import get_engine
    from cme_app.models import LoginAttempt

    with Session(get_engine()) as session:
        return session.exec(select(func.count()).select_from(LoginAttempt)).one()


def flooder(app_url: str, sign_in: str, n: int, round_no: int, sent: list[int]) -> None:
    """One anonymous attacker socket: 64 sign-in attempts, reconnecting when cut off."""
    from tests.e2e.socket_client import EventSocket, SocketRefused

    sock = None
    done = 0
    deadline = time.monotonic() + 60
    while done < ATTEMPTS and time.monotonic() < deadline:
        if sock is None or not sock.connected:
            try:
                sock = EventSocket(app_url, path="/login").connect(timeout=10)
            except (SocketRefused, TimeoutError):
                sock = None
                time.sleep(0.2)
                continue
        form = {"form_data": {"email": f"flood-{round_no}-{n}-{done}@example.org",
                              "password": "not the password at all"}}
        try:
            sock.send(sign_in, form)
        except Exception:  # noqa: S112 (the server closed the socket mid-send: reconnect)
            continue
        done += 1
        time.sleep(0.005)
    sent.append(done)
    if sock is not None:
        sock.close()


def drained(quiet_for: float = 2.0, timeout: float = 180) -> int:
    """Wait until no sign-in attempt has been recorded for `quiet_for` s; how many there are."""
    last, since = attempts_so_far(), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = attempts_so_far()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            break
    return last


def run(app_url: str, rounds: int, seconds: float) -> dict:
    from cme_app.pages.trust.login import LoginState
    from tests.e2e.socket_client import handler_name

    sign_in = handler_name(LoginState, "sign_in")
    victim = lead_socket(app_url, path="/board", email=seed.officer_email(2))
    victim_loop(victim, 2)  # warm-up
    ratios, quiet_p95, flood_p95, flood_max, ran, sent_total = [], [], [], [], [], []
    try:
        for r in range(rounds):
            before = drained()
            quiet = victim_loop(victim, seconds)
            sent: list[int] = []
            threads = [threading.Thread(target=flooder, args=(app_url, sign_in, n, r, sent))
                       for n in range(SOCKETS)]
            for t in threads:
                t.start()
            under = victim_loop(victim, seconds)
            for t in threads:
                t.join()
            ran.append(drained() - before)
            sent_total.append(sum(sent))
            quiet_p95.append(common.pct(quiet, 95) * 1000)
            flood_p95.append(common.pct(under, 95) * 1000)
            flood_max.append(max(under) * 1000)
            ratios.append(flood_p95[-1] / quiet_p95[-1])
    finally:
        victim.close()
    return {"ratio": common.median(ratios), "ratios": ratios,
            "quiet_p95": common.median(quiet_p95), "flood_p95": common.median(flood_p95),
            "flood_max": max(flood_max), "sent": common.median(sent_total),
            "ran": common.median(ran), "over": sum(x > TARGET for x in ratios),
            "rounds": rounds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--app-url", help="an app already serving the seeded SQLite database")
    args = parser.parse_args(argv)
    url = common.seeded("sqlite")
    use_db(url)
    procs = []
    try:
        app_url = args.app_url
        if not app_url:
            proc, app_url = common.start_app(url, name="app-sign-in-flood")
            procs.append(proc)
        print(f"[sign_in_flood] {common.load_note()}", flush=True)
        r = run(app_url, max(5, args.rounds), args.seconds)
    finally:
        for p in procs:
            common.stop(p)
    ok = r["over"] < 3
    print(f"[sign_in_flood] victim p95 quiet {r['quiet_p95']:.0f} ms, during {SOCKETS} "
          f"anonymous sockets x {ATTEMPTS} sign-in attempts {r['flood_p95']:.0f} ms (worst "
          f"{r['flood_max']:.0f} ms); ratio median {r['ratio']:.2f}x "
          f"[{', '.join(f'{x:.2f}' for x in r['ratios'])}]; attempts sent {r['sent']:.0f}, "
          f"run by the server {r['ran']:.0f} per round (target <= {TARGET:.0f}x) "
          f"{'PASS' if ok else 'MISS'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
