"""Benchmark: a card move's round trip on the real app vs a bare python-socketio echo server.

The real app's production build (`reflex run --env prod --single-port`, granian) serves the
design-load SQLite database (bench/seed.py). A team lead, signed in through the real ticket
exchange (tests/e2e/helpers.session_cookie), opens /board over a real `/_event` socket
(tests/e2e/socket_client.EventSocket) and moves one Enquiries card to Home visit and back
(BoardState.move, each move checked by the server, audited, version-checked; the answer is
the moved card, issue 19). The baseline is bench/echo_server.py under granian, driven by the
same client stack with a payload of the same shape. Time = send -> first update back.

Each round does --n moves, then --n echoes (interleaved rounds); ratio per round =
median(move) / median(echo); reported: median of the rounds. Target <= 2x (perf-security.md P5
asks <= 3x and p95 <= 20 ms; the issue asks 2x).

    .venv/bin/python bench/card_move.py [--rounds 7] [--n 30] [--app-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, seed  # first: sets the environment

TARGET = 2.0


def use_db(url: str) -> None:
    os.environ["REFLEX_DB_URL"] = url
    from cme_app.settings import get_settings

    get_settings.cache_clear()


def lead_socket(app_url: str, path: str = "/board", email: str | None = None):
    from tests.e2e.helpers import session_cookie
    from tests.e2e.socket_client import EventSocket

    cookie = session_cookie(app_url, email or seed.lead_email(1), seed.PASSWORD)
    return EventSocket(app_url, cookie=cookie, path=path).connect(timeout=60)


def timed(sock, name: str, payload: dict, predicate, timeout: float = 30) -> float:
    """Seconds from sending an event to the update that answers it (`predicate` on the update's
    text). Reflex sends no ack and some events answer in several updates (a delta, then a
    call_script), so a late update of an earlier event must not count as this one's answer."""
    import time

    start = len(sock.updates)
    t0 = time.perf_counter()
    sock.send(name, payload)
    sock.wait_for(lambda u: predicate(json.dumps(u.get("delta", {}))), after=start,
                  timeout=timeout)
    return time.perf_counter() - t0


class Mover:
    """Moves one Enquiries case to Home visit and back, keeping its version."""

    def __init__(self, sock, offset: int = 0):
        from sqlmodel import Session, select

        from cme_app.db import get_engine
        from cme_app.models import Case
        from cme_app.pages.casework.board import BoardState
        from tests.e2e.socket_client import handler_name

        with Session(get_engine()) as session:
            case = session.exec(select(Case).where(Case.stage == "enquiries")
                                .order_by(Case.id).offset(offset).limit(1)).one()
            self.reference, self.version, self.stage = case.reference, case.version, case.stage
        self.sock = sock
        self.name = handler_name(BoardState, "move")

    def payload(self) -> dict:
        to = "home_visit" if self.stage == "enquiries" else "enquiries"
        return {"reference": self.reference, "to_stage": to, "version": self.version}

    def move(self) -> float:
        payload = self.payload()
        start = len(self.sock.updates)
        try:
            elapsed = timed(self.sock, self.name, payload,
                            lambda text: self.reference in text and "moved" in text)
        except TimeoutError:
            raise RuntimeError(f"no answer to the move of {self.reference}") from None
        text = self.sock.received_text(start)
        if f"{self.reference} moved to" not in text:
            raise RuntimeError(f"move refused: {text[:300]}")
        self.stage, self.version = payload["to_stage"], self.version + 1
        return elapsed


def echo_socket(echo_url: str):
    from tests.e2e.socket_client import EventSocket

    return EventSocket(echo_url, boot=False).connect()


def run(app_url: str, echo_url: str, rounds: int, n: int) -> dict:
    app, echo = lead_socket(app_url), echo_socket(echo_url)
    mover = Mover(app)
    try:
        for _ in range(3):  # warm-up (the first event rehydrates)
            mover.move()
            echo.round_trip(mover.name, mover.payload())
        ratios, moves, echoes = [], [], []
        for _ in range(rounds):
            m = [mover.move() for _ in range(n)]
            e = [echo.round_trip(mover.name, mover.payload()) for _ in range(n)]
            ratios.append(common.median(m) / common.median(e))
            moves += m
            echoes += e
    finally:
        app.close()
        echo.close()
    return {"ratio": common.median(ratios), "ratios": ratios,
            "move_p50": common.median(moves) * 1000, "move_p95": common.pct(moves, 95) * 1000,
            "echo_p50": common.median(echoes) * 1000, "echo_p95": common.pct(echoes, 95) * 1000,
            "over": sum(r > TARGET for r in ratios), "rounds": rounds}


def board_tab_in_process():
    """For --profile: a lead's /board tab on the seeded SQLite database, loaded, with each
    handler's thread steps run inline (pyinstrument sees only the thread it runs on).
    Returns the board state and its root state."""
    from sqlmodel import Session

    import cme_app.pages  # noqa: F401  (registers the page states)
    from cme_app.db import get_engine
    from cme_app.pages.casework.board import BoardState
    from cme_app.state import handlers
    from tests.factories import call_handler, session_token, state_for

    async def inline(fn, *args, **kwargs):
        return fn(*args, **kwargs)

    handlers.asyncio.to_thread = inline
    use_db(common.seeded("sqlite"))
    with Session(get_engine()) as session:
        token = session_token(session, seed.lead_email(1), seed.PASSWORD)
        session.commit()
    state = state_for(BoardState, token, path="/board")
    root = state.parent_state.parent_state
    call_handler(state, "load")
    root._clean()
    return state, root


def run_handler(state, name: str, *args) -> None:
    """A handler as Reflex runs it, on this thread (see board_tab_in_process)."""
    asyncio.run(type(state).event_handlers[name].fn(state, *args))


def profile(moves: int = 20) -> int:
    """Where a move's server time goes: the real handler in-process on the seeded database
    (load the board as a tab does, then move back and forth), with Reflex's delta encoding."""
    from pyinstrument import Profiler
    from reflex_base.utils.format import json_dumps

    state, root = board_tab_in_process()

    class Local:  # Mover's bookkeeping without a socket
        updates: list = []

    mover = Mover(Local(), offset=1)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(moves):
        payload = mover.payload()
        run_handler(state, "move", *payload.values())
        assert "moved to" in state.announcement, state.announcement
        json_dumps(root.get_delta())
        root._clean()
        mover.stage, mover.version = payload["to_stage"], mover.version + 1
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--app-url", help="an app already serving the seeded SQLite database")
    parser.add_argument("--profile", action="store_true",
                        help="profile the move handler in-process instead (pyinstrument)")
    args = parser.parse_args(argv)
    if args.profile:
        return profile()
    url = common.seeded("sqlite")
    use_db(url)
    procs = []
    try:
        app_url = args.app_url
        if not app_url:
            # One socket sends moves back to back, faster than a person can: lift the socket's
            # per-connection rate limit (cme_app/socket_guard.py; 20 events/s, burst 40), which
            # otherwise silently drops the moves past the burst once each takes < 50 ms.
            proc, app_url = common.start_app(url, extra_env={
                "CME_SOCKET_EVENTS_PER_SECOND": "10000", "CME_SOCKET_EVENT_BURST": "10000"})
            procs.append(proc)
        proc, echo_url = common.start_echo()
        procs.append(proc)
        print(f"[card_move] {common.load_note()}", flush=True)
        r = run(app_url, echo_url, max(5, args.rounds), args.n)
    finally:
        for p in procs:
            common.stop(p)
    ok = r["over"] < 3
    print(f"[card_move] move p50 {r['move_p50']:.1f} ms (p95 {r['move_p95']:.1f}), echo p50 "
          f"{r['echo_p50']:.2f} ms (p95 {r['echo_p95']:.2f}); ratio median {r['ratio']:.1f}x "
          f"over {r['rounds']} rounds [{', '.join(f'{x:.1f}' for x in r['ratios'])}] "
          f"(target <= {TARGET:.0f}x) {'PASS' if ok else 'MISS'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
