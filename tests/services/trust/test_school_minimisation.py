"""The services behind a school's pages return nothing officer-side (BR-D6):
the fast, service-level half of tests/e2e/test_school_minimisation.py, on the same worked case
with a canary in every officer-side field."""

from __future__ import annotations

import pytest

from cme_app.errors import NotFound
from cme_app.services.intake.referral_view import list_for_school, view_referral
from cme_app.services.notify import notifications, preferences
from tests.e2e.test_school_minimisation import OFFICER_CANARIES, _work_the_case
from tests.factories import CANARY_FIRST, CANARY_UPN


def _leaked(text: str) -> list[str]:
    return [field for field, canary in OFFICER_CANARIES.items() if canary in text]


def test_school_services_return_no_officer_canary(session):
    world = _work_the_case(session)
    school_a, school_b, reference = world["school_a"], world["school_b"], world["reference"]
    view = view_referral(session, actor=school_a, reference=reference)
    listed = list_for_school(session, actor=school_a)
    inbox = notifications.inbox(session, actor=school_a, unread_only=False)
    prefs = preferences.preferences(session, actor=school_a)
    text = repr((view, listed, inbox, prefs))
    # What the school may see is there, so the search below is looking in the right place.
    assert CANARY_FIRST in view.child_name and view.upn == CANARY_UPN
    assert view.outcome.startswith("Child lives in another area")
    assert [row.reference for row in listed] == [reference]
    assert _leaked(text) == []

    with pytest.raises(NotFound):
        view_referral(session, actor=school_b, reference=reference)
    other = repr((
        list_for_school(session, actor=school_b),
        notifications.inbox(session, actor=school_b, unread_only=False),
    ))
    assert CANARY_FIRST not in other and _leaked(other) == []
