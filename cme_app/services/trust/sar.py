"""Subject access request export: everything held about one child, audit trail included
(UK GDPR Article 15). Run from the command line by the DPO's staff."""

from __future__ import annotations

import base64
from typing import Any

from sqlmodel import Session, SQLModel, col, or_, select

from ...errors import NotFound
from ...models import (
    Address,
    AuditEvent,
    Case,
    CaseClosure,
    CaseLink,
    Child,
    Document,
    DslAppraisal,
    EnquiryAction,
    HomeVisit,
    LaNotification,
    LoneWorkingAlert,
    Notification,
    OverseasVerification,
    Person,
    Referral,
    ReferralConcern,
    ReferralEnquiry,
    RiskAssessment,
    SafeguardingContact,
    SecuringStep,
    ShareRecord,
    StageChange,
    Tombstone,
    utcnow,
)
from ..intake.child_ids import record_ids
from . import audit

FORMAT_VERSION = 1


def _dump(rows: Any) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rows]


def _all(session: Session, model: type[SQLModel], *where: Any) -> list[Any]:
    return list(session.exec(select(model).where(*where).order_by(model.id)).all())


def _among(session: Session, model: type[SQLModel], column: Any, ids: list[Any]) -> list[dict]:
    """Every row of `model` whose `column` is one of `ids`, as dicts (none for no ids)."""
    return _dump(_all(session, model, col(column).in_(ids))) if ids else []


def _child_parts(session: Session, child: Child) -> dict[str, Any]:
    return {
        "child": child.model_dump(mode="json"),
        "addresses": _dump(_all(session, Address, Address.child_id == child.id)),
        "people": _dump(_all(session, Person, Person.child_id == child.id)),
    }


def _referral_parts(session: Session, referrals: list[Referral]) -> dict[str, Any]:
    ids = [r.id for r in referrals]
    return {
        "referrals": _dump(referrals),
        "referral_enquiries": _among(session, ReferralEnquiry, ReferralEnquiry.referral_id, ids),
        "referral_concerns": _among(session, ReferralConcern, ReferralConcern.referral_id, ids),
        "dsl_appraisals": _among(session, DslAppraisal, DslAppraisal.referral_id, ids),
    }


def _case_parts(session: Session, cases: list[Case]) -> dict[str, Any]:
    ids = [c.id for c in cases]
    visits = _among(session, HomeVisit, HomeVisit.case_id, ids)

    def of_cases(model: Any) -> list[dict]:
        return _among(session, model, model.case_id, ids)

    return {
        "cases": _dump(cases),
        "stage_changes": of_cases(StageChange),
        "risk_assessments": of_cases(RiskAssessment),
        "safeguarding_contacts": of_cases(SafeguardingContact),
        "enquiries": of_cases(EnquiryAction),
        "visits": visits,
        "lone_working_alerts": _among(session, LoneWorkingAlert, LoneWorkingAlert.visit_id,
                                      [v["id"] for v in visits]),
        "la_notifications": of_cases(LaNotification),
        "overseas_verifications": of_cases(OverseasVerification),
        "case_links": of_cases(CaseLink),
        "closures": of_cases(CaseClosure),
        "shares": of_cases(ShareRecord),
        "securing_education": of_cases(SecuringStep),
        "documents": _documents(session, ids),
    }


def _documents(session: Session, case_ids: list[Any]) -> list[dict[str, Any]]:
    """The notices and letters sent about the child, each with its PDF (base64)."""
    found = _all(session, Document, col(Document.case_id).in_(case_ids)) if case_ids else []
    return [{**d.model_dump(mode="json", exclude={"content"}),
             "pdf_base64": base64.b64encode(d.content).decode()} for d in found]


def _audit_trail(session: Session, child: Child, references: list[str]) -> list[AuditEvent]:
    """Events filed under the child (or a record merged into theirs: events are never
    rewritten), and those filed under one of their cases."""
    about = col(AuditEvent.child_id).in_(record_ids(session, child.id))
    if references:
        about = or_(
            about,
            (AuditEvent.entity_type == "case") & col(AuditEvent.entity_id).in_(references),
        )
    return _all(session, AuditEvent, about)


def export_child(session: Session, *, child_id: int) -> dict[str, Any]:
    """The whole record of one child as a JSON-ready dict. Audited `sar.exported` (ids only).

    Raises NotFound for an unknown child."""
    child = session.get(Child, child_id) if isinstance(child_id, int) else None
    if child is None:
        raise NotFound(f"No child with id {child_id}.")
    referrals = _all(session, Referral, Referral.child_id == child.id)
    cases = _all(session, Case, Case.child_id == child.id)
    refs = [c.reference for c in cases]
    trail = _audit_trail(session, child, refs)
    document = {
        "format_version": FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        **_child_parts(session, child),
        **_referral_parts(session, referrals),
        **_case_parts(session, cases),
        # Messages about the child's cases and referrals, found by their references.
        "notifications": _among(session, Notification, Notification.reference,
                                refs + [r.public_id for r in referrals]),
        "destroyed": _dump(session.exec(
            select(Tombstone).where(Tombstone.child_id == child.id)).all()),
        "audit_trail": _dump(trail),
    }
    audit.record(session, actor=None, actor_role="system", action="sar.exported",
                 entity_type="child", entity_id=child.id, child_id=child.id,
                 detail={"cases": refs, "audit_events": len(trail)})
    return document
