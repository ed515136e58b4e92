"""/retention: the destruction list for lead (and DPO/auditor, read-only) review (SC-21).

Approving only records the lead's decision; `cme-app retention destroy --approved` destroys.
"""

from __future__ import annotations

from functools import partial

import reflex as rx

from ... import routes
from ...components.layout import page
from ...dates import uk_today
from ...db import session_scope
from ...permissions import Capability, allows
from ...services.trust import retention
from ...services.trust.retention import ListedItem
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, handler, page_load

CHOOSE_ITEM = "Choose an item from the list."


class RetentionState(PageFeedback, AuthState):
    items: list[ListedItem] = []
    held: list[ListedItem] = []
    rules: list[list[str]] = []
    can_approve: bool = False
    loaded: bool = False

    def _show(self, session, actor) -> None:
        self.items = retention.destruction_list(session, actor=actor, today=uk_today())
        self.held = retention.held_past_date(session, actor=actor, today=uk_today())
        self.rules = [[r.label, f"{r.years} year{'s' if r.years != 1 else ''} after "
                       f"{r.starts}"] for r in retention.schedule()]
        self.can_approve = allows(actor.role, Capability.RETENTION_APPROVE)
        self.loaded = True

    def _reload(self, actor) -> None:
        with session_scope() as session:
            self._show(session, actor)

    def _after_success(self, actor, result) -> None:
        self._reload(actor)

    def _after_refusal(self, actor, exc) -> None:
        self._reload(actor)

    @rx.event
    @page_load(Capability.RETENTION_VIEW, fresh=True)
    def load(self):
        return self._show

    @rx.event
    @handler(Capability.RETENTION_APPROVE, refused="Only a team lead can approve destruction.",
             invalid=CHOOSE_ITEM,
             done="Approved for destruction. It is destroyed the next time the system "
                  "administrator runs the destruction step.")
    def approve(self, record_class: str, record_id: int):
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            return self._show_problem(CHOOSE_ITEM)
        return partial(retention.approve, items=[[str(record_class or "")[:30], record_id]],
                       today=uk_today())


S = RetentionState


def _item_row(i: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.cond(i.record_class == retention.CLOSED_CASE,
                         rx.el.a(i.reference, href="/cases/" + i.reference), i.reference),
                 data_label="Record"),
        rx.el.td(i.label, data_label="Class"),
        rx.el.td(i.reason, data_label="Why"),
        rx.el.td(i.due_label, data_label="Due for destruction"),
        rx.el.td(
            rx.cond(
                i.approved,
                rx.el.strong("Approved", class_name="tag tag--green"),
                rx.cond(
                    S.can_approve,
                    rx.el.button("Approve", rx.el.span(" ", i.reference,
                                                       class_name="visually-hidden"),
                                 type="button", class_name="button button--secondary",
                                 on_click=S.approve(i.record_class, i.record_id)),
                    rx.el.span("Waiting for a lead", class_name="hint"),
                ),
            ),
            data_label="Decision",
        ),
    )


def _held_row(i: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.a(i.reference, href="/cases/" + i.reference), data_label="Record"),
        rx.el.td(rx.el.strong("Legal hold", class_name="tag tag--purple"), data_label="Status"),
        rx.el.td(i.due_label, data_label="Would have been due"),
    )


def _table(caption: str, headers: list[str], rows: rx.Var, row, empty: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.el.div(
            rx.el.table(
                rx.el.caption(caption, class_name="table__caption"),
                rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
                rx.el.tbody(rx.foreach(rows, row)),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
        rx.el.p(empty, class_name="hint"),
    )


def _body() -> rx.Component:
    return rx.fragment(
        rx.cond(S.problem != "", rx.el.div(
            rx.el.p(S.problem, class_name="notification__heading"),
            class_name="notification notification--problem", role="alert")),
        rx.cond(S.message != "", rx.el.div(
            rx.el.p(S.message, class_name="notification__heading"),
            class_name="notification notification--success", role="status")),
        rx.el.p("Records past the end of their retention period. Nothing is deleted "
                "automatically: a team lead approves each item, and destruction is a separate "
                "step run by the system administrator. Cases under legal hold are never listed.",
                class_name="lead-para"),
        rx.el.h2("Destruction list"),
        _table("Records due for destruction",
               ["Record", "Class", "Why", "Due for destruction", "Decision"], S.items,
               _item_row, "No records are due for destruction."),
        rx.el.h2("Kept under legal hold"),
        _table("Past their date but kept under legal hold",
               ["Record", "Status", "Would have been due"], S.held, _held_row,
               "No case past its date is under legal hold."),
        rx.el.h2("Retention schedule"),
        rx.el.dl(rx.foreach(S.rules, lambda r: rx.el.div(
            rx.el.dt(r[0]), rx.el.dd(r[1]), class_name="summary-list__row")),
            class_name="summary-list"),
    )


@rx.page(route=routes.RETENTION, title="Retention – Children Missing Education", on_load=S.load)
def retention_page() -> rx.Component:
    return page(
        rx.el.h1("Retention and destruction"),
        rx.cond(S.loaded, _body(), rx.el.p("Loading…")),
    )
