"""Securing education on the case page (stage "Located – securing education"): each step
towards a school place with the day it is due by, the officer's forms to record a new step and
to update one, and why the CME episode's reason does not follow the steps when it doesn't.
Read-only once the case has left Located."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from ....services.casework.securing import APPLICATION_OUTCOMES, OFFER_ANSWERS
from ....services.forms import YES_NO
from .parts import V, form
from .state import CaseState as S

_NOTES_HINT = "Optional. Do not repeat what the fields above already say."
_SCHOOLS_HINT = "Names or URNs, for example Aire Valley Primary (107999)."


def _notes(p, values) -> rx.Component:
    return forms.textarea_field(p + "notes", "Notes", values, S.errors, hint=_NOTES_HINT,
                                rows=2)


def _keyworker(p, values) -> list[rx.Component]:
    return [
        forms.text_field(p + "who", "Keyworker's name and team", values, S.errors,
                         hint="From the School Attendance Service."),
        forms.date_field(p + "done_on", "Date allocated", values, S.errors),
    ]


def _application(p, values) -> list[rx.Component]:
    return [
        forms.text_field(p + "school", "School or schools applied for", values, S.errors,
                         hint=_SCHOOLS_HINT),
        forms.date_field(p + "done_on", "Date applied", values, S.errors),
        forms.select_field(p + "outcome", "Outcome", APPLICATION_OUTCOMES, values, S.errors),
        forms.date_field(p + "outcome_on", "Date of the decision", values, S.errors,
                         hint="Leave blank while the outcome is awaited."),
    ]


def _offer(p, values) -> list[rx.Component]:
    return [
        forms.text_field(p + "school", "School offered", values, S.errors, hint=_SCHOOLS_HINT),
        forms.date_field(p + "done_on", "Date of the offer", values, S.errors),
        forms.select_field(p + "outcome", "Has the parent accepted the offer?", OFFER_ANSWERS,
                           values, S.errors),
        forms.date_field(p + "start_on", "Agreed start date", values, S.errors,
                         hint="Needed once the offer is accepted. The case can be closed as "
                              "on roll at a Leeds school from this date."),
        forms.date_field(p + "outcome_on", "Date the parent answered", values, S.errors,
                         hint="Optional."),
    ]


def _fair_access(p, values) -> list[rx.Component]:
    return [
        forms.date_field(p + "done_on", "Date referred to the Fair Access panel", values,
                         S.errors),
        forms.date_field(p + "panel_on", "Panel date", values, S.errors, hint="If known."),
        forms.text_field(p + "outcome", "The panel's decision", values, S.errors,
                         hint="Leave blank until the panel decides."),
    ]


def _ehcp(p, values) -> list[rx.Component]:
    return [
        forms.text_field(p + "who", "Local authority that maintains the plan", values,
                         S.errors),
        forms.text_field(p + "school", "School named in the plan", values, S.errors),
        forms.date_field(p + "done_on", "Date the school was named", values, S.errors),
    ]


def _s437_notice(p, values) -> list[rx.Component]:
    return [
        forms.date_field(p + "done_on", "Date the notice was served", values, S.errors),
        forms.date_field(p + "due_on", "Date the parent's response is due", values, S.errors,
                         hint="At least 15 days after the notice was served. Leave blank for "
                              "15 days."),
        forms.date_field(p + "outcome_on", "Date the parent responded", values, S.errors,
                         hint="Optional."),
    ]


def _sao(p, values) -> list[rx.Component]:
    return [
        forms.text_field(p + "school", "School named in the order", values, S.errors),
        forms.date_field(p + "done_on", "Date of the order", values, S.errors),
        forms.select_field(p + "challenged", "Is the parent challenging the order?", YES_NO,
                           values, S.errors),
    ]


_FIELDS = {"keyworker": _keyworker, "application": _application, "offer": _offer,
           "fair_access": _fair_access, "ehcp": _ehcp, "s437_notice": _s437_notice,
           "sao": _sao}
_NEW = (
    ("keyworker", "Record the keyworker"),
    ("application", "Record an in-year admission application"),
    ("offer", "Record an offer of a school place"),
    ("fair_access", "Record a Fair Access referral"),
    ("ehcp", "Record an EHCP naming a school"),
    ("s437_notice", "Record a notice under section 437(1)"),
    ("sao", "Record a School Attendance Order"),
)


def _disclosure(summary, *children, key, open_=False) -> rx.Component:
    """content.disclosure, closed again after a save (its key follows the page's form_key),
    so the step just saved shows above instead of an empty form."""
    return rx.el.details(
        rx.el.summary(rx.el.span(summary, class_name="disclosure__summary-text"),
                      class_name="disclosure__summary"),
        rx.el.div(*children, class_name="disclosure__text"),
        class_name="disclosure",
        open=open_,
        key=key,
    )


def _new_form(kind: str, summary: str) -> rx.Component:
    p = f"sec-{kind}-"
    return _disclosure(
        summary,
        form(
            rx.el.input(type="hidden", name="kind", value=kind),
            *_FIELDS[kind](p, V),
            _notes(p, V),
            on_submit=S.record_securing, button="Save", key=f"securing-{kind}",
        ),
        key=S.form_key.to(str) + f"securing-open-{kind}",
    )


def _update_form(step: rx.Var) -> rx.Component:
    p = "upd-" + step.id.to(str) + "-"
    fields = rx.match(
        step.kind,
        *[(kind, rx.fragment(*build(p, step.form_values))) for kind, build in _FIELDS.items()],
        rx.fragment(),
    )
    return _disclosure(
        rx.cond(step.kind == "keyworker", "Record or change the keyworker", "Update this step"),
        rx.el.form(
            rx.el.input(type="hidden", name="kind", value=step.kind),
            rx.el.input(type="hidden", name="step_id", value=step.id.to(str)),
            rx.el.input(type="hidden", name="step_version", value=step.version.to(str)),
            fields,
            _notes(p, step.form_values),
            rx.el.div(rx.el.button("Save changes", type="submit", class_name="button"),
                      class_name="button-group button-group--tight"),
            key=S.form_key.to(str) + "securing-upd-" + step.id.to(str) + "-"
            + step.version.to(str),
            on_submit=S.update_securing,
            reset_on_submit=False,
            no_validate=True,
        ),
        open_=(step.kind == "keyworker") & (step.due_state != "done"),
        key=S.form_key.to(str) + "securing-open-" + step.id.to(str),
    )


def _due(step: rx.Var) -> rx.Component:
    return rx.cond(
        step.due_label != "",
        rx.el.strong(step.due_label, class_name=rx.match(
            step.due_state,
            ("overdue", "tag tag--red"),
            ("today", "tag tag--yellow"),
            ("done", "tag tag--green"),
            "tag tag--grey",
        )),
    )


def _step(step: rx.Var, editable: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.h3(step.title, " ", _due(step)),
        content.summary_list(step.rows),
        rx.cond(editable, _update_form(step)),
        class_name="inset-text",
    )


def securing(c: rx.Var) -> rx.Component:
    s = c.securing
    return rx.cond(
        s.shown,
        content.section(
            "securing", "Securing education",
            rx.el.p("The child has been found living in the area without a school place. "
                    "Record each step towards suitable education; each is due by the team's "
                    "target."),
            rx.cond(s.reason_note != "", rx.el.div(
                rx.el.p(s.reason_note),
                rx.cond(s.editable & s.reason_by_hand, rx.el.button(
                    "Let the steps set the reason", type="button",
                    class_name="button button--secondary",
                    on_click=S.follow_securing_reason)),
                class_name="inset-text",
            )),
            rx.cond(
                s.steps.length() > 0,
                rx.el.ul(rx.foreach(s.steps, lambda step: _step(step, s.editable)),
                         class_name="list securing-steps"),
                rx.el.p("No steps recorded yet.", class_name="hint"),
            ),
            rx.cond(
                s.editable,
                rx.fragment(
                    rx.el.h3("Record a step"),
                    rx.cond(~s.has_keyworker, _new_form("keyworker", _NEW[0][1])),
                    *[_new_form(kind, summary) for kind, summary in _NEW[1:]],
                ),
                rx.el.p("The case has left Located – securing education, so these steps "
                        "can no longer be changed.", class_name="hint"),
            ),
        ),
    )
