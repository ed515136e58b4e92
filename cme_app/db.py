"""The engine and the one way to open a database session."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from .errors import Refusal
from .settings import get_settings

_GATE = "cme_sqlite_gate"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy not emit BEGIN itself, so we can issue BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # This process's threads (every handler runs in one) queue here for the database,
        # woken as soon as the holder lets go, instead of in SQLite's busy handler, which sleeps in
        # growing steps (up to 100 ms) so a thread that keeps coming back wins over and over.
        # Other processes still meet SQLite's busy timeout. The timeout: a thread that already
        # holds a transaction and opens a second one waits as long as SQLite would, then goes on.
        gate = threading.Semaphore(1)

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):
            # Writers take the lock up front: no "database is locked" on upgrade.
            if gate.acquire(timeout=30):
                conn.info[_GATE] = gate
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except Exception:
                _let_go(conn.info)
                raise

        def _let_go(info: dict) -> None:
            held = info.pop(_GATE, None)
            if held is not None:
                held.release()

        event.listen(engine, "commit", lambda conn: _let_go(conn.info))
        event.listen(engine, "rollback", lambda conn: _let_go(conn.info))
        # A connection handed back to the pool mid-transaction is rolled back by the pool.
        event.listen(engine.pool, "reset",
                     lambda _dbapi, record, _reset_state: _let_go(record.info))
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(get_settings().db_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any error.

    A Refusal still commits, so the audit event recording the refused attempt is kept.
    """
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Refusal:
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
