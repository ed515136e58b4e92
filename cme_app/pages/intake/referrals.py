"""/referrals: the school's own referrals with a plain-words status."""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components.layout import page
from ...permissions import Capability
from ...services.intake import referral_view
from ...services.intake.referral_view import ReferralRow
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, page_load


class ReferralsState(PageFeedback, AuthState):
    rows: list[ReferralRow] = []
    loaded: bool = False

    def _reset_page(self) -> None:
        self.rows, self.loaded = [], False

    def _show(self, session, actor) -> None:
        self.rows = referral_view.list_for_school(session, actor=actor)
        self.loaded = True

    @rx.event
    @page_load(Capability.REFERRAL_WRITE)
    def load(self):
        return self._show


def status_tag(status: rx.Var) -> rx.Component:
    """A referral's status as a tag, one colour per status wherever it is shown."""
    return rx.el.strong(
        status,
        class_name=rx.match(
            status,
            ("Draft – not sent", "tag tag--grey"),
            ("More information needed", "tag tag--orange"),
            ("Closed", "tag tag--green"),
            "tag",
        ),
    )


def _status_tag(row: rx.Var) -> rx.Component:
    return status_tag(row.status)


def _row(row: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(
            rx.cond(
                row.is_draft,
                rx.el.a("Continue draft", rx.el.span(f" for {row.child_name}",
                        class_name="visually-hidden"), href=routes.REFERRAL_NEW + "?draft="
                        + row.public_id),
                rx.el.a(row.reference, href=routes.REFERRALS + "/" + row.reference),
            ),
            data_label="Reference",
        ),
        rx.el.td(row.child_name, data_label="Child"),
        rx.el.td(rx.cond(row.submitted_on != "", row.submitted_on, "Not sent"),
                 data_label="Submitted"),
        rx.el.td(
            _status_tag(row),
            rx.cond(row.late, rx.el.span(" ", rx.el.strong("Late", class_name="tag tag--red"))),
            data_label="Status",
        ),
    )


@rx.page(route=routes.REFERRALS, title="Your referrals – Children Missing Education",
         on_load=ReferralsState.load)
def referrals_page() -> rx.Component:
    s = ReferralsState
    return page(
        rx.el.h1("Your school's referrals"),
        rx.el.a("Make a new referral", href=routes.REFERRAL_NEW, class_name="button",
                role="button"),
        rx.cond(
            s.rows.length() > 0,
            rx.el.div(
                rx.el.table(
                    rx.el.caption("Referrals you have made or started, newest first",
                                  class_name="visually-hidden"),
                    rx.el.thead(rx.el.tr(
                        rx.el.th("Reference", scope="col"),
                        rx.el.th("Child", scope="col"),
                        rx.el.th("Submitted", scope="col"),
                        rx.el.th("Status", scope="col"),
                    )),
                    rx.el.tbody(rx.foreach(s.rows, _row)),
                    class_name="table table--stack",
                ),
                class_name="table-wrap",
            ),
            rx.cond(s.loaded, rx.el.p("Your school has not made any referrals yet.")),
        ),
        rx.el.p(
            "The CME team can take 6 to 8 weeks to complete its checks. You will see the "
            "status change here as the case moves on.",
            class_name="hint",
        ),
    )
