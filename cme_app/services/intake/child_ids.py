"""Which child ids are one child's record (issue 15, "One record per child").

A merged record keeps its id (the audit trail is append-only, so events stay filed under it)
and points at the record it was merged into (`Child.merged_into_id`). Views of a child's whole
history (the audit trail's "accesses to this child", the subject access export) read every id
here. Only models are imported, so any service may use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from ...models import Child, ChildMatch

# A chain of merges longer than this is not followed (a cycle can't be built, but a bound
# keeps a damaged database from looping).
_MAX_DEPTH = 50


def record_ids(session: Session, child_id: int) -> list[int]:
    """`child_id` and every record merged into it, directly or through another merge."""
    found, todo = [child_id], [child_id]
    for _ in range(_MAX_DEPTH):
        if not todo:
            break
        todo = [i for i in session.exec(
            select(Child.id).where(col(Child.merged_into_id).in_(todo))).all() if i not in found]
        found += todo
    return found


def live_record(session: Session, child_id: int) -> int:
    """The record a (perhaps merged) child's id now lives in."""
    current = child_id
    for _ in range(_MAX_DEPTH):
        into = session.exec(select(Child.merged_into_id).where(Child.id == current)).first()
        if into is None:
            return current
        current = into
    return current


def has_proposed_match(child_id: Any) -> ColumnElement[bool]:
    """SQL: the record `child_id` (a column, for a correlated query such as the board's cards)
    has a proposed match with another live record, not yet answered by an officer."""
    other = aliased(Child)
    return exists().where(
        ChildMatch.status == "proposed",
        or_(ChildMatch.child_id == child_id, ChildMatch.candidate_id == child_id),
        or_(
            and_(other.id == ChildMatch.child_id, ChildMatch.candidate_id == child_id),
            and_(other.id == ChildMatch.candidate_id, ChildMatch.child_id == child_id),
        ),
        col(other.merged_into_id).is_(None),
    )
