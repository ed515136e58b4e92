"""The audit trail is a single hash chain: appends never fork it, the database refuses edits
and deletions, and `verify_chain` names the first edited or missing event (issue 5, Audit)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cme_app.db import session_scope
from cme_app.models import AuditChainHead, AuditEvent
from cme_app.services.trust import audit
from cme_app.services.trust.audit import verify_chain
from tests.factories import audit_guard_off

WRITERS, APPENDS = 4, 50


def _append(n: int) -> list[int]:
    ids = []
    for _ in range(n):
        with session_scope() as session:
            ids.append(audit.record(session, actor=None, action="test.append").id)
    return ids


def _tamper(db, sql: str, **params) -> None:
    """Change the trail the way someone with direct database access could."""
    with db.begin() as conn, audit_guard_off(conn):
        conn.execute(sa.text(sql), params)


def _verify(db) -> audit.ChainReport:
    with Session(db) as session:
        return verify_chain(session)


def test_concurrent_writers_never_fork_the_chain(db):
    before = _append(3)
    errors: list[BaseException] = []

    def writer():
        try:
            _append(APPENDS)
        except BaseException as exc:  # surfaced below; a thread can't fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _verify(db)
    assert report.ok, report.describe()
    assert report.count == len(before) + WRITERS * APPENDS
    with Session(db) as session:
        links = session.exec(select(AuditEvent.prev_hash).where(AuditEvent.id > before[-1])).all()
        head = session.get(AuditChainHead, 1)
    # 200 new links, each to a different event: no two appends read the same predecessor.
    assert len(links) == len(set(links)) == WRITERS * APPENDS
    assert head.count == report.count


@pytest.mark.parametrize(
    "statement",
    ["UPDATE auditevent SET action = 'x'", "DELETE FROM auditevent", "DELETE FROM auditchainhead"],
)
def test_the_database_refuses_to_change_or_delete_audit_events(db, statement):
    _append(2)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.begin() as conn:
        conn.exec_driver_sql(statement)
    assert _verify(db).count == 2


def test_an_intact_chain_verifies(db):
    ids = _append(5)
    report = _verify(db)
    assert report.ok and report.count == len(ids)
    with Session(db) as session:
        assert report.head_hash == session.get(AuditEvent, ids[-1]).hash


def test_a_bulk_append_chains_like_single_ones_and_edits_in_it_are_named(db):
    _append(2)
    with session_scope() as session:
        audit.record_many(session, [
            {"action": "test.bulk", "actor_role": "system", "child_id": None,
             "entity_type": "deletion_return", "entity_id": n, "detail": {"n": n, "ok": True}}
            for n in range(30)])
    ids = _append(2)
    report = _verify(db)
    assert report.ok and report.count == 34
    with Session(db) as session:
        bulk = session.exec(select(AuditEvent).where(AuditEvent.action == "test.bulk")
                            .order_by(AuditEvent.id)).all()
        assert [e.entity_id for e in bulk] == [str(n) for n in range(30)]
        assert bulk[-1].id < ids[0]
    _tamper(db, "UPDATE auditevent SET detail = :d WHERE id = :id", d='{"n": 99, "ok": true}',
            id=bulk[7].id)
    assert (_verify(db).bad_id, _verify(db).reason) == (bulk[7].id, "edited")


def test_an_empty_trail_verifies(db):
    assert _verify(db).ok


def test_an_edited_detail_is_named(db):
    ids = _append(5)
    _tamper(db, "UPDATE auditevent SET detail = :d WHERE id = :id", d='{"x": 1}', id=ids[2])
    report = _verify(db)
    assert (report.ok, report.bad_id, report.reason) == (False, ids[2], "edited")


def test_an_edited_client_ip_is_noticed(db):
    ids = _append(5)
    _tamper(db, "UPDATE auditevent SET ip = '10.9.9.9' WHERE id = :id", id=ids[1])
    assert (_verify(db).bad_id, _verify(db).reason) == (ids[1], "edited")


def test_a_deleted_middle_event_is_noticed(db):
    ids = _append(5)
    _tamper(db, "DELETE FROM auditevent WHERE id = :id", id=ids[2])
    report = _verify(db)
    assert (report.ok, report.bad_id, report.reason) == (False, ids[3], "deleted before")


def test_a_deleted_first_event_is_noticed(db):
    ids = _append(5)
    _tamper(db, "DELETE FROM auditevent WHERE id = :id", id=ids[0])
    assert (_verify(db).bad_id, _verify(db).reason) == (ids[1], "deleted before")


def test_deleted_newest_events_are_noticed_by_the_chain_head(db):
    ids = _append(5)
    _tamper(db, "DELETE FROM auditevent WHERE id >= :id", id=ids[-2])
    report = _verify(db)
    assert (report.ok, report.bad_id, report.reason) == (False, ids[-3], "deleted after")
    assert f"ending at event {ids[-1]}" in report.describe()


def test_a_forked_link_is_a_broken_link(db):
    """Two writers that read the same predecessor (what the lock prevents) leave a fork."""
    ids = _append(5)
    with Session(db) as session:
        first = session.get(AuditEvent, ids[0])
        fork = session.get(AuditEvent, ids[2])
        fork.prev_hash = first.hash
        new_hash = audit._digest(first.hash, fork)
    _tamper(db, "UPDATE auditevent SET prev_hash = :p, hash = :h WHERE id = :id",
            p=first.hash, h=new_hash, id=ids[2])
    report = _verify(db)
    assert (report.bad_id, report.reason) == (ids[2], "broken link")


def test_events_written_before_the_ip_was_sealed_still_verify(db):
    """Events chained by the version 1 digest (before 0006) stay valid."""
    ids = _append(2)
    with Session(db) as session:
        old = session.get(AuditEvent, ids[0])
        v1 = audit._digest(old.prev_hash, old, version=1)
        nxt = session.get(AuditEvent, ids[1])
        nxt.prev_hash = v1
        v2_next = audit._digest(v1, nxt)
    _tamper(db, "UPDATE auditevent SET hash = :h WHERE id = :id", h=v1, id=ids[0])
    _tamper(db, "UPDATE auditevent SET prev_hash = :p, hash = :h WHERE id = :id",
            p=v1, h=v2_next, id=ids[1])
    _tamper(db, "UPDATE auditchainhead SET last_hash = :h", h=v2_next)
    assert _verify(db).ok
