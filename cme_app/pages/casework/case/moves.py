"""Moving the case between stages, and returning a referral to the school."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V, form, not_open
from .state import CaseState as S


def _move_buttons(c: rx.Var) -> rx.Component:
    """Open moves as buttons; blocked ones look secondary and point at why (a click explains
    again, in the message)."""
    return rx.el.div(
        rx.foreach(c.allowed_moves, lambda m: rx.el.button(
            "Move to " + m.label, type="button", class_name="button",
            on_click=S.move(m.stage), key=m.stage,
        )),
        rx.foreach(c.blocked_moves, lambda m: rx.el.button(
            "Move to " + m.label, type="button", class_name="button button--secondary",
            on_click=S.move(m.stage), key=m.stage, aria_describedby="blocked-moves",
        )),
        class_name="button-group button-group--tight",
    )


def _return_form() -> rx.Component:
    return content.disclosure(
        "Return to referrer",
        form(
            forms.textarea_field(
                "return_note", "What more information does the school need to give?",
                V, S.errors, rows=3,
                hint="The school sees this note. For example: Please complete the home "
                "visit and the sibling-school checks.",
            ),
            on_submit=S.return_to_referrer,
            button="Return to school",
            style="secondary",
            key="r",
        ),
    )


def _moves(c: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(
            (c.allowed_moves.length() > 0) | (c.blocked_moves.length() > 0),
            _move_buttons(c),
            rx.el.p("You can't move this case.", class_name="hint"),
        ),
        rx.cond(
            c.blocked_moves.length() > 0,
            rx.el.ul(
                rx.foreach(S.blocked_reasons,
                           lambda m: rx.el.li(rx.el.strong("Not yet – ", m[0], ": "), m[1])),
                id="blocked-moves",
                class_name="list blocked-moves",
                aria_label="Moves not open yet",
            ),
        ),
        rx.el.p(rx.el.a("Close the case with an outcome", href="#close")),
        rx.cond(c.can.return_to_referrer, _return_form()),
    )


def move(c: rx.Var) -> rx.Component:
    return content.section(
        "move", "Move the case",
        rx.el.p("Now in ", rx.el.strong(c.stage_label), "."),
        rx.cond(c.is_open, _moves(c), not_open(c)),
    )
