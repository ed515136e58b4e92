"""Writing audit events (BR-D7), in the caller's transaction, and checking the chain. An event
commits or rolls back with the change it records.

Every event carries the hash of the one before it, and `auditchainhead` remembers the count,
id and hash of the newest one, so `verify_chain` notices an edited event, a removed one, and
removed newest events. Appends are serialised so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, func, select

from ...domain import case_reference
from ...models import AuditChainHead, AuditEvent, utcnow
from ...models.base import allocate_ids
from ...permissions import Actor, Capability, allows, require

# Key of the PostgreSQL advisory lock held (to the end of the transaction) by every append.
CHAIN_LOCK_KEY = 0x434D4541  # "CMEA"
HEAD_ID = 1
_VERIFY_BATCH = 1000
# How far back a link to an earlier event is told apart from a link to a removed one.
_FORK_WINDOW = 1000
# The purposes this unit of work's writes on cases outside the writer's caseload were allowed
# with (trust/purpose.py `for_write`), by (user id, case reference).
_PURPOSES_KEY = "cme.case_purposes"
# The chain head this session's transaction has locked and read: (transaction, head row).
_HEAD_KEY = "cme.audit_head"


def remember_purpose(session: Session, *, actor_id: int, reference: str,
                     given: dict[str, str]) -> None:
    """From now until this session ends, this person's events on this case carry `given`."""
    session.info.setdefault(_PURPOSES_KEY, {})[(actor_id, reference)] = dict(given)


def _with_purpose(session: Session, actor_id: int | None, entity_type: str | None,
                  entity_id: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    purposes = session.info.get(_PURPOSES_KEY)
    given = purposes.get((actor_id, entity_id)) if purposes and entity_type == "case" else None
    if not given or "purpose" in detail:
        return detail
    return {**detail, **given}


def _digest(prev: str | None, event: AuditEvent, *, version: int = 2) -> str:
    body: dict[str, Any] = {
        "prev": prev,
        "at": event.at.isoformat(),
        "actor": event.actor_id,
        "role": event.actor_role,
        "action": event.action,
        "entity": [event.entity_type, event.entity_id],
        "child": event.child_id,
        "outcome": event.outcome,
        "detail": event.detail,
    }
    if version >= 2:
        # Version 2 also seals the client IP; events written before it verify as version 1.
        body |= {"v": 2, "ip": event.ip}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise appends. On SQLite every write transaction already starts with
    BEGIN IMMEDIATE (cme_app/db.py), so only PostgreSQL needs a lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})


def _chain_head(session: Session) -> AuditChainHead:
    """The head row, read fresh under the lock; made from the events if it is missing."""
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    if head is None:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
        count = session.exec(select(func.count()).select_from(AuditEvent)).one()
        head = AuditChainHead(
            id=HEAD_ID,
            count=count,
            last_id=last.id if last else None,
            last_hash=last.hash if last else None,
        )
    return head


def _held_head(session: Session) -> AuditChainHead:
    """The chain head for an append: locked and read once per transaction, then kept. The
    lock (BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL) is held to the end of
    the transaction, so no other writer can move the head meanwhile, and every append of this
    transaction moves the kept row itself. A savepoint rolled back expires the row (it is read
    again) or, if it was new, removes it from the session (then the whole read is redone)."""
    held = session.info.get(_HEAD_KEY)
    txn = session.get_transaction()
    if held is not None and txn is not None and held[0] is txn and txn.is_active \
            and held[1] in session:
        return held[1]
    _lock_chain(session)
    head = _chain_head(session)
    session.add(head)
    session.info[_HEAD_KEY] = (session.get_transaction(), head)
    return head


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    child_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event, chained by hash to the previous one so edits can be detected. The
    head row's update is left to the next flush (one UPDATE for all of a transaction's
    appends); the event is flushed at once for its id."""
    head = _held_head(session)
    actor_id = actor.user_id if actor else actor_id
    entity_id = None if entity_id is None else str(entity_id)
    event = AuditEvent(
        actor_id=actor_id,
        actor_role=str(actor.role) if actor else actor_role,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        child_id=child_id,
        outcome=outcome,
        detail=_with_purpose(session, actor_id, entity_type, entity_id, detail or {}),
        ip=actor.ip if actor else ip,
        prev_hash=head.last_hash,
    )
    event.hash = _digest(head.last_hash, event)
    session.add(event)
    session.flush()
    head.count += 1
    head.last_id, head.last_hash = event.id, event.hash
    return event


def record_many(session: Session, events: list[dict[str, Any]]) -> int:
    """Append many events at once (a bulk import's one per record), chained in list order:
    the same events `record` would write one by one, with one insert. Each dict holds
    AuditEvent's fields (actor_id, actor_role, action, entity_type, entity_id, child_id,
    detail...)."""
    if not events:
        return 0
    head = _held_head(session)
    ids = allocate_ids(session, "auditevent", len(events))
    now = utcnow()
    rows, prev = [], head.last_hash
    for event_id, given in zip(ids, events, strict=True):
        row = {"id": event_id, "at": now, "actor_id": None, "actor_role": None,
               "entity_type": None, "entity_id": None, "child_id": None, "outcome": "ok",
               "detail": {}, "ip": None, **given}
        row["entity_id"] = None if row["entity_id"] is None else str(row["entity_id"])
        row["prev_hash"] = prev
        row["hash"] = prev = _digest(prev, SimpleNamespace(**row))
        rows.append(row)
    session.execute(insert(AuditEvent), rows)
    head.count += len(rows)
    head.last_id, head.last_hash = ids[-1], prev
    return len(rows)


def case_event(
    session: Session,
    *,
    actor: Actor | None,
    case: Any,
    action: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event about one case, filed under its reference and its child."""
    return record(
        session,
        actor=actor,
        action=action,
        entity_type="case",
        entity_id=case.reference,
        child_id=case.child_id,
        detail=detail,
    )


def require_on_case(session: Session, actor: Actor | None, capability: Capability, *,
                    action: str, reference: Any) -> Actor:
    """`require(actor, capability)` for an action on one case; a signed-in user's refused
    attempt is kept in the trail, under the action they tried and the reference they gave."""
    if actor is not None and not allows(actor.role, capability):
        record(session, actor=actor, action=action, outcome="refused", entity_type="case",
               entity_id=case_reference(reference))
    return require(actor, capability)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The audit detail for an update: `{"before": {...}, "after": {...}}` of changed fields."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {
        "before": {k: before.get(k) for k in changed},
        "after": {k: after.get(k) for k in changed},
    }


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    head_hash: str | None
    bad_id: int | None = None
    reason: str | None = None  # "edited", "deleted before", "broken link", "deleted after"
    expected: str = ""  # what the chain head says, when the newest events are missing

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.count} events, head hash {self.head_hash or '-'}."
        explain = {
            "edited": "its contents no longer match its hash",
            "deleted before": "the event it was chained to is missing",
            "broken link": "it is chained to an earlier event, not to the one before it",
            "deleted after": f"newer events are missing; {self.expected}",
            "head missing": "the chain head row is missing",
        }[self.reason or ""]
        return f"Audit chain broken at event {self.bad_id}: {self.reason} ({explain})."


def verify_chain(session: Session) -> ChainReport:
    """Walk every event in id order, recompute its hash and check its link, then compare the
    end of the chain with the head row. Reports the first problem found."""
    session.flush()  # this session's own appends, and its head, are part of what is checked
    prev_hash: str | None = None
    last_id: int | None = None
    recent: deque[str] = deque(maxlen=_FORK_WINDOW)
    count = 0
    while True:
        query = select(AuditEvent).order_by(AuditEvent.id).limit(_VERIFY_BATCH)
        if last_id is not None:
            query = query.where(AuditEvent.id > last_id)
        batch = session.exec(query).all()
        if not batch:
            break
        for event in batch:
            if event.hash not in (
                _digest(event.prev_hash, event),
                _digest(event.prev_hash, event, version=1),
            ):
                return ChainReport(False, count, prev_hash, event.id, "edited")
            if event.prev_hash != prev_hash:
                reason = "broken link" if event.prev_hash in recent else "deleted before"
                return ChainReport(False, count, prev_hash, event.id, reason)
            recent.append(event.hash)
            prev_hash, last_id = event.hash, event.id
            count += 1
            session.expunge(event)
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    if head is None:
        if count:
            return ChainReport(False, count, prev_hash, last_id, "head missing")
        return ChainReport(True, 0, None)
    if (head.count, head.last_id, head.last_hash) != (count, last_id, prev_hash):
        expected = f"the chain head records {head.count} events ending at event {head.last_id}"
        return ChainReport(False, count, prev_hash, last_id, "deleted after", expected)
    return ChainReport(True, count, prev_hash)
