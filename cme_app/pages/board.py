"""/board: open cases by stage (a simple list until the kanban board is built)."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components.layout import page
from ..db import session_scope
from ..services import cases
from ..services.cases import StageColumn
from ..services.permissions import CASE_VIEWERS
from ..state.auth import AuthState


class BoardState(AuthState):
    columns: list[StageColumn] = []

    @rx.event
    def load(self):
        self.columns = []
        actor, redirect = self._page_guard(*CASE_VIEWERS)
        if redirect:
            return redirect
        with session_scope() as session:
            self.columns = cases.cases_by_stage(session, actor=actor)
        return None


def _card(card: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.span(card.reference, class_name="case-card__ref"),
        rx.el.span(card.child_name, ", age ", card.age.to(str)),
        rx.el.div(card.school_name, class_name="body-s"),
        rx.cond(card.late, rx.el.strong("Submitted after 4 weeks", class_name="tag tag--red")),
        class_name="case-card",
    )


def _column(column: rx.Var) -> rx.Component:
    heading_id = "stage-" + column.stage
    return rx.el.section(
        rx.el.h2(
            rx.el.span(column.label, id=heading_id),
            rx.el.span(
                column.count.to(str),
                rx.el.span(" open cases", class_name="visually-hidden"),
                class_name="tag tag--grey",
            ),
        ),
        rx.el.ul(rx.foreach(column.cards, _card), aria_labelledby=heading_id),
        class_name="stage",
    )


@rx.page(route=routes.BOARD, title="Cases – Children Missing Education", on_load=BoardState.load)
def board_page() -> rx.Component:
    return page(
        rx.el.h1("Cases by stage"),
        rx.el.div(rx.foreach(BoardState.columns, _column), class_name="stage-list"),
    )
