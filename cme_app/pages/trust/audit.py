"""/audit: the audit log for the DPO (auditor) and team leads: search by child, user, action and
date, and "Who has accessed this child's record" with its CSV for a subject access request.

Filters are checked by the service on every call; the ones last applied are kept server-side
(`_applied`) so paging and the download cannot be pointed elsewhere from the browser."""

from __future__ import annotations

from functools import partial

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...components.pager import pager
from ...permissions import Capability
from ...services.trust import audit_log
from ...services.trust.audit_log import AuditRow, ChildAccesses
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load

FIELDS = ("child", "user", "action", "date_from", "date_to")


class AuditState(PageFeedback, AuthState):
    values: dict[str, str] = {}
    user_choices: list[list[str]] = []
    rows: list[AuditRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    loaded: bool = False
    # The one child whose accesses are shown: references only, never a name.
    child_id: int = 0
    child_references: str = ""
    applied_child: str = ""
    accesses: list[AuditRow] = []
    _applied: dict[str, str] = {}

    def _search(self, session, actor, filters: dict[str, str], number: int) -> None:
        """One page of events for `filters`, which become the applied ones once they pass."""
        found = audit_log.search(
            session, actor=actor, child_id=filters.get("child"), user_id=filters.get("user"),
            action=filters.get("action"), date_from=filters.get("date_from"),
            date_to=filters.get("date_to"), page=number,
        )
        self._applied = filters
        self.rows, self.page = found.rows, found.page
        self.pages, self.total = found.pages, found.total

    def _first_visit(self, session, actor) -> None:
        self.user_choices = [
            [k, v] for k, v in audit_log.user_choices(session, actor=actor).items()
        ]
        self._search(session, actor, {}, 1)
        self.loaded = True

    def _new_search(self, session, actor, filters: dict[str, str]) -> None:
        self._search(session, actor, filters, 1)
        self.applied_child = filters["child"]
        self.accesses, self.child_id, self.child_references = [], 0, ""

    def _show_accesses(self, found: ChildAccesses):
        self.accesses, self.child_id = found.rows, found.child_id
        self.child_references = ", ".join(found.references)
        return rx.call_script(focus_script("accesses"))

    def _download(self, text: str):
        # The byte-order mark makes Excel read names and the en dash as UTF-8.
        return rx.download(
            data="\ufeff" + text, filename=f"accesses-child-{self.child_id}.csv",
            mime_type="text/csv",
        )

    @rx.event
    @page_load(Capability.AUDIT_READ, fresh=True)
    def load(self):
        return self._first_visit

    @rx.event
    @handler(Capability.AUDIT_READ)
    def search(self, form_data: dict):
        data = form_data if isinstance(form_data, dict) else {}
        # Kept as typed, so a mistake can be put right; applied only once they pass.
        wanted = {k: str(data.get(k) or "").strip()[:40] for k in FIELDS}
        self.values = wanted
        return partial(self._new_search, filters=wanted)

    @rx.event
    @handler(Capability.AUDIT_READ, invalid="That page does not exist.")
    def go_to_page(self, number: int):
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        return partial(self._search, filters=dict(self._applied), number=number)

    @rx.event
    @handler(Capability.AUDIT_READ, then=_show_accesses)
    def show_accesses(self):
        """Who has accessed the child in the applied Case reference or child filter."""
        return partial(audit_log.child_accesses, child_id=self._applied.get("child", ""))

    @rx.event
    @handler(Capability.AUDIT_READ, then=_download)
    def download_csv(self):
        # Authorised again by the adapter: any browser can send this event without loading
        # the page.
        if not self.child_id:
            return self._show_problem("Choose a child first.")
        return partial(audit_log.accesses_csv, child_id=self.child_id)


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
