"""/admin/calendar: term dates and non-teaching days for every school-day count (admin only).

The rules live in services/school_calendar/terms.py; handlers here check who is asking, pass
the form's strings on and show the answer. Removing asks first: the row to remove is kept
server-side, so the confirming click acts on exactly what was confirmed.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import status_line
from ...components.layout import page
from ...dates import uk_today
from ...db import session_scope
from ...permissions import Actor, Capability
from ...services.school_calendar import terms as term_admin
from ...services.school_calendar.terms import BankHolidayRow, DayRow, TermRow
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load

TERM = "term-"  # the add/change term form's field prefix
DAY = "day-"  # the non-teaching day form's
FOCUS_CONFIRM = focus_script("calendar-confirm", block="center")
FOCUS_TERM_FORM = focus_script("term-form-title")
MANAGE = Capability.CALENDAR_MANAGE


def _term_fields(form_data: dict) -> dict[str, str]:
    data = forms.prefixed_fields(form_data, TERM)
    return {name: data.get(name, "") for name in ("school_year", "name", "starts_on", "ends_on")}


def _shown(rows: list, row_id: object):
    """The row the page shows with this id, if any (a browser may send any id, or a bool)."""
    if isinstance(row_id, bool):
        return None
    return next((r for r in rows if r.id == row_id), None)


def _removed(result) -> str:
    # remove_term answers with the non-teaching days that went with the term (a list),
    # remove_non_teaching_day with the one day it removed.
    return "Term removed." if isinstance(result, list) else "Non-teaching day removed."


class AdminCalendarState(PageFeedback, AuthState):
    loaded: bool = False
    years: list[str] = []
    missing: list[str] = []
    selected: str = ""
    span: str = ""  # "1 September 2028 to 31 August 2029"
    school_days: int = 0
    terms: list[TermRow] = []
    days: list[DayRow] = []
    bank_holidays: list[BankHolidayRow] = []
    editing_name: str = ""  # the term being changed, or "" when adding
    term_values: dict[str, str] = {}
    confirm_kind: str = ""  # "term" | "day" while a removal waits for "Yes, remove"
    confirm_text: str = ""
    _editing_id: int = 0
    _confirm_id: int = 0

    message_id: ClassVar[str] = "calendar-message"
    refused_message: ClassVar[str] = "Only an administrator can change the school calendar."

    # ----- helpers ----------------------------------------------------------------------------

    def _reset_forms(self) -> None:
        self.editing_name, self._editing_id = "", 0
        self.confirm_kind, self.confirm_text, self._confirm_id = "", "", 0
        self.term_values = {f"{TERM}school_year": self.selected}
        self.form_key += 1

    def _show(self, session, actor: Actor, year: str | None = None) -> None:
        seen = term_admin.overview(session, actor=actor, today=uk_today())
        self.years, self.missing = seen.years, seen.missing
        wanted = year if year in seen.years else self.selected
        if wanted not in seen.years:
            # The first missing year is what needs doing; otherwise the current year.
            wanted = seen.missing[0] if seen.missing else seen.years[0]
        view = term_admin.school_year(session, actor=actor, label=wanted)
        self.selected = view.label
        self.span = f"{view.first_day} to {view.last_day}"
        self.school_days = view.school_days
        self.terms, self.days, self.bank_holidays = (
            view.terms, view.non_teaching_days, view.bank_holidays,
        )
        self.loaded = True

    def _open_year(self, session, *, actor: Actor, year: str | None = None) -> None:
        self._show(session, actor, year)
        self._reset_forms()

    def _reload(self, actor: Actor, year: str | None = None) -> None:
        with session_scope() as session:
            self._open_year(session, actor=actor, year=year)

    # ----- the adapter's hooks ----------------------------------------------------------------

    def _reset_page(self) -> None:
        self.loaded, self.years, self.missing, self.terms, self.days = False, [], [], [], []
        self.bank_holidays, self.selected = [], ""
        self._clear_feedback()

    def _after_success(self, actor: Actor, result) -> None:
        # Show the year of what was added or changed (a removal stays on the year shown).
        self._reload(actor, term_admin.school_year_of(result))

    def _after_refusal(self, actor: Actor, exc) -> None:
        self._reload(actor)

    def _on_not_found(self, actor: Actor, exc):
        # The term or day went since the page showed it: reload, and say so in the service's
        # words ("That term is no longer on the calendar.").
        return self._on_refusal(actor, exc)

    # ----- handlers ---------------------------------------------------------------------------

    @rx.event
    @page_load(MANAGE)
    def load(self):
        return self._open_year

    @rx.event
    @handler(MANAGE)
    def show_year(self, school_year: str):
        year = str(school_year or "")[:7]
        if year not in self.years:
            return None
        return partial(self._open_year, year=year)

    @rx.event
    @handler(MANAGE, prefix=TERM,
             done=lambda term: f"{term.name} added to {term.school_year}.")
    def add_term(self, form_data: dict):
        return partial(term_admin.add_term, **_term_fields(form_data))

    @rx.event
    @handler(MANAGE)
    def start_change(self, term_id: int):
        row = _shown(self.terms, term_id)
        if row is None:
            return None
        self._reset_forms()
        self.editing_name, self._editing_id = row.name, row.id
        self.term_values = {
            f"{TERM}school_year": row.school_year, f"{TERM}name": row.name,
            f"{TERM}starts_on": row.starts_on, f"{TERM}ends_on": row.ends_on,
        }
        return rx.call_script(FOCUS_TERM_FORM)

    @rx.event
    @handler(MANAGE, prefix=TERM, done=lambda term: f"{term.name} {term.school_year} saved.")
    def change_term(self, form_data: dict):
        if not self._editing_id:
            return None
        return partial(term_admin.change_term, term_id=self._editing_id,
                       **_term_fields(form_data))

    @rx.event
    @handler(MANAGE)
    def cancel(self):
        self._reset_forms()

    @rx.event
    @handler(MANAGE)
    def ask_remove_term(self, term_id: int):
        row = _shown(self.terms, term_id)
        if row is None:
            return None
        inside = [d for d in self.days if row.starts_on <= d.on <= row.ends_on]
        also = (f" Its {len(inside)} non-teaching day{'s' if len(inside) != 1 else ''} "
                f"{'are' if len(inside) != 1 else 'is'} removed too." if inside else "")
        self._reset_forms()
        self.confirm_kind, self._confirm_id = "term", row.id
        self.confirm_text = (f"Remove {row.name} ({row.first_day} to {row.last_day}) from "
                             f"{row.school_year}? Its {row.school_days} school days will no "
                             f"longer count.{also}")
        return rx.call_script(FOCUS_CONFIRM)

    @rx.event
    @handler(MANAGE)
    def ask_remove_day(self, day_id: int):
        row = _shown(self.days, day_id)
        if row is None:
            return None
        self._reset_forms()
        self.confirm_kind, self._confirm_id = "day", row.id
        self.confirm_text = (f"Remove the non-teaching day on {row.label} ({row.reason})? "
                             "It will count as a school day again.")
        return rx.call_script(FOCUS_CONFIRM)

    @rx.event
    @handler(MANAGE, done=_removed)
    def confirm_remove(self):
        """Remove exactly what the admin confirmed: the row kept server-side."""
        kind, target = self.confirm_kind, self._confirm_id
        if kind == "term" and target:
            return partial(term_admin.remove_term, term_id=target)
        if kind == "day" and target:
            return partial(term_admin.remove_non_teaching_day, day_id=target)
        return None

    @rx.event
    @handler(MANAGE, prefix=DAY, done=lambda row: (
        f"{term_admin.day_label(row.on)} added as a non-teaching day."))
    def add_day(self, form_data: dict):
        data = forms.prefixed_fields(form_data, DAY)
        return partial(term_admin.add_non_teaching_day, on=data.get("on", ""),
                       reason=data.get("reason", ""))


# ----- page ------------------------------------------------------------------------------------

S = AdminCalendarState
V = rx.Var.create({})


def _missing_banner() -> rx.Component:
    return rx.cond(
        S.missing.length() > 0,
        rx.el.div(
            rx.el.h2("Term dates missing", class_name="notification__title",
                     id="missing-title"),
            rx.el.div(
                rx.el.p(
                    rx.el.strong("There are no terms for ", S.missing.join(" and "), "."),
                    " School days in stage, school-day due dates and the 20-school-day rule "
                    "for untraceable children cannot be worked out for dates in a school "
                    "year without terms. Add its terms below.",
                ),
                class_name="notification__body",
            ),
            class_name="notification notification--warning",
            role="region",
            aria_labelledby="missing-title",
        ),
    )


def _messages() -> rx.Component:
    return rx.fragment(
        forms.error_summary(S.error_list),
        status_line(S.problem, S.message, element_id=S.message_id),
    )


def _year_button(year: rx.Var) -> rx.Component:
    on = S.selected == year
    return rx.el.button(
        year,
        rx.cond(S.missing.contains(year),
                rx.el.span(" (no terms)", class_name="visually-hidden")),
        type="button",
        on_click=S.show_year(year),
        aria_pressed=rx.cond(on, "true", "false"),
        class_name=rx.cond(on, "inbox-filter__button inbox-filter__button--on",
                           "inbox-filter__button"),
        key=year,
    )


def _year_picker() -> rx.Component:
    return rx.el.div(
        rx.el.span("Year shown", id="year-picker-label", class_name="inbox-filter__label"),
        rx.foreach(S.years, _year_button),
        role="group",
        aria_labelledby="year-picker-label",
        class_name="inbox-filter",
    )


def _row_button(text: str, what: rx.Var, on_click) -> rx.Component:
    return rx.el.button(
        text, rx.el.span(" ", what, class_name="visually-hidden"),
        type="button", on_click=on_click,
        class_name="link-button link-button--body calendar-action",
    )


def _term_row(t: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(t.name, data_label="Term"),
        rx.el.td(t.first_day, data_label="First day"),
        rx.el.td(t.last_day, data_label="Last day"),
        rx.el.td(t.school_days, data_label="School days", class_name="table__num"),
        rx.el.td(
            _row_button("Change", t.name, S.start_change(t.id)),
            _row_button("Remove", t.name, S.ask_remove_term(t.id)),
            data_label="Actions",
        ),
        key=t.id,
    )


def _day_row(d: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(d.label, data_label="Date"),
        rx.el.td(d.reason, data_label="Reason"),
        rx.el.td(_row_button("Remove", d.label, S.ask_remove_day(d.id)),
                 data_label="Actions"),
        key=d.id,
    )


def _holiday_row(h: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(h.label, data_label="Date"),
        rx.el.td(h.name, data_label="Bank holiday"),
        rx.el.td(rx.cond(h.in_term, "In a term", "Not in a term"), data_label="When"),
        key=h.on,
    )


def _header(text: str) -> rx.Component:
    if not text:  # the row's buttons: named for screen readers only
        return rx.el.th(rx.el.span("Actions", class_name="visually-hidden"), scope="col")
    return rx.el.th(text, scope="col", class_name="table__num" if text == "School days" else "")


def _table(caption, headers: list[str], rows: rx.Var, row, empty) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.el.div(
            rx.el.table(
                rx.el.caption(caption, class_name="table__caption"),
                rx.el.thead(rx.el.tr(*[_header(h) for h in headers])),
                rx.el.tbody(rx.foreach(rows, row)),
                class_name="table table--stack",
            ),
            class_name="table-wrap",
        ),
        rx.el.p(empty, class_name="hint"),
    )


def _confirm(kind: str) -> rx.Component:
    return rx.cond(
        S.confirm_kind == kind,
        rx.el.div(
            rx.el.h3("Are you sure?", class_name="notification__title", id="confirm-title"),
            rx.el.div(
                rx.el.p(S.confirm_text),
                rx.el.div(
                    rx.el.button("Yes, remove", type="button", on_click=S.confirm_remove,
                                 class_name="button button--warning"),
                    rx.el.button("No, keep it", type="button", on_click=S.cancel,
                                 class_name="button button--secondary"),
                    class_name="button-group button-group--tight",
                ),
                class_name="notification__body",
            ),
            id="calendar-confirm",
            class_name="notification notification--warning",
            role="region",
            aria_labelledby="confirm-title",
            tab_index=-1,
        ),
    )


def _term_form(title, on_submit, button: str, *, change: bool) -> rx.Component:
    values = S.term_values
    return rx.el.form(
        rx.el.h3(title, id="term-form-title", tab_index=-1),
        forms.text_field(f"{TERM}school_year", "School year", values, S.errors,
                         hint="Two years in a row, for example 2028-29", width="input--w10"),
        forms.text_field(f"{TERM}name", "Term name", values, S.errors,
                         hint="For example, Autumn 1"),
        rx.el.div(
            forms.date_field(f"{TERM}starts_on", "First day", values, S.errors),
            forms.date_field(f"{TERM}ends_on", "Last day", values, S.errors),
            class_name="grid-2",
        ),
        rx.el.div(
            rx.el.button(button, type="submit", class_name="button"),
            rx.el.button("Cancel", type="button", on_click=S.cancel,
                         class_name="button button--secondary") if change else rx.fragment(),
            class_name="button-group button-group--tight",
        ),
        key=S.form_key.to(str) + ("change" if change else "add"),
        on_submit=on_submit,
        reset_on_submit=False,
        no_validate=True,
        aria_labelledby="term-form-title",
        class_name="section",
    )


def _day_form() -> rx.Component:
    return rx.el.form(
        rx.el.h3("Add a non-teaching day", id="day-form-title"),
        rx.el.p("A day inside a term when no school teaches, such as an INSET day. It stops "
                "being a school day for every case.", class_name="hint"),
        forms.date_field(f"{DAY}on", "Date", V, S.errors),
        forms.text_field(f"{DAY}reason", "Reason", V, S.errors, hint="For example, INSET day"),
        rx.el.div(rx.el.button("Add non-teaching day", type="submit", class_name="button"),
                  class_name="button-group button-group--tight"),
        key=S.form_key.to(str) + "day",
        on_submit=S.add_day,
        reset_on_submit=False,
        no_validate=True,
        aria_labelledby="day-form-title",
        class_name="section",
    )


def _year() -> rx.Component:
    return rx.fragment(
        rx.el.h2(S.selected, " school year"),
        rx.el.p(S.span, ".",
                rx.cond(S.terms.length() > 0,
                        rx.fragment(" ", S.school_days.to(str), " school days in its terms.")),
                class_name="body-s"),
        rx.el.h3("Terms"),
        _table("Terms in " + S.selected, ["Term", "First day", "Last day", "School days", ""],
               S.terms, _term_row, "No terms for " + S.selected + " yet."),
        _confirm("term"),
        rx.cond(
            S.editing_name != "",
            _term_form("Change " + S.editing_name, S.change_term, "Save changes", change=True),
            _term_form("Add a term", S.add_term, "Add term", change=False),
        ),
        rx.el.h3("Non-teaching days"),
        _table("Non-teaching days in " + S.selected, ["Date", "Reason", ""], S.days, _day_row,
               "No non-teaching days listed for " + S.selected + "."),
        _confirm("day"),
        _day_form(),
        rx.el.h3("Bank holidays"),
        rx.el.p("England and Wales bank holidays are never school days. They come from the "
                "published list and cannot be changed here.", class_name="hint"),
        _table("Bank holidays in " + S.selected, ["Date", "Bank holiday", "When"],
               S.bank_holidays, _holiday_row, "No bank holidays."),
    )


@rx.page(route=routes.ADMIN_CALENDAR, title="School calendar – Children Missing Education",
         on_load=S.load)
def admin_calendar_page() -> rx.Component:
    return page(
        rx.el.h1("School calendar"),
        rx.el.p("Term dates and non-teaching days for Leeds schools. Every school-day count "
                "in the service comes from here."),
        _missing_banner(),
        _messages(),
        rx.cond(
            S.loaded,
            rx.fragment(
                rx.el.div(
                    rx.el.p(
                        "Changing a term or a non-teaching day changes the school-day counts "
                        "on open cases straight away (school days in stage and the 20 school "
                        "days before a child can be closed as untraceable), and the due dates "
                        "worked out from then on. Due dates already set are not changed."
                    ),
                    class_name="inset-text",
                ),
                _year_picker(),
                _year(),
            ),
            rx.el.p("Loading…"),
        ),
    )
