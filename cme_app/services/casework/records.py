"""The records officers add to a case: safeguarding contacts, the enquiry pathway log, visits
logged at a desk, notifications to and from other LAs, overseas verification and household
links. Appends don't bump the case's version (they can't clash with a move)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from ...dates import LONDON, short_date
from ...domain import (
    INBOUND_REPLIES,
    AddressKind,
    LaDirection,
    Stage,
    case_reference,
)
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import (
    Address,
    AuditEvent,
    Case,
    CaseLink,
    Child,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    OverseasVerification,
    Person,
    Referral,
    SafeguardingContact,
    School,
    User,
    utcnow,
)
from ...numbers import digits
from ...permissions import Actor, Capability, allows, require
from ..forms import YES_NO, Form
from ..intake import referral_form as rf
from ..school_calendar.school_days import load_calendar
from ..trust import audit
from . import lifecycle, risk, targets
from .lifecycle import load_open_case
from .pathway import (
    ENQUIRY_KINDS,
    ENQUIRY_METHODS,
    ENQUIRY_RESULTS,
    SAFEGUARDING_AGENCIES,
    seen_and_outcome,
)


def _touched(session: Session, case: Case, actor: Actor) -> None:
    case.updated_at = utcnow()
    case.updated_by_id = actor.user_id
    session.add(case)
    session.flush()


def _recorded(
    session: Session, actor: Actor, case: Case, action: str, detail: dict, row: Any
) -> None:
    """An added (or answered) record: its id and codes go into the audit event."""
    _touched(session, case, actor)
    audit.case_event(
        session,
        actor=actor,
        case=case,
        action=action,
        detail={"id": row.id, **detail},
    )


def record_safeguarding(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> SafeguardingContact:
    """A CSC / MASH / Front Door notification or consultation (BR-L5, SC-05, SC-13)."""
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, "case.safeguarding_recorded")
    f = Form(form, date.today())
    kind = f.choice("kind", SAFEGUARDING_KINDS, "Choose notification or consultation")
    agency = f.choice("agency", SAFEGUARDING_AGENCIES, "Choose CSC, MASH or Front Door")
    on = f.day("contacted_on", "date of contact")
    at = str(f.data.get("contacted_time") or "").strip()
    try:
        clock = time.fromisoformat(at) if at else time(12, 0)
    except ValueError:
        f.errors.append(FieldError("contacted_time", "Enter the time like 14:30"))
        clock = time(12, 0)
    by = f.text("contacted_by", "Enter who made the contact", limit=120)
    ref = f.text("contact_reference", "Enter the reference CSC, MASH or Front Door gave", limit=60)
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    row = SafeguardingContact(
        case_id=case.id,
        kind=kind,
        agency=agency,
        contacted_at=datetime.combine(on, clock, tzinfo=LONDON),
        contacted_by=by,
        reference=ref,
        notes=notes or None,
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    detail = {"kind": kind, "agency": agency}
    _recorded(session, actor, case, "case.safeguarding_recorded", detail, row)
    return row


def _police(case: Case) -> dict[str, Any]:
    return {"reported": case.reported_missing_to_police,
            "reported_on": case.police_reported_on.isoformat()
            if case.police_reported_on else None,
            "police_reference": case.police_reference}


def record_police_report(session: Session, *, actor: Actor | None, reference: str, form: dict,
                         version: int) -> Case:
    """Whether the child was reported missing to the police, when, and the police's
    reference (shown in the case header; a closed untraceable case too)."""
    action = "case.police_report"
    actor = require(actor, Capability.CASE_RECORD)
    case = lifecycle.load_case(session, actor=actor, reference=reference, action=action)
    lifecycle.check_version(session, case, version)
    f = Form(form, date.today())
    reported = f.choice("reported", YES_NO,
                        "Select whether the child was reported missing to the police") == "yes"
    on = f.day("reported_on", "date the child was reported missing to the police",
               required=reported)
    police_ref = f.text("police_reference", "", required=False, limit=60)
    f.check()
    before = _police(case)
    case.reported_missing_to_police = reported
    case.police_reported_on = on if reported else None
    case.police_reference = (police_ref or None) if reported else None
    lifecycle.touch(case, actor)
    session.add(case)
    audit.case_event(session, actor=actor, case=case, action=action,
                     detail=audit.changes(before, _police(case)))
    session.flush()
    return case


def log_enquiry(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> EnquiryAction:
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, "case.enquiry_logged")
    f = Form(form, date.today())
    kind = f.choice("kind", ENQUIRY_KINDS, "Choose the type of enquiry")
    done_on = f.day("done_on", "date of the enquiry")
    method = f.choice("method", ENQUIRY_METHODS, "Choose how the enquiry was made")
    contacted = f.text("contacted", "Enter who was contacted")
    result = f.choice("result", ENQUIRY_RESULTS, "Choose the result")
    summary = f.text("summary", "Enter a summary of what was found", limit=4000)
    next_action = f.text("next_action", "", required=False, limit=1000)
    next_due = f.day("next_action_due", "next action due date", required=False, future=True)
    f.check()
    row = EnquiryAction(
        case_id=case.id,
        kind=kind,
        done_on=done_on,
        method=method,
        contacted=contacted,
        result=result,
        summary=summary,
        next_action=next_action or None,
        next_action_due=next_due,
        by_id=actor.user_id,
    )
    session.add(row)
    _recorded(session, actor, case, "case.enquiry_logged", {"kind": kind, "result": result}, row)
    return row


def record_visit(
    session: Session,
    *,
    actor: Actor | None,
    reference: str,
    form: dict,
    client_uuid: str | None = None,
) -> HomeVisit:
    """A home visit; the first one meets the first-visit target. Idempotent on client_uuid."""
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, "case.visit_recorded")
    if client_uuid:
        try:
            client_uuid = str(uuid.UUID(str(client_uuid)))
        except ValueError:
            raise ValidationFailed([FieldError("client_uuid", "Invalid visit id")]) from None
        existing = session.exec(
            select(HomeVisit).where(HomeVisit.client_uuid == client_uuid)
        ).first()
        if existing is not None:
            if existing.case_id != case.id:
                raise NotAllowed("That visit belongs to another case.")
            return existing
    f = Form(form, date.today())
    visited_on = f.day("visited_on", "date of the visit")
    address = f.text("address", "Enter the address visited", limit=400)
    outcome, child_seen, seen_alone = seen_and_outcome(f)
    notes = f.text("notes", "", required=False, limit=4000)
    f.check()
    row = HomeVisit(
        client_uuid=client_uuid or str(uuid.uuid4()),
        case_id=case.id,
        visited_on=visited_on,
        address=address,
        outcome=outcome,
        child_seen=child_seen,
        seen_alone=seen_alone,
        notes=notes or None,
        officer_id=actor.user_id,
    )
    session.add(row)
    _recorded(session, actor, case, "case.visit_recorded", {"outcome": outcome}, row)
    return row


def _shared_data(session: Session, case: Case) -> dict:
    """The data set an outbound LA notification carries (BR-L8), as sent."""
    child = session.get(Child, case.child_id)
    referral = session.get(Referral, case.referral_id)
    school = session.get(School, referral.school_id) if referral.school_id else None
    return {
        "child": {
            "names": [n for n in (child.first_name, child.middle_names, child.last_name) if n],
            "known_as": child.known_as,
            "date_of_birth": child.date_of_birth.isoformat(),
            "sex": child.sex,
            "upn": child.upn,
        },
        "last_school": {"name": school.name, "urn": school.urn} if school else None,
        "date_last_attended": referral.date_last_attended.isoformat()
        if referral.date_last_attended
        else None,
        "addresses": address_rows(session, child),
        "household": [
            [p.full_name, p.relationship_to_child, p.phone or "", p.school_name or ""]
            for p in session.exec(select(Person).where(Person.child_id == child.id)).all()
        ],
        "vulnerabilities": risk.factor_labels(case.risk_factors),
        "enquiries_made": [
            ENQUIRY_KINDS.get(k, k)
            for k in session.exec(
                select(EnquiryAction.kind).where(EnquiryAction.case_id == case.id)
            ).all()
        ],
    }


def send_la_notification(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> LaNotification:
    """Notify another LA's CME team (BR-L8, SC-10). The case then waits on their answer."""
    actor = require(actor, Capability.LA_NOTIFY)
    case = load_open_case(session, actor, reference, "case.la_notified")
    today = date.today()
    f = Form(form, today)
    la_name = f.text("la_name", "Enter the local authority's name", limit=120)
    la_code = f.text("la_code", "", required=False, limit=3)
    if la_code and not (digits(la_code) and len(la_code) == 3):
        f.errors.append(FieldError("la_code", "LA code must be 3 digits, like 380"))
    contact = f.text("contact", "Enter the contact officer or secure email")
    question = f.text("question", "Enter what you are asking the LA", limit=2000)
    f.check()
    row = LaNotification(
        case_id=case.id,
        direction=LaDirection.OUTBOUND,
        la_name=la_name,
        la_code=la_code or None,
        contact=contact,
        question=question,
        data_shared=_shared_data(session, case),
        sent_on=today,
        response_due_on=targets.la_response_due(today, load_calendar(session)),
        by_id=actor.user_id,
    )
    session.add(row)
    was = lifecycle.case_state(case)
    # An officer's notification moves an enquiring case on to waiting for the answer.
    enquiring = case.stage in (Stage.ENQUIRIES, Stage.HOME_VISIT)
    if enquiring and allows(actor.role, Capability.CASE_MOVE):
        lifecycle.enter_stage(
            session, case, Stage.AWAITING_VERIFICATION, actor, reason=f"Notified {la_name}"
        )
    detail = {"la": la_name, "shared": True, **audit.changes(was, lifecycle.case_state(case))}
    _recorded(session, actor, case, "case.la_notified", detail, row)
    session.flush()
    return row


def _refuse_overwrite(session: Session, case: Case, row: LaNotification, pairs, *,
                      action: str = "case.la_response_recorded",
                      what: str = "The reply from {la}") -> None:
    """A reply someone else already recorded is never silently replaced: two people recording
    the same reply from their open pages, the second is told and shown the latest."""
    if not any(new and old and new != old for new, old in pairs):
        return
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.entity_id == case.reference)
        .order_by(col(AuditEvent.id).desc())
    ).all()
    last = next((e for e in events if (e.detail or {}).get("notification") == row.id), None)
    who = session.get(User, last.actor_id) if last and last.actor_id else None
    at = last.at.astimezone(LONDON).strftime("%H:%M") if last else ""
    raise lifecycle.StaleCase(
        f"{what.format(la=row.la_name)} on {case.reference} was changed by "
        f"{who.name if who else 'someone else'} at {at}. You are now seeing the latest."
    )


def _notice(session: Session, case: Case, notification_id: object, direction: str
            ) -> LaNotification:
    """The case's notice the form names, going the way the action needs: we record the other
    LA's response to our notice, and our reply to theirs."""
    row = session.get(LaNotification, notification_id) if isinstance(notification_id, int) else None
    if row is None or row.case_id != case.id:
        raise ValidationFailed([FieldError("notification_id", "Choose a notification")])
    if row.direction != direction:
        raise NotAllowed(
            f"The notice from {row.la_name} is answered by us: record the reply we sent."
            if row.direction == LaDirection.INBOUND else
            f"The notice to {row.la_name} is answered by them: record their response."
        )
    return row


def _reply_state(row: LaNotification) -> dict[str, Any]:
    """What an answer changed, for the audit: dates as ISO text, the text only as a length."""
    return {
        "acknowledged_on": row.acknowledged_on and row.acknowledged_on.isoformat(),
        "response_on": row.response_on and row.response_on.isoformat(),
        "response_chars": len(row.response or ""),
        "reply_kind": row.reply_kind,
    }


def record_la_response(
    session: Session, *, actor: Actor | None, reference: str, notification_id: int, form: dict
) -> LaNotification:
    """The other LA's acknowledgement or response to the notice we sent them."""
    actor = require(actor, Capability.LA_NOTIFY)
    case = load_open_case(session, actor, reference, "case.la_response_recorded")
    row = _notice(session, case, notification_id, LaDirection.OUTBOUND)
    f = Form(form, date.today())
    ack = f.day("acknowledged_on", "date it was acknowledged", required=False)
    answered = f.day("response_on", "date of the response", required=False)
    response = f.text("response", "", required=False, limit=4000)
    if not (ack or answered or response):
        f.errors.append(FieldError("acknowledged_on", "Enter the acknowledgement or response"))
    if answered and not response:
        f.errors.append(FieldError("response", "Enter what the LA said"))
    if response and not answered:
        f.errors.append(FieldError("response_on", "Enter the date of the response"))
    f.check()
    _refuse_overwrite(
        session, case, row, ((ack, row.acknowledged_on), (answered, row.response_on),
                             (response, row.response))
    )
    was = _reply_state(row)
    row.acknowledged_on = ack or row.acknowledged_on
    row.response_on = answered or row.response_on
    row.response = response or row.response
    session.add(row)
    detail = {"notification": row.id, **audit.changes(was, _reply_state(row))}
    _recorded(session, actor, case, "case.la_response_recorded", detail, row)
    return row


def record_la_reply(
    session: Session, *, actor: Actor | None, reference: str, notification_id: int, form: dict
) -> LaNotification:
    """Our reply to another LA's notice that a child moved here (BR-L10): what we told them
    (INBOUND_REPLIES), the day it was sent and what it said."""
    actor = require(actor, Capability.LA_NOTIFY)
    case = load_open_case(session, actor, reference, "case.la_reply_recorded")
    row = _notice(session, case, notification_id, LaDirection.INBOUND)
    f = Form(form, date.today())
    kind = f.choice("reply_kind", INBOUND_REPLIES, "Choose what the reply said")
    sent_on = f.day("response_on", "date the reply was sent")
    text = f.text("response", "Enter what the reply said", limit=4000)
    f.check()
    _refuse_overwrite(
        session, case, row, ((kind, row.reply_kind), (sent_on, row.response_on),
                             (text, row.response)),
        action="case.la_reply_recorded", what="The reply to {la}",
    )
    was = _reply_state(row)
    row.reply_kind, row.response_on, row.response = kind, sent_on, text
    session.add(row)
    detail = {"notification": row.id, **audit.changes(was, _reply_state(row))}
    _recorded(session, actor, case, "case.la_reply_recorded", detail, row)
    return row


def tell_notifying_las(session: Session, case: Case, outcome: str, today: date) -> list[str]:
    """Closing a case that began with another LA's notice tells that LA the outcome (BR-L10):
    each inbound notice records the day and what was said. Returns the LAs told."""
    told = []
    for row in session.exec(
        select(LaNotification).where(
            LaNotification.case_id == case.id, LaNotification.direction == LaDirection.INBOUND
        )
    ).all():
        row.outcome_sent_on = today
        row.outcome_sent = f"Told {row.la_name}: {outcome}"[:2000]
        session.add(row)
        told.append(row.la_name)
    return told


def record_overseas(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> OverseasVerification:
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, "case.overseas_recorded")
    f = Form(form, date.today())
    country = f.text("country", "Enter the country", limit=80)
    organisation = f.text("organisation", "Enter the school or agency abroad")
    evidence = f.choice("evidence_type", OVERSEAS_EVIDENCE, "Choose the type of evidence")
    independent = f.choice("independent", YES_NO, "Say whether the evidence is independent")
    received_on = f.day("received_on", "date the evidence was received")
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    if evidence == "parent_statement" and independent == "yes":
        raise ValidationFailed(
            [FieldError("independent", "A statement from the parent is not independent")]
        )
    row = OverseasVerification(
        case_id=case.id,
        country=country,
        organisation=organisation,
        evidence_type=evidence,
        independent=independent == "yes",
        received_on=received_on,
        translated=f.yes("translated"),
        notes=notes or None,
        verified_by_id=actor.user_id,
    )
    session.add(row)
    detail = {"independent": row.independent}
    _recorded(session, actor, case, "case.overseas_recorded", detail, row)
    return row


def link_household(
    session: Session, *, actor: Actor | None, reference: str, other_reference: str, reason: str
) -> CaseLink:
    """Siblings referred separately (SC-18): separate cases, linked as one household."""
    actor = require(actor, Capability.CASE_RECORD)
    case = load_open_case(session, actor, reference, "case.linked")
    other_ref = case_reference(other_reference)
    reason = (reason or "").strip()
    other = session.exec(select(Case).where(Case.reference == other_ref)).first()
    errors = []
    if other is None or other.id == case.id:
        errors.append(FieldError("other_reference", "Enter the reference of another case"))
    if len(reason) < 5:
        errors.append(FieldError("link_reason", "Give the reason for linking"))
    if errors:
        raise ValidationFailed(errors)
    link = CaseLink(
        case_id=case.id,
        linked_case_id=other.id,
        kind="household",
        reason=reason[:1000],
        by_id=actor.user_id,
    )
    session.add(link)
    _recorded(session, actor, case, "case.linked", {"with": other.reference}, link)
    return link


OVERSEAS_EVIDENCE = {
    "school_letter": "Letter or email from the school on letterhead",
    "enrolment_certificate": "Enrolment certificate",
    "consulate": "Embassy or consulate confirmation",
    "phone_call": "Documented phone call to the school",
    "parent_statement": "Statement from the parent",
}


SAFEGUARDING_KINDS = {"notification": "Notification", "consultation": "Consultation"}


def address_rows(session: Session, child: Child) -> list[list[str]]:
    kinds = {AddressKind.LAST_KNOWN: "Last known", **rf.ADDRESS_KIND_CHOICES}
    return [
        [
            kinds.get(a.kind, a.kind),
            ", ".join(p for p in (a.line1, a.line2, a.town, a.postcode) if p)
            + ("" if a.country == "United Kingdom" else f", {a.country}"),
            a.source.replace("_", " ").capitalize(),
            short_date(a.from_date),
        ]
        for a in session.exec(
            select(Address).where(Address.child_id == child.id).order_by(Address.id)
        ).all()
    ]
