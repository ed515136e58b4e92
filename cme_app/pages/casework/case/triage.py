"""Triage and risk, and safeguarding contacts: the case page's first sections."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from ....domain import RISK_LABELS
from ....services.casework import pathway
from ....services.casework.records import SAFEGUARDING_KINDS
from ....services.forms import YES_NO
from .parts import V, form
from .state import CaseState as S


def _factor(f: rx.Var) -> rx.Component:
    fid = "factor-" + f.code
    return rx.el.div(
        rx.el.input(type="checkbox", id=fid, name=fid, default_checked=f.ticked),
        rx.el.label(f.label, html_for=fid),
        class_name="choice",
        key=f.code,
    )


def _risk_summary(c: rx.Var) -> rx.Component:
    row = content.summary_row
    return rx.el.dl(
        row("Risk", content.risk_tag(c.risk, c.risk_label)),
        row("Proposed from the factors", c.proposed_risk_label),
        row("Risk factors", rx.cond(
            c.risk_factor_labels.length() > 0,
            rx.el.ul(rx.foreach(c.risk_factor_labels, lambda f: rx.el.li(f)), class_name="list"),
            "None recorded",
        )),
        row("Rationale", rx.el.span(c.risk_rationale, class_name="pre-line")),
        row("Triage due", c.triage_due),
        row("First visit due", c.first_visit_due),
        row("Allocated officer", c.officer),
        class_name="summary-list",
    )


def _triage_form(c: rx.Var) -> rx.Component:
    return content.disclosure(
        "Triage: confirm the risk factors",
        form(
            rx.el.fieldset(
                rx.el.legend("Red factors", class_name="legend legend--s"),
                rx.el.p("Any one of these makes the case Red.", class_name="hint"),
                rx.el.div(rx.foreach(S.red_factors, _factor),
                          class_name="choices choices--columns"),
                class_name="fieldset",
                id="triage-factors",
            ),
            rx.el.fieldset(
                rx.el.legend("Amber factors", class_name="legend legend--s"),
                rx.el.div(rx.foreach(S.amber_factors, _factor),
                          class_name="choices choices--columns"),
                class_name="fieldset",
            ),
            rx.el.p("With no factor ticked the case is Green.", class_name="hint"),
            on_submit=S.save_triage,
            button="Save triage",
            key="t",
        ),
        open_=(c.stage == "triage") & (c.risk == ""),
    )


def _override_form() -> rx.Component:
    return content.disclosure(
        "Override the risk (team lead)",
        form(
            forms.radios("override-risk", "Risk", RISK_LABELS, V, S.errors),
            forms.textarea_field("override-reason", "Reason for the override", V, S.errors,
                                 rows=3, hint="Say why the factors don't give the right risk."),
            on_submit=S.override_risk,
            button="Override risk",
            style="secondary",
            key="o",
        ),
    )


def _allocate_form(c: rx.Var) -> rx.Component:
    return content.disclosure(
        "Allocate an officer (team lead)",
        form(
            rx.el.div(
                rx.el.label("Officer", html_for="allocate-officer_id", class_name="label"),
                forms._error(S.errors, "allocate-officer_id"),
                rx.el.select(
                    rx.el.option("Select an officer", value=""),
                    rx.foreach(c.officer_choices, lambda o: rx.el.option(o.label, value=o.value)),
                    id="allocate-officer_id",
                    name="allocate-officer_id",
                    default_value=c.officer_id,
                    class_name="select",
                ),
                class_name="form-group",
            ),
            on_submit=S.allocate,
            button="Allocate",
            style="secondary",
            key="a",
        ),
        open_=(c.stage == "triage") & (c.officer_id == ""),
    )


def risk(c: rx.Var) -> rx.Component:
    return content.section(
        "risk", "Triage and risk",
        _risk_summary(c),
        rx.cond(c.can.triage, _triage_form(c)),
        rx.cond(c.can.override, _override_form()),
        rx.cond(c.can.allocate, _allocate_form(c)),
        rx.el.h3("Risk history"),
        content.field_table(
            [("When", "when"), ("Risk", "risk"), ("What", "kind"), ("Factors", "factors"),
             ("Reason", "reason"), ("By", "by")],
            c.risk_history, empty="No risk decisions yet."),
    )


def _safeguarding_form(c: rx.Var) -> rx.Component:
    return content.disclosure(
        "Record CSC/MASH notification",
        form(
            forms.radios("sg-kind", "Type of contact", SAFEGUARDING_KINDS_LONG,
                         rx.Var.create({"sg-kind": "notification"}), S.errors, inline=False),
            forms.select_field("sg-agency", "Agency", pathway.SAFEGUARDING_AGENCIES, V,
                               S.errors),
            rx.el.div(
                forms.date_field("sg-contacted_on", "Date contacted", V, S.errors),
                forms.text_field("sg-contacted_time", "Time contacted", V, S.errors,
                                 input_type="time", width="input--w10"),
                class_name="grid-2",
            ),
            rx.el.div(
                forms.text_field("sg-contacted_by", "Contacted by", V, S.errors,
                                 hint="Who made the contact"),
                forms.text_field("sg-contact_reference", "Their reference", V, S.errors,
                                 hint="The CSC, MASH or Front Door reference"),
                class_name="grid-2",
            ),
            forms.textarea_field("sg-notes", "Notes (optional)", V, S.errors, rows=3),
            on_submit=S.record_safeguarding,
            button="Record notification",
            key="s",
        ),
        open_=(c.risk == "red") & (c.safeguarding.length() == 0),
    )


# The form explains each kind; the log shows the short word (SAFEGUARDING_KINDS).
SAFEGUARDING_KINDS_LONG = {
    "notification": "Notification (referral to CSC, MASH or Front Door)",
    "consultation": "Consultation (advice from CSC)",
}
assert set(SAFEGUARDING_KINDS_LONG) == set(SAFEGUARDING_KINDS)


def _police_form(c: rx.Var) -> rx.Component:
    values = rx.Var.create({
        "police-reported": rx.cond(c.police_report != "", "yes", ""),
        "police-reported_on": c.police_reported_on,
        "police-police_reference": c.police_reference,
    })
    return content.disclosure(
        "Record a report to the police",
        form(
            forms.radios("police-reported", "Has the child been reported missing to the police?",
                         YES_NO, values, S.errors),
            rx.el.div(
                forms.date_field("police-reported_on", "Date reported", values, S.errors,
                                 hint="Needed if the child was reported"),
                forms.text_field("police-police_reference", "Police reference (optional)",
                                 values, S.errors),
                class_name="grid-2",
            ),
            on_submit=S.save_police_report,
            button="Save report to the police",
            style="secondary",
            key="police",
        ),
    )


def safeguarding(c: rx.Var) -> rx.Component:
    return content.section(
        "safeguarding", "Safeguarding",
        rx.el.p("Record every notification to, or consultation with, children's social care, "
                "MASH or the Front Door. A Red case can't leave Triage without a notification.",
                class_name="hint"),
        content.field_table(
            [("Type", "kind"), ("Agency", "agency"), ("When", "when"), ("By", "by"),
             ("Reference", "reference"), ("Notes", "notes")],
            c.safeguarding, empty="No CSC, MASH or Front Door contact recorded."),
        rx.cond(c.can.record, _safeguarding_form(c)),
        rx.el.h3("Reported missing to the police"),
        rx.el.p(rx.cond(c.police_report != "", c.police_report, "Not reported.")),
        rx.cond(c.can.record, _police_form(c)),
    )
