"""Moving the case between stages, and returning a referral to the school."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V, form, not_open, section_link
from .state import CaseState as S


def _move_buttons(c: rx.Var) -> rx.Component:
    """Only the moves open now are buttons; a move not open yet is said in words with its
    reason (below), never drawn as a button that looks as if it would work."""
    return rx.el.div(
        rx.foreach(c.allowed_moves, lambda m: rx.el.button(
            "Move to " + m.label, type="button", class_name="button",
            on_click=S.move(m.stage), key=m.stage,
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
            c.allowed_moves.length() > 0,
            _move_buttons(c),
            rx.el.p(rx.cond(c.blocked_moves.length() > 0,
                            "No move is open yet.", "You can't move this case."),
                    class_name="hint"),
        ),
        rx.cond(
            c.blocked_moves.length() > 0,
            rx.fragment(
                rx.el.h3("Moves not open yet", id="blocked-moves-title"),
                rx.el.ul(
                    rx.foreach(S.blocked_reasons,
                               lambda m: rx.el.li(rx.el.strong("Move to ", m[0]), ": ", m[1])),
                    id="blocked-moves",
                    class_name="list blocked-moves",
                    aria_labelledby="blocked-moves-title",
                ),
            ),
        ),
        rx.el.p(section_link("Close the case with an outcome", "close")),
        rx.cond(c.can.return_to_referrer, _return_form()),
    )


def move(c: rx.Var) -> rx.Component:
    return content.section(
        "move", "Move the case",
        rx.el.p("Now in ", rx.el.strong(c.stage_label), "."),
        rx.cond(c.is_open, _moves(c), not_open(c)),
    )
