"""Writing audit events, in the caller's transaction (design.md rule 4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import Session, select

from ..models import AuditEvent
from .permissions import Actor


def _digest(prev: str | None, event: AuditEvent) -> str:
    body = json.dumps(
        {
            "prev": prev,
            "at": event.at.isoformat(),
            "actor": event.actor_id,
            "role": event.actor_role,
            "action": event.action,
            "entity": [event.entity_type, event.entity_id],
            "child": event.child_id,
            "outcome": event.outcome,
            "detail": event.detail,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


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
    """Append one event. Chained to the previous one by hash so edits can be detected."""
    prev = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    event = AuditEvent(
        actor_id=actor.user_id if actor else actor_id,
        actor_role=str(actor.role) if actor else actor_role,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        child_id=child_id,
        outcome=outcome,
        detail=detail or {},
        ip=actor.ip if actor else ip,
        prev_hash=prev,
    )
    event.hash = _digest(prev, event)
    session.add(event)
    session.flush()
    return event


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
