"""/reports/dfe-return: the termly DfE return for a census day (leads; admin and the auditor
read it), laid out like DfE's tables. Every CME number opens the children behind it (audited).
A lead also sets census days, imports the EHE team's counts and keeps the DfE reason list
(dfe_return_settings.py). The state is dfe_return_state.py.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import status_line
from ...components.layout import page
from .dfe_return_settings import census_days, ehe_import, reason_list
from .dfe_return_state import DfeReturnState

S = DfeReturnState


def _count(figure_measure, category, count: rx.Var, hidden) -> rx.Component:
    """A number; above 0 it opens the children behind it. `hidden`: the rest of the button's
    name for screen readers (the number alone says nothing out of its table)."""
    return rx.cond(
        count > 0,
        rx.el.button(
            count.to(str),
            # A name of its own (hidden spans inside a button get spaces in the computed name).
            aria_label=count.to(str) + hidden,
            type="button",
            on_click=S.show_children(figure_measure, category),
            class_name="link-button link-button--body figure-link",
        ),
        rx.el.span(count.to(str)),
    )


def _figure_row(figure: rx.Var, *, links: bool) -> rx.Component:
    return rx.el.tr(
        rx.el.th(figure.category, scope="row"),
        rx.el.td(
            _count(figure.measure, figure.category, figure.count,
                   rx.cond(figure.count == 1, " child: ", " children: ") + figure.category)
            if links else figure.count.to(str),
            class_name="table__num",
        ),
        key=figure.category,
    )


def _figure_table(table: rx.Var, *, links: bool, heading: str) -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.caption(table.title, class_name="table__caption"),
            rx.el.thead(rx.el.tr(
                rx.el.th(heading, scope="col"),
                rx.el.th("Children", scope="col", class_name="table__num"),
            )),
            rx.el.tbody(rx.foreach(table.rows, lambda f: _figure_row(f, links=links))),
            class_name="table figure-table",
        ),
        class_name="table-wrap return-card",
        key=table.measure,
    )


def _headline(value: rx.Var, text: str, measure: str | None) -> rx.Component:
    number = _count(measure, "", value, ", show the children") if measure else rx.el.span(
        value.to(str))
    return rx.el.div(
        rx.el.span(number, class_name="stat__value"), " ",
        rx.el.span(text, class_name="stat__label"),
        class_name="stat",
    )


def _picker() -> rx.Component:
    return rx.el.div(
        rx.el.label("Census day shown", html_for="census-picker", class_name="label"),
        rx.el.select(
            rx.foreach(S.days, lambda d: rx.el.option(d.term + ", " + d.short, value=d.on)),
            id="census-picker",
            value=S.selected,
            on_change=S.choose_census,
            class_name="select",
        ),
        class_name="form-group",
    )


def _warning_item(w: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.el.button(w.message, type="button", on_click=S.show_warning(w.code),
                     class_name="link-button link-button--body warning-link"),
        key=w.code,
    )


def _warnings() -> rx.Component:
    return rx.cond(
        S.warnings.length() > 0,
        rx.el.div(
            rx.el.h2("Check these before you send the return", id="warnings-title",
                     class_name="error-summary__title"),
            rx.el.p("Each one links to the children it is about.", class_name="body-s"),
            rx.el.ul(rx.foreach(S.warnings, _warning_item), class_name="error-summary__list"),
            class_name="error-summary return-warnings",
            role="region",
            aria_labelledby="warnings-title",
        ),
    )


def _child_row(c: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(c.name, data_label="Child"),
        rx.el.td(c.date_of_birth, data_label="Date of birth"),
        rx.el.td(c.start, data_label="Episode start"),
        rx.el.td(c.reason, data_label="Primary reason"),
        rx.el.td(c.missing_for, data_label="Missing education for"),
        rx.el.td(
            rx.cond(c.case_reference != "",
                    rx.el.a(c.case_reference, href="/cases/" + c.case_reference), ""),
            data_label="Case",
        ),
        key=c.child_id,
    )


def _children_list() -> rx.Component:
    headers = ("Child", "Date of birth", "Episode start", "Primary reason",
               "Missing education for", "Case")
    return rx.cond(
        S.list_shown,
        rx.el.section(
            rx.el.h2(S.list_title, id="children-title", tab_index=-1),
            rx.el.p(S.list_rows.length().to(str),
                    rx.cond(S.list_rows.length() == 1, " child", " children"),
                    ", as at census day (",
                    S.selected_label, "). Viewing this list is recorded.", class_name="hint"),
            rx.cond(
                S.list_rows.length() > 0,
                rx.el.div(
                    rx.el.table(
                        rx.el.caption("Children behind the figure", class_name="visually-hidden"),
                        rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
                        rx.el.tbody(rx.foreach(S.list_rows, _child_row)),
                        class_name="table table--stack",
                    ),
                    class_name="table-wrap",
                ),
            ),
            rx.el.button("Close the list", type="button", on_click=S.close_list,
                         class_name="button button--secondary"),
            class_name="section children-list",
            aria_labelledby="children-title",
        ),
    )


def _downloads() -> rx.Component:
    return rx.el.div(
        rx.el.div(
            rx.el.button("Download the return (XLSX)", on_click=S.download_xlsx,
                         class_name="button", type="button"),
            rx.el.button("Download the counts (CSV)", on_click=S.download_csv,
                         class_name="button button--secondary", type="button"),
            class_name="button-group button-group--tight",
        ),
        rx.el.p("The spreadsheet has the CME and EHE counts, the children counted on census "
                "day and the warnings. It names children: store it securely. Downloads are "
                "recorded.", class_name="hint"),
        class_name="dash-export",
    )


def _cme_part() -> rx.Component:
    return rx.el.section(
        rx.el.h2("Children missing education (CME)", id="cme-title"),
        rx.el.div(
            _headline(S.on_day, "children missing education on census day", "on_census_day"),
            _headline(S.any_time, "at any time in the previous academic year, each child once",
                      "any_time_previous_year"),
            class_name="stats stats--two",
        ),
        rx.el.p("Select a number to see the children behind it.", class_name="hint"),
        rx.cond(S.left_out > 0, rx.el.p(
            S.left_out.to(str), " more children missing education live in another local "
            "authority's area: that authority counts them.", class_name="hint")),
        _children_list(),
        rx.el.div(
            rx.foreach(S.cme_tables, lambda t: _figure_table(t, links=True, heading="Group")),
            class_name="return-grid",
        ),
        aria_labelledby="cme-title",
        class_name="section",
    )


def _ehe_part() -> rx.Component:
    return rx.el.section(
        rx.el.h2("Elective home education (EHE)", id="ehe-title"),
        rx.cond(
            S.ehe_imported,
            rx.el.p("From the EHE team's counts, imported for this census day.",
                    class_name="hint"),
            rx.el.div(
                rx.el.span("!", class_name="warning-text__icon", aria_hidden="true"),
                rx.el.strong(
                    rx.el.span("Warning: ", class_name="visually-hidden"),
                    "No EHE counts have been imported for this census day: every EHE "
                    "figure is 0.", class_name="warning-text__text"),
                class_name="warning-text",
            ),
        ),
        rx.el.div(
            _headline(S.ehe_on_day, "electively home educated on census day", None),
            _headline(S.ehe_any_time, "at any time in the previous academic year", None),
            class_name="stats stats--two",
        ),
        rx.el.div(
            rx.foreach(S.ehe_tables, lambda t: _figure_table(t, links=False, heading="Group")),
            class_name="return-grid",
        ),
        rx.cond(S.may_manage, ehe_import()),
        aria_labelledby="ehe-title",
        class_name="section",
    )


def _no_days() -> rx.Component:
    return rx.el.p(
        rx.cond(S.may_manage, "No census day is set yet. Add this term's below.",
                "No census day is set yet. A team lead sets them."),
        class_name="lead",
    )


@rx.page(route=routes.DFE_RETURN, title="DfE return – Children Missing Education",
         on_load=S.load)
def dfe_return_page() -> rx.Component:
    return page(
        rx.el.h1("DfE return: children missing education"),
        forms.error_summary(S.error_list),
        status_line(S.problem, S.message, element_id=S.message_id),
        rx.cond(
            S.selected != "",
            rx.fragment(
                _picker(),
                rx.el.p("Figures as at ", S.selected_label, " (", S.selected_term, ").",
                        class_name="hint"),
                _warnings(),
                _downloads(),
                _cme_part(),
                _ehe_part(),
            ),
            rx.cond(S.loaded, _no_days()),
        ),
        rx.cond(S.may_manage, rx.fragment(census_days(), reason_list())),
        wide=True,
    )
