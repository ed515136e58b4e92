"""/returns/off-rolling: deletions under grounds H and I that the LA never confirmed were
lawful (joint enquiries exhausted). A team lead looks into each and marks it reviewed, saying
what they found or did."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import feedback
from ...components.layout import page
from ...db import session_scope
from ...permissions import Actor, Capability
from ...services.school_returns import views
from ...services.school_returns.views import OffRollingRow
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, errors_at, handler, page_load

C = Capability


class OffRollingState(PageFeedback, AuthState):
    rows: list[OffRollingRow] = []
    loaded: bool = False

    message_id: ClassVar[str] = "off-rolling-message"
    refused_message: ClassVar[str] = "Only a team lead can review possible off-rolling."

    def _reset_page(self) -> None:
        self.rows, self.loaded = [], False
        self._clear_feedback()

    def _show(self, session, actor: Actor) -> None:
        self.rows = views.off_rolling_list(session, actor=actor)
        self.loaded = True

    def _reload(self, actor: Actor) -> None:
        with session_scope() as session:
            self._show(session, actor)

    def _after_success(self, actor: Actor, result) -> None:
        self._reload(actor)

    def _after_refusal(self, actor: Actor, exc) -> None:
        self._reload(actor)

    @rx.event
    @page_load(C.OFF_ROLLING_REVIEW)
    def load(self):
        return self._show

    @rx.event
    @handler(C.OFF_ROLLING_REVIEW, done="Marked as reviewed. Your note is kept with the return.")
    def mark_reviewed(self, form_data: dict):
        """The row's form names its return in a hidden field; the note's field id carries it,
        so an error links to that row's note."""
        data = form_data if isinstance(form_data, dict) else {}
        public_id = str(data.get("public_id") or "")[:32]
        prefix = f"review-{public_id}-"
        note = str(forms.prefixed_fields(data, prefix).get("note") or "")[:1001]
        work = partial(views.review_off_rolling, public_id=public_id, note=note)
        return errors_at(work, prefix, {"off_rolling_note": prefix + "note"})


S = OffRollingState
V = rx.Var.create({})


def _review_form(r: rx.Var) -> rx.Component:
    name = "review-" + r.public_id + "-note"
    return rx.el.form(
        rx.el.input(type="hidden", name="public_id", value=r.public_id),
        forms.textarea_field(name, "What you found or did", V, S.errors, rows=2,
                             hint="For example, who you spoke to at the school and what "
                                  "they said. Kept with the return."),
        rx.el.div(rx.el.button("Mark as reviewed", type="submit",
                               class_name="button button--secondary"),
                  class_name="button-group button-group--tight"),
        key=S.form_key.to(str) + r.public_id,
        on_submit=S.mark_reviewed,
        reset_on_submit=False,
        no_validate=True,
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.el.div(
        rx.el.h2(r.pupil, " – ", r.school),
        rx.el.dl(
            rx.el.div(rx.el.dt("Deleted"), rx.el.dd(r.deletion_date),
                      class_name="summary-list__row"),
            rx.el.div(rx.el.dt("Reason given"), rx.el.dd(r.ground),
                      class_name="summary-list__row"),
            rx.el.div(rx.el.dt("Case"), rx.el.dd(rx.cond(
                r.case_reference != "",
                rx.el.a(r.case_reference, href="/cases/" + r.case_reference), "None")),
                class_name="summary-list__row"),
            rx.el.div(rx.el.dt("Reviewed"), rx.el.dd(rx.cond(
                r.reviewed,
                rx.fragment(rx.el.strong("Reviewed", class_name="tag tag--green"), " ",
                            r.review_note),
                rx.el.strong("Not yet reviewed", class_name="tag tag--red"))),
                class_name="summary-list__row"),
            class_name="summary-list",
        ),
        rx.cond(r.reviewed, rx.fragment(), _review_form(r)),
        class_name="inset-text",
    )


@rx.page(route=routes.RETURNS_OFF_ROLLING,
         title="Possible off-rolling – Children Missing Education", on_load=S.load)
def off_rolling_page() -> rx.Component:
    return page(
        rx.el.p(rx.el.a("Back to school returns", href=routes.RETURNS, class_name="back-link")),
        feedback(S.error_list, S.problem, S.message, element_id=S.message_id,
                 problem_title="There is a problem"),
        rx.el.span("School returns", class_name="caption"),
        rx.el.h1("Possible off-rolling"),
        rx.el.p("Schools deleted these pupils under ground H (not back after a leave of "
                "absence) or ground I (20 school days' unauthorised absence) without the local "
                "authority confirming that joint enquiries to find them were exhausted. Check "
                "each with the school, then mark it as reviewed.", class_name="lead"),
        rx.cond(
            S.loaded,
            rx.cond(S.rows.length() > 0, rx.foreach(S.rows, _row),
                    rx.el.p("No deletions are flagged as possible off-rolling.")),
            rx.el.p("Loading…"),
        ),
    )
