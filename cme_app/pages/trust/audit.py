"""/audit: the audit log for the DPO (auditor) and team leads: search by child, user, action and
date, and "Who has accessed this child's record" with its CSV for a subject access request.

Filters are checked by the service on every call; the ones last applied are kept server-side
(`_applied`) so paging and the download cannot be pointed elsewhere from the browser."""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...components.pager import pager
from ...db import session_scope
from ...errors import ServiceError, ValidationFailed
from ...services.trust import audit_log
from ...services.trust.audit_log import AUDIT_READERS, AuditRow
from ...state.auth import AuthState

FIELDS = ("child", "user", "action", "date_from", "date_to")


class AuditState(AuthState):
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    user_choices: list[list[str]] = []
    rows: list[AuditRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    loaded: bool = False
    problem: str = ""
    # The one child whose accesses are shown: references only, never a name.
    child_id: int = 0
    child_references: str = ""
    applied_child: str = ""
    accesses: list[AuditRow] = []
    _applied: dict[str, str] = {}

    def _reset(self) -> None:
        self.errors, self.error_list, self.problem = {}, [], ""

    def _search(self, actor, number: int) -> None:
        a = self._applied
        with session_scope() as session:
            found = audit_log.search(
                session, actor=actor, child_id=a.get("child"), user_id=a.get("user"),
                action=a.get("action"), date_from=a.get("date_from"), date_to=a.get("date_to"),
                page=number,
            )
        self.rows, self.page = found.rows, found.page
        self.pages, self.total = found.pages, found.total

    def _show_errors(self, exc: ValidationFailed):
        self.error_list = [[e.field, e.message] for e in exc.errors]
        self.errors = {e.field: e.message for e in reversed(exc.errors)}
        return rx.call_script(forms.FOCUS_ERROR_SUMMARY)

    @rx.event
    def load(self):
        self.rows, self.loaded, self.accesses, self.child_id = [], False, [], 0
        self.values, self._applied, self.child_references, self.applied_child = {}, {}, "", ""
        self._reset()
        actor, redirect = self._page_guard(*AUDIT_READERS)
        if redirect:
            return redirect
        with session_scope() as session:
            self.user_choices = [
                [k, v] for k, v in audit_log.user_choices(session, actor=actor).items()
            ]
        self._search(actor, 1)
        self.loaded = True
        return None

    @rx.event
    def search(self, form_data: dict):
        actor, redirect = self._page_guard(*AUDIT_READERS)
        if redirect:
            return redirect
        self._reset()
        data = form_data if isinstance(form_data, dict) else {}
        wanted = {k: str(data.get(k) or "").strip()[:40] for k in FIELDS}
        previous = self._applied
        self._applied = wanted
        try:
            self._search(actor, 1)
        except ValidationFailed as exc:
            self._applied = previous
            self.values = wanted
            return self._show_errors(exc)
        self.values, self.applied_child = wanted, wanted["child"]
        self.accesses, self.child_id, self.child_references = [], 0, ""
        return None

    @rx.event
    def go_to_page(self, number: int):
        actor, redirect = self._page_guard(*AUDIT_READERS)
        if redirect:
            return redirect
        self._reset()
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        try:
            self._search(actor, number)
        except ValidationFailed:
            self.problem = "That page does not exist."
        return None

    @rx.event
    def show_accesses(self):
        """Who has accessed the child in the applied Case reference or child filter."""
        actor, redirect = self._page_guard(*AUDIT_READERS)
        if redirect:
            return redirect
        self._reset()
        child = self._applied.get("child", "")
        try:
            with session_scope() as session:
                self.accesses = audit_log.accesses_to_child(session, actor=actor, child_id=child)
                self.child_id = audit_log.resolve_child(session, child) or 0
                refs = audit_log.child_references(session, actor=actor, child_id=self.child_id)
        except ValidationFailed as exc:
            return self._show_errors(exc)
        self.child_references = ", ".join(refs)
        return rx.call_script(
            "window.setTimeout(() => { const h = document.getElementById('accesses');"
            " if (h) { h.focus(); h.scrollIntoView(); } }, 50)"
        )

    @rx.event
    def download_csv(self):
        # Authorised again here: any browser can send this event without loading the page.
        actor, redirect = self._page_guard(*AUDIT_READERS)
        if redirect:
            return redirect
        self._reset()
        if not self.child_id:
            self.problem = "Choose a child first."
            return None
        try:
            with session_scope() as session:
                text = audit_log.accesses_csv(session, actor=actor, child_id=self.child_id)
        except ServiceError as exc:
            self.problem = str(exc)
            return None
        # The byte-order mark makes Excel read names and the en dash as UTF-8.
        return rx.download(
            data="\ufeff" + text, filename=f"accesses-child-{self.child_id}.csv",
            mime_type="text/csv",
        )


S = AuditState


def _filters() -> rx.Component:
    return rx.el.form(
        rx.el.div(
            forms.text_field(
                "child", "Case reference or child", S.values, S.errors,
                hint="For example CME-2026-00042, or the child's id number", width="input--w20",
            ),
            forms.select_field("user", "User", S.user_choices, S.values, S.errors),
            forms.select_field("action", "Action", audit_log.ACTION_LABELS, S.values, S.errors),
            forms.date_field("date_from", "From date", S.values, S.errors),
            forms.date_field("date_to", "To date", S.values, S.errors),
            class_name="audit-filters",
        ),
        rx.el.div(
            rx.el.button("Search", type="submit", class_name="button"),
            rx.el.a("Clear filters", href=routes.AUDIT, class_name="button-group__link"),
            class_name="button-group button-group--tight",
        ),
        on_submit=S.search,
        reset_on_submit=False,
        aria_label="Filter the audit log",
    )


def _cells(r: rx.Var) -> list[rx.Component]:
    return [
        rx.el.td(rx.el.span(r.when), rx.el.br(), rx.el.span(r.when_utc, class_name="hint"),
                 data_label="When"),
        rx.el.td(r.who, rx.cond(r.role != "", rx.el.span(" (", r.role, ")")), data_label="Who"),
        rx.el.td(r.action, data_label="Action"),
        rx.el.td(r.record, data_label="Record"),
        rx.el.td(r.purpose, data_label="Purpose"),
        rx.el.td(r.outcome, data_label="Outcome"),
        rx.el.td(r.ip, data_label="IP address"),
    ]


def _table(caption: str, rows: rx.Var) -> rx.Component:
    headers = ["When (UK, then UTC)", "Who", "Action", "Record", "Purpose", "Outcome",
               "IP address"]
    return rx.el.div(
        rx.el.table(
            rx.el.caption(caption, class_name="visually-hidden"),
            rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
            rx.el.tbody(rx.foreach(rows, lambda r: rx.el.tr(*_cells(r)))),
            class_name="table table--stack",
        ),
        class_name="table-wrap",
    )


def _pager() -> rx.Component:
    return pager(S.page, S.pages, S.total, S.go_to_page, noun="events", label="Pages of results")


def _accesses() -> rx.Component:
    return rx.cond(
        S.child_id > 0,
        rx.el.section(
            rx.el.h2("Who has accessed this child's record", id="accesses", tab_index=-1),
            rx.el.p("Child ", S.child_id,
                    rx.cond(S.child_references != "", rx.el.span(": case ", S.child_references)),
                    ". Every view, change, export and share, oldest first."),
            rx.el.div(
                rx.el.button("Download CSV", on_click=S.download_csv, type="button",
                             class_name="button button--secondary"),
                rx.el.p("For a subject access request. The download is recorded.",
                        class_name="hint"),
            ),
            rx.cond(
                S.accesses.length() > 0,
                _table("Accesses to this child's record", S.accesses),
                rx.el.p("Nobody has accessed this child's record."),
            ),
            aria_labelledby="accesses",
        ),
    )


@rx.page(route=routes.AUDIT, title="Audit log – Children Missing Education", on_load=S.load)
def audit_page() -> rx.Component:
    return page(
        forms.error_summary(S.error_list),
        rx.el.h1("Audit log"),
        rx.el.p("Every view, change, export and sign-in. Your searches are recorded too.",
                class_name="hint"),
        _filters(),
        rx.cond(
            S.problem != "",
            rx.el.div(rx.el.p(S.problem), class_name="notification notification--problem",
                      role="alert"),
        ),
        rx.cond(
            S.applied_child != "",
            rx.el.div(
                rx.el.button("Who has accessed this child's record", on_click=S.show_accesses,
                             type="button", class_name="button button--secondary"),
                class_name="button-group button-group--tight",
            ),
        ),
        _accesses(),
        rx.el.h2("Events"),
        rx.cond(
            S.loaded & (S.total == 0),
            rx.el.p("No events match these filters."),
            rx.fragment(_table("Audit events", S.rows), _pager()),
        ),
        wide=True,
    )
