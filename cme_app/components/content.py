"""Content building blocks the record pages share: summary lists, tables that stack on phones,
disclosures, sections, the one-button forms inside them, and the page's feedback (error
summary, problem, success). They take Vars; they know no state."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from . import forms


def summary_row(label, value) -> rx.Component:
    return rx.el.div(rx.el.dt(label), rx.el.dd(value), class_name="summary-list__row")


def summary_list(rows: rx.Var) -> rx.Component:
    """Rows with `label` and `value`."""
    return rx.el.dl(rx.foreach(rows, lambda r: summary_row(r.label, r.value)),
                    class_name="summary-list")


def stacked_table(headers: list[str], rows: rx.Var, cells: Callable, *, empty: str
                  ) -> rx.Component:
    """A table that stacks on phones; `cells(row)` gives one cell per header. With no rows,
    the `empty` sentence instead."""
    return rx.cond(
        rows.length() > 0,
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
                rx.el.tbody(rx.foreach(rows, lambda r: rx.el.tr(
                    *[rx.el.td(c, data_label=h) for h, c in zip(headers, cells(r), strict=True)]
                ))),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
        rx.el.p(empty, class_name="hint"),
    )


def field_table(columns: list[tuple[str, str]], rows: rx.Var, *, empty: str) -> rx.Component:
    """A stacked table of plain text: (header, row attribute) per column."""
    return stacked_table([h for h, _ in columns], rows,
                         lambda r: [getattr(r, name) for _, name in columns], empty=empty)


def disclosure(summary, *children, open_: bool | rx.Var = False) -> rx.Component:
    return rx.el.details(
        rx.el.summary(rx.el.span(summary, class_name="disclosure__summary-text"),
                      class_name="disclosure__summary"),
        rx.el.div(*children, class_name="disclosure__text"),
        class_name="disclosure",
        open=open_,
    )


def section(anchor: str, title: str, *children, class_name: str | rx.Var = "section case-section"
            ) -> rx.Component:
    return rx.el.section(
        rx.el.h2(title, id=anchor, tab_index=-1),
        *children,
        class_name=class_name,
        aria_labelledby=anchor,
    )


def action_form(*children, on_submit, button, form_key: rx.Var, key: str = "",
                style: str = "primary") -> rx.Component:
    """A form with one submit button (style: primary | secondary | warning). `form_key`
    changes after every success, which empties the form."""
    cls = {"primary": "button", "secondary": "button button--secondary",
           "warning": "button button--warning"}[style]
    return rx.el.form(
        *children,
        rx.el.div(rx.el.button(button, type="submit", class_name=cls),
                  class_name="button-group button-group--tight"),
        key=form_key.to(str) + key,
        on_submit=on_submit,
        reset_on_submit=False,
        no_validate=True,
    )


def _notification(text: rx.Var, *, kind: str, element_id: str, title: str | None
                  ) -> rx.Component:
    body = rx.el.p(text, class_name="notification__heading")
    return rx.cond(
        text != "",
        rx.el.div(
            *([rx.el.h2(title, class_name="notification__title"),
               rx.el.div(body, class_name="notification__body")] if title else [body]),
            class_name=f"notification notification--{kind}",
            id=element_id,
            role="alert" if kind == "problem" else "status",
            tab_index=-1,
        ),
    )


def feedback(error_list: rx.Var, problem: rx.Var, message: rx.Var, *, element_id: str,
             problem_title: str | None = None, message_title: str | None = None
             ) -> rx.Component:
    """After an action: the GOV.UK error summary, a problem (refusal) or the success message.
    Focus goes to `element_id` (state/handlers.py)."""
    return rx.fragment(
        forms.error_summary(error_list),
        _notification(problem, kind="problem", element_id=element_id, title=problem_title),
        _notification(message, kind="success", element_id=element_id, title=message_title),
    )


def status_line(problem: rx.Var, message: rx.Var, *, element_id: str,
                class_name: str | None = None) -> rx.Component:
    """A one-line answer in a live region that is always on the page (role="status"): the
    problem if there is one, else the message. Focus goes to `element_id`."""
    return rx.el.div(
        rx.cond(
            problem != "",
            rx.el.p(problem, class_name="board-message board-message--error"),
            rx.cond(message != "", rx.el.p(message, class_name="board-message")),
        ),
        id=element_id,
        role="status",
        tab_index=-1,
        **({"class_name": class_name} if class_name else {}),
    )


def risk_tag(risk: rx.Var, label: rx.Var) -> rx.Component:
    return rx.el.strong(
        label,
        class_name=rx.match(
            risk,
            ("red", "tag tag--risk-red risk-tag"),
            ("amber", "tag tag--risk-amber risk-tag"),
            ("green", "tag tag--risk-green risk-tag"),
            "tag tag--grey risk-tag",
        ),
    )
