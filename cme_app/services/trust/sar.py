"""Subject access request export: everything held about one child, audit trail included
(UK GDPR Art 15; domain.md §9). Run from the command line by the DPO's staff."""

from __future__ import annotations

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
    ShareRecord,
    StageChange,
    Tombstone,
    utcnow,
)
from . import audit

FORMAT_VERSION = 1


def _dump(rows: Any) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rows]


def _by_case(session: Session, model: type[SQLModel], case_ids: list[int]) -> list[dict]:
    if not case_ids:
        return []
    return _dump(session.exec(
        select(model).where(col(model.case_id).in_(case_ids)).order_by(model.id)
    ).all())


def export_child(session: Session, *, child_id: int) -> dict[str, Any]:
    """The whole record of one child as a JSON-ready dict. Audited `sar.exported` (ids only).

    Raises NotFound for an unknown child."""
    child = session.get(Child, child_id) if isinstance(child_id, int) else None
    if child is None:
        raise NotFound(f"No child with id {child_id}.")
    referrals = session.exec(
        select(Referral).where(Referral.child_id == child.id).order_by(Referral.id)
    ).all()
    referral_ids = [r.id for r in referrals]
    cases = session.exec(select(Case).where(Case.child_id == child.id).order_by(Case.id)).all()
    case_ids = [c.id for c in cases]
    refs = [c.reference for c in cases]
    visits = session.exec(
        select(HomeVisit).where(col(HomeVisit.case_id).in_(case_ids)).order_by(HomeVisit.id)
    ).all() if case_ids else []
    visit_ids = [v.id for v in visits]

    def by_referral(model: type[SQLModel]) -> list[dict]:
        if not referral_ids:
            return []
        return _dump(session.exec(
            select(model).where(col(model.referral_id).in_(referral_ids)).order_by(model.id)
        ).all())

    names = refs + [r.public_id for r in referrals]
    notifications = session.exec(
        select(Notification).where(col(Notification.reference).in_(names))
        .order_by(Notification.id)
    ).all() if names else []
    trail_filter = AuditEvent.child_id == child.id
    if refs:
        trail_filter = or_(
            trail_filter,
            (AuditEvent.entity_type == "case") & col(AuditEvent.entity_id).in_(refs),
        )
    trail = session.exec(select(AuditEvent).where(trail_filter).order_by(AuditEvent.id)).all()
    document = {
        "format_version": FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        "child": child.model_dump(mode="json"),
        "addresses": _dump(session.exec(
            select(Address).where(Address.child_id == child.id).order_by(Address.id)).all()),
        "people": _dump(session.exec(
            select(Person).where(Person.child_id == child.id).order_by(Person.id)).all()),
        "referrals": _dump(referrals),
        "referral_enquiries": by_referral(ReferralEnquiry),
        "referral_concerns": by_referral(ReferralConcern),
        "dsl_appraisals": by_referral(DslAppraisal),
        "cases": _dump(cases),
        "stage_changes": _by_case(session, StageChange, case_ids),
        "risk_assessments": _by_case(session, RiskAssessment, case_ids),
        "safeguarding_contacts": _by_case(session, SafeguardingContact, case_ids),
        "enquiries": _by_case(session, EnquiryAction, case_ids),
        "visits": _dump(visits),
        "lone_working_alerts": _dump(session.exec(
            select(LoneWorkingAlert).where(col(LoneWorkingAlert.visit_id).in_(visit_ids))
            .order_by(LoneWorkingAlert.id)).all()) if visit_ids else [],
        "la_notifications": _by_case(session, LaNotification, case_ids),
        "overseas_verifications": _by_case(session, OverseasVerification, case_ids),
        "case_links": _by_case(session, CaseLink, case_ids),
        "closures": _by_case(session, CaseClosure, case_ids),
        "shares": _by_case(session, ShareRecord, case_ids),
        "notifications": _dump(notifications),
        "destroyed": _dump(session.exec(
            select(Tombstone).where(Tombstone.child_id == child.id)).all()),
        "audit_trail": _dump(trail),
    }
    audit.record(session, actor=None, actor_role="system", action="sar.exported",
                 entity_type="child", entity_id=child.id, child_id=child.id,
                 detail={"cases": refs, "audit_events": len(trail)})
    return document
