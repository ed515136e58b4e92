"""The DfE return page's state (/reports/dfe-return; the page is pages/reporting/dfe_return.py).

The rules are in services/returns/dfe_return.py, ehe.py and dfe_export.py; the handlers here
only check who is asking (the adapter), pass the form's strings on and show the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import ClassVar

import reflex as rx

from ...components import forms
from ...dates import uk_today
from ...db import session_scope
from ...permissions import Actor, Capability
from ...services.returns import dfe_export, dfe_return, ehe, reasons
from ...services.returns.dfe_return import (
    MEASURE_LABELS,
    CensusDay,
    ChildRow,
    ReasonRow,
    Suggestion,
    WarningRow,
)
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load

VIEW, MANAGE = Capability.DFE_RETURN_VIEW, Capability.DFE_RETURN_MANAGE
CENSUS = "census-"  # the census-day form's field prefix
REASON = "reason-"  # the reason form's
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FOCUS_LIST = focus_script("children-title")
# Reads the chosen file in the browser and hands its text to import_ehe (a few KB; anything
# past the service's limit is cut here and refused there).
READ_EHE_FILE = (
    "(async () => { const f = document.getElementById('ehe_file');"
    " if (!f || !f.files || !f.files[0]) { return ''; }"
    f" return (await f.files[0].text()).slice(0, {ehe.MAX_CHARS + 1}); }})()"
)
BREAKDOWNS = ("by_sex", "by_year_group", "by_length", "by_reason")


@dataclass(frozen=True)
class Figure:
    measure: str
    category: str
    count: int


@dataclass(frozen=True)
class FigureTable:
    measure: str
    title: str
    rows: list[Figure]


def _tables(part: str, shape: dict, measures) -> list[FigureTable]:
    return [
        FigureTable(m, f"{part} {MEASURE_LABELS[m]}",
                    [Figure(m, c, n) for c, n in shape[m].items()])
        for m in measures if m in shape
    ]


def _download_csv(state, export: tuple[date, str]) -> rx.event.EventSpec:
    day, text = export
    return rx.download(data="\ufeff" + text, filename=f"dfe-return-{day.isoformat()}.csv",
                       mime_type="text/csv")


def _download_xlsx(state, export: tuple[date, bytes]) -> rx.event.EventSpec:
    day, data = export
    return rx.download(data=data, filename=f"dfe-return-{day.isoformat()}.xlsx",
                       mime_type=XLSX)


def _show_list(state: DfeReturnState, listed: dfe_return.ChildList):
    state.list_title, state.list_rows = listed.title, listed.rows
    state.list_links, state.list_shown = listed.case_links, True
    return rx.call_script(FOCUS_LIST)


class DfeReturnState(PageFeedback, AuthState):
    loaded: bool = False
    days: list[CensusDay] = []
    suggestions: list[Suggestion] = []
    selected: str = ""
    selected_label: str = ""
    selected_term: str = ""
    on_day: int = 0
    any_time: int = 0
    cme_tables: list[FigureTable] = []
    ehe_imported: bool = False
    ehe_on_day: int = 0
    ehe_any_time: int = 0
    ehe_tables: list[FigureTable] = []
    warnings: list[WarningRow] = []
    left_out: int = 0
    list_shown: bool = False
    list_title: str = ""
    list_rows: list[ChildRow] = []
    list_links: bool = False
    may_manage: bool = False
    reason_rows: list[ReasonRow] = []
    census_values: dict[str, str] = {}
    reason_values: dict[str, str] = {}

    message_id: ClassVar[str] = "return-message"
    refused_message: ClassVar[str] = "Only a team lead can change the DfE return's settings."

    # ----- loading ------------------------------------------------------------------------------

    def _clear_figures(self) -> None:
        self.selected, self.selected_label, self.selected_term = "", "", ""
        self.on_day, self.any_time, self.cme_tables, self.warnings = 0, 0, [], []
        self.ehe_imported, self.ehe_on_day, self.ehe_any_time, self.ehe_tables = False, 0, 0, []
        self.left_out = 0
        self._close_list()

    def _close_list(self) -> None:
        self.list_shown, self.list_title, self.list_rows, self.list_links = False, "", [], False

    def _reset_page(self) -> None:
        self._clear_figures()
        self.loaded, self.days, self.suggestions, self.reason_rows = False, [], [], []
        self.may_manage = False
        self._clear_feedback()

    def _choose(self, days: list[CensusDay], wanted: str | None) -> str:
        on = [d.on for d in days]
        for candidate in (wanted, self.selected):
            if candidate in on:
                return candidate
        found = dfe_return.default_census_day([date.fromisoformat(d) for d in on], uk_today())
        return found.isoformat() if found else ""

    def _open(self, session, *, actor: Actor, wanted: str | None = None) -> None:
        self.days = dfe_return.census_days(session, actor=actor)
        self.suggestions = dfe_return.open_suggestions(
            [date.fromisoformat(d.on) for d in self.days], uk_today())
        self.may_manage = dfe_return.may_manage(actor)
        self.reason_rows = dfe_return.reason_list(session, actor=actor) if self.may_manage else []
        chosen = self._choose(self.days, wanted)
        if chosen != self.selected:
            self._close_list()
        if not chosen:
            self._clear_figures()
        else:
            self._show(dfe_return.view_return(session, actor=actor, census=chosen))
        self.census_values, self.reason_values = {}, {}
        self.form_key += 1
        self.loaded = True

    def _show(self, view: dfe_return.ReturnView) -> None:
        self.selected, self.selected_label = view.census_date, view.label
        self.selected_term = view.term
        self.on_day, self.any_time = view.cme["on_census_day"], view.cme["any_time_previous_year"]
        self.cme_tables = _tables("CME", view.cme, BREAKDOWNS)
        self.ehe_imported = view.ehe["imported"]
        self.ehe_on_day = view.ehe["on_census_day"]
        self.ehe_any_time = view.ehe["any_time_previous_year"]
        self.ehe_tables = _tables("EHE", view.ehe, BREAKDOWNS)
        self.warnings, self.left_out = view.warnings, view.left_out_elsewhere

    def _reload(self, actor: Actor) -> None:
        with session_scope() as session:
            self._open(session, actor=actor)

    def _after_success(self, actor: Actor, result) -> None:
        self._reload(actor)

    def _after_refusal(self, actor: Actor, exc) -> None:
        self._reload(actor)

    def _on_not_found(self, actor: Actor, exc):
        return self._on_refusal(actor, exc)

    # ----- reading ------------------------------------------------------------------------------

    @rx.event
    @page_load(VIEW)
    def load(self):
        return self._open

    @rx.event
    @handler(VIEW)
    def choose_census(self, value: str):
        wanted = str(value or "")[:10]
        return partial(self._open, wanted=wanted)

    @rx.event
    @handler(VIEW, then=_show_list, invalid="That figure is not in the return.")
    def show_children(self, measure: str, category: str):
        return partial(dfe_return.children, census=self.selected, measure=str(measure or ""),
                       category=str(category or ""))

    @rx.event
    @handler(VIEW, then=_show_list)
    def show_warning(self, code: str):
        return partial(dfe_return.warning_children, census=self.selected, code=str(code or ""))

    @rx.event
    @handler(VIEW)
    def close_list(self):
        self._close_list()

    @rx.event(background=True)
    @handler(VIEW, then=_download_csv)
    async def download_csv(self):
        return partial(dfe_export.counts_csv, census=self.selected)

    @rx.event(background=True)
    @handler(VIEW, then=_download_xlsx)
    async def download_xlsx(self):
        return partial(dfe_export.return_xlsx, census=self.selected)

    @rx.event
    @handler(VIEW)
    def download_ehe_template(self):
        return rx.download(data=ehe.template(), filename="ehe-counts-template.csv",
                           mime_type="text/csv")

    # ----- managing -----------------------------------------------------------------------------

    @rx.event
    @handler(MANAGE, prefix=CENSUS,
             done=lambda row: f"{dfe_return.day_label(row.census_date)} set as the "
                              f"{row.term} census day.")
    def add_census_day(self, form_data: dict):
        data = forms.prefixed_fields(form_data, CENSUS)
        self.census_values = {CENSUS + k: v for k, v in data.items()}
        return partial(dfe_return.add_census_day, on=data.get("on", ""),
                       term=data.get("term", ""))

    @rx.event
    @handler(MANAGE, prefix=CENSUS,
             done=lambda row: f"{dfe_return.day_label(row.census_date)} set as the "
                              f"{row.term} census day.")
    def add_suggested(self, on: str, term: str):
        return partial(dfe_return.add_census_day, on=str(on or "")[:10],
                       term=str(term or "")[:40])

    @rx.event
    @handler(MANAGE, done=lambda row: f"The {row.term} census day was removed.")
    def remove_census_day(self, census_id: int):
        if isinstance(census_id, bool) or not isinstance(census_id, int):
            return None
        return partial(dfe_return.remove_census_day, census_id=census_id)

    @rx.event
    @handler(MANAGE, done=lambda n: f"EHE counts imported: {n} figures.")
    def import_ehe(self, text: str):
        content = text if isinstance(text, str) else ""
        return partial(dfe_return.import_ehe, census=self.selected,
                       text=content[: ehe.MAX_CHARS + 1])

    @rx.event
    @handler(MANAGE, prefix=REASON, done=lambda row: f"“{row.label}” added to the reasons.")
    def add_reason(self, form_data: dict):
        data = forms.prefixed_fields(form_data, REASON)
        self.reason_values = {REASON + k: v for k, v in data.items()}
        return partial(reasons.add_reason, label=data.get("label", ""))

    @rx.event
    @handler(MANAGE, done="Reason retired: officers can no longer choose it. Episodes that "
                          "have it keep it.")
    def retire_reason(self, label: str):
        return partial(reasons.retire_reason, label=str(label or "")[:120])
