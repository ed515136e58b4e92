"""Pieces the school returns pages share: a form section, the "sent" panel."""

from __future__ import annotations

import reflex as rx

from ... import routes
from .returns_list import status_tag


def section(title: str, *children: rx.Component, hint: str = "") -> rx.Component:
    return rx.el.section(
        rx.el.h2(title),
        rx.el.p(hint, class_name="hint") if hint else rx.fragment(),
        *children,
        class_name="section",
    )


def return_form(state, send: str, *sections: rx.Component) -> rx.Component:
    """A return's form: its sections, then send or cancel back to the returns list."""
    return rx.el.form(
        *sections,
        rx.el.div(
            rx.el.button(send, type="submit", class_name="button"),
            rx.el.a("Cancel", href=routes.RETURNS, class_name="button-group__link"),
            class_name="button-group",
        ),
        key=state.form_key.to(str),
        on_submit=state.submit_form,
        reset_on_submit=False,
        no_validate=True,
    )


def sent_panel(title: str, pupil: rx.Var, status: rx.Var, colour: rx.Var, step: rx.Var,
               *, again: str, on_again, back: str = "Back to your returns") -> rx.Component:
    """The GOV.UK confirmation panel, then the status words and what happens next."""
    return rx.el.div(
        rx.el.div(
            rx.el.h1(title, class_name="panel__title"),
            rx.el.div("for ", rx.el.strong(pupil), class_name="panel__body"),
            class_name="panel",
        ),
        rx.el.dl(
            rx.el.div(rx.el.dt("Status"), rx.el.dd(status_tag(status, colour)),
                      class_name="summary-list__row"),
            rx.el.div(rx.el.dt("What happens next"), rx.el.dd(step),
                      class_name="summary-list__row"),
            class_name="summary-list",
        ),
        rx.el.div(
            rx.el.a(back, href=routes.RETURNS, class_name="button",
                    role="button"),
            rx.el.button(again, type="button", on_click=on_again,
                         class_name="button button--secondary"),
            class_name="button-group",
        ),
        id="return-sent",
        tab_index=-1,
        role="status",
    )
