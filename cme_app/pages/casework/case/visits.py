"""Visits on the case page: the visit history, a visit logged at a desk, and visit safety
(what every officer reads before a visit)."""

from __future__ import annotations

import reflex as rx

from .... import routes
from ....components import content, forms
from ....services.casework import pathway
from ....services.casework.case_file_types import CaseFile
from ....services.forms import YES_NO
from .parts import V, form
from .state import CaseState as S


def _status(v: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(v.status == "overdue", rx.el.strong("Overdue", class_name="tag tag--red")),
        rx.cond(
            v.status != "",
            rx.el.strong(v.status_text, class_name=rx.cond(
                v.status == "overdue", "tag tag--red", "tag tag--yellow")),
        ),
        rx.cond(
            v.flag_reason != "",
            rx.cond(
                v.flag_review == "",
                rx.el.strong("Needs review", class_name="tag tag--orange"),
                rx.el.strong("Reviewed", class_name="tag tag--grey"),
            ),
        ),
    )


def _flag(v: rx.Var) -> rx.Component:
    review = rx.cond(
        S.case.to(CaseFile).can.review_visits,
        rx.el.button(
            "Mark reviewed",
            rx.el.span(" (visit of ", v.heading, ")", class_name="visually-hidden"),
            type="button", class_name="button button--secondary",
            on_click=S.review_visit_flag(v.id),
        ),
        rx.el.p("A team lead will review it.", class_name="hint"),
    )
    return rx.cond(
        v.flag_reason != "",
        rx.el.div(
            rx.el.p(rx.el.strong("Flagged for a team lead: "), v.flag_reason),
            rx.cond(v.flag_review != "", rx.el.p(v.flag_review), review),
            class_name="visit__flag",
        ),
    )


def _observation(title: str, text: rx.Var) -> rx.Component:
    return rx.cond(
        text != "",
        rx.el.div(
            rx.el.h4(title, class_name="visit__obs-title"),
            rx.el.p(text, class_name="pre-line"),
            class_name="visit__obs",
        ),
    )


def _visit(v: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.div(rx.el.h3(v.heading, class_name="visit__title"), _status(v),
                  class_name="visit__head"),
        _flag(v),
        rx.el.dl(
            rx.foreach(v.rows, lambda r: rx.el.div(
                rx.el.dt(r.label), rx.el.dd(r.value, class_name="pre-line"),
                class_name="summary-list__row",
            )),
            class_name="summary-list visit__rows",
        ),
        # Facts and opinion side by side, each labelled.
        rx.cond(
            (v.notes != "") | (v.opinion != ""),
            rx.el.div(
                _observation("Notes: facts observed", v.notes),
                _observation("Opinion", v.opinion),
                class_name="visit__observations",
            ),
        ),
        rx.cond(v.offline_note != "", rx.el.p(v.offline_note, class_name="hint visit__sync")),
        class_name=rx.match(
            v.status,
            ("overdue", "visit visit--overdue"),
            ("in_progress", "visit visit--in-progress"),
            "visit",
        ),
        key=v.id,
    )


def _desk_visit_form() -> rx.Component:
    return content.disclosure(
        "Record a visit at your desk",
        form(
            forms.date_field("visit-visited_on", "Date of visit", V, S.errors),
            forms.text_field("visit-address", "Address visited", V, S.errors),
            # "Child seen" once, as on the phone: seen is the outcome; not seen asks what
            # happened instead (services/casework/pathway.seen_and_outcome).
            forms.radios("visit-child_seen", "Child seen", YES_NO, V, S.errors),
            rx.el.div(
                forms.radios("visit-seen_alone", "Seen alone", YES_NO, V, S.errors),
                class_name="conditional reveal reveal--seen",
            ),
            rx.el.div(
                forms.radios("visit-outcome", "Outcome", pathway.NOT_SEEN_OUTCOMES, V, S.errors,
                             hint="What happened at the visit?", inline=False),
                class_name="conditional reveal reveal--not-seen",
            ),
            forms.textarea_field("visit-notes", "Notes", V, S.errors, rows=3,
                                 hint="Keep what you saw separate from your opinion."),
            on_submit=S.record_visit,
            button="Record visit",
            key="v",
        ),
    )


def visits(c: rx.Var) -> rx.Component:
    return content.section(
        "visits", "Visits",
        rx.cond(
            c.can.start_visit,
            rx.el.p(
                rx.el.a("Start a visit on your phone", href=routes.visit_url(c.reference)),
                rx.el.span(" – the visit log works with no signal, and checks you in and out "
                           "for lone working.", class_name="hint"),
                class_name="visit-start",
            ),
        ),
        rx.cond(
            c.visits.length() > 0,
            rx.el.ol(rx.foreach(c.visits, _visit), class_name="visit-list"),
            rx.el.p("No visits recorded yet.", class_name="hint"),
        ),
        rx.cond(c.can.record, _desk_visit_form()),
    )


def _joint_warning() -> rx.Component:
    return rx.el.div(
        rx.el.span("!", class_name="warning-text__icon", aria_hidden="true"),
        rx.el.strong(
            rx.el.span("Warning: ", class_name="visually-hidden"),
            "Joint visit required. A visit can't start with only one officer.",
            class_name="warning-text__text",
        ),
        class_name="warning-text",
    )


def _safety_form(c: rx.Var) -> rx.Component:
    values = rx.Var.create({
        "safety-warning_markers": c.warning_markers,
        "safety-joint_visit_required": rx.cond(c.joint_visit_required, "on", ""),
    })
    return content.disclosure(
        "Change visit safety",
        form(
            forms.textarea_field(
                "safety-warning_markers", "Warning markers", values, S.errors, rows=4,
                hint="What an officer must know before visiting: for example animals, "
                "a hostile adult, police or social care markers. Officers see this "
                "before every visit.",
            ),
            forms.checkbox("safety-joint_visit_required", "Joint visit required", values,
                           hint="A visit can't start with only one officer."),
            on_submit=S.save_visit_safety,
            button="Save visit safety",
            style="secondary",
            key="safety",
        ),
    )


def safety(c: rx.Var) -> rx.Component:
    markers = rx.cond(c.warning_markers != "",
                      rx.el.span(c.warning_markers, class_name="pre-line"), "None recorded")
    return content.section(
        "safety", "Visit safety",
        rx.cond(c.joint_visit_required, _joint_warning()),
        rx.el.dl(
            content.summary_row("Warning markers", markers),
            content.summary_row("Joint visit required",
                                rx.cond(c.joint_visit_required, "Yes", "No")),
            class_name="summary-list safety__list",
        ),
        rx.cond(c.can.edit_safety, _safety_form(c)),
        class_name=rx.cond(
            (c.warning_markers != "") | c.joint_visit_required,
            "section case-section safety safety--marked",
            "section case-section safety",
        ),
    )
