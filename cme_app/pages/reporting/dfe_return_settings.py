"""The lead's part of the DfE return page: the EHE import, census days and the reason list."""

from __future__ import annotations

import reflex as rx

from ...components import forms
from .dfe_return_state import CENSUS, READ_EHE_FILE, REASON
from .dfe_return_state import DfeReturnState as S


def ehe_import() -> rx.Component:
    return rx.el.div(
        rx.el.h3("Import the EHE team's counts", id="ehe-import-title"),
        rx.el.p("A CSV file with the headings measure, category and count. The measures are "
                "on_census_day and any_time_previous_year (category left empty), by_sex "
                "(Female, Male, Unknown), by_year_group (Reception, Year 1 to Year 11, Unknown) "
                "and by_reason (one row per reason, in the EHE team's words). Each breakdown "
                "must add up to on_census_day. A new file replaces the census day's counts.",
                class_name="hint", id="ehe_file-hint"),
        rx.el.div(
            rx.el.label("EHE counts file (CSV)", html_for="ehe_file", class_name="label"),
            rx.cond(S.errors.contains("ehe_file"), rx.el.p(
                rx.el.span("Error: ", class_name="visually-hidden"), S.errors["ehe_file"],
                class_name="error-message", id="ehe_file-error")),
            rx.el.input(id="ehe_file", name="ehe_file", type="file", accept=".csv,text/csv",
                        aria_describedby="ehe_file-hint", class_name="file-input"),
            class_name=rx.cond(S.errors.contains("ehe_file"), "form-group form-group--error",
                               "form-group"),
            key=S.form_key.to(str) + "ehe",
        ),
        rx.el.div(
            rx.el.button("Import the EHE counts", type="button", class_name="button",
                         on_click=rx.call_script(READ_EHE_FILE, callback=S.import_ehe)),
            rx.el.button("Download a template", type="button", on_click=S.download_ehe_template,
                         class_name="button button--secondary"),
            class_name="button-group button-group--tight",
        ),
        class_name="section",
    )


def _day_row(d: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(d.term, data_label="Term"),
        rx.el.td(d.label, data_label="Census day"),
        rx.el.td(
            rx.el.button("Remove", rx.el.span(" the ", d.term, " census day",
                                              class_name="visually-hidden"),
                         type="button", on_click=S.remove_census_day(d.id),
                         class_name="link-button link-button--body"),
            data_label="Actions",
        ),
        key=d.id,
    )


def _suggestion(s: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.span(s.term, ": ", s.label, " "),
        rx.el.button("Add", aria_label="Add " + s.term + ", " + s.label, type="button",
                     on_click=S.add_suggested(s.on, s.term),
                     class_name="button button--secondary button--small"),
        key=s.on,
    )


def census_days() -> rx.Component:
    values = S.census_values
    return rx.el.section(
        rx.el.h2("Census days", id="census-days-title"),
        rx.el.p("DfE sets one census day a term, always a Thursday, and changes the dates each "
                "year. Check them against DfE's guide.", class_name="hint"),
        rx.cond(
            S.days.length() > 0,
            rx.el.div(
                rx.el.table(
                    rx.el.caption("Census days set", class_name="visually-hidden"),
                    rx.el.thead(rx.el.tr(
                        rx.el.th("Term", scope="col"), rx.el.th("Census day", scope="col"),
                        rx.el.th(rx.el.span("Actions", class_name="visually-hidden"),
                                 scope="col"),
                    )),
                    rx.el.tbody(rx.foreach(S.days, _day_row)),
                    class_name="table table--stack",
                ),
                class_name="table-wrap",
            ),
        ),
        rx.cond(
            S.suggestions.length() > 0,
            rx.el.div(
                rx.el.h3("DfE's usual census days this year"),
                rx.el.p("DfE usually picks the first Thursday in October, the third Thursday "
                        "in January and the third Thursday in May. Add each one once you have "
                        "checked it.", class_name="hint"),
                rx.el.ul(rx.foreach(S.suggestions, _suggestion), class_name="list suggestions"),
            ),
        ),
        rx.el.form(
            rx.el.h3("Add a census day", id="census-form-title"),
            rx.el.div(
                forms.date_field(f"{CENSUS}on", "Date", values, S.errors,
                                 hint="A Thursday"),
                forms.text_field(f"{CENSUS}term", "Term", values, S.errors,
                                 hint="For example, Spring 2027", width="input--w10"),
                class_name="grid-2",
            ),
            rx.el.button("Add the census day", type="submit", class_name="button"),
            key=S.form_key.to(str) + "census",
            on_submit=S.add_census_day,
            reset_on_submit=False,
            no_validate=True,
            aria_labelledby="census-form-title",
        ),
        aria_labelledby="census-days-title",
        class_name="section",
    )


def _reason_row(r: rx.Var) -> rx.Component:
    return rx.el.li(
        r.label,
        rx.cond(
            r.active,
            rx.el.button("Retire", rx.el.span(" ", r.label, class_name="visually-hidden"),
                         type="button", on_click=S.retire_reason(r.label),
                         class_name="link-button link-button--body reason-retire"),
            rx.el.span(" (retired)", class_name="hint"),
        ),
        key=r.label,
    )


def reason_list() -> rx.Component:
    return rx.el.section(
        rx.el.details(
            rx.el.summary("The DfE reason list", class_name="details__summary",
                          id="reasons-title"),
            rx.el.p("The primary reasons officers choose from. Add one DfE publishes; retire "
                    "one it drops (children who have it keep it; add it again to bring it back).",
                    class_name="hint"),
            rx.el.ul(rx.foreach(S.reason_rows, _reason_row), class_name="list reason-list"),
            rx.el.form(
                forms.text_field(f"{REASON}label", "New reason", S.reason_values, S.errors,
                                 hint="As DfE words it"),
                rx.el.button("Add the reason", type="submit", class_name="button"),
                key=S.form_key.to(str) + "reason",
                on_submit=S.add_reason,
                reset_on_submit=False,
                no_validate=True,
            ),
            class_name="details",
        ),
        class_name="section",
    )
