"""Lone-working alerts and flagged visits on the desk pages (board and dashboard).

A state mixin: the board and the dashboard each get their own copy, so the board refreshes its
alerts inside the live update it already makes (the same event and actor lookup) instead of
sending a second one, and wakes for them when they fall due by the clock (`_alerts_due`).
A page mixes in `alerts_for(<its own capability>)`: marking an officer safe needs
the page's capability as well as LONE_WORKING_RESPOND, so on the dashboard (leads and admins)
only a lead may, and on the board an officer too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

import reflex as rx

from ..dates import clock
from ..db import session_scope
from ..models import utcnow
from ..numbers import row_id
from ..permissions import Actor, Capability, allows
from ..services.visits import lone_working, safety
from ..services.visits.desk_alerts import DeskAlert, desk_alerts
from ..services.visits.safety import FlaggedVisit
from .handlers import FeedbackArea, PageFeedback, errors_at, handler

# (level, raised to the viewer?) -> who the alert went to, in words.
AUDIENCE = {
    ("buddy", True): "You are the buddy",
    ("lead", True): "Sent to you as team lead",
    ("self", True): "Your visit",
    ("buddy", False): "Buddy alerted",
    ("lead", False): "Sent to team leads",
}
# The alert panel answers in its own place, apart from the page's messages.
ALERT_PANEL = FeedbackArea(
    message="alert_message", problem="alert_problem", errors="alert_errors",
    error_list="alert_error_list", message_id="alert-message", reload="_reload_alerts",
)


@dataclass(frozen=True)
class AlertRow:
    key: str  # one row per visit and step: "<visit uuid>:<level>"
    id: int  # the alert "Mark safe" resolves; 0 for the viewer's own visit (nothing to mark)
    level: str  # buddy | lead | self
    audience: str
    message: str
    reference: str
    officer_name: str
    checked_in: str
    expected_back: str
    raised: str
    is_new: bool  # arrived since this page last looked: announced (role="alert") once


def _row(alert: DeskAlert, *, shown: set[str]) -> AlertRow:
    key = f"{alert.client_uuid}:{alert.level}"
    return AlertRow(
        key=key,
        id=alert.id or 0,
        level=alert.level,
        audience=AUDIENCE.get((alert.level, alert.mine), ""),
        message=alert.message,
        reference=alert.reference,
        officer_name=alert.officer_name,
        checked_in=clock(alert.checked_in_at),
        expected_back=clock(alert.expected_end_at),
        raised=clock(alert.raised_at),
        is_new=key not in shown,
    )


def _same(a: list[AlertRow], b: list[AlertRow]) -> bool:
    """Equal apart from `is_new`."""
    return [(r.key, r.id, r.message) for r in a] == [(r.key, r.id, r.message) for r in b]


class AlertsMixin(PageFeedback, mixin=True):
    alerts: list[AlertRow] = []
    flagged: list[FlaggedVisit] = []
    alert_errors: dict[str, str] = {}
    alert_error_list: list[list[str]] = []
    alert_message: str = ""
    alert_problem: str = ""
    _alerts_user: int = 0

    def _refresh_alerts(self, session, actor: Actor) -> None:
        """The viewer's open alerts; assigned only when they changed, so a quiet refresh sends
        nothing to the browser. Alerts the page already showed are no longer new."""
        if actor.user_id != self._alerts_user:
            self.alerts, self.flagged, self._alerts_user = [], [], actor.user_id
        found = (
            desk_alerts(session, actor=actor, now=utcnow())
            if allows(actor.role, Capability.LONE_WORKING_RESPOND) else []
        )
        shown = {a.key for a in self.alerts}
        rows = [_row(a, shown=shown) for a in found]
        if not _same(rows, self.alerts):
            self.alerts = rows

    def _alerts_due(self, session, actor: Actor) -> datetime | None:
        """When the alerts next change by the clock alone (the viewer's own visit running
        past its expected end); every other change is a write the page hears about."""
        return lone_working.next_alert_due(session, actor=actor, now=utcnow())

    def _reload_alerts(self, actor: Actor) -> None:
        with session_scope() as session:
            self._refresh_alerts(session, actor)

    def _load_alerts(self, session, actor: Actor) -> None:
        self._refresh_alerts(session, actor)
        self.flagged = (
            safety.flagged_visits(session, actor=actor)
            if allows(actor.role, Capability.VISIT_FLAG_REVIEW) else []
        )
        self.alert_errors, self.alert_error_list = {}, []
        self.alert_message, self.alert_problem = "", ""

    def _mark_safe(self, form_data: dict):
        """The alert's "Mark safe" form: which alert, and the note (its field is named after
        the alert, as there is one form per alert)."""
        data = form_data if isinstance(form_data, dict) else {}
        raw = str(data.get("alert_id") or "")
        alert_id = row_id(raw) or 0
        prefix = f"safe-{alert_id}-"
        note = str(data.get(prefix + "note") or "")[:1000]
        resolve = partial(lone_working.resolve_alerts, alert_id=alert_id, note=note)
        return errors_at(resolve, prefix)


def _marked(resolved: int) -> str:
    return (
        "Marked safe. Your note is kept with the visit."
        if resolved
        else "Someone else had already marked them safe."
    )


def alerts_for(page: Capability) -> type[AlertsMixin]:
    """The alerts mixin for a page whose own capability is `page`."""

    class PageAlerts(AlertsMixin, mixin=True):
        @rx.event
        @handler(page, Capability.LONE_WORKING_RESPOND, area=ALERT_PANEL, done=_marked)
        def mark_safe(self, form_data: dict):
            """The buddy or a lead has checked the officer is safe; the note says how."""
            return self._mark_safe(form_data)

    return PageAlerts
