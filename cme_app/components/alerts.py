"""The lone-working alert panel and the leads' "Visits to review" list, for a state that uses
cme_app.state.alerts.AlertsMixin. Every alert says in words that a visit is overdue: colour is
never the only cue."""

from __future__ import annotations

import reflex as rx

from .. import routes
from . import forms


def _fact(label: str, value) -> rx.Component:
    return rx.el.div(rx.el.dt(label), rx.el.dd(value), class_name="lw-alert__fact")


def _times(a: rx.Var) -> rx.Component:
    # The message already names the officer and the address.
    return rx.el.dl(
        _fact("Case", rx.el.a(a.reference, href="/cases/" + a.reference + "?tab=visits")),
        _fact("Checked in", a.checked_in),
        _fact("Expected back", a.expected_back),
        _fact("Alert raised", a.raised),
        class_name="lw-alert__facts",
    )


def _resolve_form(state, a: rx.Var) -> rx.Component:
    note = "safe-" + a.id.to(str) + "-note"
    return rx.el.form(
        rx.el.input(type="hidden", name="alert_id", value=a.id.to(str)),
        forms.textarea_field(
            note, "What did you do to check they are safe?", rx.Var.create({}),
            state.alert_errors, rows=2,
            hint="For example: Rang them at 10:52. Safe, and leaving the address.",
        ),
        rx.el.button("Mark safe", type="submit", class_name="button"),
        on_submit=state.mark_safe,
        reset_on_submit=False,
        no_validate=True,
        aria_label="Mark " + a.officer_name + " safe",
    )


def _alert(state, a: rx.Var) -> rx.Component:
    # The same <p> either way, so React keeps the node (and anything typed below it) when
    # an alert stops being new; only a new alert carries role="alert".
    message = rx.cond(
        a.is_new,
        rx.el.p(rx.el.strong("Overdue visit: "), a.message, role="alert",
                class_name="lw-alert__message"),
        rx.el.p(rx.el.strong("Overdue visit: "), a.message, class_name="lw-alert__message"),
    )
    return rx.el.li(
        rx.el.div(
            rx.el.p(rx.el.strong(a.audience, class_name="tag tag--red"),
                    class_name="lw-alert__who"),
            message,
            _times(a),
            class_name="lw-alert__what",
        ),
        rx.el.div(
            rx.cond(
                a.level == "self",
                rx.el.p(rx.el.a("End your visit on your phone", href=routes.VISITS)),
                _resolve_form(state, a),
            ),
            class_name="lw-alert__act",
        ),
        class_name="lw-alert",
        key=a.key,
    )


def _messages(state) -> rx.Component:
    return rx.fragment(
        forms.error_summary(state.alert_error_list),
        rx.cond(
            state.alert_problem != "",
            rx.el.p(state.alert_problem, id="alert-message", role="alert", tab_index=-1,
                    class_name="board-message board-message--error"),
        ),
        rx.cond(
            state.alert_message != "",
            rx.el.p(state.alert_message, id="alert-message", role="status", tab_index=-1,
                    class_name="board-message"),
        ),
    )


def alert_panel(state) -> rx.Component:
    """Open alerts addressed to the viewer (all of them, for a lead)."""
    count = state.alerts.length()
    return rx.cond(
        (count > 0) | (state.alert_message != "") | (state.alert_problem != ""),
        rx.el.section(
            rx.el.h2(
                rx.cond(
                    count == 1,
                    "Lone working: 1 visit overdue",
                    rx.cond(count == 0, "Lone working",
                            "Lone working: " + count.to(str) + " visits overdue"),
                ),
                id="lone-working-title",
                class_name="lw-panel__title",
            ),
            _messages(state),
            rx.cond(
                count > 0,
                rx.el.ul(rx.foreach(state.alerts, lambda a: _alert(state, a)),
                         class_name="lw-panel__list"),
            ),
            class_name=rx.cond(count > 0, "lw-panel lw-panel--open", "lw-panel"),
            aria_labelledby="lone-working-title",
        ),
    )


def review_list(state) -> rx.Component:
    """Leads: visits kept although their case had changed, waiting for a review."""
    count = state.flagged.length()
    return rx.cond(
        count > 0,
        rx.el.details(
            rx.el.summary(
                rx.el.span("Visits to review (", count.to(str), ")",
                           class_name="disclosure__summary-text"),
                class_name="disclosure__summary",
            ),
            rx.el.div(
                rx.el.p("These visits reached the server after their case had changed. Open "
                        "each one, check it, and mark it reviewed.", class_name="hint"),
                rx.el.ul(
                    rx.foreach(
                        state.flagged,
                        lambda f: rx.el.li(
                            rx.el.a(f.reference, href="/cases/" + f.reference + "#visits"),
                            " ", f.child_name, ", visited ", f.visited_on, " by ", f.officer,
                            rx.el.div(f.flag_reason, class_name="body-s"),
                            key=f.visit_id,
                        ),
                    ),
                    class_name="list review-list",
                ),
                class_name="disclosure__text",
            ),
            class_name="disclosure review-visits",
        ),
    )
