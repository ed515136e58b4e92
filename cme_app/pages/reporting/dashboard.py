"""/dashboard: the team lead's overview (charts, each with its data as a table) and the export."""

from __future__ import annotations

from datetime import date

import reflex as rx

from ... import routes
from ...components.alerts import alert_panel, review_list
from ...components.layout import page
from ...components.poll import every
from ...dates import uk_today
from ...permissions import Capability
from ...services.reporting import reports
from ...services.reporting.reports import Bar, MonthOutcomes
from ...state.alerts import alerts_for
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, handler, page_load

# GOV.UK palette. Colour is never the only cue: every bar is named on its axis or legend.
RISK_COLOURS = {"red": "#d4351c", "amber": "#f47738", "green": "#00703c", "none": "#b1b4b6"}
BAR_COLOUR = "#1d70b8"
ALERT_POLL_MS = 10_000  # lone-working alerts: the monitor itself looks every 30 s
TEXT = "#0b0c0c"
AXIS_TICK = {"fill": TEXT, "fontSize": 14}
LABEL_FONT = {"fontSize": 16, "fontWeight": 700}
# Recharts' keyboard layer makes the SVG focusable, but the SVG is hidden from assistive
# technology (the table carries the data), and focusable hidden content fails WCAG.
NO_KEYBOARD_LAYER = {"accessibilityLayer": False}


_EMPTY = reports.Dashboard(
    as_of="", open_total=0, by_stage=[], by_risk=[], overdue_total=0, overdue_by_officer=[],
    outcome_keys=[], outcome_labels=[], outcome_colours=[], months=[], closed_total=0,
    median_days=None, median_basis=0, median_skipped=0, cme_now=0, cme_year=0,
    cme_year_label="", cme_by_reason=[],
)


def _download(state: DashboardState, export: tuple[date, str]) -> rx.event.EventSpec:
    today, text = export
    # The byte-order mark makes Excel read names and the en dash as UTF-8.
    return rx.download(
        data="\ufeff" + text, filename=f"open-cases-{today.isoformat()}.csv",
        mime_type="text/csv",
    )


class DashboardState(alerts_for(Capability.DASHBOARD), PageFeedback, AuthState):
    loaded: bool = False
    as_of: str = ""
    open_total: int = 0
    overdue_total: int = 0
    closed_total: int = 0
    by_stage: list[Bar] = []
    by_risk: list[Bar] = []
    risk_chart: list[dict[str, str | int]] = []
    overdue_by_officer: list[Bar] = []
    outcome_series: list[dict[str, str]] = []
    outcome_labels: list[str] = []
    months: list[MonthOutcomes] = []
    month_chart: list[dict[str, str | int]] = []
    median_days: str = ""
    median_basis: int = 0
    median_skipped: int = 0
    cme_now: int = 0
    cme_year: int = 0
    cme_year_label: str = ""
    cme_by_reason: list[Bar] = []

    def _reset_page(self) -> None:
        self._show(_EMPTY)  # nothing from an earlier sign-in survives a refused load
        self.loaded = False

    def _open(self, session, actor) -> None:
        self._show(reports.dashboard(session, actor=actor, today=uk_today()))
        self._load_alerts(session, actor)
        self.loaded = True

    @rx.event
    @page_load(Capability.DASHBOARD)
    def load(self):
        return self._open

    @rx.event
    @handler(Capability.DASHBOARD, touch=False, quiet=True)
    def poll_alerts(self):
        # Not the user's activity: doesn't keep an unattended session alive.
        return self._refresh_alerts

    def _show(self, board: reports.Dashboard) -> None:
        self.as_of = board.as_of
        self.open_total, self.overdue_total = board.open_total, board.overdue_total
        self.closed_total = board.closed_total
        self.by_stage, self.by_risk = board.by_stage, board.by_risk
        self.risk_chart = [
            {"label": b.label, "count": b.count, "fill": RISK_COLOURS.get(b.key, BAR_COLOUR)}
            for b in board.by_risk
        ]
        self.overdue_by_officer = board.overdue_by_officer
        self.outcome_series = [
            {"key": k, "label": label, "colour": colour or BAR_COLOUR}
            for k, label, colour in zip(board.outcome_keys, board.outcome_labels,
                                        board.outcome_colours, strict=True)
        ]
        self.outcome_labels = board.outcome_labels
        self.months = board.months
        self.month_chart = [
            {"month": m.month, **dict(zip(board.outcome_keys, m.counts, strict=True))}
            for m in board.months
        ]
        self.median_days = _number(board.median_days)
        self.median_basis, self.median_skipped = board.median_basis, board.median_skipped
        self.cme_now, self.cme_year = board.cme_now, board.cme_year
        self.cme_year_label, self.cme_by_reason = board.cme_year_label, board.cme_by_reason

    @rx.event(background=True)
    @handler(Capability.DASHBOARD, then=_download)
    async def download_csv(self):
        # A background event: the export (every open case) holds neither this tab's state lock
        # nor the worker's event loop while it is built, so nobody's events wait behind it.
        today = uk_today()
        return lambda session, actor: (
            today, reports.open_cases_csv(session, actor=actor, today=today),
        )


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


# ---- building blocks ----------------------------------------------------------------------


def _data_table(caption: str, headings: tuple[str, str], rows, row_fn) -> rx.Component:
    """The chart's data as a table, folded away for sighted users but always in the page."""
    return rx.el.details(
        rx.el.summary("Show the data as a table", class_name="details__summary"),
        rx.el.table(
            rx.el.caption(caption, class_name="visually-hidden"),
            rx.el.thead(rx.el.tr(
                rx.el.th(headings[0], scope="col"),
                rx.el.th(headings[1], scope="col", class_name="table__num"),
            )),
            rx.el.tbody(rx.foreach(rows, row_fn)),
            class_name="table",
        ),
        class_name="details",
    )


def _bar_row(bar: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.th(bar.label, scope="row"),
        rx.el.td(bar.count.to(str), class_name="table__num"),
        key=bar.key,
    )


def _chart_box(chart: rx.Component, height: int) -> rx.Component:
    # Recharts draws an unlabeled SVG; the heading and the table carry the meaning.
    return rx.el.div(chart, class_name="chart", style={"height": f"{height}px"},
                     aria_hidden="true")


def _horizontal_bars(bars: rx.Var, height, *, label_width: int) -> rx.Component:
    # The Bar dataclasses reach the browser as {key, label, count} objects.
    data = bars.to(list[dict[str, str | int]])
    return _chart_box(
        rx.recharts.bar_chart(
            # Scaled to the largest bar: the axis is hidden and each bar shows its number.
            rx.recharts.x_axis(type_="number", allow_decimals=False, hide=True,
                               domain=[0, "dataMax"]),
            rx.recharts.y_axis(
                data_key="label", type_="category", width=label_width, tick=AXIS_TICK,
                interval=0, tick_line=False,
            ),
            rx.recharts.bar(
                rx.recharts.label_list(data_key="count", position="right", fill=TEXT,
                                       custom_attrs=LABEL_FONT),
                # A stub for zero, so its "0" label is drawn rather than nothing at all.
                data_key="count", fill=BAR_COLOUR, min_point_size=2, is_animation_active=False,
            ),
            data=data,
            layout="vertical",
            margin={"top": 0, "right": 36, "bottom": 0, "left": 0},
            bar_category_gap="25%",
            custom_attrs=NO_KEYBOARD_LAYER,
        ),
        height,
    )


# ---- sections -----------------------------------------------------------------------------


def _summary() -> rx.Component:
    s = DashboardState

    def figure(value, text: str) -> rx.Component:
        return rx.el.div(
            rx.el.span(value, class_name="stat__value"),
            " ",
            rx.el.span(text, class_name="stat__label"),
            class_name="stat",
        )

    return rx.el.div(
        figure(s.open_total.to(str), "open cases"),
        figure(s.overdue_total.to(str), "overdue open cases"),
        figure(s.closed_total.to(str), "closed in the last 12 months"),
        class_name="stats",
    )


def _cme() -> rx.Component:
    """Children missing education, from their CME episodes (as the DfE return counts them)."""
    s = DashboardState

    def figure(value, *text) -> rx.Component:
        return rx.el.div(
            rx.el.span(value, class_name="stat__value"),
            " ",
            rx.el.span(*text, class_name="stat__label"),
            class_name="stat",
        )

    return rx.el.section(
        rx.el.h2("Children missing education", id="cme"),
        rx.el.p("Children living in the LA with an open CME episode: on no school roll and "
                "not otherwise receiving a suitable education. Each child counts once.",
                class_name="hint"),
        rx.el.div(
            figure(s.cme_now.to(str), "missing education today"),
            figure(s.cme_year.to(str), "missing education at some time in ",
                   s.cme_year_label, " so far"),
            class_name="stats",
        ),
        rx.cond(
            s.cme_by_reason.length() > 0,
            rx.el.table(
                rx.el.caption("Children missing education today, by primary reason",
                              class_name="table__caption"),
                rx.el.thead(rx.el.tr(
                    rx.el.th("Primary reason", scope="col"),
                    rx.el.th("Children", scope="col", class_name="table__num"),
                )),
                rx.el.tbody(rx.foreach(s.cme_by_reason, _bar_row)),
                class_name="table",
            ),
            rx.cond(s.loaded, rx.el.p("No child is recorded as missing education today.")),
        ),
        aria_labelledby="cme",
        class_name="dash-card dash-card--wide",
    )


def _by_stage() -> rx.Component:
    s = DashboardState
    return rx.el.section(
        rx.el.h2("Open cases by stage", id="by-stage"),
        _horizontal_bars(s.by_stage, 300, label_width=130),
        _data_table("Open cases by stage", ("Stage", "Open cases"), s.by_stage, _bar_row),
        aria_labelledby="by-stage",
        class_name="dash-card",
    )


def _by_risk() -> rx.Component:
    s = DashboardState
    return rx.el.section(
        rx.el.h2("Open cases by risk", id="by-risk"),
        _chart_box(
            rx.recharts.bar_chart(
                rx.recharts.x_axis(data_key="label", interval=0, tick=AXIS_TICK,
                                   tick_line=False),
                rx.recharts.y_axis(allow_decimals=False, width=32, tick=AXIS_TICK),
                rx.recharts.cartesian_grid(vertical=False, stroke="#dddddd"),
                rx.recharts.bar(
                    rx.recharts.label_list(data_key="count", position="top", fill=TEXT,
                                           custom_attrs=LABEL_FONT),
                    data_key="count", stroke=TEXT, stroke_width=1,
                    is_animation_active=False,
                ),
                data=s.risk_chart,
                margin={"top": 24, "right": 8, "bottom": 0, "left": 0},
                custom_attrs=NO_KEYBOARD_LAYER,
            ),
            260,
        ),
        _data_table("Open cases by risk", ("Risk", "Open cases"), s.by_risk, _bar_row),
        aria_labelledby="by-risk",
        class_name="dash-card",
    )


def _overdue() -> rx.Component:
    s = DashboardState
    return rx.el.section(
        rx.el.h2("Overdue cases by officer", id="overdue"),
        rx.el.p("Open cases past their triage, first visit or LA response target.",
                class_name="hint"),
        rx.cond(
            s.overdue_by_officer.length() > 0,
            rx.fragment(
                _horizontal_bars(s.overdue_by_officer, 60 + 44 * s.overdue_by_officer.length(),
                                 label_width=130),
                _data_table("Overdue cases by officer", ("Officer", "Overdue cases"),
                            s.overdue_by_officer, _bar_row),
            ),
            rx.cond(s.loaded, rx.el.p("No open case is past its target.")),
        ),
        aria_labelledby="overdue",
        class_name="dash-card",
    )


def _outcome_bar(series: rx.Var) -> rx.Component:
    return rx.recharts.bar(
        data_key=series["key"], name=series["label"], stack_id="outcomes",
        fill=series["colour"], is_animation_active=False,
    )


def _month_row(month: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.th(month.month, scope="row", data_label="Month"),
        rx.foreach(
            month.counts,
            lambda n, i: rx.el.td(n.to(str), data_label=DashboardState.outcome_labels[i],
                                  class_name="table__num"),
        ),
        rx.el.td(month.total.to(str), data_label="Total", class_name="table__num"),
        key=month.month,
    )


def _outcomes() -> rx.Component:
    s = DashboardState
    return rx.el.section(
        rx.el.h2("Closed cases by outcome", id="outcomes"),
        rx.el.p("Each month of the last 12, by the outcome recorded at closure.",
                class_name="hint"),
        rx.cond(
            s.closed_total > 0,
            rx.fragment(
                _chart_box(
                    rx.recharts.bar_chart(
                        rx.recharts.x_axis(data_key="month", tick=AXIS_TICK, tick_line=False,
                                           min_tick_gap=8),
                        rx.recharts.y_axis(allow_decimals=False, width=32, tick=AXIS_TICK),
                        rx.recharts.cartesian_grid(vertical=False, stroke="#dddddd"),
                        rx.recharts.legend(
                            vertical_align="bottom", icon_type="square",
                            style={"fontSize": 15, "color": TEXT, "paddingTop": 8},
                            # Keep the outcomes in the table's order, not alphabetical.
                            custom_attrs={"itemSorter": False},
                        ),
                        rx.foreach(s.outcome_series, _outcome_bar),
                        data=s.month_chart,
                        margin={"top": 8, "right": 8, "bottom": 0, "left": 0},
                        custom_attrs=NO_KEYBOARD_LAYER,
                    ),
                    360,
                ),
                rx.el.details(
                    rx.el.summary("Show the data as a table", class_name="details__summary"),
                    rx.el.div(
                        rx.el.table(
                            rx.el.caption("Closed cases by outcome and month",
                                          class_name="visually-hidden"),
                            rx.el.thead(rx.el.tr(
                                rx.el.th("Month", scope="col"),
                                rx.foreach(s.outcome_labels, lambda label: rx.el.th(
                                    label, scope="col", class_name="table__num")),
                                rx.el.th("Total", scope="col", class_name="table__num"),
                            )),
                            rx.el.tbody(rx.foreach(s.months, _month_row)),
                            class_name="table table--stack",
                        ),
                        class_name="table-wrap",
                    ),
                    class_name="details",
                ),
            ),
            rx.cond(s.loaded, rx.el.p("No case has been closed in the last 12 months.")),
        ),
        aria_labelledby="outcomes",
        class_name="dash-card dash-card--wide",
    )


def _median() -> rx.Component:
    s = DashboardState
    return rx.el.section(
        rx.el.h2("Time to locate a child", id="median"),
        rx.cond(
            s.median_basis > 0,
            rx.el.p(
                rx.el.span(s.median_days, class_name="big-number__value"),
                rx.el.span(" school days", class_name="big-number__unit"),
                rx.el.span(
                    "median from the start of the child's CME episode to their being "
                    "located, based on ",
                    s.median_basis.to(str),
                    rx.cond(s.median_basis == 1, " case", " cases"),
                    class_name="big-number__basis",
                ),
                class_name="big-number",
            ),
            rx.cond(s.loaded, rx.el.p("No child missing education has been located yet.")),
        ),
        rx.cond(
            s.median_skipped > 0,
            rx.el.p(
                s.median_skipped.to(str),
                rx.cond(s.median_skipped == 1, " case is", " cases are"),
                " left out because the school calendar has no term dates for when the "
                "episode began or the child was located.",
                class_name="hint",
            ),
        ),
        aria_labelledby="median",
        class_name="dash-card",
    )


@rx.page(route=routes.DASHBOARD, title="Dashboard – Children Missing Education",
         on_load=DashboardState.load)
def dashboard_page() -> rx.Component:
    s = DashboardState
    return page(
        rx.el.h1("Team dashboard"),
        alert_panel(s),
        review_list(s),
        every(ms=ALERT_POLL_MS, on_tick=s.poll_alerts),
        rx.cond(s.as_of != "", rx.el.p("Figures at ", s.as_of, class_name="hint")),
        _summary(),
        rx.el.div(
            rx.el.button("Download open cases (CSV)", on_click=s.download_csv,
                         class_name="button button--secondary", type="button"),
            rx.el.p("A spreadsheet of every open case with its stage, risk, officer and "
                    "target. It holds children's personal data: store it securely. The "
                    "download is recorded.", class_name="hint"),
            class_name="dash-export",
        ),
        rx.el.div(_cme(), _by_stage(), _by_risk(), _overdue(), _median(), _outcomes(),
                  class_name="dash-grid"),
    )
