"""Cases on the LA side: references and the stage-by-stage list (the board comes later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from ..models import STAGE_LABELS, Case, Child, ReferenceCounter, Referral, School, Stage
from . import audit
from .permissions import CASE_VIEWERS, Actor, require_role


def next_case_reference(session: Session, *, year: int) -> str:
    """CME-YYYY-NNNNN, gap-free per year. The counter row is locked until commit."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.exec(insert(ReferenceCounter).values(year=year, last_value=0).on_conflict_do_nothing())
    counter = session.exec(
        select(ReferenceCounter).where(ReferenceCounter.year == year).with_for_update()
    ).one()
    counter.last_value += 1
    session.add(counter)
    session.flush()
    return f"CME-{year}-{counter.last_value:05d}"


@dataclass(frozen=True)
class CaseCard:
    reference: str
    child_name: str
    age: int
    school_name: str
    risk: str
    late: bool


@dataclass(frozen=True)
class StageColumn:
    stage: str
    label: str
    count: int
    cards: list[CaseCard]


def age_on(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def cases_by_stage(
    session: Session, *, actor: Actor | None, limit_per_stage: int = 50, today: date | None = None
) -> list[StageColumn]:
    """Open cases grouped by stage, oldest first in each, with a count per stage."""
    actor = require_role(actor, *CASE_VIEWERS)
    today = today or date.today()
    limit_per_stage = max(1, min(limit_per_stage, 200))
    counts = dict(session.exec(select(Case.stage, func.count()).group_by(Case.stage)).all())
    columns = []
    for stage in Stage:
        rows = session.exec(
            select(Case, Child, Referral, School)
            .join(Child, Child.id == Case.child_id)
            .join(Referral, Referral.id == Case.referral_id)
            .join(School, School.id == Referral.school_id, isouter=True)
            .where(Case.stage == stage)
            .order_by(Case.stage_entered_at, Case.id)
            .limit(limit_per_stage)
        ).all()
        cards = [
            CaseCard(
                reference=case.reference,
                child_name=f"{child.first_name} {child.last_name}",
                age=age_on(child.date_of_birth, today),
                school_name=school.name if school else "",
                risk=case.risk or "",
                late=referral.late,
            )
            for case, child, referral, school in rows
        ]
        columns.append(StageColumn(stage, STAGE_LABELS[stage], counts.get(stage, 0), cards))
    audit.record(
        session,
        actor=actor,
        action="case.list",
        entity_type="board",
        detail={"shown": sum(len(c.cards) for c in columns)},
    )
    return columns
