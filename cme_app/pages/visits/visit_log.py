"""/visits and /visits/new?case=REF: the officer's phone pages (issue 4).

Reflex only guards the pages and draws the shell; the visit itself lives in the browser's
outbox and goes to the JSON API, so the pages keep working with no signal.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components.layout import page
from ...components.visits import visit_form, visit_list
from ...permissions import Capability
from ...state.auth import AuthState
from ...state.handlers import page_load


class VisitsState(AuthState):
    @rx.event
    @page_load(Capability.VISIT_LOG)
    def load(self):
        return None


@rx.page(route=routes.VISITS, title="Visits – Children Missing Education",
         on_load=VisitsState.load)
def visits_page() -> rx.Component:
    return page(visit_list(), narrow=True)


@rx.page(route=routes.VISIT_NEW, title="Home visit – Children Missing Education",
         on_load=VisitsState.load)
def visit_new_page() -> rx.Component:
    return page(visit_form(), narrow=True)
