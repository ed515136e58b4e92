"""Finding a child from the header's box and on /search (services/casework/search.py).

The header's box and the page's form both call `search`. Away from /search it only keeps what
was typed (in a backend var: the words never go into the URL, the browser's history or a
server's request log) and goes to /search, whose on_load runs the search: one unit of work and
one audit event per search. On /search it searches at once. A single exact reference or UPN
match opens the case; the case page asks for a purpose before it shows a case outside the
officer's caseload, exactly as when it is opened from the board.
"""

from __future__ import annotations

from functools import partial

import reflex as rx

from .. import routes
from ..errors import ValidationFailed
from ..permissions import Capability
from ..services.casework.search import SearchAnswer, SearchResult, search_cases
from .auth import AuthState
from .handlers import PageFeedback, handler, page_load

FIELD_ID = "q"  # the /search page's box; the header's is "header-q"
HEADING_ID = "search-results-heading"  # "3 cases found": focus goes here after a search


class SearchState(PageFeedback, AuthState):
    query: str = ""
    results: list[SearchResult] = []
    more: bool = False
    searched: bool = False
    _pending: str = ""

    message_id = HEADING_ID

    def _reset_page(self) -> None:
        self._clear_feedback()
        self.query, self.results, self.more, self.searched = "", [], False, False

    def _show(self, answer: SearchAnswer):
        """The answer on the page, or the case itself for one exact reference or UPN."""
        self.results, self.more, self.searched = list(answer.results), answer.more, True
        if answer.open_reference:
            return rx.redirect(routes.case_url(answer.open_reference))
        return self._focus_message()

    def _work(self, text: str):
        """The search as a unit of work. No earlier results stay under a new query (or under
        its field errors, which the adapter shows)."""
        self.query = text
        if self.results or self.more or self.searched:
            self.results, self.more, self.searched = [], False, False
        return partial(search_cases, query=text)

    @rx.event
    @handler(Capability.CASE_VIEW, done=None, then=lambda self, answer: self._show(answer))
    def search(self, form_data: dict):
        text = str((form_data or {}).get("q") or "")[:200] if isinstance(form_data, dict) else ""
        if str(self.router.url.path or "").rstrip("/") != routes.SEARCH:
            self._pending = text
            return rx.redirect(routes.SEARCH)
        return self._work(text)

    @rx.event
    @page_load(Capability.CASE_VIEW)
    def load(self):
        text = self._pending or str(self.router.url.query_parameters.get("q", "") or "")[:200]
        self._pending = ""
        if not text:
            return None
        work = self._work(text)

        def run(session, *, actor):
            try:
                return self._show(work(session, actor=actor))
            except ValidationFailed as exc:  # a page load has no field-error mapping of its own
                return self._show_field_errors(exc.errors)

        return run
