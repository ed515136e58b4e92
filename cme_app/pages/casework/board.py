"""/board: the case board. Officers and leads move cases; admins and auditors only look.

Each column lives in its own state var, so a reload re-sends only the columns it changed. A
move's answer is the moved card alone (`last_move`, a BoardMove), which the board component
applies to its copy of the columns; no other card is re-read or re-sent.
`board_revision` goes up on every answer from the server, so the board component adopts the
server's columns even when a refused move changed none of them.

Live updates, without polling (issue 19): the board's load subscribes the tab to the change
bus (services/casework/board_events.py) and starts `listen`, a background event that waits
on it without touching the database. When a colleague's commit changes the board, or the next
moment the board changes by the clock alone comes (an officer's own visit running late, UK
midnight for the day counts), it reloads through `refresh_if_changed`'s guard and sends only
the columns that changed. It ends when the tab navigates away or disconnects (Reflex cancels
the page load's chain, which it belongs to), when the tab loads the board again (the new
subscription replaces it), and when the session has ended (the guard sends the tab to sign in).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from functools import partial
from urllib.parse import urlencode

import reflex as rx
from reflex_base.registry import RegistrationContext
from sqlalchemy.exc import SQLAlchemyError

from ... import routes
from ...components.alerts import alert_panel, review_list
from ...components.kanban import case_board
from ...components.layout import page
from ...dates import uk_midnight, uk_today
from ...db import session_scope
from ...domain import BOARD_STAGES, STAGE_LABELS, Stage, case_reference, is_case_reference
from ...errors import NotFound, ServiceError
from ...permissions import Actor, Capability, allows
from ...services.casework import board, board_events, lifecycle
from ...services.casework.board import BoardColumn, BoardFilters, BoardMove, Option
from ...state.alerts import alerts_for
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, handler, page_load

logger = logging.getLogger(__name__)
COLUMN_VARS: dict[str, str] = {
    Stage.NEW_REFERRAL: "col_new_referral",
    Stage.TRIAGE: "col_triage",
    Stage.ENQUIRIES: "col_enquiries",
    Stage.HOME_VISIT: "col_home_visit",
    Stage.AWAITING_VERIFICATION: "col_awaiting_verification",
    Stage.LOCATED: "col_located",
    Stage.CLOSED: "col_closed",
}
assert list(COLUMN_VARS) == list(BOARD_STAGES)


class BoardState(alerts_for(Capability.CASE_VIEW), PageFeedback, AuthState):
    col_new_referral: BoardColumn = BoardColumn.empty(Stage.NEW_REFERRAL)
    col_triage: BoardColumn = BoardColumn.empty(Stage.TRIAGE)
    col_enquiries: BoardColumn = BoardColumn.empty(Stage.ENQUIRIES)
    col_home_visit: BoardColumn = BoardColumn.empty(Stage.HOME_VISIT)
    col_awaiting_verification: BoardColumn = BoardColumn.empty(Stage.AWAITING_VERIFICATION)
    col_located: BoardColumn = BoardColumn.empty(Stage.LOCATED)
    col_closed: BoardColumn = BoardColumn.empty(Stage.CLOSED)
    board_revision: int = 0
    last_move: BoardMove = BoardMove()
    announcement: str = ""
    announcement_is_error: bool = False
    announcement_id: int = 0
    risk_filter: str = ""
    officer_filter: str = ""
    school_filter: str = ""
    officer_options: list[Option] = []
    school_options: list[Option] = []
    can_move: bool = False
    close_label: str = ""
    loaded: bool = False
    _limits: dict[str, int] = {}
    _pinned: list[str] = []
    _stamp: str = ""
    # When the board next changes by the clock alone (epoch seconds; see `_next_due`), and
    # whether the last `refresh_if_changed` got past its guard (the listener goes on if so).
    _due_at: float = 0.0
    _refreshed: bool = False
    # Columns as the browser shows them after move answers (BoardMove) patched its copy; the
    # column vars hold what was last sent whole.
    _shown: dict[str, BoardColumn] = {}

    _moving: str = ""  # the reference of the move under way, for its refusal message

    # ----- helpers (private: not callable from the browser) --------------------------------

    def _filters(self) -> BoardFilters:
        return BoardFilters(self.risk_filter, self.officer_filter, self.school_filter)

    def _set_filters(self, filters: BoardFilters) -> None:
        self.risk_filter, self.officer_filter, self.school_filter = (
            filters.risk, filters.officer, filters.school,
        )

    def _column(self, stage: str) -> BoardColumn:
        """The column as this tab's browser shows it."""
        return self._shown.get(stage) or self.get_value(COLUMN_VARS[stage])

    def _stage_showing(self, reference: str) -> str | None:
        for stage in BOARD_STAGES:
            if any(card.reference == reference for card in self._column(stage).cards):
                return stage
        return None

    def _apply(self, columns: dict[str, BoardColumn]) -> bool:
        """Assign only the columns that changed, so only they are sent to the browser."""
        changed = False
        for stage, column in columns.items():
            if self._column(stage) != column:
                setattr(self, COLUMN_VARS[stage], column)
                self._shown = {k: v for k, v in self._shown.items() if k != stage}
                changed = True
        return changed

    def _reload(self, session, actor: Actor, *, stages=None, reason: str) -> bool:
        columns = board.load_board(
            session,
            actor=actor,
            filters=self._filters(),
            limits=self._limits,
            stages=stages,
            pinned=self._pinned,
            reason=reason,
        )
        return self._apply(columns)

    def _announce(self, text: str, *, error: bool = False) -> None:
        self.announcement, self.announcement_is_error = text, error
        self.announcement_id += 1
        self.board_revision += 1

    def _url_script(self):
        query = urlencode(self._filters().query())
        url = routes.BOARD + (f"?{query}" if query else "")
        return rx.call_script(f"window.history.replaceState(window.history.state, '', "
                              f"{json.dumps(url)})")

    def _refilter(self, session, actor: Actor, filters: BoardFilters):
        options = board.FilterOptions(tuple(self.officer_options), tuple(self.school_options))
        self._set_filters(options.keep_known(filters))
        self._limits, self._pinned = {}, []
        self._stamp = board.board_stamp(session, actor=actor)
        self._reload(session, actor, reason="filter")
        self.announcement = ""
        self.board_revision += 1
        return self._url_script()

    # ----- how the adapter's answers show on the board: announced, not in a banner ----------

    def _show_problem(self, text: str):
        return self._announce(text, error=True)

    def _on_refusal(self, actor: Actor, exc: ServiceError):
        if isinstance(exc, lifecycle.StaleCase):
            with session_scope() as session:
                self._stamp = board.board_stamp(session, actor=actor)
                self._reload(session, actor, reason="stale")
            return self._announce(f"Your move was not made. {exc}", error=True)
        return self._announce(f"{self._moving} was not moved. {exc}", error=True)

    def _on_not_found(self, actor: Actor, exc: NotFound):
        return self._on_refusal(actor, exc)

    # ----- events ----------------------------------------------------------------------------

    @rx.event
    @page_load(Capability.CASE_VIEW)
    def load(self):
        for stage, var in COLUMN_VARS.items():
            setattr(self, var, BoardColumn.empty(stage))
        self.announcement, self.announcement_is_error, self.loaded = "", False, False
        self._limits, self._pinned, self._stamp, self._shown = {}, [], "", {}
        self.last_move = BoardMove()
        # Before the board is read, so a change committed meanwhile is heard, not missed.
        board_events.get_bus().subscribe(self._listen_key())
        return self._show

    def _show(self, session, actor: Actor):
        asked = board.parse_filters(dict(self.router.url.query_parameters))
        options = board.filter_options(session, actor=actor)
        self.officer_options, self.school_options = list(options.officers), list(options.schools)
        self._set_filters(options.keep_known(asked))
        self._stamp = board.board_stamp(session, actor=actor)
        self._reload(session, actor, reason="load")
        self._load_alerts(session, actor)
        self.can_move = allows(actor.role, Capability.CASE_MOVE)
        self.close_label = ("Close case…" if allows(actor.role, Capability.CASE_CLOSE)
                            else "Propose closure…")
        self.loaded = True
        self.board_revision += 1
        self._due_at = self._next_due(session, actor)
        given = dict(self.router.url.query_parameters.items())
        url = [self._url_script()] if given != self._filters().query() else []
        return [*url, BoardState.listen()]

    def _filtered(self, **changed: str):
        current = {"risk": self.risk_filter, "officer": self.officer_filter,
                   "school": self.school_filter}
        filters = board.parse_filters({**current, **changed})
        return partial(self._refilter, filters=filters)

    @rx.event
    @handler(Capability.CASE_VIEW, refresh=False)
    def set_risk_filter(self, value: str):
        return self._filtered(risk=value)

    @rx.event
    @handler(Capability.CASE_VIEW, refresh=False)
    def set_officer_filter(self, value: str):
        return self._filtered(officer=value)

    @rx.event
    @handler(Capability.CASE_VIEW, refresh=False)
    def set_school_filter(self, value: str):
        return self._filtered(school=value)

    @rx.event
    @handler(Capability.CASE_VIEW, refresh=False)
    def clear_filters(self):
        return partial(self._refilter, filters=BoardFilters())

    @rx.event
    @handler(Capability.CASE_VIEW, refresh=False)
    def show_more(self, stage: str):
        stage = str(stage or "")
        if stage not in COLUMN_VARS:
            return None
        shown = len(self._column(stage).cards)
        self._limits = {**self._limits,
                        stage: min(shown + board.CARD_LIMIT, board.MAX_CARD_LIMIT)}

        def more(session, actor):
            self._reload(session, actor, stages=[stage], reason="show_more")
            self.board_revision += 1

        return more

    @rx.event
    @handler(Capability.CASE_MOVE, refresh=False,
             refused="You can look at the board but not move cases.")
    def move(self, reference: str, to_stage: str, version: int):
        reference, to_stage = case_reference(reference), str(to_stage or "")[:30]
        if not is_case_reference(reference) or to_stage not in COLUMN_VARS:
            return self._announce("That move isn't possible.", error=True)
        if to_stage == Stage.CLOSED:
            # Closing needs an outcome and evidence, on the case page.
            self.board_revision += 1
            return rx.redirect(f"/cases/{reference}#close")
        if not isinstance(version, int) or isinstance(version, bool):
            version = -1
        self._moving = reference
        return partial(self._move, reference=reference, to_stage=to_stage, version=version)

    def _move(self, session, actor: Actor, *, reference: str, to_stage: str, version: int):
        from_stage = self._stage_showing(reference)
        case = lifecycle.move_case(session, actor=actor, reference=reference, to_stage=to_stage,
                                   version=version)
        self._pinned = [reference, *(r for r in self._pinned if r != reference)][
            : board.MAX_PINNED]
        card = board.moved_card(session, actor=actor, case_=case, filters=self._filters())
        if from_stage is None or card is None:
            # Not on this tab's board as it stands (rare): show the board as it now is.
            self._reload(session, actor, reason="move")
        else:
            # The answer carries the moved card alone (BoardMove): the board takes it out of
            # its old column and puts it in its new one in sort order, with both counts. No
            # other card is re-read or re-sent; `_shown` keeps this tab's columns as patched.
            source = board.without_card(self._column(from_stage), reference)
            target, index = board.with_moved_card(self._column(case.stage), card)
            self._shown = {**self._shown, from_stage: source, case.stage: target}
            self.last_move = BoardMove(
                seq=self.last_move.seq + 1, card=card, from_stage=from_stage,
                to_stage=case.stage, index=index, from_count=source.count,
                to_count=target.count,
            )
        return self._announce(f"{reference} moved to {STAGE_LABELS[to_stage]}.")

    # ----- live updates ------------------------------------------------------------------------

    def _listen_key(self) -> str:
        return self.router.session.client_token

    def _still_showing(self) -> bool:
        """The tab is still on the board, with its socket on this worker. (Reflex cancels the
        listener itself when the tab navigates or disconnects: this is the check that does not
        depend on it.)"""
        if self.router.url.path.rstrip("/") != routes.BOARD:
            return False
        try:
            namespace = RegistrationContext.get().app.event_namespace
        except (LookupError, AttributeError):  # no app running (the page tests)
            return True
        return namespace is None or self._listen_key() in namespace.token_to_sid

    def _next_due(self, session, actor: Actor) -> float:
        """The next moment the board changes with no write to hear about: the viewer's own
        visit running past its expected end (the alert panel), or UK midnight (school days in
        stage, due badges)."""
        midnight = uk_midnight(uk_today() + timedelta(days=1))
        moments = [midnight, self._alerts_due(session, actor)]
        return min(m for m in moments if m is not None).timestamp()

    @rx.event
    @handler(Capability.CASE_VIEW, touch=False, quiet=True, refresh=False)
    def refresh_if_changed(self):
        """The board's reload when `listen` hears a change (and the stale-move reload's
        cousin). Not the user's activity: doesn't keep an idle session alive. Its reloads
        write no `case.list` audit row: they repeat the view the load (or filter change, or
        "Show more") already recorded (services/casework/board.py says why)."""
        return self._refresh

    def _refresh(self, session, actor: Actor):
        self._refreshed = True
        self._refresh_alerts(session, actor)
        self._due_at = self._next_due(session, actor)
        stamp = board.board_stamp(session, actor=actor)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if self._reload(session, actor, reason="refresh"):
            self.board_revision += 1

    async def _refresh_step(self):
        """`refresh_if_changed` as the browser would call it (its database work in a worker
        thread, as every handler's): (its answer, whether its guard let it through)."""
        self._refreshed = False
        answer = await BoardState.event_handlers["refresh_if_changed"].fn(self)
        return answer, self._refreshed

    @rx.event(background=True)
    @handler(Capability.CASE_VIEW, touch=False, quiet=True, refresh=False)
    async def listen(self):
        """Wait for the board to change and reload it, until the tab goes (see the module
        docstring). While nothing changes it runs no query at all."""
        async with self:
            key = self._listen_key()
        bus = board_events.get_bus()
        sub = bus.subscription(key)
        if sub is None:  # this tab has not loaded the board (or its listening was replaced)
            return None
        try:
            while True:
                async with self:
                    due_at = self._due_at
                timeout = max(0.0, due_at - time.time()) if due_at else None
                if await sub.wait(timeout=timeout) in (board_events.REPLACED,
                                                       board_events.CLOSED):
                    return None
                async with self:
                    if not self._still_showing():
                        bus.drop(sub)
                        return None
                    try:
                        # Under the tab's lock, as any event; the database work in a thread.
                        answer, refreshed = await self._refresh_step()
                    except SQLAlchemyError:
                        # The database is unreachable for now: keep listening; the next
                        # change (or due moment) tries again.
                        logger.warning("Board refresh failed; still listening", exc_info=True)
                        continue
                if not refreshed:  # signed out, expired, or no longer allowed: stop
                    bus.drop(sub)
                    return answer
        except asyncio.CancelledError:
            bus.drop(sub)  # the tab navigated away or disconnected
            raise


# ----- page ------------------------------------------------------------------------------------


def _filter(field_id: str, label: str, value, options, any_label: str, on_change):
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="label"),
        rx.el.select(
            rx.el.option(any_label, value=""),
            options,
            id=field_id,
            value=value,
            on_change=on_change,
            class_name="select",
        ),
        class_name="board-filters__field",
    )


def _option(o: rx.Var) -> rx.Component:
    return rx.el.option(o.label, value=o.value)


def _filters() -> rx.Component:
    s = BoardState
    return rx.el.div(
        _filter(
            "risk", "Risk", s.risk_filter,
            rx.fragment(*(rx.el.option(label, value=value)
                          for value, label in board.RISK_FILTERS.items())),
            "Any risk", s.set_risk_filter,
        ),
        _filter("officer", "Officer", s.officer_filter, rx.foreach(s.officer_options, _option),
                "Any officer", s.set_officer_filter),
        _filter("school", "School", s.school_filter, rx.foreach(s.school_options, _option),
                "Any school", s.set_school_filter),
        rx.cond(
            (s.risk_filter != "") | (s.officer_filter != "") | (s.school_filter != ""),
            rx.el.button("Clear filters", type="button", on_click=s.clear_filters,
                         class_name="button button--secondary board-filters__clear"),
        ),
        role="group",
        aria_label="Filter cases",
        class_name="board-filters",
    )


def _live_region() -> rx.Component:
    s = BoardState
    return rx.el.div(
        rx.cond(
            s.announcement != "",
            rx.el.p(
                s.announcement,
                class_name=rx.cond(s.announcement_is_error,
                                   "board-message board-message--error", "board-message"),
                # A new node for every answer, so the same words twice are announced twice.
                key=s.announcement_id,
            ),
        ),
        id="board-announcement",
        aria_live="polite",
        role="status",
        class_name="board-live",
    )


@rx.page(route=routes.BOARD, title="Case board – Children Missing Education",
         on_load=BoardState.load)
def board_page() -> rx.Component:
    s = BoardState
    return page(
        # The title and the filters share a row on a wide screen: the height goes to the board.
        rx.el.div(rx.el.h1("Case board"), _filters(), class_name="board-top"),
        alert_panel(s),
        review_list(s),
        rx.cond(
            s.loaded & ~s.can_move,
            rx.el.p("You can look at the board. Only CME officers and team leads move cases.",
                    class_name="hint"),
        ),
        _live_region(),
        case_board(
            columns=rx.Var.create([getattr(s, var) for var in COLUMN_VARS.values()]),
            revision=s.board_revision,
            moved=s.last_move,
            notice=s.announcement,
            notice_error=s.announcement_is_error,
            notice_id=s.announcement_id,
            can_move=s.can_move,
            close_label=s.close_label,
            labels={str(k): v for k, v in STAGE_LABELS.items() if k in COLUMN_VARS},
            on_move=s.move,
            on_show_more=s.show_more,
            on_reload=s.load,
        ),
        wide=True,
    )
