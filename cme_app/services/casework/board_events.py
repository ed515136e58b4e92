"""The board's change bus: "the board changed", said once per committed transaction that
changed what a board shows, and heard by every open board (issue 19: live updates without
polling).

Framework-free. One session listener (as models/search.py keeps the search index) notes the
flushes and Core statements that wrote a board table (`BOARD_TABLES`: the tables
`board.board_stamp` fingerprints, plus the lone-working alerts the board's alert panel shows)
and publishes after the COMMIT; a rollback publishes nothing. A stage move, an allocation, a
risk rating, a new referral (a new case), a closure proposal, a visit's check-in or check-out
and an alert raised or resolved all write one of them.

Two backends, chosen by `REFLEX_REDIS_URL` as rxconfig chooses the tab state's store:
- `LocalBus`: in this process (the pilot's single worker, and the tests);
- `RedisBus`: Redis pub/sub on one channel, so every worker process hears every commit,
  whichever worker (or `cme-app` command) made it. Each process keeps one subscriber
  connection (a relay task on its event loop) and fans each message out to its own tabs.

Each open board holds a `Subscription` (one per tab): a flag set by a message, awaited by the
tab's listener with a deadline (the next moment something on the board falls due by the
clock alone). A burst (a bulk import commits row by row) is folded into one wake-up: the
listener waits `COALESCE_S` after the first message before it reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

logger = logging.getLogger(__name__)

CHANNEL = "cme:board-changed"
# Bursts closer together than this cost one reload per open board.
COALESCE_S = 0.1
# A subscription nobody has waited on for this long belongs to a tab that went away before its
# listener started (or after it ended without dropping it): forgotten on the next publish.
ABANDONED_S = 120.0
BOARD_TABLES = frozenset({"case", "caseclosure", "homevisit", "lanotification",
                          "loneworkingalert"})
_CHANGED = "cme_board_changed"  # session.info key: this transaction wrote a board table

# What a wait ended with.
CHANGED, DUE, REPLACED, CLOSED = "changed", "due", "replaced", "closed"


class Subscription:
    """One open board's ear. `notify` may be called from any thread; one coroutine at a time
    waits (a second waiter for the same tab replaces the first, which ends)."""

    def __init__(self, bus: Bus, key: str):
        self.bus, self.key = bus, key
        self._lock = threading.Lock()
        self._pending = False
        self._closed = False
        self._waiter: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_waited = time.monotonic()

    @property
    def closed(self) -> bool:
        return self._closed

    def _wake(self, outcome: str) -> None:
        waiter, loop = self._waiter, self._loop
        if waiter is None or loop is None or loop.is_closed():
            return

        def settle():
            if not waiter.done():
                waiter.set_result(outcome)

        # RuntimeError: the loop closed meanwhile, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle)

    def notify(self) -> None:
        with self._lock:
            self._pending = True
            self._wake(CHANGED)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake(CLOSED)

    def abandoned(self, now: float) -> bool:
        return self._waiter is None and now - self.last_waited > ABANDONED_S

    async def wait(self, *, timeout: float | None = None) -> str:
        """CHANGED (after the coalescing pause), DUE (the deadline passed first), REPLACED
        (another waiter took over) or CLOSED."""
        loop = asyncio.get_running_loop()
        self.bus.running(loop)
        waiter = loop.create_future()
        with self._lock:
            if self._closed:
                return CLOSED
            previous, self._waiter, self._loop = self._waiter, waiter, loop
            if previous is not None and not previous.done():
                previous.get_loop().call_soon_threadsafe(
                    lambda: previous.done() or previous.set_result(REPLACED))
            if self._pending:
                waiter.set_result(CHANGED)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            outcome = DUE
        finally:
            with self._lock:
                if self._waiter is waiter:
                    self._waiter = None
                self.last_waited = time.monotonic()
        if outcome == CHANGED:
            await asyncio.sleep(COALESCE_S)  # the rest of a burst lands in the same reload
            with self._lock:
                self._pending = False
        return outcome


class Bus:
    """Subscriptions by key (a tab), and publishing to them."""

    def __init__(self):
        self._subs: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    def subscribe(self, key: str) -> Subscription:
        """A fresh subscription for `key`, closing the one it had: a board (re)load starts
        listening anew, and the old listener ends."""
        sub = Subscription(self, key)
        with self._lock:
            old, self._subs[key] = self._subs.get(key), sub
        if old is not None:
            old.close()
        return sub

    def subscription(self, key: str) -> Subscription | None:
        with self._lock:
            return self._subs.get(key)

    def drop(self, sub: Subscription) -> None:
        with self._lock:
            if self._subs.get(sub.key) is sub:
                del self._subs[sub.key]
        sub.close()

    def listeners(self) -> int:
        with self._lock:
            return len(self._subs)

    def deliver(self) -> None:
        """Tell every subscription of this process that the board changed."""
        now = time.monotonic()
        with self._lock:
            for sub in [s for s in self._subs.values() if s.abandoned(now)]:
                del self._subs[sub.key]
            subs = list(self._subs.values())
        for sub in subs:
            sub.notify()

    def publish(self) -> None:
        raise NotImplementedError

    def running(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by a waiter on its event loop (a backend may start its relay there)."""

    def close(self) -> None:
        with self._lock:
            subs, self._subs = list(self._subs.values()), {}
        for sub in subs:
            sub.close()


class LocalBus(Bus):
    """In this process only: the pilot runs one worker."""

    def publish(self) -> None:
        self.deliver()


class RedisBus(Bus):
    """Redis pub/sub: publish from any process or thread; one relay per process delivers."""

    RETRY_S = 1.0

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self._client = None
        self._relay: asyncio.Task | None = None
        self._relay_loop: asyncio.AbstractEventLoop | None = None

    def publish(self) -> None:
        import redis

        try:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_timeout=1,
                                                    socket_connect_timeout=1)
            self._client.publish(CHANNEL, b"1")
        except redis.RedisError:
            # The change is committed whatever happens here; boards catch up on the next
            # message (the relay also wakes every board when it reconnects).
            logger.warning("Board change not published: Redis unavailable")

    def running(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._relay is not None and not self._relay.done() and self._relay_loop is loop:
            return
        self._relay_loop = loop
        self._relay = loop.create_task(self._relay_messages(), name="cme-board-events-relay")

    async def _relay_messages(self) -> None:
        import redis.asyncio as aredis

        first = True
        while True:
            client = aredis.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if not first:  # messages may have been missed while disconnected
                        self.deliver()
                    first = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.deliver()
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: try again shortly
                logger.warning("Board change relay lost Redis; retrying")
                await asyncio.sleep(self.RETRY_S)
            finally:
                await client.aclose()

    def close(self) -> None:
        super().close()
        loop = self._relay_loop
        if self._relay is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._relay.cancel)
        self._relay = None
        if self._client is not None:
            self._client.close()
            self._client = None


# ----- the process's bus ---------------------------------------------------------------------

_bus: Bus | None = None
_bus_lock = threading.Lock()


def get_bus() -> Bus:
    """Redis where the app keeps tab state in Redis (the production profile), else local."""
    global _bus
    with _bus_lock:
        if _bus is None:
            url = os.environ.get("REFLEX_REDIS_URL", "")
            _bus = RedisBus(url) if url else LocalBus()
        return _bus


def use_bus(bus: Bus | None) -> Bus | None:
    """Swap the process's bus (tests); returns the one it replaced."""
    global _bus
    with _bus_lock:
        old, _bus = _bus, bus
    return old


def publish() -> None:
    get_bus().publish()


# ----- the session listener -----------------------------------------------------------------


def _touches_board(objects: Iterable[object]) -> bool:
    return any(getattr(o, "__tablename__", None) in BOARD_TABLES for o in objects)


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _context) -> None:
    if not session.info.get(_CHANGED) and _touches_board(
            (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(OrmSession, "do_orm_execute")
def _core_writes(state) -> None:
    """Core INSERT/UPDATE/DELETE through the session (the lone-working monitor's claims,
    `models.base.insert_rows` batches)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if isinstance(table, sa.Table) and table.name in BOARD_TABLES:
        state.session.info[_CHANGED] = True


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if session.info.pop(_CHANGED, False):
        publish()


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_CHANGED, None)
