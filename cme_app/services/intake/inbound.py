"""Referrals the CME team logs itself (BR-L10, SC-17): a notice from another LA that a child
has moved here, a child new to the country, or a referral from health, the police, housing,
children's social care, another council service or a member of the public. Each becomes a case
in New referral, as a school's referral does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from ...domain import (
    AGENCY_SOURCES,
    REFERRAL_CHANNELS,
    AddressKind,
    LaDirection,
    ReferralStatus,
    Risk,
    SourceType,
)
from ...errors import FieldError
from ...models import (
    Address,
    Case,
    Child,
    LaNotification,
    Person,
    Referral,
    utcnow,
)
from ...numbers import digits
from ...permissions import Actor, Capability, require
from ..forms import Form
from ..notify import notifications
from ..trust import audit
from . import referral_form as rf
from .opening import open_case

INBOUND_SOURCES = {
    SourceType.OTHER_LA: "Another local authority",
    SourceType.NEW_TO_COUNTRY: "New to the country",
    SourceType.HEALTH: "Health (GP, health visitor, school nurse, hospital)",
    SourceType.POLICE: "Police",
    SourceType.HOUSING: "Housing",
    SourceType.SOCIAL_CARE: "Children's social care",
    SourceType.INTERNAL: "Another council service",
    SourceType.PUBLIC: "A member of the public (helpline or email)",
}
# Routes where a person referred the child: who they are and how to reach them are recorded.
# Another LA's notice names the LA instead; a child new to the country may come in any way.
REFERRER_SOURCES = (*AGENCY_SOURCES, SourceType.PUBLIC)
# Digits, spaces and the usual punctuation; at least 6 digits so a typo like "n/a" is caught.
_PHONE = re.compile(r"[0-9 +()\-]{6,40}")


@dataclass(frozen=True)
class _Referrer:
    """Who referred the child and how it reached us. `name` is empty only for a member of the
    public who asked to stay anonymous."""

    name: str
    organisation: str
    job_title: str
    phone: str
    email: str
    via: str


@dataclass(frozen=True)
class _Notice:
    """What the team was told, as checked from the form."""

    source: str
    referrer: _Referrer | None
    la_name: str
    la_code: str
    received_on: date
    child: Child
    line1: str
    town: str
    postcode: str
    parent: str
    phone: str
    summary: str


def log_inbound(session: Session, *, actor: Actor | None, form: dict) -> Case:
    """A notification from another LA, a child new to the country, or a partner's or the
    public's referral: a New referral card."""
    actor = require(actor, Capability.INBOUND_LOG)
    today = date.today()
    notice = _read(form, today)
    referrer = notice.referrer
    session.add(notice.child)
    session.flush()
    referral = Referral(
        status=ReferralStatus.SUBMITTED,
        source_type=notice.source,
        created_by_id=actor.user_id,
        child_id=notice.child.id,
        source_name=notice.la_name or (referrer.organisation if referrer else "") or None,
        source_la_code=notice.la_code or None,
        referrer_name=(referrer.name if referrer else "") or None,
        referrer_job_title=(referrer.job_title if referrer else "") or None,
        referrer_phone=(referrer.phone if referrer else "") or None,
        referrer_email=(referrer.email if referrer else "") or None,
        received_via=referrer.via if referrer else None,
        concerns_narrative=notice.summary,
        date_school_aware=notice.received_on,
        submitted_at=utcnow(),
        form_data={},
    )
    session.add(referral)
    session.flush()
    _add_household(session, notice, referral)
    case = open_case(session, actor=actor, referral=referral, child=notice.child, today=today)
    if notice.source == SourceType.OTHER_LA:
        session.add(
            LaNotification(
                case_id=case.id,
                direction=LaDirection.INBOUND,
                la_name=notice.la_name,
                la_code=notice.la_code or None,
                contact="",
                question=notice.summary[:2000],
                sent_on=notice.received_on,
                by_id=actor.user_id,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="referral.inbound_logged",
        entity_type="case",
        entity_id=case.reference,
        child_id=notice.child.id,
        detail={"source": notice.source, "via": referrer.via if referrer else None,
                "anonymous": bool(referrer and not referrer.name)},
    )
    notifications.referral_arrived(session, case=case, red=case.proposed_risk == Risk.RED)
    session.flush()
    return case


def _read(form: dict, today: date) -> _Notice:
    """Every rule the form must pass, all errors at once, in form order."""
    f = Form(form, today)
    source = f.choice("source_type", INBOUND_SOURCES, "Choose where the referral came from")
    la_name = la_code = ""
    # The LA's fields only count for an LA's notice: the page hides them, but still sends
    # whatever was typed before another source was chosen.
    if source == SourceType.OTHER_LA:
        la_name = f.text("la_name", "Enter the local authority that notified you", limit=120)
        la_code = f.text("la_code", "", required=False, limit=3)
        if la_code and not (digits(la_code) and len(la_code) == 3):
            f.errors.append(FieldError("la_code", "LA code must be 3 digits, like 384"))
    received_on = f.day("received_on", "date it was received")
    referrer = _read_referrer(f, source)
    first = f.text("first_name", "Enter the child's first name", limit=100)
    last = f.text("last_name", "Enter the child's last name", limit=100)
    dob = f.day("date_of_birth", "child's date of birth")
    sex = f.choice("sex", rf.SEX_CHOICES, "Choose the child's sex")
    upn = f.text("upn", "", required=False, limit=13).upper()
    if upn and (error := rf.upn_error(upn)):
        f.errors.append(FieldError("upn", error))
    notice = _Notice(
        source=source, referrer=referrer, la_name=la_name, la_code=la_code, received_on=received_on,
        child=Child(first_name=first, last_name=last, date_of_birth=dob, sex=sex,
                    upn=upn or None),
        line1=f.text("line1", "Enter the first line of the address"),
        town=f.text("town", "", required=False, limit=100),
        postcode=f.text("postcode", "", required=False, limit=10),
        parent=f.text("parent_name", "", required=False),
        phone=f.text("parent_phone", "", required=False, limit=40),
        summary=f.text("summary", "Enter what you were told", limit=4000),
    )
    f.check()
    return notice


def _read_referrer(f: Form, source: str) -> _Referrer | None:
    """The referrer's details, needed for a partner or the public: a name and a phone number
    or email so the team can go back to them, and an agency's organisation. A member of the
    public may stay anonymous: no name, and no way back unless they gave one."""
    if source not in REFERRER_SOURCES:
        return None
    public = source == SourceType.PUBLIC
    anonymous = public and f.yes("referrer_anonymous")
    via = f.choice("received_via", REFERRAL_CHANNELS, "Choose how the referral came in")
    name = f.text(
        "referrer_name",
        "Enter the referrer's name, or tick that they want to stay anonymous" if public
        else "Enter the referrer's name",
        required=not anonymous, limit=120,
    )
    if anonymous and name:
        f.error("referrer_name", "Leave the name blank for an anonymous referral, or untick "
                "that they want to stay anonymous")
    organisation = "" if public else f.text(
        "referrer_organisation", "Enter the organisation or service the referrer works for",
        limit=120,
    )
    job_title = "" if public else f.text("referrer_job_title", "", required=False, limit=120)
    phone = f.text("referrer_phone", "", required=False, limit=40)
    if phone and not (_PHONE.fullmatch(phone) and sum(c.isdigit() for c in phone) >= 6):
        f.error("referrer_phone", "Enter a phone number, like 0113 378 5000")
    email = f.text("referrer_email", "", required=False, limit=254)
    if email and not rf.EMAIL.match(email):
        f.error("referrer_email",
                "Enter an email address in the correct format, like name@example.org")
    if not (anonymous or phone or email):
        f.error("referrer_phone", "Enter a phone number or email address for the referrer")
    return _Referrer(name=name, organisation=organisation, job_title=job_title, phone=phone,
                     email=email, via=via)


def _add_household(session: Session, notice: _Notice, referral: Referral) -> None:
    """Where the child is believed to live, and the parent or carer if the notice names one:
    both recorded as coming from another agency."""
    source_tag = "other_agency"
    session.add(
        Address(
            child_id=notice.child.id,
            referral_id=referral.id,
            kind=AddressKind.LAST_KNOWN,
            line1=notice.line1,
            town=notice.town or None,
            postcode=rf.normalise_postcode(notice.postcode) or None,
            source=source_tag,
        )
    )
    if notice.parent:
        session.add(
            Person(
                child_id=notice.child.id,
                referral_id=referral.id,
                kind="parent_carer",
                full_name=notice.parent,
                relationship_to_child="Parent or carer",
                phone=notice.phone or None,
                source=source_tag,
            )
        )
    session.flush()
