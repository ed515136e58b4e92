"""Making, listing and downloading a case's documents.

Staff with document.create make them; a download is a read of the child's record, audited.
A school downloads only documents sent to it about its own referral: anything else is not
found, as another school's referral is (services/intake/visibility.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from ... import routes
from ...dates import long_date, short_date, uk_today
from ...domain import case_reference
from ...errors import FieldError, NotFound, Refusal, ValidationFailed
from ...models import Case, Document, Referral
from ...permissions import Actor, Capability, allows, require
from ..casework.lifecycle import load_case
from ..intake.referral_form import parse_date
from ..notify import notifications
from ..trust import audit
from . import facts, render
from .kinds import KINDS, RECIPIENT_LABELS, DocumentKind, Recipient
from .types import DocumentKindChoice, DocumentRow, DocumentsPart


@dataclass(frozen=True)
class DocumentFile:
    filename: str
    content: bytes


def filename(case_ref: str, kind: str, version: int) -> str:
    return f"{case_ref}-{kind.replace('_', '-')}-v{version}.pdf"


# ---------------------------------------------------------------------------------------------
# Making one


def _date_asked(kind: DocumentKind, raw: object, today: date) -> date | None:
    asked = kind.date
    text = str(raw or "").strip()[:20]
    if asked is None:
        return None
    if not text:
        if asked.required:
            raise ValidationFailed([FieldError("on", f"Enter the date: {asked.label.lower()}")])
        return None
    on = parse_date(text)
    if on is None:
        raise ValidationFailed([FieldError("on", f"{asked.label} must be a real date")])
    if asked.min_days is None:
        return on
    earliest = today + timedelta(days=asked.min_days)
    if on < earliest:
        when = (f"at least {asked.min_days} days from today: {long_date(earliest)} or later"
                if asked.min_days else "today or later")
        raise ValidationFailed([FieldError("on", f"{asked.label} must be {when}")])
    return on


def _next_version(session: Session, case: Case, kind: str) -> int:
    last = session.exec(
        select(func.max(Document.version)).where(Document.case_id == case.id,
                                                  Document.kind == kind)
    ).one()
    return (last or 0) + 1


def context(session: Session, *, actor: Actor, case: Case, kind: DocumentKind, today: date,
            on: date | None) -> dict:
    """Everything the kind's template reads."""
    return {
        **facts.letterhead(),
        **facts.signature(actor),
        **facts.child_facts(session, case),
        "reference": case.reference,
        "title": kind.title,
        "today": long_date(today),
        **kind.facts(session, case, today, on),
    }


def generate(session: Session, *, actor: Actor | None, reference: str, kind: str,
             on: object = "", today: date | None = None) -> Document:
    """Make a new version of `kind` on the case, keep it, and tell the school if it is the
    recipient. CPU-bound (the PDF): call it off the event loop."""
    actor = audit.require_on_case(session, actor, Capability.DOCUMENT_CREATE,
                                  action="document.created", reference=reference)
    found = KINDS.get(str(kind or ""))
    if found is None:
        raise ValidationFailed([FieldError("kind", "Choose the document to create")])
    today = today or uk_today()
    on_date = _date_asked(found, on, today)
    case = load_case_locked(session, actor, reference)
    page = render.html(found.template,
                       context(session, actor=actor, case=case, kind=found, today=today,
                               on=on_date))
    content = render.pdf(page)
    school_id = facts.school_of(session, case).id if found.recipient == Recipient.SCHOOL else None
    document = Document(
        case_id=case.id, kind=found.code, title=found.title,
        version=_next_version(session, case, found.code), author_id=actor.user_id,
        author_name=facts.signature(actor)["author_name"][:120],
        author_role=facts.signature(actor)["author_role"][:120],
        recipient_kind=found.recipient, recipient_school_id=school_id, content=content,
        sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content),
    )
    session.add(document)
    session.flush()
    audit.case_event(session, actor=actor, case=case, action="document.created", detail={
        "document": document.public_id, "kind": found.code, "version": document.version,
        "recipient": found.recipient, "sha256": document.sha256,
    })
    if school_id is not None:
        notifications.document_sent(session, case=case, school_id=school_id,
                                    document_id=document.public_id, title=found.title,
                                    version=document.version)
    return document


def load_case_locked(session: Session, actor: Actor, reference: str) -> Case:
    """The case, locked so two documents made at once get versions 1 and 2, not 1 twice."""
    return load_case(session, actor=actor, reference=reference, action="document.created")


# ---------------------------------------------------------------------------------------------
# Listing


def _row(d: Document) -> DocumentRow:
    return DocumentRow(
        public_id=d.public_id, title=d.title, kind=d.kind, version=d.version,
        created_on=short_date(d.created_at), author=f"{d.author_name}, {d.author_role}",
        recipient=RECIPIENT_LABELS.get(d.recipient_kind, d.recipient_kind),
        url=routes.document_url(d.public_id),
    )


def _ordered(query):
    """Newest first, without the PDFs themselves (a list needs only their details)."""
    return (query.options(defer(Document.content))
            .order_by(col(Document.created_at).desc(), col(Document.id).desc()))


def case_part(session: Session, *, actor: Actor, case: Case) -> DocumentsPart:
    """The Documents section of the case file (the case view itself is the audited read)."""
    if not allows(actor.role, Capability.DOCUMENT_READ):
        return DocumentsPart()
    found = session.exec(_ordered(select(Document).where(Document.case_id == case.id))).all()
    may_create = allows(actor.role, Capability.DOCUMENT_CREATE)
    kinds = tuple(
        DocumentKindChoice(k.code, k.title, k.date.label if k.date else "",
                           bool(k.date and k.date.required))
        for k in KINDS.values()
    ) if may_create else ()
    return DocumentsPart(rows=tuple(_row(d) for d in found), kinds=kinds,
                         kind_choices=tuple((k.code, k.title) for k in kinds),
                         can_create=may_create)


def list_for_case(session: Session, *, actor: Actor | None, reference: str) -> list[DocumentRow]:
    """Every document on the case, newest first; audited as a read of the case's file."""
    actor = require(actor, Capability.CASE_VIEW, Capability.DOCUMENT_READ)
    case = session.exec(select(Case).where(Case.reference == case_reference(reference))).first()
    if case is None:
        raise NotFound("No case with that reference.")
    audit.case_event(session, actor=actor, case=case, action="document.listed")
    return list(case_part(session, actor=actor, case=case).rows)


def _school_documents(actor: Actor):
    """Documents sent to the actor's school about its own referrals."""
    return (select(Document, Case).join(Case, Case.id == Document.case_id)
            .join(Referral, Referral.id == Case.referral_id)
            .where(Document.recipient_kind == Recipient.SCHOOL,
                   Document.recipient_school_id == actor.school_id,
                   Referral.school_id == actor.school_id))


def sent_to_school(session: Session, *, actor: Actor | None,
                   reference: str) -> list[DocumentRow]:
    """The documents on one referral's case that were sent to the school. A school user sees
    only its own school's; LA staff see every one sent to the referring school. The referral
    page's own view is the audited read."""
    actor = require(actor, Capability.DOCUMENT_READ)
    reference = case_reference(reference)
    if actor.is_school:
        query = _school_documents(actor).where(Case.reference == reference)
    else:
        query = (select(Document, Case).join(Case, Case.id == Document.case_id)
                 .where(Case.reference == reference,
                        Document.recipient_kind == Recipient.SCHOOL))
    return [_row(d) for d, _case in session.exec(_ordered(query)).all()]


# ---------------------------------------------------------------------------------------------
# Downloading


def fetch(session: Session, *, actor: Actor | None, public_id: str) -> DocumentFile:
    """The stored PDF, for someone who may read it; NotFound (audited) for anyone else."""
    actor = require(actor, Capability.DOCUMENT_READ)
    public_id = str(public_id or "")[:32]
    if actor.is_school:
        row = session.exec(_school_documents(actor).where(Document.public_id == public_id)).first()
    else:
        row = session.exec(select(Document, Case).join(Case, Case.id == Document.case_id)
                           .where(Document.public_id == public_id)).first()
    if row is None:
        audit.record(session, actor=actor, action="document.downloaded", outcome="not_found",
                     entity_type="document", entity_id=public_id)
        raise NotFound("That document was not found.")
    document, case = row
    if hashlib.sha256(document.content).hexdigest() != document.sha256:
        raise Refusal("This document does not match the one that was made. Ask the CME team.")
    # Filed under the case, as its other reads are: the child's access record shows it.
    audit.case_event(session, actor=actor, case=case, action="document.downloaded",
                     detail={"document": document.public_id, "kind": document.kind,
                             "version": document.version})
    return DocumentFile(filename(case.reference, document.kind, document.version),
                        document.content)
