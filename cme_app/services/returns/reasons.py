"""DfE's primary reasons for CME, kept as data a lead can change (statutory-returns §1)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from ...domain import DFE_REASONS
from ...errors import FieldError, ValidationFailed
from ...models import DfeReason
from ...permissions import Actor, Capability, require
from ..trust import audit


def ensure_reasons(session: Session) -> None:
    """Seed DfE's published list the first time it is needed."""
    if session.exec(select(DfeReason.id).limit(1)).first() is None:
        for position, label in enumerate(DFE_REASONS):
            session.add(DfeReason(label=label, position=position))
        session.flush()


def reason_labels(session: Session, *, include_retired: bool = False) -> list[str]:
    """The reasons an officer may choose (and, for the return, every one ever used)."""
    ensure_reasons(session)
    query = select(DfeReason.label).order_by(col(DfeReason.position), col(DfeReason.label))
    if not include_retired:
        query = query.where(DfeReason.active == True)  # noqa: E712
    return list(session.exec(query).all())


def add_reason(session: Session, *, actor: Actor | None, label: str) -> DfeReason:
    actor = require(actor, Capability.DFE_RETURN_MANAGE)
    ensure_reasons(session)
    label = " ".join(str(label or "").split())
    if not 3 <= len(label) <= 120:
        raise ValidationFailed([FieldError("label", "Enter the reason as DfE words it")])
    found = session.exec(select(DfeReason).where(DfeReason.label == label)).first()
    if found is not None and found.active:
        raise ValidationFailed([FieldError("label", "That reason is already on the list")])
    if found is None:
        last = session.exec(
            select(DfeReason.position).order_by(col(DfeReason.position).desc())
        ).first()
        found = DfeReason(label=label, position=(last or 0) + 1)
    found.active = True
    session.add(found)
    audit.record(
        session,
        actor=actor,
        action="dfe_reason.added",
        entity_type="dfe_reason",
        entity_id=label[:60],
    )
    session.flush()
    return found


def retire_reason(session: Session, *, actor: Actor | None, label: str) -> None:
    """Off the list officers choose from; episodes that carry it keep it."""
    actor = require(actor, Capability.DFE_RETURN_MANAGE)
    ensure_reasons(session)
    found = session.exec(select(DfeReason).where(DfeReason.label == str(label or ""))).first()
    if found is None or not found.active:
        raise ValidationFailed([FieldError("label", "Choose a reason on the list")])
    found.active = False
    session.add(found)
    audit.record(
        session,
        actor=actor,
        action="dfe_reason.retired",
        entity_type="dfe_reason",
        entity_id=found.label[:60],
    )
    session.flush()
