"""The phone visit pages' components: local JSX (assets/visits.jsx) over the IndexedDB outbox.

The visit data never passes through Reflex state: the JSX reads and writes the JSON API
(docs/visits-api.md) through window.cmeOutbox (assets/outbox.js), so it works with no signal.
"""

from __future__ import annotations

import reflex as rx

VISITS_JSX = rx.asset("visits.jsx")


class VisitList(rx.Component):
    """/visits: the outbox status, alerts, visits in progress and the officer's cases."""

    library = VISITS_JSX.importable_path
    tag = "VisitList"


class VisitForm(rx.Component):
    """/visits/new?case=REF: before you go, the visit record, end visit."""

    library = VISITS_JSX.importable_path
    tag = "VisitForm"


class OutboxLoginNotice(rx.Component):
    """On /login: how many visits on this phone still wait to be sent."""

    library = VISITS_JSX.importable_path
    tag = "OutboxLoginNotice"


visit_list = VisitList.create
visit_form = VisitForm.create
outbox_login_notice = OutboxLoginNotice.create
