"""Closing a case."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from ...domain import (
    Role,
)
from ...models import (
    Case,
)
from ...permissions import Actor, require_role
from . import lifecycle
from .lifecycle import check_version, load_case


def approve_closure(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    version: int,
    today: date | None = None,
) -> Case:
    """A lead approves the closure an officer proposed, with the officer's evidence (SC-19).
    The same rules as any closure apply again now."""
    actor = require_role(actor, Role.LEAD)
    case = load_case(session, actor=actor, reference=reference, action="case.closed")
    check_version(session, case, version)
    pending = lifecycle.pending_closure(session, case)
    if pending is None:
        raise lifecycle.MoveRefused("There is no closure waiting for approval.")
    return lifecycle.close_case(
        session,
        actor=actor,
        reference=reference,
        outcome=pending.outcome,
        evidence=dict(pending.evidence or {}),
        version=version,
        today=today,
    )
