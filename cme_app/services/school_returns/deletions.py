"""Receiving a school's deletion return: who the child is, what the routing table says to do,
and doing it (docs/glossary.md, "Deletion return"; routing.py holds the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from ...dates import uk_today
from ...domain import (
    AddressKind,
    EpisodeStartBasis,
    Outcome,
    PersonKind,
    ReferralStatus,
    Risk,
    SourceType,
    Stage,
    ground_words,
)
from ...errors import FieldError, NotAllowed, ValidationFailed
from ...models import (
    Address,
    Case,
    CaseClosure,
    Child,
    ChildFacts,
    CmeEpisode,
    DeletionReturn,
    EheRecord,
    EpisodeReason,
    NewPupilReturn,
    Person,
    Referral,
    ReferralFacts,
    School,
    insert_rows,
    utcnow,
)
from ...models.base import new_public_id
from ...permissions import Actor, Capability, require_school_user
from ..intake.child_records import propose_matches_many
from ..intake.opening import open_cases
from ..notify import notifications
from ..trust import audit
from .checks import Deletion, check_deletion, pupil_key, pupil_keys
from .routing import Route, Rule, reason_for, rule_for

SOURCE_TAG = "deletion_return"  # where the child's address and parents came from
OPEN_CASE_STAGES = [s.value for s in Stage if s != Stage.CLOSED]


def own_school(session: Session, actor: Actor | None) -> tuple[Actor, School]:
    actor = require_school_user(actor, Capability.SCHOOL_RETURNS)
    school = session.get(School, actor.school_id)
    if school is None:
        raise NotAllowed("Your account is not linked to a school.")
    return actor, school


def submit_deletion(session: Session, *, actor: Actor | None, form: object,
                    today: date | None = None) -> DeletionReturn:
    """A school's deletion return from the page: its own school only."""
    actor, school = own_school(session, actor)
    today = today or uk_today()
    deletion = check_deletion(form, school=school, today=today)
    if repeated(session, [deletion]):
        raise ValidationFailed([FieldError("deletion_date", REPEAT)])
    [(return_id, _public)] = receive_all(session, [deletion], by=actor, via="form", today=today)
    return session.get(DeletionReturn, return_id)


REPEAT = "Your school already sent a deletion return for this pupil with this deletion date"


def repeated(session: Session, batch: list[Deletion]) -> set[int]:
    """Positions in `batch` that repeat a return already received, or an earlier one in the
    batch (a re-uploaded file, a second click): the same school, deletion date and pupil (by
    UPN where given, else by name and date of birth)."""
    seen: set[tuple] = set()
    for row in session.exec(select(
            DeletionReturn.school_id, DeletionReturn.deletion_date, DeletionReturn.upn,
            DeletionReturn.first_name, DeletionReturn.last_name, DeletionReturn.date_of_birth)
            .where(col(DeletionReturn.school_id).in_({d.school.id for d in batch}),
                   col(DeletionReturn.deletion_date).in_({d.deletion_date for d in batch}))):
        seen.update(pupil_keys(row[:2], *row[2:]))
    out = set()
    for n, d in enumerate(batch):
        scope, p = (d.school.id, d.deletion_date), d.pupil
        if pupil_key(scope, p) in seen:
            out.add(n)
        seen.update(pupil_keys(scope, p.upn, p.first_name, p.last_name, p.date_of_birth))
    return out


# ---------------------------------------------------------------------------------------------
# Receiving: a form's one return or a file's accepted rows, in a few statements (a SQLModel
# object costs more to make than its row costs to insert, so rows go in as dicts)


@dataclass
class _Plan:
    """One checked return and what receiving it does."""

    deletion: Deletion
    rule: Rule
    child_id: int | None = None
    case_id: int | None = None
    episode_id: int | None = None
    off_rolling: bool = False
    new_pupil_return_id: int | None = None
    episode_started: bool = False


def receive_all(session: Session, batch: list[Deletion], *, by: Actor | None, via: str,
                today: date) -> list[tuple[int, str]]:
    """Store and route checked returns (the caller checked who sent them); (id, public id) of
    each, in order."""
    plans = [_Plan(d, rule_for(d.ground, names_school=bool(d.destination_school_urn)))
             for d in batch]
    _find_children(session, plans)
    opened = _open_enquiries(session, [p for p in plans if p.rule.route == Route.CME], by, today)
    _flag_off_rolling(session, plans)
    _match_new_pupils(session, plans)
    rows = [_row(p, by, via) for p in plans]
    ids = insert_rows(session, DeletionReturn, rows)
    insert_rows(session, EheRecord, [
        {"child_id": p.child_id, "start_date": p.deletion.deletion_date,
         "deletion_return_id": return_id}
        for p, return_id in zip(plans, ids, strict=True) if p.rule.route == Route.EHE_LIST])
    references = _references(session, {p.case_id for p in plans if p.case_id}, opened)
    _audit(session, list(zip(plans, ids, strict=True)), by, via, references)
    _tell_the_team(session, plans, opened, references)
    session.flush()
    return [(i, row["public_id"]) for i, row in zip(ids, rows, strict=True)]


def _audit(session: Session, received: list[tuple[_Plan, int]], by: Actor | None, via: str,
           references: dict[int, str]) -> None:
    """One event per return about a child the LA holds a record of (so the child's trail
    shows it), one per episode started; the returns that name no record in one event."""
    who = {"actor_id": by.user_id if by else None, "ip": by.ip if by else None,
           "actor_role": str(by.role) if by else "system"}
    about_a_child = [(p, i) for p, i in received if p.child_id]
    record_only = [(p, i) for p, i in received if not p.child_id]
    if len(record_only) == 1:
        about_a_child += record_only
    elif record_only:
        routes: dict[str, int] = {}
        for p, _i in record_only:
            routes[str(p.rule.route)] = routes.get(str(p.rule.route), 0) + 1
        audit.record(session, actor=by, actor_role=None if by else "system",
                     action="deletion_return.received", entity_type="deletion_return",
                     detail={"via": via, "return_ids": [i for _p, i in record_only],
                             "routes": routes})
    audit.record_many(session, [{
        **who, "action": "deletion_return.received", "entity_type": "deletion_return",
        "entity_id": return_id, "child_id": p.child_id,
        "detail": {"school": p.deletion.school.urn, "ground": p.deletion.ground,
                   "route": str(p.rule.route), "via": via, "case_id": p.case_id,
                   "possible_off_rolling": p.off_rolling}}
        for p, return_id in about_a_child] + [{
        **who, "action": "episode.started", "entity_type": "case",
        "entity_id": references[p.case_id], "child_id": p.child_id,
        "detail": {"episode_id": p.episode_id, "from": "deletion_return"}}
        for p, _i in received if p.episode_started])


def _row(plan: _Plan, by: Actor | None, via: str) -> dict[str, Any]:
    d, p = plan.deletion, plan.deletion.pupil
    return {
        "public_id": new_public_id(), "school_id": d.school.id, "child_id": plan.child_id,
        "upn": p.upn, "first_name": p.first_name, "last_name": p.last_name,
        "date_of_birth": p.date_of_birth, "sex": d.sex, "address_line1": d.address_line1,
        "town": d.town or None, "postcode": d.postcode or None,
        "parents": [{"name": x.name, "address": x.address, "phone": x.phone}
                    for x in d.parents],
        "deletion_date": d.deletion_date, "ground": d.ground,
        "absence_codes_confirmed": d.absence_codes_confirmed,
        "new_address": d.new_address or None, "moved_abroad": d.moved_abroad,
        "new_parent_name": d.new_parent_name or None, "new_parent_from": d.new_parent_from,
        "destination_school_urn": d.destination_school_urn or None,
        "destination_school_start": d.destination_school_start,
        "destination_la_code": d.destination_la_code or None, "notes": d.notes or None,
        "new_pupil_return_id": plan.new_pupil_return_id, "route": str(plan.rule.route),
        "case_id": plan.case_id, "episode_id": plan.episode_id,
        "possible_off_rolling": plan.off_rolling, "received_via": via,
        "submitted_by_id": by.user_id if by else None, "received_at": utcnow(),
    }


def _find_children(session: Session, plans: list[_Plan]) -> None:
    """The live record with the pupil's UPN (a UPN is the pupil's own, so it is the same
    child); else, where the LA acts on the return (EHE, CME), a new record, proposed as a
    possible match to records with the same name and date of birth or home and surname."""
    upns = {p.deletion.pupil.upn for p in plans if p.deletion.pupil.upn}
    known: dict[str, int] = {}
    for child_id, upn in session.exec(select(Child.id, Child.upn).where(
            col(Child.upn).in_(upns), col(Child.merged_into_id).is_(None))
            .order_by(col(Child.id))).all() if upns else ():
        known.setdefault(upn, child_id)
    new: list[_Plan] = []
    for plan in plans:
        upn = plan.deletion.pupil.upn
        if upn and upn in known:
            plan.child_id = known[upn]
        elif plan.rule.route in (Route.EHE_LIST, Route.CME):
            new.append(plan)
    first_of: dict[str, _Plan] = {}
    makers = [p for p in new if not p.deletion.pupil.upn
              or first_of.setdefault(p.deletion.pupil.upn, p) is p]
    ids = insert_rows(session, Child, [{
        "first_name": p.deletion.pupil.first_name, "last_name": p.deletion.pupil.last_name,
        "date_of_birth": p.deletion.pupil.date_of_birth, "sex": p.deletion.sex,
        "upn": p.deletion.pupil.upn} for p in makers])
    for plan, child_id in zip(makers, ids, strict=True):
        plan.child_id = child_id
    for plan in new:  # the same UPN twice in one file: one record
        if plan.child_id is None:
            plan.child_id = first_of[plan.deletion.pupil.upn].child_id
    _household(session, makers)
    propose_matches_many(session, [_facts(p) for p in makers])


def _facts(plan: _Plan) -> ChildFacts:
    """A new record's facts, as inserted."""
    p = plan.deletion.pupil
    return ChildFacts(plan.child_id, p.first_name, p.last_name, p.date_of_birth, p.upn)


def _household(session: Session, plans: list[_Plan]) -> None:
    """Where each new record's child lives and the parents they live with, as the school said."""
    addresses, people = [], []
    for plan in plans:
        d, child_id = plan.deletion, plan.child_id
        addresses.append({"child_id": child_id, "kind": AddressKind.LAST_KNOWN,
                          "line1": d.address_line1, "town": d.town or None,
                          "postcode": d.postcode or None, "source": SOURCE_TAG})
        if d.new_address:
            addresses.append({"child_id": child_id, "line1": d.new_address[:200],
                              "kind": AddressKind.ABROAD if d.moved_abroad
                              else AddressKind.BELIEVED_NEW, "source": SOURCE_TAG})
        people += [{"child_id": child_id, "kind": PersonKind.PARENT_CARER,
                    "full_name": parent.name, "relationship_to_child": "Parent or carer",
                    "lives_with_child": True, "is_emergency_contact": True,
                    "phone": parent.phone, "address_text": parent.address or None,
                    "source": SOURCE_TAG} for parent in d.parents]
    insert_rows(session, Address, addresses)
    insert_rows(session, Person, people)


def _open_enquiries(session: Session, plans: list[_Plan], by: Actor | None,
                    today: date) -> list[Case]:
    """A CME episode from the deletion date and a case in New referral for each child, unless
    the child has them already (a school's earlier referral, say): then the return joins that
    case and episode. The new cases, opened."""
    if not plans:
        return []
    child_ids = {p.child_id for p in plans}
    open_case = dict(session.exec(select(Case.child_id, Case.id).where(
        col(Case.child_id).in_(child_ids), col(Case.stage).in_(OPEN_CASE_STAGES))
        .order_by(col(Case.id))).all())
    to_open = _first_per_child([p for p in plans if p.child_id not in open_case])
    referral_rows = [_referral_row(p, by) for p in to_open]
    referral_ids = insert_rows(session, Referral, referral_rows)
    children = {row[0]: ChildFacts(*row) for row in session.exec(select(
        Child.id, Child.first_name, Child.last_name, Child.date_of_birth, Child.upn,
        Child.merged_into_id, Child.sen_status, Child.traveller_family)
        .where(col(Child.id).in_({p.child_id for p in to_open}))).all()}
    opened = open_cases(session, actor=by, today=today, pairs=[
        (ReferralFacts(r, None, row["submitted_at"]), children[p.child_id])
        for r, row, p in zip(referral_ids, referral_rows, to_open, strict=True)])
    open_case |= {case.child_id: case.id for case in opened}
    episode_of = dict(session.exec(select(CmeEpisode.child_id, CmeEpisode.id).where(
        col(CmeEpisode.child_id).in_(child_ids), col(CmeEpisode.end_date).is_(None))).all())
    for plan in plans:
        plan.case_id = open_case[plan.child_id]
    starting = _first_per_child([p for p in plans if p.child_id not in episode_of])
    episode_of |= _begin_episodes(session, starting, by.user_id if by else None)
    for plan in starting:
        plan.episode_started = True
    for plan in plans:
        plan.episode_id = episode_of[plan.child_id]
    return opened


def _first_per_child(plans: list[_Plan]) -> list[_Plan]:
    """One plan per child (a file may name a child twice: one case, one episode)."""
    firsts: dict[int | None, _Plan] = {}
    return [p for p in plans if firsts.setdefault(p.child_id, p) is p]


def _begin_episodes(session: Session, plans: list[_Plan], by_id: int | None) -> dict[int, int]:
    """A CME episode from each deletion date (child id: episode id)."""
    reasons = [reason_for(p.rule, moved_abroad=p.deletion.moved_abroad) for p in plans]
    ids = insert_rows(session, CmeEpisode, [{
        "child_id": p.child_id, "case_id": p.case_id, "start_date": p.deletion.deletion_date,
        "start_basis": EpisodeStartBasis.DELETED_FROM_ROLL, "primary_reason": reason,
        # "Believed to have moved" is a DfE reason the LA counts until it is confirmed.
        "lives_in_la": True, "created_by_id": by_id} for p, reason in zip(plans, reasons,
                                                                          strict=True)])
    insert_rows(session, EpisodeReason, [
        {"episode_id": i, "reason": reason, "from_date": p.deletion.deletion_date,
         "changed_by_id": by_id} for i, p, reason in zip(ids, plans, reasons, strict=True)])
    return {p.child_id: i for p, i in zip(plans, ids, strict=True)}


def _referral_row(plan: _Plan, by: Actor | None) -> dict[str, Any]:
    d = plan.deletion
    return {"status": ReferralStatus.SUBMITTED, "source_type": SourceType.DELETION_RETURN,
            "created_by_id": by.user_id if by else None, "child_id": plan.child_id,
            "source_name": d.school.name[:120], "proposed_deletion_ground": d.ground,
            "believed_destination": d.new_address or None, "concerns_narrative": _summary(d),
            "date_school_aware": d.deletion_date, "submitted_at": utcnow(),
            "received_via": SOURCE_TAG}


def _summary(d: Deletion) -> str:
    lines = [f"{d.school.name} deleted this pupil from its admission register on "
             f"{d.deletion_date.isoformat()}: {ground_words(d.ground)}."]
    if d.new_address:
        lines.append(f"New address given: {d.new_address}.")
    if d.destination_la_code:
        lines.append(f"Believed to have moved to LA {d.destination_la_code}.")
    if d.notes:
        lines.append(f"School's notes: {d.notes}")
    return "\n".join(lines)[:4000]


def enquiries_confirmed(session: Session, child_ids: set[int]) -> set[tuple[int, int]]:
    """(child, school) pairs where the LA confirmed to the school that joint enquiries about
    the child were exhausted (an approved 'untraceable' closure of a case it referred)."""
    if not child_ids:
        return set()
    return set(session.exec(
        select(Case.child_id, Referral.school_id).join(CaseClosure, CaseClosure.case_id == Case.id)
        .join(Referral, Referral.id == Case.referral_id)
        .where(col(Case.child_id).in_(child_ids),
               CaseClosure.outcome == Outcome.UNTRACEABLE, CaseClosure.status == "closed")
    ).all())


def _flag_off_rolling(session: Session, plans: list[_Plan]) -> None:
    """H or I without the LA having confirmed to the school that joint enquiries about this
    child were exhausted: possible off-rolling."""
    joint = [p for p in plans if p.rule.joint_enquiries and p.rule.route == Route.CME]
    confirmed = enquiries_confirmed(session, {p.child_id for p in joint})
    for plan in joint:
        plan.off_rolling = (plan.child_id, plan.deletion.school.id) not in confirmed


def deletion_from_referral(session: Session, *, actor: Actor, case: Case, referral: Referral,
                           child: Child) -> DeletionReturn | None:
    """A school's referral saying it already removed the child from its roll is that school's
    deletion return too: kept with the others, and an H or I deletion made before the LA
    confirmed joint enquiries were exhausted goes on the possible off-rolling list."""
    if referral.roll_deleted_on is None or not referral.roll_deletion_ground:
        return None
    if session.exec(select(DeletionReturn.id).where(
            DeletionReturn.case_id == case.id, DeletionReturn.received_via == "referral")).first():
        return None  # a resubmitted referral: its deletion is on record already
    school = session.get(School, referral.school_id)
    ground = referral.roll_deletion_ground
    rule = rule_for(ground, names_school=False)
    flagged = rule.joint_enquiries and (child.id, school.id) not in enquiries_confirmed(
        session, {child.id})
    home = session.exec(select(Address).where(Address.referral_id == referral.id,
                                              Address.kind == AddressKind.LAST_KNOWN)).first()
    parents = session.exec(select(Person).where(
        Person.referral_id == referral.id, Person.kind == PersonKind.PARENT_CARER)).all()
    ret = DeletionReturn(
        school_id=school.id, child_id=child.id, upn=child.upn, first_name=child.first_name,
        last_name=child.last_name, date_of_birth=child.date_of_birth, sex=child.sex,
        address_line1=home.line1 if home else "", town=home.town if home else None,
        postcode=home.postcode if home else None,
        parents=[{"name": p.full_name, "address": p.address_text or "", "phone": p.phone or ""}
                 for p in parents],
        deletion_date=referral.roll_deleted_on, ground=ground,
        absence_codes_confirmed=referral.absence_codes_confirmed, route=str(rule.route),
        case_id=case.id, possible_off_rolling=flagged, received_via="referral",
        submitted_by_id=actor.user_id)
    session.add(ret)
    session.flush()
    audit.record(session, actor=actor, action="deletion_return.received",
                 entity_type="deletion_return", entity_id=ret.id, child_id=child.id,
                 detail={"school": school.urn, "ground": ground, "via": "referral",
                         "case_id": case.id, "possible_off_rolling": flagged})
    if flagged:
        notifications.possible_off_rolling(session, case=case, school_name=school.name,
                                           ground=ground)
    return ret


def _match_new_pupils(session: Session, plans: list[_Plan]) -> None:
    """A move to a named school is matched once that school's new-pupil return for the
    pupil arrives (new_pupils.py matches later ones)."""
    moving = [p for p in plans if p.rule.route == Route.MATCH_ROLL]
    urns = {p.deletion.destination_school_urn for p in moving}
    if not urns:
        return
    arrived: dict[tuple, int] = {}
    for row in session.exec(select(
            School.urn, NewPupilReturn.id, NewPupilReturn.upn, NewPupilReturn.first_name,
            NewPupilReturn.last_name, NewPupilReturn.date_of_birth)
            .join(School, School.id == NewPupilReturn.school_id)
            .where(col(School.urn).in_(urns))).all():
        urn, return_id, *pupil = row
        for key in pupil_keys((urn,), *pupil):
            arrived.setdefault(key, return_id)
    for plan in moving:
        plan.new_pupil_return_id = arrived.get(
            pupil_key((plan.deletion.destination_school_urn,), plan.deletion.pupil))


def _tell_the_team(session: Session, plans: list[_Plan], opened: list[Case],
                   references: dict[int, str]) -> None:
    """New referrals as any referral is told (Red at once); the possible off-rolling flags to
    the leads. A file's many are told once, not once per row."""
    schools = {p.case_id: p.deletion.school.name for p in plans}
    flagged = [p for p in plans if p.off_rolling]
    if len(plans) == 1:
        for case in opened:
            notifications.referral_arrived(session, case=case, red=case.proposed_risk == Risk.RED)
        for plan in flagged:
            notifications.possible_off_rolling(session, case=session.get(Case, plan.case_id),
                                               school_name=schools[plan.case_id],
                                               ground=plan.deletion.ground)
        return
    for case in opened:
        if case.proposed_risk == Risk.RED:
            notifications.referral_arrived(session, case=case, red=True)
    notifications.returns_imported(
        session, opened=[c.reference for c in opened if c.proposed_risk != Risk.RED],
        flagged=[references[p.case_id] for p in flagged])


def _references(session: Session, case_ids: set[int], opened: list[Case]) -> dict[int, str]:
    known = {case.id: case.reference for case in opened}
    missing = case_ids - set(known)
    return known | (dict(session.exec(select(Case.id, Case.reference).where(
        col(Case.id).in_(missing))).all()) if missing else {})
