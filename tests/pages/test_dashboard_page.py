"""/dashboard's state: the CME figures reach the page from the service."""

from __future__ import annotations

from datetime import timedelta

from cme_app.dates import uk_today
from cme_app.models import CmeEpisode
from cme_app.pages.reporting.dashboard import DashboardState
from tests.factories import call_handler, make_case, session_token, state_for


def test_the_dashboard_shows_children_missing_education_by_reason(session, team):
    for first, reason in (("Asha", "Mental health"), ("Ben", "Mental health"),
                          ("Cara", "Other")):
        case = make_case(session, stage="enquiries", first_name=first)
        session.add(CmeEpisode(child_id=case.child_id, case_id=case.id,
                               start_date=uk_today() - timedelta(days=20),
                               start_basis="deleted_from_roll", primary_reason=reason))
    token = session_token(session, "lead@example.org")
    session.commit()
    state = state_for(DashboardState, token, path="/dashboard")
    call_handler(state, "load")
    assert state.loaded and (state.cme_now, state.cme_year) == (3, 3)
    assert state.cme_year_label.startswith(str(uk_today().year - (uk_today().month < 9)))
    assert [(b.label, b.count) for b in state.cme_by_reason] == [
        ("Mental health", 2), ("Other", 1)]
