"""Schools' returns about this case's child: a deletion flagged as possible off-rolling (a
warning naming the school), the deletions schools sent, and each school's new pupil who may be
this child, which the officer answers: propose closing as on roll there, or not this child."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V
from .state import CaseState as S


def _off_rolling(r: rx.Var) -> rx.Component:
    return rx.foreach(r.off_rolling, lambda line: rx.el.div(
        rx.el.span("!", class_name="warning-text__icon", aria_hidden="true"),
        rx.el.strong(rx.el.span("Warning", class_name="visually-hidden"), line,
                     class_name="warning-text__text"),
        class_name="warning-text",
    ))


def _not_this_child(p: rx.Var) -> rx.Component:
    name = "not-child-" + p.return_id.to(str) + "-reason"
    return content.disclosure(
        "Not this child",
        rx.el.form(
            rx.el.input(type="hidden", name="return_id", value=p.return_id.to(str)),
            forms.textarea_field(name, "Why this new pupil is not this child", V, S.errors,
                                 rows=2, hint="For example, a different date of birth on the "
                                 "school's record. Kept in the audit trail."),
            rx.el.div(rx.el.button("Not this child", type="submit",
                                   class_name="button button--secondary"),
                      class_name="button-group button-group--tight"),
            key=S.form_key.to(str) + "not-child" + p.return_id.to(str),
            on_submit=S.dismiss_new_pupil,
            reset_on_submit=False,
            no_validate=True,
        ),
    )


def _proposal(c: rx.Var, p: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.el.p(rx.el.strong(p.school), " recorded a new pupil on ", p.start_date,
                " who matches this child on ", p.matched_on, "."),
        rx.cond(
            c.can.propose | c.can.close,
            rx.fragment(
                rx.el.button("Propose closing: on roll at ", p.school, type="button",
                             class_name="button",
                             on_click=S.confirm_new_pupil(p.return_id)),
                _not_this_child(p),
            ),
        ),
        class_name="inset-text",
    )


def school_returns(c: rx.Var) -> rx.Component:
    r = c.school_returns
    return rx.cond(
        (r.off_rolling.length() > 0) | (r.deletions.length() > 0)
        | (r.proposals.length() > 0),
        content.section(
            "school-returns", "School returns",
            _off_rolling(r),
            rx.cond(
                r.proposals.length() > 0,
                rx.fragment(
                    rx.el.h3("New pupil that may be this child"),
                    rx.foreach(r.proposals, lambda p: _proposal(c, p)),
                ),
            ),
            rx.cond(
                r.deletions.length() > 0,
                rx.fragment(
                    rx.el.h3("Deletions from a school's register"),
                    rx.el.ul(rx.foreach(r.deletions, lambda line: rx.el.li(line)),
                             class_name="list list--bullet"),
                ),
            ),
        ),
    )
