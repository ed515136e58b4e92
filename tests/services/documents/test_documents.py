"""Notices and letters as documents: each renders from the case's own facts to a tagged PDF,
is kept with its version and author, is downloaded only by those who may read it, and a
school hears of one sent to it without the child's details."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlmodel import select

from cme_app.domain import Outcome
from cme_app.errors import NotAllowed, NotFound, Refusal, ValidationFailed
from cme_app.models import (
    Address,
    CaseClosure,
    Document,
    EmailMessage,
    EnquiryAction,
    LaNotification,
    Notification,
    OverseasVerification,
    Person,
    Referral,
    School,
)
from cme_app.services.documents import documents
from cme_app.services.documents.kinds import KINDS
from tests.factories import audit_events, make_case

TODAY = date(2026, 12, 7)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _school_id(session, urn: str) -> int:
    return session.exec(select(School.id).where(School.urn == urn)).one()


def _household(session, case, *, line1: str, postcode: str, parent: str) -> None:
    session.add(Address(child_id=case.child_id, referral_id=case.referral_id,
                        kind="last_known", line1=line1, town="Leeds", postcode=postcode,
                        source="school"))
    session.add(Person(child_id=case.child_id, referral_id=case.referral_id,
                       kind="parent_carer", full_name=parent, relationship_to_child="Mother",
                       parental_responsibility=True))


def _referred(session, case, *, last_attended: date, ground: str | None) -> None:
    """The school's referral: ground H is a pupil not back after agreed leave that ended on
    the day they last attended; otherwise the ground I clock runs from that day."""
    referral = session.get(Referral, case.referral_id)
    referral.date_last_attended = last_attended
    referral.proposed_deletion_ground = ground
    if ground == "H":
        referral.category, referral.leave_ends_on = "not_returned_after_leave", last_attended
    else:
        referral.category, referral.leave_ends_on = "whereabouts_unknown", None
    session.add(referral)


def _closed(session, case, outcome: str, evidence: dict | None = None,
            notice: str | None = None) -> None:
    case.stage, case.outcome = "closed", outcome
    case.closed_at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    session.add(case)
    session.add(CaseClosure(case_id=case.id, episode=case.episode, outcome=outcome,
                            evidence=evidence or {}, status="closed",
                            closed_at=case.closed_at, school_notice=notice))


@pytest.fixture
def two(session, team):
    """School A's referral of Amira Hartley and school B's of Bartholomew Quist, each with a
    household, enquiries, a notification to another LA and evidence from abroad."""
    a = make_case(session, stage="enquiries", risk="amber", first_name="Amira",
                  last_name="Hartley", school_id=_school_id(session, "107999"),
                  officer_id=team["officer"].user_id)
    b = make_case(session, stage="enquiries", risk="amber", first_name="Bartholomew",
                  last_name="Quist", date_of_birth=date(2012, 7, 19),
                  school_id=_school_id(session, "108111"), officer_id=team["officer"].user_id)
    _household(session, a, line1="12 Harehills Lane", postcode="LS8 5AA", parent="Hana Hartley")
    _household(session, b, line1="9 Quarry Mount", postcode="LS6 2JH", parent="Quentin Quist")
    _referred(session, a, last_attended=date(2026, 10, 1), ground="H")
    _referred(session, b, last_attended=date(2026, 9, 14), ground="I")
    for case, la, country, org in ((a, "Wakefield", "Pakistan", "Lahore Grammar School"),
                                   (b, "Bradford", "Romania", "Scoala Gimnaziala 12")):
        session.add(LaNotification(case_id=case.id, direction="outbound", la_name=la,
                                   contact=f"{la} CME officer", question=f"Is the child in {la}?",
                                   sent_on=date(2026, 11, 2),
                                   response_due_on=date(2026, 11, 16)))
        session.add(OverseasVerification(case_id=case.id, country=country, organisation=org,
                                         evidence_type="letter", independent=True,
                                         received_on=date(2026, 11, 20)))
        session.add(EnquiryAction(case_id=case.id, kind="csws", done_on=date(2026, 11, 3),
                                  method="system", contacted="CSWS", result="no_trace",
                                  summary="No trace"))
    session.commit()
    return a, b


def _make(session, team, case, kind: str, on: str = "", who: str = "officer") -> Document:
    document = documents.generate(session, actor=team[who], reference=case.reference,
                                  kind=kind, on=on, today=TODAY)
    session.commit()
    return document


# What each document must say about case A (beyond its reference), and must never say of B.
EXPECTED = {
    "exhausted_notice": ("Amira Hartley", "ground H", "Not back after a leave of absence",
                         "1 October 2026", "Aire Valley Primary", "20 December 2026"),
    "la_notification": ("Amira Hartley", "Wakefield", "Is the child in Wakefield?",
                        "16 November 2026", "12 Harehills Lane"),
    "overseas_request": ("Amira Hartley", "Pakistan", "Lahore Grammar School",
                         "20 December 2026"),
    "calling_card": ("12 Harehills Lane", "LS8 5AA", "20 December 2026", "Olu Officer"),
    "last_address_letter": ("Hana Hartley", "Amira Hartley", "12 Harehills Lane",
                            "20 December 2026"),
    "s437_notice": ("Hana Hartley", "Amira Hartley", "2 March 2014", "section 437(1)",
                    "22 December 2026"),
}
OTHER_CASE = ("Bartholomew", "Quist", "Quarry Mount", "LS6 2JH", "Bradford", "Romania",
              "Kirkstall Hill", "19 July 2012")


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_document_holds_its_case_facts_and_none_of_another(session, team, two, kind):
    a, _b = two
    on = "2026-12-22" if kind == "s437_notice" else "2026-12-20"
    document = _make(session, team, a, kind, on=on)
    text = pdf_text(document.content)
    for expected in (a.reference, "Leeds City Council", "7 December 2026",
                     *EXPECTED[kind]):
        assert expected in text, f"{kind}: {expected!r} missing from {text[:400]}"
    for other in OTHER_CASE:
        assert other not in text, f"{kind} holds {other!r}, from another case"
    if kind != "calling_card":  # a card left at a door names no child and no officer's role
        assert "Olu Officer" in text and "CME officer" in text


@pytest.mark.parametrize(("outcome", "ground", "words"), [
    (Outcome.LEFT_UK_UNVERIFIED, "I", "20 school days' continuous unauthorised absence"),
    (Outcome.EHE, "F", "Home educated"),
    (Outcome.ONROLL_OTHER_LA, "A", "Registered at another school"),
])
def test_the_outcome_letter_names_the_ground_that_now_applies(session, team, two, outcome,
                                                              ground, words):
    a, _b = two
    _referred(session, a, last_attended=date(2026, 10, 1), ground=None)
    _closed(session, a, outcome)
    session.commit()
    text = pdf_text(_make(session, team, a, "outcome_letter").content)
    assert f"Ground {ground}" in text and words in text
    assert "Amira Hartley" in text and "Aire Valley Primary" in text
    assert "1 December 2026" in text  # the day the case closed
    assert "Quist" not in text


@pytest.mark.parametrize(("urn", "ground_a"), [("108111", True), ("107999", False)])
def test_on_roll_at_a_leeds_school_is_ground_a_only_at_another_school(session, team, two, urn,
                                                                      ground_a):
    """Found and on roll at another Leeds school: ground A. Readmitted by the school that
    referred them: that school keeps the pupil, so no ground applies."""
    a, _b = two
    _closed(session, a, Outcome.ONROLL_LEEDS, {"school_urn": urn, "start_date": "2026-12-01",
                                                "confirmed_by": "Admissions"})
    session.commit()
    text = pdf_text(_make(session, team, a, "outcome_letter").content)
    assert ("Ground A" in text) is ground_a
    assert ("on roll at your school again" in text) is not ground_a


def test_the_outcome_letter_for_an_attendance_matter_names_no_ground(session, team, two):
    a, _b = two
    _closed(session, a, Outcome.NOT_CME_ATTENDANCE)
    session.commit()
    text = pdf_text(_make(session, team, a, "outcome_letter").content)
    assert "No ground for deleting the pupil" in text
    assert "Ground " not in text


def test_an_untraceable_outcome_letter_carries_the_teams_notice(session, team, two):
    a, _b = two
    _closed(session, a, Outcome.UNTRACEABLE, {"off_roll_date": "2026-12-14"},
            notice="Agreed off-roll date: 14 December 2026.")
    session.commit()
    text = pdf_text(_make(session, team, a, "outcome_letter").content)
    assert "Ground H" in text  # the school proposed H; the enquiry ended on a joint ground
    assert "Agreed off-roll date: 14 December 2026." in text
    notice = pdf_text(_make(session, team, a, "exhausted_notice").content)
    assert "14 December 2026" in notice  # the agreed date from the closure


def test_the_outcome_letter_waits_for_the_closure(session, team, two):
    a, _b = two
    with pytest.raises(Refusal, match="once the case is closed"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="outcome_letter", today=TODAY)


def test_no_exhausted_notice_without_a_referring_school(session, team):
    inbound = make_case(session, stage="enquiries", source_type="other_la",
                        source_name="Wakefield")
    session.commit()
    with pytest.raises(Refusal, match="not referred by a school from its roll"):
        documents.generate(session, actor=team["officer"], reference=inbound.reference,
                           kind="exhausted_notice", today=TODAY)
    assert session.exec(select(Document)).all() == []


def test_no_exhausted_notice_for_a_pupil_the_school_already_removed(session, team, two):
    a, _b = two
    referral = session.get(Referral, a.referral_id)
    referral.on_roll_status = "deleted"
    session.add(referral)
    session.commit()
    with pytest.raises(Refusal, match="already removed the child from its roll"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="exhausted_notice", today=TODAY)


def test_the_agreed_off_roll_date_is_never_before_the_ground_is_met(session, team, two):
    """Ground I from a last day at school on 1 December: 20 school days are not complete
    until January, so an off-roll date in December is refused (no retrospective deletion)."""
    a, _b = two
    _referred(session, a, last_attended=date(2026, 12, 1), ground="I")
    session.commit()
    with pytest.raises(ValidationFailed, match="can't be before"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="exhausted_notice", on="2026-12-20", today=TODAY)
    with pytest.raises(ValidationFailed, match="can't be in the past"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="exhausted_notice", on="2026-12-06", today=TODAY)


def test_left_uk_unverified_beyond_reasonable_distance_names_ground_g(session, team, two):
    a, _b = two
    _closed(session, a, Outcome.LEFT_UK_UNVERIFIED, {"beyond_reasonable_distance": "yes"})
    session.commit()
    text = pdf_text(_make(session, team, a, "outcome_letter").content)
    assert "Ground G" in text and "Moved too far away to attend" in text


def test_the_pdf_is_tagged_in_british_english_with_a_title(session, team, two):
    a, _b = two
    content = _make(session, team, a, "s437_notice", on="2026-12-22").content
    reader = PdfReader(io.BytesIO(content))
    catalog = reader.trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"]) is True
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en-GB"
    assert bool(catalog["/ViewerPreferences"]["/DisplayDocTitle"]) is True
    assert reader.metadata.title == (
        f"Notice under section 437(1) of the Education Act 1996 – {a.reference}")


@pytest.mark.parametrize(("on", "message"), [
    ("", "Enter the date"),
    ("2026-12-21", "at least 15 days from today: 22 December 2026 or later"),
    ("21/12/2026", "must be a real date"),
])
def test_the_s437_notice_gives_the_parent_at_least_15_days(session, team, two, on, message):
    a, _b = two
    with pytest.raises(ValidationFailed, match=message):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="s437_notice", on=on, today=TODAY)


def test_a_reply_date_is_never_in_the_past_but_a_call_may_have_been(session, team, two):
    a, _b = two
    with pytest.raises(ValidationFailed, match="Contact us by must be today or later"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="last_address_letter", on="2026-12-06", today=TODAY)
    card = _make(session, team, a, "calling_card", on="2026-12-04")
    assert "4 December 2026" in pdf_text(card.content)


def test_a_second_generation_is_version_2_and_both_are_kept(session, team, two):
    a, _b = two
    first = _make(session, team, a, "calling_card", on="2026-12-07")
    second = _make(session, team, a, "calling_card", on="2026-12-08", who="lead")
    other_kind = _make(session, team, a, "last_address_letter")
    assert (first.version, second.version, other_kind.version) == (1, 2, 1)
    kept = session.exec(select(Document).where(Document.case_id == a.id)
                        .order_by(Document.id)).all()
    assert [(d.kind, d.version, d.author_name) for d in kept] == [
        ("calling_card", 1, "Olu Officer"), ("calling_card", 2, "Lee Lead"),
        ("last_address_letter", 1, "Olu Officer")]
    assert "7 December 2026" in pdf_text(kept[0].content)
    assert "8 December 2026" in pdf_text(kept[1].content)
    assert documents.fetch(session, actor=team["officer"], public_id=first.public_id).filename \
        == f"{a.reference}-calling-card-v1.pdf"
    listed = documents.list_for_case(session, actor=team["lead"], reference=a.reference)
    assert [(r.kind, r.version) for r in listed] == [
        ("last_address_letter", 1), ("calling_card", 2), ("calling_card", 1)]


def test_making_a_document_is_for_officers_and_leads_and_audited(session, team, two):
    a, _b = two
    for who in ("school", "admin", "auditor"):
        with pytest.raises(NotAllowed):
            documents.generate(session, actor=team[who], reference=a.reference,
                               kind="calling_card", today=TODAY)
    session.commit()
    assert len(audit_events(session, "document.created")) == 3  # each refusal, kept
    document = _make(session, team, a, "calling_card")
    made = audit_events(session, "document.created")[-1]
    assert (made.outcome, made.entity_id, made.child_id) == ("ok", a.reference, a.child_id)
    assert made.detail["sha256"] == document.sha256
    with pytest.raises(ValidationFailed, match="Choose the document"):
        documents.generate(session, actor=team["officer"], reference=a.reference,
                           kind="no_such_kind", today=TODAY)


def test_a_school_sees_only_documents_sent_to_it(session, team, two):
    a, b = two
    _closed(session, a, Outcome.LEFT_UK_UNVERIFIED)
    _closed(session, b, Outcome.LEFT_UK_UNVERIFIED)
    session.commit()
    to_a = _make(session, team, a, "outcome_letter")
    internal = _make(session, team, a, "last_address_letter")  # to the family, not the school
    to_b = _make(session, team, b, "outcome_letter")
    school_a, school_b = team["school"], team["school_b"]

    got = documents.fetch(session, actor=school_a, public_id=to_a.public_id)
    assert got.content == to_a.content
    for hidden in (internal, to_b):
        with pytest.raises(NotFound):
            documents.fetch(session, actor=school_a, public_id=hidden.public_id)
    with pytest.raises(NotFound):
        documents.fetch(session, actor=school_b, public_id=to_a.public_id)
    with pytest.raises(NotAllowed):
        documents.fetch(session, actor=team["auditor"], public_id=to_a.public_id)
    session.commit()

    assert [r.public_id for r in documents.sent_to_school(
        session, actor=school_a, reference=a.reference)] == [to_a.public_id]
    assert documents.sent_to_school(session, actor=school_a, reference=b.reference) == []
    assert documents.sent_to_school(session, actor=school_b, reference=a.reference) == []
    # Staff download anything on a case, and each download is a read of the child's record.
    documents.fetch(session, actor=team["admin"], public_id=internal.public_id)
    session.commit()
    reads = audit_events(session, "document.downloaded")
    assert [(e.actor_id, e.outcome, e.child_id) for e in reads] == [
        (school_a.user_id, "ok", a.child_id),
        (school_a.user_id, "not_found", None), (school_a.user_id, "not_found", None),
        (school_b.user_id, "not_found", None),
        (team["admin"].user_id, "ok", a.child_id),
    ]
    assert reads[0].entity_id == a.reference and reads[0].detail["document"] == to_a.public_id


def test_the_school_is_told_by_a_link_without_the_childs_details(session, team, two):
    a, _b = two
    _closed(session, a, Outcome.LEFT_UK_UNVERIFIED)
    session.commit()
    document = _make(session, team, a, "outcome_letter")
    _make(session, team, a, "calling_card")  # not for the school: no notification
    told = session.exec(select(Notification).where(Notification.event == "document_sent")).all()
    assert [n.recipient_id for n in told] == [team["school"].user_id]
    assert told[0].link == f"/referrals/{a.reference}#documents"
    emails = session.exec(select(EmailMessage)).all()
    assert emails
    for text in [told[0].subject, told[0].body, *(e.subject + e.body for e in emails)]:
        for detail in ("Amira", "Hartley", "Harehills", "2014", "Pakistan", "Hana"):
            assert detail not in text
    assert document.public_id not in told[0].link  # the letter stays behind sign-in


def test_a_stored_document_that_was_changed_is_refused(session, team, two):
    a, _b = two
    document = _make(session, team, a, "calling_card")
    document.content = document.content[:-8] + b"tampered"
    session.add(document)
    session.commit()
    with pytest.raises(Refusal, match="does not match"):
        documents.fetch(session, actor=team["officer"], public_id=document.public_id)


def test_every_kind_is_listed_for_staff_who_make_them(session, team, two):
    a, _b = two
    part = documents.case_part(session, actor=team["officer"], case=a)
    assert part.can_create and [k.code for k in part.kinds] == list(KINDS)
    admin = documents.case_part(session, actor=team["admin"], case=a)
    assert not admin.can_create and admin.kinds == ()
    assert documents.case_part(session, actor=team["auditor"], case=a).rows == ()


def test_what_the_case_says_is_printed_as_text_never_as_markup(session, team, two):
    """Autoescaping: a question typed with tags prints as those characters."""
    a, _b = two
    notice = session.exec(select(LaNotification).where(LaNotification.case_id == a.id)).one()
    notice.question = 'Is <b>Amira</b> with you? <img src="file:///etc/passwd"> & "why"'
    session.add(notice)
    session.commit()
    text = pdf_text(_make(session, team, a, "la_notification").content)
    assert 'Is <b>Amira</b> with you? <img src="file:///etc/passwd"> & "why"' in text


def test_the_letterhead_is_the_las_own_from_settings(session, team, two, monkeypatch):
    from cme_app.settings import get_settings

    a, _b = two
    monkeypatch.setenv("CME_LA_NAME", "Wakefield Council")
    monkeypatch.setenv("CME_LA_ADDRESS", "Town Hall|Wood Street|Wakefield|WF1 2HQ")
    monkeypatch.setenv("CME_LA_EMAIL", "cme@wakefield.example")
    monkeypatch.setenv("CME_LA_LOGO", "/nonexistent/logo.svg")  # no logo: the name instead
    get_settings.cache_clear()
    try:
        text = pdf_text(_make(session, team, a, "calling_card").content)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "Wakefield Council" in text and "Town Hall" in text and "WF1 2HQ" in text
    assert "cme@wakefield.example" in text and "Leeds City Council" not in text


def test_a_letter_reads_only_its_templates_and_the_logo():
    from cme_app.services.documents import render
    from cme_app.settings import PROJECT_ROOT

    assert render.may_fetch((render.TEMPLATES / "letter.css").as_uri())
    assert render.may_fetch((PROJECT_ROOT / "assets" / "la-logo.svg").as_uri())
    for url in ("file:///etc/passwd", (render.TEMPLATES / ".." / "render.py").as_uri(),
                "http://169.254.169.254/latest/meta-data", "https://example.org/logo.png",
                (PROJECT_ROOT / "cme.db").as_uri()):
        assert not render.may_fetch(url), url
    # A page asking for another file still renders, without it.
    page = ('<html lang="en-GB"><head><title>T</title></head><body><p>Kept</p>'
            '<img src="file:///etc/passwd" alt="x"></body></html>')
    assert "Kept" in pdf_text(render.pdf(page))
