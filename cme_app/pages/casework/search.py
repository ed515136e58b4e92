"""/search: find any case, open or closed, from one box (the header's, or this page's).

The state is shared with the header's box (cme_app/state/search.py). A result shows what a
board card shows and links to the case page, which asks for a purpose first when the case is
outside the officer's caseload.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import risk_tag
from ...components.layout import page
from ...state.search import FIELD_ID, HEADING_ID, SearchState

S = SearchState
HINT = ("A case reference, part of a name, a UPN, a date of birth (like 3/4/2015), "
        "a postcode or a school")


def _form() -> rx.Component:
    return rx.el.form(
        forms.text_field(FIELD_ID, "Search for a child", rx.Var.create({FIELD_ID: S.query}),
                         S.errors, hint=HINT, input_type="search", width="input--w20"),
        rx.el.button("Search", type="submit", class_name="button"),
        on_submit=S.search,
        key=S.query,
        role="search",
        aria_label="Search for a child",
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.a(r.reference, href="/cases/" + r.reference.to(str)),
                 data_label="Reference", class_name="nowrap"),
        rx.el.td(r.child_name, data_label="Name"),
        rx.el.td(r.age.to(str), data_label="Age"),
        rx.el.td(rx.cond(r.closed != "", r.closed, r.stage), data_label="Stage"),
        rx.el.td(risk_tag(r.risk, r.risk_label), data_label="Risk"),
        rx.el.td(r.school, data_label="School or source"),
        rx.el.td(r.officer, data_label="Officer"),
    )


def _results() -> rx.Component:
    headers = ["Reference", "Name", "Age", "Stage", "Risk", "School or source", "Officer"]
    count = S.results.length()
    return rx.el.div(
        rx.cond(
            S.searched,
            rx.cond(
                count > 0,
                rx.fragment(
                    rx.el.h2(rx.cond(S.more, "The first ", ""), count.to(str),
                             rx.cond(count == 1, " case found", " cases found"),
                             id=HEADING_ID, tab_index=-1),
                    rx.cond(S.more, rx.el.p("More cases match: add a word to find fewer.",
                                            class_name="hint")),
                    rx.el.div(
                        rx.el.table(
                            rx.el.caption("Cases found", class_name="visually-hidden"),
                            rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
                            rx.el.tbody(rx.foreach(S.results, _row)),
                            class_name="table table--stack",
                        ),
                        class_name="table-wrap",
                    ),
                ),
                rx.el.h2("No cases found", id=HEADING_ID, tab_index=-1),
            ),
        ),
        id="search-results",
    )


@rx.page(route=routes.SEARCH, title="Find a child – Children Missing Education", on_load=S.load)
def search_page() -> rx.Component:
    return page(
        forms.error_summary(S.error_list),
        rx.el.h1("Find a child"),
        rx.el.p("Open and closed cases. Opening a case outside your caseload asks why, as "
                "from the board. Searches are recorded, but not the words searched for.",
                class_name="hint"),
        _form(),
        _results(),
    )
