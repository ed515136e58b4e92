"""The sharing log: each outbound share of a child's information, with what, why, with whom
and on what lawful basis (BR-D1..D3, golden rule 7 "keep a record"). LA staff only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session, select

from ...dates import LONDON, short_date, uk_today
from ...domain import LawfulBasis, RecipientType
from ...models import Case, ShareRecord, User, utcnow
from ...permissions import Actor, Capability, allows
from ..casework.lifecycle import load_case
from ..forms import Form
from . import audit, purpose

RECIPIENT_TYPES: dict[str, str] = {
    RecipientType.OTHER_LA: "Another local authority",
    RecipientType.SCHOOL_ABROAD: "School abroad",
    RecipientType.AGENCY: "Other agency",
    RecipientType.POLICE: "Police",
    RecipientType.CSC: "Children's social care",
    RecipientType.OTHER: "Other",
}

LAWFUL_BASES: dict[str, str] = {
    LawfulBasis.PUBLIC_TASK: "UK GDPR Art 6(1)(e) public task",
    LawfulBasis.LEGAL_OBLIGATION: "UK GDPR Art 6(1)(c) legal obligation",
    LawfulBasis.SAFEGUARDING: (
        "UK GDPR Art 9(2)(g) and DPA 2018 Sch 1 para 18 safeguarding of children"
    ),
    LawfulBasis.OTHER: "Other (say which)",
}

SHARE_CATEGORIES: dict[str, str] = {
    "identity": "Name, date of birth and UPN",
    "addresses": "Addresses",
    "household": "Parents, carers and household",
    "school_history": "School and attendance history",
    "enquiries": "Enquiry results",
    "safeguarding": "Safeguarding information",
    "sen_health": "SEN or health information",
    "visits": "Home visit records",
}

@dataclass
class ShareRow:
    shared_on: str
    recipient: str
    recipient_type: str
    categories: str
    detail: str
    reason: str
    lawful_basis: str
    shared_by: str


def record_share(
    session: Session, *, actor: Actor | None, reference: str, form: dict
) -> ShareRecord:
    """Log one outbound share. Officers and leads; audited `case.shared` (ids and codes)."""
    actor = audit.require_on_case(session, actor, Capability.SHARE_RECORD, action="case.shared",
                                  reference=reference)
    case = load_case(session, actor=actor, reference=reference, action="case.shared", lock=False)
    purpose.for_write(session, actor=actor, case=case, action="case.shared")
    f = Form(form, uk_today())
    shared_on = f.day("shared_on", "date it was shared")
    kind = f.choice("recipient_type", RECIPIENT_TYPES, "Choose who it was shared with")
    name = f.text("recipient_name", "Enter the name of the recipient", limit=200)
    raw = f.data.get("categories")
    categories = [str(c) for c in raw] if isinstance(raw, list) else []
    if len(categories) > len(SHARE_CATEGORIES) or any(
        c not in SHARE_CATEGORIES for c in categories
    ):
        f.error("categories", "Choose what was shared from the list")
        categories = []
    detail = f.text("shared_detail", "", required=False, limit=2000)
    if not categories and not detail and not any(e.field == "categories" for e in f.errors):
        f.error("categories", "Choose what was shared, or describe it")
    reason = f.text("reason", "Enter why it was shared", limit=2000)
    basis = f.choice("lawful_basis", LAWFUL_BASES, "Choose the lawful basis for sharing")
    other = f.text("lawful_basis_other", "Say which lawful basis",
                   required=basis == LawfulBasis.OTHER, limit=300)
    f.check()
    row = ShareRecord(
        case_id=case.id,
        shared_at=datetime.combine(shared_on, time(12, 0), tzinfo=LONDON),
        shared_by_id=actor.user_id,
        recipient_type=kind,
        recipient_name=name,
        categories=[c for c in SHARE_CATEGORIES if c in categories],
        shared_detail=detail or None,
        reason=reason,
        lawful_basis=basis,
        lawful_basis_other=(other or None) if basis == LawfulBasis.OTHER else None,
    )
    session.add(row)
    session.flush()
    audit.case_event(session, actor=actor, case=case, action="case.shared",
                     detail={"share": row.id, "recipient_type": kind, "lawful_basis": basis,
                             "categories": row.categories})
    return row


def _rows(session: Session, case: Case) -> list[ShareRow]:
    shares = session.exec(
        select(ShareRecord).where(ShareRecord.case_id == case.id).order_by(ShareRecord.shared_at,
                                                                           ShareRecord.id)
    ).all()
    ids = {s.shared_by_id for s in shares if s.shared_by_id}
    names = {u.id: u.name or u.email for u in
             session.exec(select(User).where(User.id.in_(ids))).all()} if ids else {}
    return [
        ShareRow(
            shared_on=short_date(s.shared_at),
            recipient=s.recipient_name,
            recipient_type=RECIPIENT_TYPES.get(s.recipient_type, s.recipient_type),
            categories=", ".join(SHARE_CATEGORIES[c] for c in s.categories
                                 if c in SHARE_CATEGORIES),
            detail=s.shared_detail or "",
            reason=s.reason,
            lawful_basis=(s.lawful_basis_other if s.lawful_basis == LawfulBasis.OTHER
                          else LAWFUL_BASES.get(s.lawful_basis, s.lawful_basis)) or "",
            shared_by=names.get(s.shared_by_id, ""),
        )
        for s in shares
    ]


@dataclass
class DataProtectionView:
    """What the case page's data-protection parts show."""

    reference: str
    legal_hold: bool
    hold_reason: str
    hold_by: str
    hold_on: str
    shares: list[ShareRow]
    can_share: bool
    can_hold: bool


def case_view(session: Session, *, actor: Actor | None, reference: str) -> DataProtectionView:
    """The sharing log and legal hold of one case. Schools never see it (not even that the
    case exists); viewing is audited like any view of the child's record."""
    # As for the case page itself: the auditor reads the audit log, not case files.
    actor = audit.require_on_case(session, actor, Capability.SHARING_LOG_VIEW,
                                  action="case.sharing_log_viewed", reference=reference)
    case = load_case(session, actor=actor, reference=reference,
                     action="case.sharing_log_viewed", lock=False)
    purpose.require_given(session, actor=actor, case=case, now=utcnow())
    audit.case_event(session, actor=actor, case=case, action="case.sharing_log_viewed")
    holder = session.get(User, case.legal_hold_by_id) if case.legal_hold_by_id else None
    return DataProtectionView(
        reference=case.reference,
        legal_hold=case.legal_hold,
        hold_reason=case.legal_hold_reason or "",
        hold_by=(holder.name or holder.email) if holder else "",
        hold_on=short_date(case.legal_hold_at)
        if case.legal_hold_at else "",
        shares=_rows(session, case),
        can_share=allows(actor.role, Capability.SHARE_RECORD),
        can_hold=allows(actor.role, Capability.LEGAL_HOLD),
    )
