"""Lone-working alerts and flagged visits on the desk pages (board and dashboard).

A state mixin: the board and the dashboard each get their own copy, so the board refreshes its
alerts inside the poll it already makes (the same event and actor lookup) instead of sending a
second one.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from .. import routes
from ..components import forms
from ..dates import clock
from ..db import session_scope
from ..domain import Role
from ..errors import ServiceError, ValidationFailed
from ..models import utcnow
from ..permissions import Actor
from ..services.visits import lone_working, safety
from ..services.visits.desk_alerts import DeskAlert, desk_alerts
from ..services.visits.safety import FlaggedVisit

CASEWORKERS = frozenset({Role.OFFICER, Role.LEAD})
# (level, raised to the viewer?) -> who the alert went to, in words.
AUDIENCE = {
    ("buddy", True): "You are the buddy",
    ("lead", True): "Sent to you as team lead",
    ("self", True): "Your visit",
    ("buddy", False): "Buddy alerted",
    ("lead", False): "Sent to team leads",
}
FOCUS_ALERT_MESSAGE = (
    "window.setTimeout(() => { const m = document.getElementById('alert-message');"
    " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
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


class AlertsMixin(rx.State, mixin=True):
    alerts: list[AlertRow] = []
    flagged: list[FlaggedVisit] = []
    alert_errors: dict[str, str] = {}
    alert_error_list: list[list[str]] = []
    alert_message: str = ""
    alert_problem: str = ""
    _alerts_user: int = 0

    def _resolvers(self) -> frozenset:
        """Who may mark an officer safe from this page (a page narrows it to its viewers)."""
        return CASEWORKERS

    def _refresh_alerts(self, session, actor: Actor) -> None:
        """The viewer's open alerts; assigned only when they changed, so a quiet poll sends
        nothing to the browser. Alerts the page already showed are no longer new."""
        if actor.user_id != self._alerts_user:
            self.alerts, self.flagged, self._alerts_user = [], [], actor.user_id
        found = (
            desk_alerts(session, actor=actor, now=utcnow()) if actor.role in CASEWORKERS else []
        )
        shown = {a.key for a in self.alerts}
        rows = [_row(a, shown=shown) for a in found]
        if not _same(rows, self.alerts):
            self.alerts = rows

    def _load_alerts(self, session, actor: Actor) -> None:
        self._refresh_alerts(session, actor)
        self.flagged = (
            safety.flagged_visits(session, actor=actor) if actor.role == Role.LEAD else []
        )
        self.alert_errors, self.alert_error_list = {}, []
        self.alert_message, self.alert_problem = "", ""

    @rx.event
    def mark_safe(self, form_data: dict):
        """The buddy or a lead has checked the officer is safe; the note says how."""
        actor = self._actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        self.alert_errors, self.alert_error_list = {}, []
        self.alert_message, self.alert_problem = "", ""
        data = form_data if isinstance(form_data, dict) else {}
        raw = str(data.get("alert_id") or "")
        alert_id = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        prefix = f"safe-{alert_id}-"
        note = str(data.get(prefix + "note") or "")[:1000]
        if actor.role not in self._resolvers():
            self.alert_problem = "You do not have permission to do that."
            return rx.call_script(FOCUS_ALERT_MESSAGE)
        try:
            with session_scope() as session:
                resolved = lone_working.resolve_alerts(
                    session, actor=actor, alert_id=alert_id, note=note
                )
        except ValidationFailed as exc:
            self.alert_error_list = [[prefix + e.field, e.message] for e in exc.errors]
            self.alert_errors = {f: m for f, m in reversed(self.alert_error_list)}
            return rx.call_script(forms.FOCUS_ERROR_SUMMARY)
        except ServiceError as exc:
            self.alert_problem = str(exc)
        else:
            self.alert_message = (
                "Marked safe. Your note is kept with the visit."
                if resolved
                else "Someone else had already marked them safe."
            )
        with session_scope() as session:
            self._refresh_alerts(session, actor)
        return rx.call_script(FOCUS_ALERT_MESSAGE)
