"""What a notice or letter says, read from the case: the child, the household's address, the
school, the closure, the other LA's notification, the evidence from abroad. Each function
answers a dict of plain strings for the templates; nothing here renders or writes.

Two facts belong to the statutory rules (issue 17, rules 1-2: which deletion ground a notice
names, and whether an exhausted-enquiries notice applies at all). Until the rules' own
service function lands, `deletion_ground_for` and `exhausted_notice_applies` below read them
from what the case holds today; the documents call only these two names.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from ...dates import long_date
from ...domain import (
    DELETION_GROUNDS,
    ROLE_LABELS,
    AddressKind,
    LaDirection,
    Outcome,
    PersonKind,
)
from ...errors import FieldError, Refusal, ValidationFailed
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    EnquiryAction,
    LaNotification,
    OverseasVerification,
    Person,
    Referral,
    School,
)
from ...permissions import Actor
from ...settings import PROJECT_ROOT, get_settings
from ..casework import deletion_grounds
from ..casework.closure import school_outcome_text
from ..casework.deletion_grounds import GroundAdvice
from ..casework.pathway import ENQUIRY_KINDS, ENQUIRY_RESULTS

# ---------------------------------------------------------------------------------------------
# The deletion ground a letter names (the statutory rules: casework/deletion_grounds.py)

# Outcomes after which the school's ground comes from the case's facts (H, I or G, and whether
# a notice applies at all), not from the outcome itself.
_FACT_GROUNDS = frozenset({Outcome.TRANSFERRED_OTHER_LA, Outcome.LEFT_UK_UNVERIFIED,
                           Outcome.UNTRACEABLE})
# The ground an outcome itself gives the school (None: the pupil stays on roll).
_OUTCOME_GROUNDS: dict[str, str | None] = {
    Outcome.ONROLL_LEEDS: "A",
    Outcome.ONROLL_OTHER_LA: "A",
    Outcome.LEFT_UK_VERIFIED: "G",
    Outcome.EHE: "F",
    Outcome.CEASED_CSA: "L",
    Outcome.DECEASED: "K",
}


def ground_advice(session: Session, case: Case, today: date) -> GroundAdvice:
    """The statutory rules' answer for this case, with the closure's answer to "does the
    family now live beyond reasonable distance?" where it recorded one."""
    closure = closed_with(session, case)
    moved = bool(closure and (closure.evidence or {}).get("beyond_reasonable_distance") == "yes")
    return deletion_grounds.deletion_ground_for(session, case, today,
                                                moved_beyond_reasonable_distance=moved)


def deletion_ground_for(session: Session, case: Case, today: date) -> tuple[str | None, str]:
    """(the ground a letter about this case names, why, in words): the case's facts while it
    is open or after an outcome that leaves the pupil on the school's roll; otherwise the
    ground the outcome itself gives."""
    if case.outcome == Outcome.ONROLL_LEEDS and _back_at_referring_school(session, case):
        return None, ("The pupil is on roll at your school again, so no ground for deleting "
                      "them from your admission register applies.")
    if case.outcome and case.outcome not in _FACT_GROUNDS:
        return _OUTCOME_GROUNDS.get(case.outcome), ""
    advice = ground_advice(session, case, today)
    return (advice.ground if advice.applies else None), advice.reason_words


def _back_at_referring_school(session: Session, case: Case) -> bool:
    """Ground A is for a pupil registered at ANOTHER school: a child found and readmitted by
    the school that referred them stays on its roll."""
    closure = closed_with(session, case)
    school = school_of(session, case)
    urn = str((closure.evidence or {}).get("school_urn") or "") if closure else ""
    return bool(school and urn and school.urn == urn)


def exhausted_notice_applies(session: Session, case: Case, today: date) -> str | None:
    """Why the joint reasonable enquiries exhausted notice can't be issued (None: it can)."""
    advice = ground_advice(session, case, today)
    return None if advice.applies else advice.reason_words


# ---------------------------------------------------------------------------------------------
# Facts every document has


def letterhead() -> dict:
    s = get_settings()
    logo = PROJECT_ROOT / s.la_logo_path  # an absolute setting stays as it is
    return {
        "la_name": s.la_name, "la_team": s.la_team, "la_address": list(s.la_address),
        "la_phone": s.la_phone, "la_email": s.la_email,
        "logo_url": logo.as_uri() if s.la_logo_path and logo.is_file() else "",
    }


def signature(actor: Actor) -> dict:
    return {"author_name": actor.name or actor.email,
            "author_role": ROLE_LABELS.get(actor.role, str(actor.role))}


def ground_facts(letter: str | None) -> dict:
    ground = DELETION_GROUNDS.get(letter or "")
    return {"ground": ground.letter if ground else "",
            "ground_title": ground.title if ground else "",
            "ground_text": ground.explanation if ground else ""}


def child_facts(session: Session, case: Case) -> dict:
    child = session.get(Child, case.child_id)
    names = [child.first_name, child.middle_names or "", child.last_name]
    return {
        "child_name": " ".join(n for n in names if n),
        "child_first_name": child.first_name,
        "date_of_birth": long_date(child.date_of_birth),
        "upn": child.upn or "",
    }


def school_of(session: Session, case: Case) -> School | None:
    referral = session.get(Referral, case.referral_id)
    return session.get(School, referral.school_id) if referral and referral.school_id else None


def last_known_address(session: Session, case: Case) -> list[str]:
    """The child's last known address in the UK, as lines: the newest last-known address on
    their record, else the newest address that is not abroad."""
    rows = session.exec(
        select(Address).where(Address.child_id == case.child_id,
                              Address.kind != AddressKind.ABROAD)
        .order_by(col(Address.id).desc())
    ).all()
    chosen = next((a for a in rows if a.kind == AddressKind.LAST_KNOWN), rows[0] if rows else None)
    if chosen is None:
        return []
    return [p for p in (chosen.line1, chosen.line2, chosen.town, chosen.postcode) if p]


def parent_names(session: Session, case: Case) -> list[str]:
    """The child's parents or carers, those with parental responsibility first."""
    people = session.exec(
        select(Person).where(Person.child_id == case.child_id,
                             Person.kind == PersonKind.PARENT_CARER)
        .order_by(col(Person.parental_responsibility).desc(), Person.id)
    ).all()
    return [p.full_name for p in people]


def closed_with(session: Session, case: Case) -> CaseClosure | None:
    return session.exec(
        select(CaseClosure).where(CaseClosure.case_id == case.id,
                                  CaseClosure.episode == case.episode,
                                  CaseClosure.status == "closed")
        .order_by(col(CaseClosure.id).desc())
    ).first()


def enquiries_made(session: Session, case: Case) -> list[dict]:
    rows = session.exec(
        select(EnquiryAction).where(EnquiryAction.case_id == case.id)
        .order_by(EnquiryAction.done_on, EnquiryAction.id)
    ).all()
    return [{"on": long_date(e.done_on), "what": ENQUIRY_KINDS.get(e.kind, e.kind),
             "result": ENQUIRY_RESULTS.get(e.result, e.result)} for e in rows]


# ---------------------------------------------------------------------------------------------
# Each kind's own facts (kinds.py names these)


def _school_recipient(session: Session, case: Case) -> dict:
    school = school_of(session, case)
    if school is None:
        raise Refusal("This case did not come from a school, so there is no school to send "
                      "this to.")
    return {"recipient_lines": ["The Headteacher and Designated Safeguarding Lead",
                                school.name], "school_name": school.name,
            "school_id": school.id}


def exhausted_notice(session: Session, case: Case, today: date, on: date | None) -> dict:
    why_not = exhausted_notice_applies(session, case, today)
    if why_not:
        raise Refusal(why_not)
    advice = ground_advice(session, case, today)
    if on is not None:  # a date given now: never backdated, never before the ground is met
        wrong = deletion_grounds.check_off_roll_date(advice, on, today)
        if wrong:
            raise ValidationFailed([FieldError("on", wrong)])
    referral = session.get(Referral, case.referral_id)
    closure = closed_with(session, case)
    agreed = on or _evidence_date(closure, "off_roll_date")
    return {
        **_school_recipient(session, case),
        **ground_facts(advice.ground),
        "ground_reason": advice.reason_words,
        "last_attended": long_date(referral.date_last_attended) if referral else "",
        "off_roll_date": long_date(agreed),
        "enquiries": enquiries_made(session, case),
    }


def _evidence_date(closure: CaseClosure | None, name: str) -> date | None:
    raw = (closure.evidence or {}).get(name) if closure else None
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def outcome_letter(session: Session, case: Case, today: date, on: date | None) -> dict:
    closure = closed_with(session, case)
    if case.outcome is None or closure is None:
        raise Refusal("The outcome letter can be made once the case is closed.")
    ground, why = deletion_ground_for(session, case, today)
    return {
        **_school_recipient(session, case),
        **ground_facts(ground),
        "ground_reason": why,
        "outcome_text": school_outcome_text(case.outcome),
        "closed_on": long_date(closure.closed_at),
        "school_notice": [line for line in (closure.school_notice or "").splitlines() if line],
    }


def la_notification(session: Session, case: Case, today: date, on: date | None) -> dict:
    notice = session.exec(
        select(LaNotification).where(LaNotification.case_id == case.id,
                                     LaNotification.direction == LaDirection.OUTBOUND)
        .order_by(col(LaNotification.id).desc())
    ).first()
    if notice is None:
        raise Refusal("Record the notification to the other LA on this case first.")
    shared = notice.data_shared or {}
    return {
        "recipient_lines": [notice.contact, f"Children Missing Education, {notice.la_name}"],
        "other_la": notice.la_name,
        "question": notice.question,
        "sent_on": long_date(notice.sent_on),
        "response_due": long_date(notice.response_due_on),
        "shared": [[str(k).replace("_", " ").capitalize(), str(v)] for k, v in shared.items()
                   if v not in (None, "")],
        "address": last_known_address(session, case),
    }


def overseas_request(session: Session, case: Case, today: date, on: date | None) -> dict:
    row = session.exec(
        select(OverseasVerification).where(OverseasVerification.case_id == case.id)
        .order_by(col(OverseasVerification.id).desc())
    ).first()
    abroad = session.exec(
        select(Address).where(Address.child_id == case.child_id,
                              Address.kind == AddressKind.ABROAD)
        .order_by(col(Address.id).desc())
    ).first()
    if row is None and abroad is None:
        raise Refusal("Record where abroad the child is believed to be (an address abroad or "
                      "the school or agency there) first.")
    country = row.country if row else abroad.country
    organisation = row.organisation if row else "The Headteacher"
    lines = [organisation]
    if abroad is not None:
        lines += [p for p in (abroad.line1, abroad.line2, abroad.town, abroad.postcode) if p]
    return {"recipient_lines": [*lines, country], "country": country,
            "organisation": organisation, "reply_by": long_date(on) if on else ""}


def calling_card(session: Session, case: Case, today: date, on: date | None) -> dict:
    return {"address": last_known_address(session, case), "called_on": long_date(on or today)}


def last_address_letter(session: Session, case: Case, today: date, on: date | None) -> dict:
    address = last_known_address(session, case)
    if not address:
        raise Refusal("Record the child's last known address first.")
    parents = parent_names(session, case)
    return {"recipient_lines": [parents[0] if parents else "The parent or carer", *address],
            "parents": parents, "reply_by": long_date(on) if on else ""}


def s437_notice(session: Session, case: Case, today: date, on: date | None) -> dict:
    address = last_known_address(session, case)
    if not address:
        raise Refusal("Record the child's last known address first: the notice is served "
                      "on the parent there.")
    parents = parent_names(session, case)
    return {"recipient_lines": [" and ".join(parents) or "The parent or carer", *address],
            "parents": parents, "respond_by": long_date(on)}
