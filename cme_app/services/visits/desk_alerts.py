"""Lone-working alerts as the desk pages (board, dashboard) show them: one per overdue visit.

Everyone sees the alerts raised to them and their own overdue visits (lone_working.
open_alerts_for). A team lead also sees every other open alert, so an overdue officer is
visible to the leads from the buddy's alert on, before the leads' own alert is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ...dates import clock
from ...models import Case, HomeVisit, LoneWorkingAlert, User
from ...permissions import Actor, Capability, allows, require
from . import lone_working


@dataclass(frozen=True)
class DeskAlert(lone_working.AlertView):
    mine: bool = True  # raised to the viewer, or the viewer's own visit


def _team_message(level: str, officer: str, buddy: str | None, visit: HomeVisit) -> str:
    end = clock(visit.expected_end_at)
    overdue = (
        f"{officer} has not checked out of a visit to {visit.address} that was due to end "
        f"at {end}"
    )
    if level == lone_working.LEAD:
        return f"{overdue}. The team leads have been alerted. Make sure they are safe."
    return f"{overdue}. Their buddy{f', {buddy},' if buddy else ''} has been alerted."


def desk_alerts(session: Session, *, actor: Actor | None, now: datetime) -> list[DeskAlert]:
    """The viewer's open alerts, then (for a lead) every other overdue visit with an open
    alert; one entry per visit, oldest first."""
    actor = require(actor, Capability.LONE_WORKING_RESPOND)
    found: dict[str, DeskAlert] = {}
    for view in lone_working.open_alerts_for(session, actor=actor, now=now):
        # A lead who is also the buddy has two alerts for one visit: the first raised wins.
        found.setdefault(view.client_uuid, DeskAlert(**vars(view), mine=True))
    if allows(actor.role, Capability.WHOLE_CASELOAD):
        buddy = aliased(User)
        rows = session.exec(
            select(LoneWorkingAlert, HomeVisit, Case.reference, User.name, buddy.name)
            .join(HomeVisit, HomeVisit.id == LoneWorkingAlert.visit_id)
            .join(Case, Case.id == HomeVisit.case_id)
            .join(User, User.id == HomeVisit.officer_id)
            .join(buddy, buddy.id == HomeVisit.buddy_id, isouter=True)
            .where(col(LoneWorkingAlert.resolved_at).is_(None))
            # The leads' alert after the buddy's: the latest step speaks for the visit.
            .order_by(col(LoneWorkingAlert.raised_at).desc(), col(LoneWorkingAlert.id))
        ).all()
        for alert, visit, reference, officer, buddy_name in rows:
            found.setdefault(
                visit.client_uuid,
                DeskAlert(
                    id=alert.id, level=alert.level, mine=False, client_uuid=visit.client_uuid,
                    reference=reference, officer_name=officer, address=visit.address,
                    checked_in_at=visit.checked_in_at, expected_end_at=visit.expected_end_at,
                    raised_at=alert.raised_at,
                    message=_team_message(alert.level, officer, buddy_name, visit),
                ),
            )
    return sorted(found.values(), key=lambda a: (a.raised_at, a.reference))
