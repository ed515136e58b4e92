"""/admin/calendar: term dates and non-teaching days for every school-day count (admin only).

The rules live in services/school_calendar/terms.py; handlers here check who is asking, pass
the form's strings on and show the answer. Removing asks first: the row to remove is kept
server-side, so the confirming click acts on exactly what was confirmed.
"""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...dates import LONDON
from ...db import session_scope
from ...domain import Role
from ...errors import FieldError, ServiceError, ValidationFailed
from ...permissions import Actor
from ...services.school_calendar import terms as term_admin
from ...services.school_calendar.school_days import academic_year_of
from ...services.school_calendar.terms import BankHolidayRow, DayRow, TermRow
from ...state.auth import AuthState

EDITORS = (Role.ADMIN,)
TERM = "term-"  # the add/change term form's field prefix
DAY = "day-"  # the non-teaching day form's
FOCUS_MESSAGE = (
    "window.setTimeout(() => { const m = document.getElementById('calendar-message');"
    " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
)
FOCUS_CONFIRM = (
    "window.setTimeout(() => { const m = document.getElementById('calendar-confirm');"
    " if (m) { m.focus(); m.scrollIntoView({block: 'center'}); } }, 50)"
)
FOCUS_TERM_FORM = (
    "window.setTimeout(() => { const m = document.getElementById('term-form-title');"
    " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
)


def _today():
    return datetime.now(LONDON).date()


class AdminCalendarState(AuthState):
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
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    message: str = ""
    problem: str = ""
    form_key: int = 0
    _editing_id: int = 0
    _confirm_id: int = 0

    # ----- helpers ----------------------------------------------------------------------------

    def _clear(self) -> None:
        self.errors, self.error_list, self.message, self.problem = {}, [], "", ""

    def _reset_forms(self) -> None:
        self.editing_name, self._editing_id = "", 0
        self.confirm_kind, self.confirm_text, self._confirm_id = "", "", 0
        self.term_values = {f"{TERM}school_year": self.selected}
        self.form_key += 1

    def _show(self, actor: Actor, year: str | None = None) -> None:
        with session_scope() as session:
            seen = term_admin.overview(session, actor=actor, today=_today())
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

    def _editor(self):
        """(actor, None) for an admin; otherwise (None, what to return)."""
        actor = self._actor()
        self._clear()
        if actor is None:
            return None, rx.redirect(routes.LOGIN)
        if actor.role not in EDITORS:
            self.problem = "Only an administrator can change the school calendar."
            return None, rx.call_script(FOCUS_MESSAGE)
        return actor, None

    def _show_errors(self, prefix: str, errors: list[FieldError]):
        self.error_list = [[prefix + e.field, e.message] for e in errors]
        self.errors = {f: m for f, m in reversed(self.error_list)}
        return rx.call_script(forms.FOCUS_ERROR_SUMMARY)

    def _done(self, actor: Actor, message: str, year: str | None = None):
        self.message = message
        self._show(actor, year)
        self._reset_forms()
        return rx.call_script(FOCUS_MESSAGE)

    def _refuse(self, actor: Actor, exc: ServiceError):
        self.problem = str(exc)
        self._show(actor)
        self._reset_forms()
        return rx.call_script(FOCUS_MESSAGE)

    # ----- handlers ---------------------------------------------------------------------------

    @rx.event
    def load(self):
        self.loaded, self.years, self.missing, self.terms, self.days = False, [], [], [], []
        self.bank_holidays, self.selected = [], ""
        self._clear()
        actor, redirect = self._page_guard(*EDITORS)
        if redirect:
            return redirect
        self._show(actor)
        self._reset_forms()
        return None

    @rx.event
    def show_year(self, school_year: str):
        actor, refused = self._editor()
        if refused:
            return refused
        year = str(school_year or "")[:7]
        if year not in self.years:
            return None
        self._show(actor, year)
        self._reset_forms()
        return None

    @rx.event
    def add_term(self, form_data: dict):
        actor, refused = self._editor()
        if refused:
            return refused
        data = forms.prefixed_fields(form_data, TERM)
        try:
            with session_scope() as session:
                term = term_admin.add_term(
                    session, actor=actor, school_year=data.get("school_year", ""),
                    name=data.get("name", ""), starts_on=data.get("starts_on", ""),
                    ends_on=data.get("ends_on", ""),
                )
                added = (term.name, term.school_year)
        except ValidationFailed as exc:
            return self._show_errors(TERM, exc.errors)
        except ServiceError as exc:
            return self._refuse(actor, exc)
        return self._done(actor, f"{added[0]} added to {added[1]}.", added[1])

    @rx.event
    def start_change(self, term_id: int):
        _actor, refused = self._editor()
        if refused:
            return refused
        row = next((t for t in self.terms if t.id == term_id), None)
        if row is None or isinstance(term_id, bool):
            return None
        self._reset_forms()
        self.editing_name, self._editing_id = row.name, row.id
        self.term_values = {
            f"{TERM}school_year": row.school_year, f"{TERM}name": row.name,
            f"{TERM}starts_on": row.starts_on, f"{TERM}ends_on": row.ends_on,
        }
        return rx.call_script(FOCUS_TERM_FORM)

    @rx.event
    def change_term(self, form_data: dict):
        actor, refused = self._editor()
        if refused:
            return refused
        if not self._editing_id:
            return None
        data = forms.prefixed_fields(form_data, TERM)
        try:
            with session_scope() as session:
                term = term_admin.change_term(
                    session, actor=actor, term_id=self._editing_id,
                    school_year=data.get("school_year", ""), name=data.get("name", ""),
                    starts_on=data.get("starts_on", ""), ends_on=data.get("ends_on", ""),
                )
                changed = (term.name, term.school_year)
        except ValidationFailed as exc:
            return self._show_errors(TERM, exc.errors)
        except ServiceError as exc:
            return self._refuse(actor, exc)
        return self._done(actor, f"{changed[0]} {changed[1]} saved.", changed[1])

    @rx.event
    def cancel(self):
        _actor, refused = self._editor()
        if refused:
            return refused
        self._reset_forms()
        return None

    @rx.event
    def ask_remove_term(self, term_id: int):
        _actor, refused = self._editor()
        if refused:
            return refused
        row = next((t for t in self.terms if t.id == term_id), None)
        if row is None or isinstance(term_id, bool):
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
    def ask_remove_day(self, day_id: int):
        _actor, refused = self._editor()
        if refused:
            return refused
        row = next((d for d in self.days if d.id == day_id), None)
        if row is None or isinstance(day_id, bool):
            return None
        self._reset_forms()
        self.confirm_kind, self._confirm_id = "day", row.id
        self.confirm_text = (f"Remove the non-teaching day on {row.label} ({row.reason})? "
                             "It will count as a school day again.")
        return rx.call_script(FOCUS_CONFIRM)

    @rx.event
    def confirm_remove(self):
        actor, refused = self._editor()
        if refused:
            return refused
        kind, target = self.confirm_kind, self._confirm_id
        if kind not in ("term", "day") or not target:
            return None
        try:
            with session_scope() as session:
                if kind == "term":
                    term_admin.remove_term(session, actor=actor, term_id=target)
                else:
                    term_admin.remove_non_teaching_day(session, actor=actor, day_id=target)
        except ServiceError as exc:
            return self._refuse(actor, exc)
        return self._done(actor, "Term removed." if kind == "term"
                          else "Non-teaching day removed.")

    @rx.event
    def add_day(self, form_data: dict):
        actor, refused = self._editor()
        if refused:
            return refused
        data = forms.prefixed_fields(form_data, DAY)
        try:
            with session_scope() as session:
                row = term_admin.add_non_teaching_day(
                    session, actor=actor, on=data.get("on", ""), reason=data.get("reason", ""),
                )
                added = term_admin.day_label(row.on)
                year = term_admin.school_year_label(academic_year_of(row.on))
        except ValidationFailed as exc:
            return self._show_errors(DAY, exc.errors)
        except ServiceError as exc:
            return self._refuse(actor, exc)
        return self._done(actor, f"{added} added as a non-teaching day.", year)


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
        rx.el.div(
            rx.cond(
                S.problem != "",
                rx.el.p(S.problem, class_name="board-message board-message--error"),
                rx.cond(S.message != "", rx.el.p(S.message, class_name="board-message")),
            ),
            id="calendar-message",
            role="status",
            tab_index=-1,
        ),
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
