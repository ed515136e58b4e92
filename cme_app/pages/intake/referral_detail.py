"""/referrals/[ref]: one of the school's submitted referrals."""

from __future__ import annotations

from functools import partial

import reflex as rx

from ... import routes
from ...components.content import summary_row
from ...components.layout import page
from ...domain import case_reference
from ...permissions import Capability
from ...services.documents import documents
from ...services.documents.types import DocumentRow
from ...services.intake import referral_view
from ...services.intake.referral_view import ReferralView
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, page_load
from .referrals import status_tag


class ReferralDetailState(PageFeedback, AuthState):
    view: ReferralView | None = None
    # Notices and letters the CME team sent the school about this referral.
    documents: list[DocumentRow] = []
    not_found: bool = False

    def _reference(self) -> str:
        return case_reference(str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1])

    def _reset_page(self) -> None:
        self.view, self.documents, self.not_found = None, [], False

    def _show(self, session, *, actor, reference: str) -> None:
        self.view = referral_view.view_referral(session, actor=actor, reference=reference)
        self.documents = documents.sent_to_school(session, actor=actor, reference=reference)

    def _after_not_found(self, actor) -> None:
        self.not_found = True

    @rx.event
    @page_load(Capability.REFERRAL_VIEW)
    def load(self):
        return partial(self._show, reference=self._reference())


def _heading(v: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.el.span(v.school_name, class_name="caption"),
        rx.el.h1("Referral ", v.reference),
        rx.el.p(
            status_tag(v.status),
            rx.cond(v.late, rx.el.span(" ", rx.el.strong("Submitted after 4 weeks",
                                                         class_name="tag tag--red"))),
            rx.cond(v.outside_csa, rx.el.span(" ", rx.el.strong(
                "Outside compulsory school age", class_name="tag tag--yellow"))),
        ),
    )


def _notice(title: str, *body: rx.Component, tone: str = "") -> rx.Component:
    """A notification box, named by its title for screen readers."""
    return rx.el.div(
        rx.el.h2(title, class_name="notification__title"),
        rx.el.div(*body, class_name="notification__body"),
        class_name=f"notification notification--{tone}" if tone else "notification",
        role="region",
        aria_label=title,
    )


def _returned_note(v: rx.Var) -> rx.Component:
    """The team sent it back: what they need, and the way back into the form."""
    return rx.cond(
        v.return_note != "",
        _notice(
            "More information needed",
            rx.el.p("The CME team says:"),
            rx.el.p(v.return_note, class_name="pre-line"),
            rx.cond(
                v.draft_id != "",
                rx.el.a(
                    "Add the information and resubmit",
                    href=routes.REFERRAL_NEW + "?draft=" + v.draft_id,
                    class_name="button",
                ),
            ),
        ),
    )


def _history_item(row: rx.Var) -> rx.Component:
    """[date, status, what happens next]"""
    return rx.el.li(
        rx.el.h3(status_tag(row[1]), " ", rx.el.span(row[0], class_name="hint"),
                 class_name="heading-s"),
        rx.el.p(row[2]),
        class_name="history__item",
    )


def _history(v: rx.Var) -> rx.Component:
    """The statuses over time; the last one is now, with what happens next."""
    last = v.history[v.history.length() - 1].to(list[str])
    return rx.cond(
        v.history.length() > 0,
        rx.fragment(
            rx.el.div(
                rx.el.h2("What happens next", class_name="notification__title"),
                rx.el.div(rx.el.p(last[2]), class_name="notification__body"),
                class_name="notification",
                role="region",
                aria_label="What happens next",
            ),
            rx.el.h2("Status history"),
            rx.el.ol(rx.foreach(v.history, _history_item), class_name="history"),
        ),
    )


def _outcome(v: rx.Var) -> rx.Component:
    return rx.cond(
        v.outcome != "",
        _notice(
            "Outcome",
            rx.el.p(v.outcome),
            rx.cond(v.school_notice != "", rx.el.p(v.school_notice, class_name="pre-line")),
            tone="success",
        ),
    )


def _child_and_absence(v: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.el.h2("Child"),
        rx.el.dl(
            summary_row("Name", v.child_name),
            summary_row("Date of birth", v.date_of_birth),
            summary_row("UPN", v.upn),
            summary_row("Home address", v.home_address),
            class_name="summary-list",
        ),
        rx.el.h2("Absence"),
        rx.el.dl(
            summary_row("Reason for referral", v.category),
            summary_row("Date last attended", v.date_last_attended),
            summary_row("Date school became aware", v.date_school_aware),
            summary_row("Submitted", v.submitted_at),
            summary_row("Specific concerns", rx.foreach(v.concerns, lambda c: rx.el.div(c))),
            class_name="summary-list",
        ),
    )


def _people_and_enquiries(v: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.el.h2("Parents, carers and household"),
        rx.el.ul(rx.foreach(v.people, lambda p: rx.el.li(p[0], " (", p[1], ") ", p[2]))),
        rx.el.h2("Enquiries the school made"),
        rx.el.div(
            rx.el.table(
                rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in
                                       ("Enquiry", "Date", "Who", "How", "Result")])),
                rx.el.tbody(rx.foreach(v.enquiries, lambda e: rx.el.tr(
                    rx.el.td(e[0], data_label="Enquiry"), rx.el.td(e[1], data_label="Date"),
                    rx.el.td(e[2], data_label="Who"), rx.el.td(e[3], data_label="How"),
                    rx.el.td(e[4], data_label="Result"),
                ))),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
    )


def _documents() -> rx.Component:
    """The letters and notices sent to the school, each a PDF download."""
    return rx.cond(
        ReferralDetailState.documents.length() > 0,
        rx.fragment(
            rx.el.h2("Letters and notices from the CME team", id="documents", tab_index=-1),
            rx.el.ul(rx.foreach(ReferralDetailState.documents, lambda d: rx.el.li(
                rx.el.a(d.title, " (version ", d.version.to(str), ", PDF)", href=d.url,
                        download=True, custom_attrs={"reloadDocument": True}),
                " – sent ", d.created_on, " by ", d.author,
            )), class_name="list"),
        ),
    )


def _details(v: rx.Var) -> rx.Component:
    return rx.fragment(
        _heading(v), _returned_note(v), _outcome(v), _history(v), _documents(),
        _child_and_absence(v), _people_and_enquiries(v),
    )


@rx.page(route=routes.REFERRAL_DETAIL, title="Referral – Children Missing Education",
         on_load=ReferralDetailState.load)
def referral_detail_page() -> rx.Component:
    s = ReferralDetailState
    return page(
        rx.el.p(rx.el.a("Back to your referrals", href=routes.REFERRALS)),
        rx.cond(
            s.not_found,
            rx.fragment(
                rx.el.h1("Referral not found"),
                rx.el.p("Check the reference. You can only see your own school's referrals."),
            ),
            rx.cond(s.view, _details(s.view.to(ReferralView)), rx.el.p("Loading…")),
        ),
    )
