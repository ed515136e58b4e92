"""/returns: a school's own deletion and new-pupil returns with what happens next; for the LA,
every school's returns as received, and for a lead the way to the possible off-rolling list."""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components.content import stacked_table
from ...components.layout import page
from ...permissions import Actor, Capability, allows
from ...services.school_returns import views
from ...services.school_returns.views import LaReturnRow, SchoolReturnRow
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, page_load

C = Capability


class ReturnsState(PageFeedback, AuthState):
    school_rows: list[SchoolReturnRow] = []
    la_rows: list[LaReturnRow] = []
    is_school: bool = False
    may_review: bool = False
    off_rolling_waiting: int = 0
    loaded: bool = False

    def _reset_page(self) -> None:
        self.school_rows, self.la_rows, self.loaded = [], [], False
        self.is_school, self.may_review, self.off_rolling_waiting = False, False, 0

    def _show(self, session, actor: Actor) -> None:
        self.is_school = actor.is_school
        if actor.is_school:
            self.school_rows = views.school_list(session, actor=actor)
        elif allows(actor.role, C.RETURNS_LA_VIEW):
            self.la_rows = views.la_list(session, actor=actor)
        self.may_review = allows(actor.role, C.OFF_ROLLING_REVIEW)
        if self.may_review:
            self.off_rolling_waiting = views.off_rolling_waiting(session, actor=actor)
        self.loaded = True

    # Everyone who records new pupils sees this page: a school its own returns, LA staff
    # every school's (the services check each list's own capability again).
    @rx.event
    @page_load(C.NEW_PUPIL_RECORD)
    def load(self):
        return self._show


S = ReturnsState


def status_tag(status: rx.Var, colour: rx.Var) -> rx.Component:
    return rx.el.strong(
        status,
        class_name=rx.match(colour, ("grey", "tag tag--grey"), ("green", "tag tag--green"),
                            "tag"),
    )


def _school_view() -> rx.Component:
    return rx.fragment(
        rx.el.h1("Your school's returns"),
        rx.el.p("Tell the local authority every time you delete a pupil from your admission "
                "register, and within 5 days of adding a new pupil to it.", class_name="lead"),
        rx.el.div(
            rx.el.a("Send a deletion return", href=routes.RETURN_NEW, class_name="button",
                    role="button"),
            rx.el.a("Record a new pupil", href=routes.RETURN_NEW_PUPIL,
                    class_name="button button--secondary", role="button"),
            rx.el.a("Upload a CSV file", href=routes.RETURN_UPLOAD,
                    class_name="button button--secondary", role="button"),
            class_name="button-group button-group--tight",
        ),
        rx.el.h2("Returns you have sent", id="returns-title"),
        rx.fragment(
            stacked_table(
                ["Pupil", "Return", "Reason", "Status", "What happens next"], S.school_rows,
                lambda r: [
                    rx.fragment(rx.el.strong(r.pupil), rx.el.br(),
                                rx.el.span("Sent ", r.received, class_name="hint")),
                    rx.fragment(r.kind, rx.el.br(), r.date_label),
                    rx.cond(r.ground != "", r.ground, "–"),
                    status_tag(r.status, r.status_colour),
                    r.next_step,
                ],
                empty="Your school has not sent any returns yet.",
            ),
        ),
    )


def _case_link(reference: rx.Var) -> rx.Component:
    return rx.cond(reference != "", rx.el.a(reference, href="/cases/" + reference), "None")


def _la_view() -> rx.Component:
    return rx.fragment(
        rx.el.h1("School returns"),
        rx.el.p("Deletions from and additions to every school's admission register, newest "
                "first, with what was done with each.", class_name="lead"),
        rx.el.div(
            rx.el.a("Record a new pupil", href=routes.RETURN_NEW_PUPIL,
                    class_name="button button--secondary", role="button"),
            class_name="button-group button-group--tight",
        ),
        rx.cond(
            S.may_review,
            rx.el.p(
                rx.el.a("Possible off-rolling", href=routes.RETURNS_OFF_ROLLING),
                ": ", S.off_rolling_waiting.to(str), " not yet reviewed",
                id="off-rolling-link",
            ),
        ),
        rx.fragment(
            stacked_table(
                ["School", "Pupil", "Return", "Reason", "What we did", "Case"], S.la_rows,
                lambda r: [
                    r.school,
                    r.pupil,
                    rx.fragment(r.kind, rx.el.br(), r.date_label),
                    rx.cond(r.ground != "", r.ground, "–"),
                    rx.fragment(
                        r.route,
                        rx.cond(r.possible_off_rolling,
                                rx.fragment(" ", rx.el.strong("Possible off-rolling",
                                                              class_name="tag tag--red"))),
                    ),
                    _case_link(r.case_reference),
                ],
                empty="No school has sent a return yet.",
            ),
        ),
    )


@rx.page(route=routes.RETURNS, title="Returns – Children Missing Education", on_load=S.load)
def returns_page() -> rx.Component:
    return page(
        rx.cond(S.loaded, rx.cond(S.is_school, _school_view(), _la_view()),
                rx.el.p("Loading…")),
        wide=True,
    )
