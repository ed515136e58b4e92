"""Every other referral route (issue 16): health, the police, housing, children's social care,
another council service and a member of the public, logged by the team at /cases/new. Each
lands in New referral with its source on the board card and the case page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cme_app.dates import uk_today
from cme_app.errors import NotAllowed, ValidationFailed
from cme_app.models import AuditEvent, LaNotification, Referral
from cme_app.services.casework import board
from cme_app.services.casework import case_file as casework
from cme_app.services.intake import inbound

TODAY = uk_today()

CHILD = {
    "received_on": TODAY.isoformat(),
    "first_name": "Ruby",
    "last_name": "Partner",
    "date_of_birth": "2014-09-12",
    "sex": "female",
    "line1": "8 Health Row",
    "town": "Leeds",
    "postcode": "LS7 2AB",
    "summary": "Health visitor found the child at home in school hours.",
}
REFERRER = {
    "received_via": "secure_email",
    "referrer_name": "Hana Visitor",
    "referrer_organisation": "Leeds Community Healthcare",
    "referrer_job_title": "Health visitor",
    "referrer_phone": "0113 378 5000",
    "referrer_email": "hana.visitor@nhs.example",
}


def referral(source: str, **changes) -> dict:
    return {"source_type": source, **CHILD, **REFERRER, **changes}


def card_origin(session, team, reference: str) -> str:
    column = board.load_board(session, actor=team["lead"], today=TODAY)["new_referral"]
    return next(c.origin for c in column.cards if c.reference == reference)


@pytest.mark.parametrize(("source", "label"), [
    ("health", "Health"),
    ("police", "Police"),
    ("housing", "Housing"),
    ("social_care", "Children's social care"),
    ("internal", "Council service"),
])
def test_each_agency_route_lands_in_new_referral_with_its_source_on_the_card(
    session, team, source, label
):
    case = inbound.log_inbound(session, actor=team["officer"], form=referral(source))
    session.commit()
    assert case.stage == "new_referral"
    expected = f"{label} (Leeds Community Healthcare)"
    assert card_origin(session, team, case.reference) == expected
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert view.source_label == expected
    assert [(r.label, r.value) for r in view.referrer_rows] == [
        ("Name", "Hana Visitor"), ("Job title", "Health visitor"), ("Phone", "0113 378 5000"),
        ("Email", "hana.visitor@nhs.example"), ("How it came in", "Secure email"),
    ]
    assert view.la_notifications == []  # only another LA's notice is answered as one
    stored = session.get(Referral, case.referral_id)
    assert (stored.source_type, stored.source_name, stored.received_via) == (
        source, "Leeds Community Healthcare", "secure_email")
    logged = session.exec(select(AuditEvent).where(
        AuditEvent.action == "referral.inbound_logged", AuditEvent.entity_id == case.reference
    )).one()
    assert logged.detail == {"source": source, "via": "secure_email", "anonymous": False}


def test_a_member_of_the_public_is_shown_as_such_without_an_organisation(session, team):
    form = referral("public", received_via="phone", referrer_organisation="Ignored Ltd",
                    referrer_job_title="Ignored", referrer_email="")
    case = inbound.log_inbound(session, actor=team["lead"], form=form)
    session.commit()
    assert card_origin(session, team, case.reference) == "Member of the public"
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert view.source_label == "Member of the public"
    assert [(r.label, r.value) for r in view.referrer_rows] == [
        ("Name", "Hana Visitor"), ("Phone", "0113 378 5000"),
        ("How it came in", "Phone or helpline"),
    ]


def test_a_member_of_the_public_may_stay_anonymous_and_the_case_says_so(session, team):
    form = referral("public", received_via="phone", referrer_name="", referrer_phone="",
                    referrer_email="", referrer_anonymous="on")
    case = inbound.log_inbound(session, actor=team["admin"], form=form)
    session.commit()
    view = casework.view_case(session, actor=team["lead"], reference=case.reference)
    assert [(r.label, r.value) for r in view.referrer_rows] == [
        ("Name", "Withheld: anonymous referral"), ("How it came in", "Phone or helpline"),
    ]
    stored = session.get(Referral, case.referral_id)
    assert stored.referrer_name is None


def test_a_partner_must_be_named_and_reachable(session, team):
    form = referral("police", received_via="", referrer_name="", referrer_organisation="",
                    referrer_phone="", referrer_email="", referrer_anonymous="on")
    with pytest.raises(ValidationFailed) as err:
        inbound.log_inbound(session, actor=team["officer"], form=form)
    # An agency can't be anonymous: the tick only counts for a member of the public.
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("received_via", "Choose how the referral came in"),
        ("referrer_name", "Enter the referrer's name"),
        ("referrer_organisation", "Enter the organisation or service the referrer works for"),
        ("referrer_phone", "Enter a phone number or email address for the referrer"),
    ]
    session.rollback()


def test_referrer_details_are_checked_field_by_field(session, team):
    form = referral("housing", received_via="carrier_pigeon", referrer_phone="n/a",
                    referrer_email="not-an-email", referrer_name="x" * 121)
    with pytest.raises(ValidationFailed) as err:
        inbound.log_inbound(session, actor=team["officer"], form=form)
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("received_via", "Choose how the referral came in"),
        ("referrer_name", "Use 120 characters or fewer"),
        ("referrer_phone", "Enter a phone number, like 0113 378 5000"),
        ("referrer_email", "Enter an email address in the correct format, like name@example.org"),
    ]
    session.rollback()


def test_the_public_must_be_named_or_anonymous_not_both(session, team):
    with pytest.raises(ValidationFailed) as err:
        inbound.log_inbound(session, actor=team["officer"], form=referral(
            "public", referrer_name="", referrer_phone="", referrer_email=""))
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("referrer_name", "Enter the referrer's name, or tick that they want to stay anonymous"),
        ("referrer_phone", "Enter a phone number or email address for the referrer"),
    ]
    session.rollback()
    with pytest.raises(ValidationFailed) as err:
        inbound.log_inbound(session, actor=team["officer"], form=referral(
            "public", referrer_anonymous="on"))
    assert [e.field for e in err.value.errors] == ["referrer_name"]
    session.rollback()


def test_an_la_name_typed_before_choosing_a_partner_is_not_stored(session, team):
    """The page hides the LA's fields for other sources but still sends them."""
    form = referral("health", la_name="Wakefield", la_code="384")
    case = inbound.log_inbound(session, actor=team["officer"], form=form)
    session.commit()
    stored = session.get(Referral, case.referral_id)
    assert (stored.source_name, stored.source_la_code) == ("Leeds Community Healthcare", None)
    assert session.exec(select(LaNotification)).all() == []


@pytest.mark.parametrize("who", ["school", "auditor"])
def test_only_the_team_logs_a_partner_referral(session, team, who):
    with pytest.raises(NotAllowed):
        inbound.log_inbound(session, actor=team[who], form=referral("health"))
    session.rollback()
    assert session.exec(select(Referral)).all() == []
