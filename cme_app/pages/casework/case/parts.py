"""Small pieces the case page's sections share."""

from __future__ import annotations

import reflex as rx

from ....components import content
from .state import CaseState as S
from .tabs import TAB_OF_ANCHOR

V = rx.Var.create({})  # the case page's forms start empty


def form(*children, on_submit, button: str, key: str, style: str = "primary") -> rx.Component:
    """A case-page form: emptied after each success (the state's form_key changes)."""
    return content.action_form(*children, on_submit=on_submit, button=button,
                               form_key=S.form_key, key=key, style=style)


def section_link(text, anchor: str) -> rx.Component:
    """A link to a section that may be on another tab: opens the tab and focuses the section
    (a plain `#anchor` link would find nothing on a tab not shown)."""
    return rx.el.a(text, href=f"?tab={TAB_OF_ANCHOR[anchor]}#{anchor}",
                   on_click=S.show_section(anchor).prevent_default)


def not_open(c: rx.Var) -> rx.Component:
    return rx.el.p(
        rx.cond(
            c.stage == "closed",
            "This case is closed.",
            "This referral is with the school for more information. It comes back to New "
            "referral when the school resubmits it.",
        ),
    )


def status_lines(problem: rx.Var, message: rx.Var, *, problem_id: str,
                 message_id: str) -> rx.Component:
    """An answer in the case page's status bar: a refusal (an alert) or what was done (a
    polite status, always on the page so a screen reader hears it arrive)."""
    return rx.fragment(
        rx.cond(
            problem != "",
            rx.el.div(rx.el.strong("This can't be done yet. "), problem,
                      id=problem_id, role="alert",
                      class_name="case-status__text case-status__text--problem"),
        ),
        rx.el.div(
            rx.cond(message != "",
                    rx.el.p(rx.el.strong("Done. "), message, class_name="case-status__text")),
            id=message_id,
            aria_live="polite",
            role=rx.cond(message != "", "status", "none"),
        ),
    )
